package stripe_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/stripe"
	"github.com/omni-retail/omni/internal/adapters/stripe/stripetest"
	"github.com/omni-retail/omni/internal/order"
)

type call struct{ system, operation, outcome string }

type observer struct {
	mu    sync.Mutex
	calls []call
}

func (o *observer) ObserveAdapterCall(system, operation, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, call{system, operation, outcome})
}

func (o *observer) all() []call {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]call(nil), o.calls...)
}

func newFake(t *testing.T) (*stripetest.Server, *stripe.Payments, *observer) {
	t.Helper()
	srv := stripetest.NewServer()
	t.Cleanup(srv.Close)
	obs := &observer{}
	return srv, stripe.New("sk_test_omni", srv.URL, obs, nil), obs
}

// refusal asserts err is a non-retryable domain error of kind and code.
func refusal(t *testing.T, err error, kind order.Kind, code string) {
	t.Helper()
	require.Error(t, err)
	oe, ok := order.AsError(err)
	require.True(t, ok, "want *order.Error %s/%s, got %T %v", kind, code, err, err)
	require.Equal(t, kind, oe.Kind, oe.Detail)
	require.Equal(t, code, oe.Code, oe.Detail)
}

// retryable asserts err is a plain error (the activity retry policy retries it).
func retryable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	_, ok := order.AsError(err)
	require.False(t, ok, "want a retryable error, got %v", err)
}

func posts(srv *stripetest.Server, suffix string) (n int) {
	for _, r := range srv.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, suffix) && !r.Replayed && r.Status == 200 {
			n++
		}
	}
	return n
}

var ctx = context.Background()

func TestCaptureOnce(t *testing.T) {
	srv, p, obs := newFake(t)
	pi := srv.CreatePaymentIntent(5000, "eur")

	res, err := p.Capture(ctx, "ord-1:capture", "ord-1", 3000, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentResult{Status: activities.PaymentSucceeded, PSPReference: pi}, res)
	got := srv.PaymentIntent(pi)
	require.Equal(t, stripetest.StatusSucceeded, got.Status)
	require.EqualValues(t, 3000, got.AmountReceived)
	require.EqualValues(t, 0, got.AmountCapturable, "the rest of the authorisation is released")

	// The same step again (a retry after a lost answer): Stripe replays it.
	res, err = p.Capture(ctx, "ord-1:capture", "ord-1", 3000, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentSucceeded, res.Status)
	reqs := srv.Requests()
	require.True(t, reqs[len(reqs)-1].Replayed)
	require.Equal(t, "ord-1:capture", reqs[len(reqs)-1].IdempotencyKey)
	require.Equal(t, "3000", reqs[len(reqs)-1].Form.Get("amount_to_capture"))

	// Under another key, for the amount captured: already done.
	res, err = p.Capture(ctx, "ord-1:capture-again", "ord-1", 3000, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentSucceeded, res.Status)

	// A second, different capture is refused: a PaymentIntent is captured once.
	_, err = p.Capture(ctx, "ord-1:capture-more", "ord-1", 1000, "EUR", pi)
	refusal(t, err, order.KindConflict, "already_captured")

	got = srv.PaymentIntent(pi)
	require.Equal(t, 1, got.Captures)
	require.EqualValues(t, 3000, got.AmountReceived)
	require.Equal(t, 1, posts(srv, "/capture"))

	require.Contains(t, obs.all(), call{"payments", "capture", "ok"})
	require.Contains(t, obs.all(), call{"payments", "capture", "refused"})
	require.Contains(t, obs.all(), call{"payments", "read", "ok"})
	for _, c := range obs.all() {
		require.Equal(t, "payments", c.system)
	}
}

func TestCaptureAfterCancelRefused(t *testing.T) {
	srv, p, _ := newFake(t)
	pi := srv.CreatePaymentIntent(5000, "eur")

	require.NoError(t, p.Void(ctx, "ord-2:void", "ord-2", 5000, "EUR", pi))
	got := srv.PaymentIntent(pi)
	require.Equal(t, stripetest.StatusCanceled, got.Status)
	require.Equal(t, 1, got.Cancels)
	require.Equal(t, 1, posts(srv, "/cancel"))

	_, err := p.Capture(ctx, "ord-2:capture", "ord-2", 5000, "EUR", pi)
	refusal(t, err, order.KindConflict, "payment_canceled")
	require.Equal(t, 0, srv.PaymentIntent(pi).Captures)

	// Voiding a cancelled PaymentIntent again: nothing to do, no call.
	require.NoError(t, p.Void(ctx, "ord-2:void", "ord-2", 5000, "EUR", pi))
	require.NoError(t, p.Void(ctx, "ord-2:void-2", "ord-2", 100, "EUR", pi))
	require.Equal(t, 1, posts(srv, "/cancel"))
}

