package payments_test

import (
	"context"
	"errors"
	"github.com/omni-retail/omni/internal/adapters/httpx/httpxtest"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/adapters/payments"
	"github.com/omni-retail/omni/internal/order"
)

// The carrier, payment service, store task system… as the tests play it.
type (
	seen = httpxtest.Seen
	fake = httpxtest.Server
)

var reply = httpxtest.Reply

func serve(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*fake, *payments.Client) {
	f := &fake{Answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, payments.New(httpx.Options{BaseURL: srv.URL + "/", Token: "psp-token", Timeout: time.Second})
}

func requirePost(t *testing.T, got seen, path, key string, body map[string]any) {
	t.Helper()
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, path, got.Path)
	require.Equal(t, "Bearer psp-token", got.Header.Get("Authorization"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Equal(t, key, got.Header.Get("Idempotency-Key"))
	require.Equal(t, body, got.Body)
}

// TestCapture: POST /payments/{reference}/capture; 200 succeeded, 202 pending.
func TestCapture(t *testing.T) {
	ctx := context.Background()
	f, c := serve(t, reply(200, "application/json", `{"status":"succeeded","psp_reference":"psp-1"}`))
	res, err := c.Capture(ctx, "ord-1/collect/capture", "ord-1", 2599, "EUR", "auth/1")
	require.NoError(t, err)
	require.Equal(t, activities.PaymentResult{Status: "succeeded", PSPReference: "psp-1"}, res)
	requirePost(t, f.Last(t), "/payments/auth%2F1/capture", "ord-1/collect/capture",
		map[string]any{"order_id": "ord-1", "amount": float64(2599), "currency": "EUR"})

	f.Answer = reply(202, "application/json", `{"status":"pending","psp_reference":"psp-2"}`)
	res, err = c.Capture(ctx, "k2", "ord-1", 100, "EUR", "auth-1")
	require.NoError(t, err)
	require.Equal(t, activities.PaymentResult{Status: "pending", PSPReference: "psp-2"}, res)

	// A 202 with no body is still pending.
	f.Answer = reply(202, "", "")
	res, err = c.Capture(ctx, "k3", "ord-1", 100, "EUR", "auth-1")
	require.NoError(t, err)
	require.Equal(t, activities.PaymentPending, res.Status)
}

// TestCharge: a counter charge is a capture on the tender's reference.
func TestCharge(t *testing.T) {
	f, c := serve(t, reply(200, "application/json", `{"status":"succeeded","psp_reference":"psp-9"}`))
	res, err := c.Charge(context.Background(), "ord-1/x1/charge", "ord-1", 500, "GBP", "tender-7")
	require.NoError(t, err)
	require.Equal(t, activities.PaymentResult{Status: "succeeded", PSPReference: "psp-9"}, res)
	requirePost(t, f.Last(t), "/payments/tender-7/capture", "ord-1/x1/charge",
		map[string]any{"order_id": "ord-1", "amount": float64(500), "currency": "GBP"})
}

// TestVoidAndRefund: the contract's paths and bodies; a refund's reason is return.
func TestVoidAndRefund(t *testing.T) {
	ctx := context.Background()
	f, c := serve(t, reply(200, "application/json", `{}`))
	require.NoError(t, c.Void(ctx, "ord-1/cancel/void", "ord-1", 700, "EUR", "auth-1"))
	requirePost(t, f.Last(t), "/payments/auth-1/void", "ord-1/cancel/void",
		map[string]any{"order_id": "ord-1", "amount": float64(700), "currency": "EUR"})

	f.Answer = reply(200, "application/json", `{"status":"succeeded","psp_reference":"rf-1"}`)
	res, err := c.Refund(ctx, "ord-1/x1/refund-0", "ord-1", 300, "EUR", "auth-1")
	require.NoError(t, err)
	require.Equal(t, activities.PaymentResult{Status: "succeeded", PSPReference: "rf-1"}, res)
	requirePost(t, f.Last(t), "/payments/auth-1/refunds", "ord-1/x1/refund-0",
		map[string]any{"order_id": "ord-1", "amount": float64(300), "currency": "EUR", "reason": "return"})

	f.Answer = reply(202, "application/json", `{"status":"pending","psp_reference":"rf-2"}`)
	res, err = c.Refund(ctx, "k", "ord-1", 300, "EUR", "auth-1")
	require.NoError(t, err)
	require.Equal(t, activities.PaymentResult{Status: "pending", PSPReference: "rf-2"}, res)
}

// TestRefusals: 409 and 422 are *order.Error named by the problem's type,
// never retried; a 200 with status failed is a refusal too.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status int
		body   string
		kind   order.Kind
		code   string
	}{
		{409, `{"type":"https://psp.example/problems/authorization_expired","title":"Conflict","detail":"too old"}`, order.KindConflict, "authorization_expired"},
		{422, `{"type":"https://psp.example/problems/amount_too_large"}`, order.KindInvalid, "amount_too_large"},
		{409, `{"title":"Conflict"}`, order.KindConflict, "payments_refused"},
	} {
		_, c := serve(t, reply(tc.status, "application/problem+json", tc.body))
		_, err := c.Capture(ctx, "k", "o", 1, "EUR", "r")
		de, ok := order.AsError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, tc.kind, de.Kind)
		require.Equal(t, tc.code, de.Code)
		var appErr *temporal.ApplicationError
		require.False(t, errors.As(err, &appErr), "a plain domain error: activities.wrap makes it non-retryable")
		de, ok = order.AsError(c.Void(ctx, "k", "o", 1, "EUR", "r"))
		require.True(t, ok)
		require.Equal(t, tc.code, de.Code)
		_, err = c.Refund(ctx, "k", "o", 1, "EUR", "r")
		de, ok = order.AsError(err)
		require.True(t, ok)
		require.Equal(t, tc.code, de.Code)
	}
	_, c := serve(t, reply(200, "application/json", `{"status":"failed","psp_reference":"x"}`))
	_, err := c.Capture(ctx, "k", "o", 1, "EUR", "r")
	de, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "payment_failed", de.Code)

	// No reference: refused without a call.
	f, c := serve(t, reply(200, "", ""))
	_, err = c.Capture(ctx, "k", "o", 1, "EUR", "")
	de, ok = order.AsError(err)
	require.True(t, ok)
	require.Equal(t, "payment_reference_missing", de.Code)
	require.Empty(t, f.Requests)
}

