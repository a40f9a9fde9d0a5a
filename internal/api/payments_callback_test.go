package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/webhooks"
	"github.com/omni-retail/omni/workflows"
)

// paymentsServer is the API with a payments callback secret, stock options
// and the Temporal client tc.
func paymentsServer(t *testing.T, db *postgres.DB, tc client.Client, secret string, stock api.StockOptions) *api.Server {
	t.Helper()
	return api.New(api.Options{DB: db, Temporal: tc, Logger: slog.New(slog.DiscardHandler), RequestTimeout: time.Second,
		Auth: auth.New([]auth.Client{
			{Name: "ops", Role: auth.RoleAdmin, Key: "payments-admin-key"},
			{Name: "till-1", Role: auth.RoleStore, Key: "payments-store-key", Stores: []string{"store-001"}},
		}, "payments-token-secret-0123456789", time.Hour),
		Carrier:  api.CarrierOptions{CallbackSecret: config.SigningSecret("carrier-callback-secret-for-tests")},
		Payments: api.PaymentsOptions{CallbackSecret: config.SigningSecret(secret)},
		Stock:    stock})
}

func lazyTemporal(t *testing.T) client.Client {
	t.Helper()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	return tc
}

// signedPayment is a payments callback signed with secret at at.
func signedPayment(t *testing.T, secret, body string, at time.Time) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/callbacks/payments", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sig, err := webhooks.Sign(config.SigningSecret(secret), "msg_p1", at, []byte(body))
	require.NoError(t, err)
	req.Header.Set(webhooks.HeaderID, "msg_p1")
	req.Header.Set(webhooks.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(webhooks.HeaderSignature, sig)
	return req
}

// placeOrder records an order as the API does (its workflow is not asked).
func placeOrder(t *testing.T, db *postgres.DB, id string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.UpsertStores(ctx, []postgres.Store{{ID: "store-001", Name: "One"}}))
	at := time.Now().UTC()
	_, err := db.PlaceOrder(ctx, "checkout", "", "key-"+id, []byte("hash-"+id), "store-001", id,
		func(number string) (order.Order, error) {
			return order.Order{ID: id, Number: number, Status: order.StatusPlaced, Channel: order.ChannelWeb,
				Customer: order.Customer{Email: "ada@example.com"}, Currency: "GBP",
				Fulfilment: order.Fulfilment{Type: order.FulfilmentCollect, StoreID: "store-001"},
				Lines:      []order.Line{{SKU: "A", Quantity: 1, UnitPrice: 1250}},
				Payments:   []order.Payment{{Method: "card", Reference: "psp-1", Authorized: 1250}},
				Version:    1, CreatedAt: at, UpdatedAt: at}, nil
		})
	require.NoError(t, err)
}

// TestPaymentCallbackSignature: the provider's callback needs no API key
// but a fresh Standard Webhooks signature under payments.callback_secret
// (not the carrier's); anything else is 401 before the body is looked at. A
// signed callback is read strictly (422 naming the fields) and must name a
// known order.
func TestPaymentCallbackSignature(t *testing.T) {
	const secret = "payments-callback-secret-for-tests"
	db := shipmentsDB(t)
	s := paymentsServer(t, db, lazyTemporal(t), secret, api.StockOptions{})
	now := time.Now()
	good := `{"psp_reference":"psp_9","order_id":"ord-unknown","operation":"capture","status":"succeeded","amount":1250,"currency":"GBP"}`

	code, body, _ := send(s, signedPayment(t, secret, good, now))
	require.Equal(t, http.StatusNotFound, code, "signed, so verified; then the order is unknown: %v", body)
	require.Equal(t, "urn:omni:problem:order_not_found", body["type"])

	whsec := webhooks.NewSecret()
	code, _, _ = send(paymentsServer(t, db, lazyTemporal(t), whsec, api.StockOptions{}), signedPayment(t, whsec, good, now))
	require.Equal(t, http.StatusNotFound, code, "a whsec_ secret works the same way")

	unsigned := httptest.NewRequest(http.MethodPost, "/v1/callbacks/payments", strings.NewReader(good))
	unsigned.Header.Set("Content-Type", "application/json")
	unsigned.Header.Set("Authorization", "Bearer payments-admin-key")
	carrierSigned := signedPayment(t, "carrier-callback-secret-for-tests", good, now)
	wrongSecret := signedPayment(t, "another-secret-of-some-length", good, now)
	stale := signedPayment(t, secret, good, now.Add(-6*time.Minute))
	future := signedPayment(t, secret, good, now.Add(6*time.Minute))
	tampered := signedPayment(t, secret, good, now)
	tampered.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(good, "1250", "125000", 1))).Body
	tampered.ContentLength = -1
	for name, req := range map[string]*http.Request{"unsigned (an API key is not enough)": unsigned,
		"signed with the carrier's secret": carrierSigned, "wrong secret": wrongSecret, "stale timestamp": stale,
		"future timestamp": future, "tampered body": tampered} {
		code, body, headers := send(s, req)
		require.Equal(t, http.StatusUnauthorized, code, "%s: %v", name, body)
		require.Equal(t, "urn:omni:problem:bad_signature", body["type"], name)
		require.Contains(t, body["detail"], "payments.callback_secret", name)
		require.Equal(t, "application/problem+json", headers.Get("Content-Type"), name)
	}

	// No secret configured: every callback is refused.
	code, _, _ = send(paymentsServer(t, db, lazyTemporal(t), "", api.StockOptions{}), signedPayment(t, secret, good, now))
	require.Equal(t, http.StatusUnauthorized, code)

	code, body, _ = send(s, signedPayment(t, secret, `{"psp_reference":"","order_id":"`+strings.Repeat("o", 200)+
		`","operation":"authorise","status":"pending","amount":-1,"currency":"gbp"}`, now))
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", body)
	require.Equal(t, "urn:omni:problem:validation", body["type"])
	var fields []string
	for _, e := range body["errors"].([]any) {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	require.ElementsMatch(t, []string{"psp_reference", "order_id", "operation", "status", "amount", "currency"}, fields)

	code, body, _ = send(s, signedPayment(t, secret, `{"psp_reference":"psp_9","order_id":"o","operation":"refund",`+
		`"status":"failed","currency":"GBP"}`, now))
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", body)
	require.Equal(t, "amount", body["errors"].([]any)[0].(map[string]any)["field"])

	code, body, _ = send(s, signedPayment(t, secret, strings.Replace(good, `"currency"`, `"extra":1,"currency"`, 1), now))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, "urn:omni:problem:unknown_field", body["type"])
}

