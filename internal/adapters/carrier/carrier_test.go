package carrier_test

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
	"github.com/omni-retail/omni/internal/adapters/carrier"
	"github.com/omni-retail/omni/internal/order"
)

// The carrier, payment service, store task system… as the tests play it.
type (
	seen        = httpxtest.Seen
	fakeCarrier = httpxtest.Server
)

var reply = httpxtest.Reply

func serve(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*fakeCarrier, *carrier.Client) {
	f := &fakeCarrier{Answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, carrier.New(srv.URL+"/", "carrier-token-123", time.Second, nil)
}

func request() activities.ShipmentRequest {
	lat := 51.5
	return activities.ShipmentRequest{OrderID: "ord-1", FulfilmentID: "f2", FromLocationID: "wh-1",
		Address: order.Address{Name: "Ada Lovelace", Line1: "1 Road", City: "London", Postcode: "N1 1AA", Country: "GB", Lat: &lat},
		Service: "express",
		Parcels: []activities.Parcel{
			{Lines: []order.LineQty{{SKU: "SKU-1", Quantity: 2}}},
			{Lines: []order.LineQty{{SKU: "SKU-2", Quantity: 1}}},
		}}
}

// TestCreateShipment: the request has the contract's shape and headers, and
// a 201 answers the label.
func TestCreateShipment(t *testing.T) {
	f, c := serve(t, reply(http.StatusCreated, "application/json",
		`{"shipment_id":"S-1","tracking_number":"TN-1","tracking_url":"https://c/t/TN-1","label_url":"https://c/l/S-1","extra":1}`))
	label, err := c.CreateShipment(context.Background(), "ord-1/ship/f2", request())
	require.NoError(t, err)
	require.Equal(t, activities.ShipmentLabel{ShipmentID: "S-1", TrackingNumber: "TN-1",
		TrackingURL: "https://c/t/TN-1", LabelURL: "https://c/l/S-1"}, label)

	got := f.Last(t)
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/shipments", got.Path)
	require.Equal(t, "Bearer carrier-token-123", got.Header.Get("Authorization"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Equal(t, "ord-1/ship/f2", got.Header.Get("Idempotency-Key"))
	require.Equal(t, map[string]any{
		"order_id": "ord-1", "fulfilment_id": "f2", "from_location_id": "wh-1",
		"address": map[string]any{"name": "Ada Lovelace", "line1": "1 Road", "line2": "", "city": "London",
			"postcode": "N1 1AA", "country": "GB"},
		"service": "express",
		"parcels": []any{
			map[string]any{"lines": []any{map[string]any{"sku": "SKU-1", "quantity": float64(2)}}},
			map[string]any{"lines": []any{map[string]any{"sku": "SKU-2", "quantity": float64(1)}}},
		},
	}, got.Body)
}

// TestCancelShipment: POST {url}/shipments/{id}/cancel with the reason; 200
// is done, 409 a conflict named by the problem type.
func TestCancelShipment(t *testing.T) {
	f, c := serve(t, reply(http.StatusOK, "application/json", `{}`))
	require.NoError(t, c.CancelShipment(context.Background(), "ord-1/cancel-shipment/S 1", "S 1", "order cancelled"))
	got := f.Last(t)
	require.Equal(t, "/shipments/S%201/cancel", got.Path)
	require.Equal(t, map[string]any{"reason": "order cancelled"}, got.Body)
	require.Equal(t, "ord-1/cancel-shipment/S 1", got.Header.Get("Idempotency-Key"))

	f.Answer = reply(http.StatusConflict, "application/problem+json",
		`{"type":"https://carrier.example/problems/already_collected_by_carrier","title":"Conflict","status":409,"detail":"parcel scanned"}`)
	err := c.CancelShipment(context.Background(), "k", "S1", "late")
	de, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, order.KindConflict, de.Kind)
	require.Equal(t, "already_collected_by_carrier", de.Code)
	require.Contains(t, de.Detail, "parcel scanned")
}

// TestRefusalsAreDomainErrors: 409 and 422 are business refusals (never
// retried: the activities make *order.Error non-retryable), named by the
// last segment of the problem type.
func TestRefusalsAreDomainErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   order.Kind
		code   string
	}{
		{"409 url type", 409, `{"type":"https://carrier.example/problems/address_not_served","title":"Conflict"}`, order.KindConflict, "address_not_served"},
		{"422 urn type", 422, `{"type":"urn:carrier:problem:invalid_postcode","detail":"no such postcode"}`, order.KindInvalid, "invalid_postcode"},
		{"409 no type", 409, `{"title":"Conflict"}`, order.KindConflict, "carrier_refused"},
		{"422 not json", 422, `nope`, order.KindInvalid, "carrier_refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := serve(t, reply(tc.status, "application/problem+json", tc.body))
			_, err := c.CreateShipment(context.Background(), "k", request())
			de, ok := order.AsError(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.kind, de.Kind)
			require.Equal(t, tc.code, de.Code)
			var appErr *temporal.ApplicationError
			require.False(t, errors.As(err, &appErr), "a plain domain error: activities.wrap makes it non-retryable")
		})
	}
}