func TestPartialVoidThenCaptureTakesOnlyWhatWasHandedOver(t *testing.T) {
	srv, p, _ := newFake(t)
	pi := srv.CreatePaymentIntent(5000, "eur")

	// A short pick: 1500 voided before the capture. The PaymentIntent is not
	// cancelled (that would lose the rest).
	require.NoError(t, p.Void(ctx, "ord-3:void:short", "ord-3", 1500, "EUR", pi))
	require.NoError(t, p.Void(ctx, "ord-3:void:short", "ord-3", 1500, "EUR", pi), "a retry")
	got := srv.PaymentIntent(pi)
	require.Equal(t, stripetest.StatusRequiresCapture, got.Status)
	require.EqualValues(t, 5000, got.AmountCapturable)
	require.Equal(t, 0, posts(srv, "/cancel"))

	res, err := p.Capture(ctx, "ord-3:capture", "ord-3", 3500, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentSucceeded, res.Status)
	got = srv.PaymentIntent(pi)
	require.EqualValues(t, 3500, got.AmountReceived)
	require.EqualValues(t, 0, got.AmountCapturable, "Stripe released the other 1500")
	require.Equal(t, stripetest.StatusSucceeded, got.Status)

	// A void after the capture: nothing is held any more; no call but a read.
	before := len(srv.Requests())
	require.NoError(t, p.Void(ctx, "ord-3:void:late", "ord-3", 500, "EUR", pi))
	after := srv.Requests()[before:]
	require.Len(t, after, 1)
	require.Equal(t, "GET", after[0].Method)
	require.EqualValues(t, 3500, srv.PaymentIntent(pi).AmountReceived)
}

func TestVoidsThatAddUpToEverythingCancel(t *testing.T) {
	srv, p, _ := newFake(t)
	pi := srv.CreatePaymentIntent(5000, "eur")

	require.NoError(t, p.Void(ctx, "ord-4:void:a", "ord-4", 2000, "EUR", pi))
	require.Equal(t, stripetest.StatusRequiresCapture, srv.PaymentIntent(pi).Status)
	require.NoError(t, p.Void(ctx, "ord-4:void:b", "ord-4", 3000, "EUR", pi))
	got := srv.PaymentIntent(pi)
	require.Equal(t, stripetest.StatusCanceled, got.Status)
	require.Equal(t, 1, got.Cancels)

	// A full void is one cancel.
	pi2 := srv.CreatePaymentIntent(800, "eur")
	require.NoError(t, p.Void(ctx, "ord-5:void", "ord-5", 800, "EUR", pi2))
	require.Equal(t, stripetest.StatusCanceled, srv.PaymentIntent(pi2).Status)
	cancel := srv.Requests()[len(srv.Requests())-1]
	require.Equal(t, "/v1/payment_intents/"+pi2+"/cancel", cancel.Path)
	require.Equal(t, "ord-5:void", cancel.IdempotencyKey)
}

func TestRefundsNeverAboveWhatWasCaptured(t *testing.T) {
	srv, p, _ := newFake(t)
	pi := srv.CreatePaymentIntent(5000, "eur")

	// Nothing captured yet: nothing to refund.
	_, err := p.Refund(ctx, "ord-6:refund:0", "ord-6", 100, "EUR", pi)
	refusal(t, err, order.KindConflict, "payment_intent_unexpected_state")

	_, err = p.Capture(ctx, "ord-6:capture", "ord-6", 3000, "EUR", pi)
	require.NoError(t, err)

	res, err := p.Refund(ctx, "ord-6:refund:1", "ord-6", 2000, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentSucceeded, res.Status)
	require.True(t, strings.HasPrefix(res.PSPReference, "re_"), res.PSPReference)
	again, err := p.Refund(ctx, "ord-6:refund:1", "ord-6", 2000, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, res, again, "a retry replays the same refund")

	_, err = p.Refund(ctx, "ord-6:refund:2", "ord-6", 1500, "EUR", pi)
	refusal(t, err, order.KindConflict, "amount_too_large")

	_, err = p.Refund(ctx, "ord-6:refund:3", "ord-6", 1000, "EUR", pi)
	require.NoError(t, err)
	_, err = p.Refund(ctx, "ord-6:refund:4", "ord-6", 1, "EUR", pi)
	refusal(t, err, order.KindConflict, "charge_already_refunded")

	refunds := srv.Refunds(pi)
	require.Len(t, refunds, 2)
	require.EqualValues(t, 2000, refunds[0].Amount)
	require.EqualValues(t, 1000, refunds[1].Amount)
	require.Equal(t, "ord-6", refunds[0].Metadata["order_id"])
	require.EqualValues(t, 3000, srv.PaymentIntent(pi).Refunded)
}