// TestUnavailableIsRetried: 503, 5xx, 408, 429, a timeout and a refused
// connection are retryable; Retry-After is honoured.
func TestUnavailableIsRetried(t *testing.T) {
	ctx := context.Background()
	for _, status := range []int{503, 500, 502, 408, 429} {
		_, c := serve(t, reply(status, "text/plain", "busy"))
		_, err := c.Capture(ctx, "k", "o", 1, "EUR", "r")
		require.Error(t, err)
		_, domain := order.AsError(err)
		require.False(t, domain, "%d", status)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			require.False(t, appErr.NonRetryable())
		}
	}
	_, c := serve(t, reply(503, "", "", "Retry-After", "3"))
	_, err := c.Refund(ctx, "k", "o", 1, "EUR", "r")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.False(t, appErr.NonRetryable())
	require.Equal(t, 3*time.Second, appErr.NextRetryDelay())

	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c = payments.New(httpx.Options{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	_, err = c.Capture(ctx, "k", "o", 1, "EUR", "r")
	require.Error(t, err)
	_, domain := order.AsError(err)
	require.False(t, domain)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	err = payments.New(httpx.Options{BaseURL: "http://" + addr}).Void(ctx, "k", "o", 1, "EUR", "r")
	require.Error(t, err)
	_, domain = order.AsError(err)
	require.False(t, domain)
}

// TestLongKey: at most 64, the same on a retry.
func TestLongKey(t *testing.T) {
	f, c := serve(t, reply(200, "application/json", `{"status":"succeeded"}`))
	key := strings.Repeat("o", 50) + "/collect/capture"
	for range 2 {
		_, err := c.Capture(context.Background(), key, "o", 1, "EUR", "r")
		require.NoError(t, err)
	}
	require.Len(t, f.Requests, 2)
	k := f.Requests[0].Header.Get("Idempotency-Key")
	require.LessOrEqual(t, len(k), 64)
	require.Equal(t, httpx.IdempotencyKey(key), k)
	require.Equal(t, k, f.Requests[1].Header.Get("Idempotency-Key"))
}