// TestUnavailableIsRetried: 503, 500, 408 and 429 are plain (retryable)
// errors, never domain errors; Retry-After becomes the next retry's delay.
func TestUnavailableIsRetried(t *testing.T) {
	for _, status := range []int{503, 500, 502, 408, 429} {
		_, c := serve(t, reply(status, "text/plain", "busy"))
		_, err := c.CreateShipment(context.Background(), "k", request())
		require.Error(t, err)
		_, domain := order.AsError(err)
		require.False(t, domain, "%d is not a refusal: %v", status, err)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			require.False(t, appErr.NonRetryable(), "%d must be retried", status)
		}
	}
	_, c := serve(t, reply(503, "", "", "Retry-After", "7"))
	_, err := c.CreateShipment(context.Background(), "k", request())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.False(t, appErr.NonRetryable())
	require.Equal(t, 7*time.Second, appErr.NextRetryDelay())

	_, c = serve(t, reply(429, "", "", "Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)))
	_, err = c.CreateShipment(context.Background(), "k", request())
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, 10*time.Minute, appErr.NextRetryDelay(), "capped")

	// A 201 without a shipment is not believed, and retried.
	_, c = serve(t, reply(201, "application/json", `{}`))
	_, err = c.CreateShipment(context.Background(), "k", request())
	require.Error(t, err)
	_, domain := order.AsError(err)
	require.False(t, domain)
}

// TestTimeoutAndRefusedConnection: a carrier slower than the timeout, or not
// listening, is a plain (retryable) error.
func TestTimeoutAndRefusedConnection(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := carrier.New(srv.URL, "t", 50*time.Millisecond, nil)
	start := time.Now()
	_, err := c.CreateShipment(context.Background(), "k", request())
	require.Error(t, err)
	require.Less(t, time.Since(start), 5*time.Second)
	_, domain := order.AsError(err)
	require.False(t, domain)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = carrier.New("http://"+addr, "t", time.Second, nil).CreateShipment(context.Background(), "k", request())
	require.Error(t, err)
	_, domain = order.AsError(err)
	require.False(t, domain)
}

// TestLongIdempotencyKeyIsShortened: a key over 64 characters is sent as a
// stable form of at most 64 that still tells keys apart.
func TestLongIdempotencyKeyIsShortened(t *testing.T) {
	long := "order-" + strings.Repeat("x", 80) + "/ship/f1"
	other := "order-" + strings.Repeat("x", 80) + "/ship/f2"
	short := carrier.IdempotencyKey(long)
	require.LessOrEqual(t, len(short), 64)
	require.Equal(t, short, carrier.IdempotencyKey(long), "stable")
	require.NotEqual(t, short, carrier.IdempotencyKey(other))
	require.True(t, strings.HasPrefix(short, long[:40]))
	require.Equal(t, "ord-1/ship/f1", carrier.IdempotencyKey("ord-1/ship/f1"), "short keys are sent as they are")
	exact := strings.Repeat("k", 64)
	require.Equal(t, exact, carrier.IdempotencyKey(exact))
	multibyte := strings.Repeat("é", 50)
	require.LessOrEqual(t, len(carrier.IdempotencyKey(multibyte)), 64)

	f, c := serve(t, reply(http.StatusCreated, "application/json", `{"shipment_id":"S","tracking_number":"T"}`))
	_, err := c.CreateShipment(context.Background(), long, request())
	require.NoError(t, err)
	_, err = c.CreateShipment(context.Background(), long, request())
	require.NoError(t, err)
	require.Len(t, f.Requests, 2)
	require.Equal(t, short, f.Requests[0].Header.Get("Idempotency-Key"))
	require.Equal(t, short, f.Requests[1].Header.Get("Idempotency-Key"), "the same on every retry")
}