func TestPendingRefund(t *testing.T) {
	srv, p, _ := newFake(t)
	pi := srv.CreatePaymentIntent(5000, "eur")
	_, err := p.Capture(ctx, "ord-7:capture", "ord-7", 5000, "EUR", pi)
	require.NoError(t, err)
	srv.SetRefundsPending(true)
	res, err := p.Refund(ctx, "ord-7:refund", "ord-7", 700, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentPending, res.Status)
	require.Equal(t, srv.Refunds(pi)[0].ID, res.PSPReference)
}

func TestFailuresAreRetriedWithoutDoubling(t *testing.T) {
	srv, p, obs := newFake(t)
	pi := srv.CreatePaymentIntent(5000, "eur")

	// The capture happens, its answer is lost: retryable; the retry with the
	// same key replays it.
	srv.FailNext(1, true)
	_, err := p.Capture(ctx, "ord-8:capture", "ord-8", 4000, "EUR", pi)
	retryable(t, err)
	require.Contains(t, obs.all(), call{"payments", "capture", "retry"})
	res, err := p.Capture(ctx, "ord-8:capture", "ord-8", 4000, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentSucceeded, res.Status)
	require.Equal(t, 1, srv.PaymentIntent(pi).Captures)
	require.EqualValues(t, 4000, srv.PaymentIntent(pi).AmountReceived)

	// A refund refused by a 500 before anything happened: retried once.
	srv.FailNext(1, false)
	_, err = p.Refund(ctx, "ord-8:refund", "ord-8", 1000, "EUR", pi)
	retryable(t, err)
	_, err = p.Refund(ctx, "ord-8:refund", "ord-8", 1000, "EUR", pi)
	require.NoError(t, err)
	require.Len(t, srv.Refunds(pi), 1)

	// Stripe unreachable: retryable, counted as an error.
	srv.Close()
	_, err = p.Refund(ctx, "ord-8:refund-2", "ord-8", 1000, "EUR", pi)
	retryable(t, err)
	require.Contains(t, obs.all(), call{"payments", "refund", "error"})
}

func TestChargeAtTheCounter(t *testing.T) {
	srv, p, _ := newFake(t)
	_, err := p.Charge(ctx, "ord-9:charge", "ord-9", 1200, "EUR", "tender-cash-42")
	refusal(t, err, order.KindInvalid, "tender_not_stripe")
	require.Empty(t, srv.Requests())

	pi := srv.CreatePaymentIntent(1200, "eur")
	res, err := p.Charge(ctx, "ord-9:charge", "ord-9", 1200, "EUR", pi)
	require.NoError(t, err)
	require.Equal(t, activities.PaymentSucceeded, res.Status)
	require.EqualValues(t, 1200, srv.PaymentIntent(pi).AmountReceived)
}

func TestRefusals(t *testing.T) {
	srv, p, _ := newFake(t)
	_, err := p.Capture(ctx, "ord-10:capture-missing", "ord-10", 100, "EUR", "pi_missing")
	refusal(t, err, order.KindNotFound, "resource_missing")

	pi := srv.CreatePaymentIntent(1000, "eur")
	_, err = p.Capture(ctx, "ord-10:capture", "ord-10", 2000, "EUR", pi)
	refusal(t, err, order.KindConflict, "amount_too_large")

	// The same key for another request: Stripe's idempotency error.
	_, err = p.Capture(ctx, "ord-10:capture", "ord-10", 900, "EUR", pi)
	refusal(t, err, order.KindConflict, "idempotency_error")

	// A wrong secret key: a configuration to fix, retried meanwhile.
	bad := stripe.New("rk_wrong", srv.URL, nil, nil)
	_, err = bad.Capture(ctx, "ord-10:capture-2", "ord-10", 900, "EUR", pi)
	retryable(t, err)

	_, err = p.Capture(ctx, "ord-10:capture-3", "ord-10", 100, "EUR", "auth-123")
	refusal(t, err, order.KindInvalid, "payment_reference_not_stripe")
}

func TestLongKeysAreShortened(t *testing.T) {
	srv, p, _ := newFake(t)
	pi := srv.CreatePaymentIntent(1000, "eur")
	key := "order-" + strings.Repeat("x", 80) + ":capture"
	_, err := p.Capture(ctx, key, "ord-11", 1000, "EUR", pi)
	require.NoError(t, err)
	reqs := srv.Requests()
	sent := reqs[len(reqs)-1].IdempotencyKey
	require.LessOrEqual(t, len(sent), 64)
	require.NotEmpty(t, sent)
}
