package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/adapters/contract"
	"github.com/omni-retail/omni/internal/adapters/stripe/stripetest"
	"github.com/omni-retail/omni/internal/reference"
	"github.com/omni-retail/omni/internal/webhooks"
)

// Omni plugged into a retailer's own systems (issue 13), as a retailer would
// run it: every port on its HTTP adapter against an independent
// implementation of the wire contract (the reference server, on its own
// database) that answers the first attempt of every step with a 503.

const referenceToken = "it-reference-token"

// refServer is the reference server with -fail-first, in-process.
type refServer struct {
	t   *testing.T
	url string
}

func startReference(t *testing.T) *refServer {
	t.Helper()
	db := contract.FreshDB(t, "ref")
	srv := httptest.NewServer(reference.New(db, referenceToken, true))
	t.Cleanup(srv.Close)
	return &refServer{t: t, url: srv.URL}
}

// admin seeds the reference system (its admin endpoints are not the contract).
func (r *refServer) admin(path string, body any) {
	r.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(r.t, err)
	req, err := http.NewRequest(http.MethodPut, r.url+path, bytes.NewReader(raw))
	require.NoError(r.t, err)
	req.Header.Set("Authorization", "Bearer "+referenceToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	resp.Body.Close()
	require.Less(r.t, resp.StatusCode, 300, "PUT %s", path)
}

func (r *refServer) books(orderID string) reference.Books {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url+"/books?order_id="+orderID, nil)
	require.NoError(r.t, err)
	req.Header.Set("Authorization", "Bearer "+referenceToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	require.Equal(r.t, http.StatusOK, resp.StatusCode)
	var b reference.Books
	require.NoError(r.t, json.NewDecoder(resp.Body).Decode(&b))
	return b
}

func TestEveryPortOverHTTPAgainstASystemThatFailsEveryFirstAttempt(t *testing.T) {
	t.Parallel()
	ref := startReference(t)
	base := startOmni(t, "omni-it-adapters", func(cfg *config.Config) {
		for _, s := range []*config.System{&cfg.Inventory, &cfg.StoreTasks, &cfg.Catalog} {
			s.URL, s.Token = ref.url, referenceToken
		}
		cfg.Payments.Provider, cfg.Payments.URL, cfg.Payments.Token = config.PaymentsHTTP, ref.url, referenceToken
		cfg.Carrier.URL, cfg.Carrier.Token = ref.url, referenceToken
	})
	c := &api{t: t, base: base}
	shirt, jeans, belt := unique("SHIRT"), unique("JEANS"), unique("BELT")
	ref.admin("/admin/stock/"+store+"/"+shirt, map[string]any{"on_hand": 5})
	ref.admin("/admin/stock/"+store+"/"+jeans, map[string]any{"on_hand": 5})
	ref.admin("/admin/stock/"+leeds+"/"+belt, map[string]any{"on_hand": 3})
	ref.admin("/admin/prices/"+belt, map[string]any{"currency": "GBP", "unit_price": 2500})

	// The retailer's system owns the stock: Omni's feed refuses it.
	r := c.do(http.MethodPut, "/v1/stores/"+store+"/stock/"+shirt, map[string]any{"on_hand": 9})
	require.Equal(t, "stock_external", problem(t, r, http.StatusConflict))

	id := c.place(orderBody("", store, line(shirt, 2, 1000), line(jeans, 1, 4000)))
	c.waitStatus(id, "awaiting_pick")
	c.pickOK(store, id, qty(shirt, 2), qty(jeans, 1))
	c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
	c.waitStatus(id, "collected")
	r = c.returnLines(manchester, id, ret(shirt, 1, "resellable"))
	require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
	// The jeans come back damaged for a belt priced by the retailer's catalog.
	r = c.exchangeLines(leeds, id, map[string]any{"return_lines": []any{ret(jeans, 1, "damaged")},
		"new_lines": []any{map[string]any{"sku": belt, "quantity": 1}}})
	require.Equal(t, http.StatusCreated, r.Status, "exchange: %s", r.Body)
	var x struct {
		Exchange struct {
			ID string `json:"id"`
		} `json:"exchange"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &x))

	b := ref.books(id)
	// The exchange's new items are held under the exchange's own name.
	taken := ref.books(id + "/" + x.Exchange.ID)
	held := map[string]string{}
	for _, l := range append(b.Reservations, taken.Reservations...) {
		held[l.LocationID+"/"+l.SKU] = fmt.Sprintf("reserved %d committed %d released %d", l.Reserved, l.Committed, l.Released)
	}
	require.Equal(t, map[string]string{
		store + "/" + shirt: "reserved 2 committed 2 released 0",
		store + "/" + jeans: "reserved 1 committed 1 released 0",
		leeds + "/" + belt:  "reserved 1 committed 1 released 0",
	}, held, "each reservation and commit once")
	var money []string
	for _, p := range b.Payments {
		money = append(money, fmt.Sprintf("%s %d", p.Kind, p.Amount))
	}
	// The order's authorisation (6000), its capture once, the shirt's refund
	// once; the belt (2500) against the jeans' refund (4000) leaves 1500 to
	// refund, once.
	require.ElementsMatch(t, []string{"authorization 6000", "capture 6000", "refund 1000", "refund 1500"}, money,
		"each capture and refund exactly once, with the right amounts: %v", money)
	var adjustments []string
	for _, a := range b.Adjustments {
		adjustments = append(adjustments, fmt.Sprintf("%s %s %d %s", a.LocationID, strings.SplitN(a.SKU, "-", 2)[0], a.Quantity, a.Reason))
	}
	require.ElementsMatch(t, []string{manchester + " SHIRT 1 return", leeds + " JEANS 1 write_off"}, adjustments,
		"each adjustment exactly once")
	require.Len(t, b.PickTasks, 1, "one pick task, at London")

	// Every first attempt failed: the order's timeline says so, and so does /metrics.
	retrying, _ := c.eventsOfType(id, "adapter_retrying")
	require.NotEmpty(t, retrying, "failing steps are on the timeline")
	systems := map[string]bool{}
	for _, e := range retrying {
		systems[e.Data["system"].(string)] = true
		require.EqualValues(t, 1, e.Data["attempt"], "only the first failure of each step (the second succeeds)")
	}
	for _, s := range []string{"inventory", "store_tasks", "payments"} {
		require.True(t, systems[s], "%s's failure is on the timeline: %v", s, systems)
	}
	m := c.do(http.MethodGet, "/metrics", nil, "Authorization", "none")
	require.Contains(t, string(m.Body), `omni_adapter_requests_total{operation="reserve",outcome="retry",system="inventory"}`)
	require.Contains(t, string(m.Body), `omni_adapter_requests_total{operation="capture",outcome="ok",system="payments"}`)
}

func TestStripeCapturesOnce(t *testing.T) {
	t.Parallel()
	st := stripetest.NewServer()
	t.Cleanup(st.Close)
	base := startOmni(t, "omni-it-stripe", func(cfg *config.Config) {
		cfg.Payments.Provider = config.PaymentsStripe
		cfg.Payments.Stripe.SecretKey, cfg.Payments.Stripe.APIBase = "sk_test_omni", st.URL
	})
	c := &api{t: t, base: base}
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 5)
	pi := st.CreatePaymentIntent(2500, "gbp")
	body := orderBody("", store, line(a, 2, 1000), line(b, 1, 500))
	body["payment"] = map[string]any{"method": "card", "reference": pi, "amount": 2500}
	id := c.place(body)
	c.waitStatus(id, "awaiting_pick")
	c.pickOK(store, id, qty(a, 2), qty(b, 1))
	code := c.order(id).Pickup.Code
	c.collectOK(store, id, map[string]any{"pickup_code": code, "lines": []any{qty(a, 1)}})
	require.Zero(t, st.PaymentIntent(pi).Captures, "nothing captured while goods wait at the counter")
	c.collectOK(store, id, map[string]any{"pickup_code": code, "lines": []any{qty(a, 1)},
		"refused": []any{map[string]any{"sku": b, "quantity": 1, "reason": "changed mind"}}})
	c.waitStatus(id, "collected")
	got := st.PaymentIntent(pi)
	require.Equal(t, 1, got.Captures, "a PaymentIntent is captured once")
	require.EqualValues(t, 2000, got.AmountReceived, "what was handed over; the refused line's 500 released")
	require.Zero(t, got.Cancels)

	r := c.returnLines(manchester, id, ret(a, 1, "resellable"))
	require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
	var refunded int64
	for _, rf := range st.Refunds(pi) {
		refunded += rf.Amount
	}
	require.EqualValues(t, 1000, refunded)
}

// A payment service that settles later (202) delivers its answer through the
// signed payments callback to the order's workflow, which puts it on the
// timeline.
func TestPendingCaptureSettlesByCallback(t *testing.T) {
	t.Parallel()
	psp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/capture"):
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"status":"pending","psp_reference":"psp-cap-1"}`))
		default:
			_, _ = w.Write([]byte(`{"status":"succeeded","psp_reference":"psp-other"}`))
		}
	}))
	t.Cleanup(psp.Close)
	base := startOmni(t, "omni-it-pending", func(cfg *config.Config) {
		cfg.Payments.Provider, cfg.Payments.URL, cfg.Payments.Token = config.PaymentsHTTP, psp.URL, "psp-token"
	})
	c := &api{t: t, base: base}
	sku := unique("SKU")
	c.setStock(store, sku, 2)
	id := c.place(orderBody("", store, line(sku, 1, 1200)))
	c.waitStatus(id, "awaiting_pick")
	c.pickOK(store, id, qty(sku, 1))
	c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
	captured, _ := c.eventsOfType(id, "payment_captured")
	require.Len(t, captured, 1)
	require.Equal(t, "pending", captured[0].Data["status"])

	cfg, err := config.Load("")
	require.NoError(t, err)
	raw, err := json.Marshal(map[string]any{"psp_reference": "psp-cap-1", "order_id": id, "operation": "capture",
		"status": "succeeded", "amount": 1200, "currency": "GBP"})
	require.NoError(t, err)
	now := time.Now()
	sig, err := webhooks.Sign(config.SigningSecret(cfg.Payments.CallbackSecret), "msg-pay-1", now, raw)
	require.NoError(t, err)
	r := c.do(http.MethodPost, "/v1/callbacks/payments", raw, "Authorization", "none",
		"webhook-id", "msg-pay-1", "webhook-timestamp", strconv.FormatInt(now.Unix(), 10), "webhook-signature", sig)
	require.Equal(t, http.StatusOK, r.Status, "callback: %s", r.Body)
	c.waitEvents(id, "payment_settled", 1)
	unsigned := c.do(http.MethodPost, "/v1/callbacks/payments", raw, "Authorization", "none")
	require.Equal(t, http.StatusUnauthorized, unsigned.Status)
}