// TestPaymentCallbackSignalsTheOrder: a verified callback of a known order
// is delivered to its workflow as payment_settled and answered accepted; an
// order whose workflow has not started yet answers 503.
func TestPaymentCallbackSignalsTheOrder(t *testing.T) {
	const secret = "payments-callback-secret-for-tests"
	db := shipmentsDB(t)
	placeOrder(t, db, "ord-pay-1")
	placeOrder(t, db, "ord-pay-2")
	tc := mocks.NewClient(t)
	tc.On("SignalWorkflow", mock.Anything, workflows.WorkflowID("ord-pay-1"), "", workflows.SignalPaymentSettled,
		workflows.PaymentSettled{PSPReference: "psp_9", Operation: "refund", Status: "failed", Amount: 400, Currency: "GBP"}).
		Return(nil).Once()
	tc.On("SignalWorkflow", mock.Anything, workflows.WorkflowID("ord-pay-2"), "", workflows.SignalPaymentSettled, mock.Anything).
		Return(serviceerror.NewNotFound("workflow not found")).Once()
	s := paymentsServer(t, db, tc, secret, api.StockOptions{})

	code, body, _ := send(s, signedPayment(t, secret, `{"psp_reference":"psp_9","order_id":"ord-pay-1","operation":"refund",`+
		`"status":"failed","amount":400,"currency":"GBP"}`, time.Now()))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, map[string]any{"status": "accepted"}, body)

	code, body, _ = send(s, signedPayment(t, secret, `{"psp_reference":"psp_8","order_id":"ord-pay-2","operation":"capture",`+
		`"status":"succeeded","amount":1250,"currency":"GBP"}`, time.Now()))
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", body)
	require.Equal(t, "urn:omni:problem:not_started", body["type"])
}

func stockRequest(method, store, sku, key, body string) *http.Request {
	req := httptest.NewRequest(method, "/v1/stores/"+store+"/stock/"+sku, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+key)
	return req
}

// TestExternalStock: a store whose stock the retailer's inventory owns
// refuses the stock feed (409 stock_external) and reads through the
// inventory; another store keeps Omni's ledger.
func TestExternalStock(t *testing.T) {
	db := shipmentsDB(t)
	ctx := context.Background()
	require.NoError(t, db.UpsertStores(ctx, []postgres.Store{{ID: "store-001", Name: "One"}, {ID: "store-002", Name: "Two"}}))
	var reads []string
	s := paymentsServer(t, db, lazyTemporal(t), "payments-callback-secret-for-tests", api.StockOptions{
		External: func(id string) bool { return id == "store-002" },
		Read: func(_ context.Context, storeID, sku string) (postgres.Stock, error) {
			reads = append(reads, storeID+"/"+sku)
			if sku == "DOWN" {
				return postgres.Stock{}, context.DeadlineExceeded
			}
			return postgres.Stock{StoreID: storeID, SKU: sku, OnHand: 7, Reserved: 2, Available: 5}, nil
		},
	})

	code, body, _ := send(s, stockRequest(http.MethodPut, "store-002", "SKU-1", "payments-admin-key", `{"on_hand":3}`))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "urn:omni:problem:stock_external", body["type"])
	code, body, _ = send(s, stockRequest(http.MethodGet, "store-002", "SKU-1", "payments-admin-key", ""))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, map[string]any{"store_id": "store-002", "sku": "SKU-1", "on_hand": 7.0, "reserved": 2.0, "available": 5.0}, body)
	code, body, _ = send(s, stockRequest(http.MethodGet, "store-002", "DOWN", "payments-admin-key", ""))
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", body)
	require.Equal(t, "urn:omni:problem:inventory_unavailable", body["type"])

	code, body, _ = send(s, stockRequest(http.MethodPut, "store-001", "SKU-1", "payments-admin-key", `{"on_hand":3}`))
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body, _ = send(s, stockRequest(http.MethodGet, "store-001", "SKU-1", "payments-store-key", ""))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, 3.0, body["on_hand"])
	require.Equal(t, []string{"store-002/SKU-1", "store-002/DOWN"}, reads, "Omni's own stores are not read through")
}
