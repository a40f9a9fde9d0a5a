package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/workflows"
)

// blockNotifications makes every insert into the notifications ledger wait:
// a notification's local activity, which runs in the same workflow task as
// the handler that queued it, then keeps that task from completing.
func (cc *crashChild) blockNotifications() *voidBlocker {
	return cc.blockInserts("notifications", "")
}

// A process killed after a handover's local activities ran (capture, commit,
// projection) but before its workflow task completed loses nothing and
// doubles nothing: the handover was made durable before its first step, so
// the restarted process finishes it under the same step keys; a different
// handover sent afterwards is refused, the same one gets its first outcome,
// and the read model holds exactly what the workflow has.
func TestCrashBetweenHandoverStepsAndItsAnswer(t *testing.T) {
	t.Parallel()
	cc := newCrashChild(t)
	c := cc.api
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 5)
	id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
	c.waitStatus(id, "awaiting_pick")
	c.pickOK(store, id, qty(a, 2), qty(b, 1))
	code := c.order(id).Pickup.Code
	c.waitNotified(cc, id, "ready")

	blocker := cc.blockNotifications()
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		body, _ := json.Marshal(map[string]any{"pickup_code": code})
		req, _ := http.NewRequest(http.MethodPost, c.base+"/v1/stores/"+store+"/orders/"+id+"/collect", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+allStoresKey)
		req.Header.Set("Idempotency-Key", "pos-handover-1")
		if resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req); err == nil {
			resp.Body.Close() // the process dies before it answers: this is not expected
		}
	}()
	blocker.waitBlocked()
	// The handover's steps have run; its answer has not been sent.
	require.Equal(t, []string{"authorization 2500", "capture 2500"}, cc.ledger(id))
	cc.kill()
	<-answered
	blocker.release()

	cc.restart()
	o := c.waitStatusWithin(id, "collected", 60*time.Second)
	// Another handover (another key, other lines) finds the order collected
	// in its workflow, not only in the read model: the first handover was
	// finished there, with nobody retrying it. (Had the workflow lost it, this
	// one would try to capture again: payment_exceeds_authorisation.)
	var r response
	for deadline := time.Now().Add(45 * time.Second); ; {
		r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect",
			map[string]any{"pickup_code": code, "lines": []any{qty(b, 1)}}, "Idempotency-Key", "pos-handover-2")
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break // 503: the restarted worker has not picked the order up yet
		}
	}
	require.Equal(t, "not_ready", problem(t, r, http.StatusConflict), "a different handover after the crash")
	// The same handover, retried, gets its first outcome once the dead
	// request's lease has passed.
	deadline := time.Now().Add(45 * time.Second)
	for {
		r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect",
			map[string]any{"pickup_code": code}, "Idempotency-Key", "pos-handover-1")
		if r.Status != http.StatusConflict || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Equal(t, http.StatusOK, r.Status, "the retried handover: %s", r.Body)
	require.Equal(t, "collected", r.json(t)["status"])

	require.Equal(t, []string{"authorization 2500", "capture 2500"}, cc.ledger(id), "captured once, for what was handed over")
	require.Equal(t, stock{OnHand: 3, Reserved: 0, Available: 3}, c.stock(store, a), "committed once")
	require.Equal(t, stock{OnHand: 4, Reserved: 0, Available: 4}, c.stock(store, b), "committed once")
	require.EqualValues(t, 2500, o.Payments[0].Captured)
	events := c.timeline(id)
	collected := 0
	for i, e := range events {
		require.Equal(t, int64(i+1), e.Seq, "each seq once, in order")
		if e.Type == "collected" {
			collected++
		}
	}
	require.Equal(t, 1, collected, "one handover on the timeline")
}

// waitNotified waits until the order's notification of template is recorded sent.
func (c *api) waitNotified(cc *crashChild, id, template string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := cc.queryString("select count(*)::text from notifications where order_id = $1 and template = $2 and status = 'sent'", id, template)
		if n != "0" {
			return
		}
		require.True(c.t, time.Now().Before(deadline), "no %s notification within 20s", template)
		time.Sleep(50 * time.Millisecond)
	}
}

// A customer's cancel racing the store's pick never both succeed: the
// customer may cancel only before the pick, and the workflow applies that
// rule in its turn, not only the API against the read model.
func TestCustomerCancelRacingPick(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	for i := range 4 {
		sku := unique("SKU")
		c.setStock(store, sku, 2)
		id := c.place(orderBody("", store, line(sku, 1, 900)))
		c.waitStatus(id, "awaiting_pick")
		token := c.customerToken(id)
		var wg sync.WaitGroup
		var picked, cancelled response
		wg.Add(2)
		go func() {
			defer wg.Done()
			picked = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(sku, 1)))
		}()
		go func() {
			defer wg.Done()
			cancelled = c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{"reason": "changed my mind"},
				"Authorization", "Bearer "+token)
		}()
		wg.Wait()
		ok := 0
		for _, r := range []response{picked, cancelled} {
			if r.Status == http.StatusOK {
				ok++
			} else {
				require.Equal(t, http.StatusConflict, r.Status, "round %d: %s", i, r.Body)
			}
		}
		require.Equal(t, 1, ok, "round %d: exactly one of pick (%d) and cancel (%d) went through", i, picked.Status, cancelled.Status)
		o := c.order(id)
		if picked.Status == http.StatusOK {
			require.Equal(t, "ready_for_collection", o.Status)
		} else {
			require.Equal(t, "cancelled", o.Status)
		}
	}
}

// customerToken looks the order up as its customer does and returns the token.
func (c *api) customerToken(id string) string {
	c.t.Helper()
	o := c.order(id)
	r := c.do(http.MethodPost, "/v1/orders/lookup", map[string]any{"number": o.Number, "email": "ada@example.com"},
		"Authorization", "none")
	require.Equal(c.t, http.StatusOK, r.Status, "lookup: %s", r.Body)
	tok, _ := r.json(c.t)["token"].(string)
	require.NotEmpty(c.t, tok)
	return tok
}

// An order whose hold ends when part of it was handed over keeps those goods
// sold, paid and returnable: only the rest goes back on sale and its
// authorisation is voided, and the order is collected, with the rest
// cancelled on its timeline.
func TestPartlyCollectedOrderKeepsWhatWasHandedOver(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t.TempDir(), "127.0.0.1:0", "")
	cfg.Temporal.Address = omni.TemporalAddr()
	cfg.Temporal.TaskQueue = "omni-it-partial-hold"
	cfg.Pickup.Hold = 3 * time.Second
	cfg.Pickup.Reminder = 2 * time.Second
	cfg.Returns.Window = time.Hour
	o, err := app.Start(context.Background(), cfg, app.Parts{API: true, Worker: true}, testLogger())
	require.NoError(t, err)
	t.Cleanup(o.Stop)
	c := &api{t: t, base: "http://" + o.APIAddr()}

	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 5)
	id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
	c.waitStatus(id, "awaiting_pick")
	c.pickOK(store, id, qty(a, 2), qty(b, 1))
	c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code, "lines": []any{qty(a, 2)}})
	c.waitStatus(id, "partially_collected")
	got := c.waitStatusWithin(id, "collected", 20*time.Second)

	require.EqualValues(t, 2000, got.Payments[0].Captured, "what was handed over stays paid")
	require.EqualValues(t, 500, got.Payments[0].Voided, "only the rest is voided")
	require.Equal(t, stock{OnHand: 3, Reserved: 0, Available: 3}, c.stock(store, a), "a stays sold")
	require.Equal(t, stock{OnHand: 5, Reserved: 0, Available: 5}, c.stock(store, b), "b is back on sale")
	types := c.eventTypes(id)
	require.Contains(t, types, "lines_cancelled")
	require.NotContains(t, types, "expired")

	r := c.returnLines(manchester, id, ret(a, 1, "resellable"))
	require.Equal(t, http.StatusCreated, r.Status, "what was handed over can be returned: %s", r.Body)
	c.waitStatus(id, "partially_returned")
}

// Exchanged-in items are priced from the price list, never by the caller.
func TestExchangePricesFromThePriceList(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a, tv, sock := unique("SKU"), unique("TV"), unique("SOCK")
	c.setStock(store, a, 5)
	c.setStock(manchester, tv, 5)
	c.setStock(manchester, sock, 5)
	c.setPrice(sock, "GBP", 300)
	id := c.place(orderBody("", store, line(a, 2, 1000)))
	c.waitStatus(id, "awaiting_pick")
	c.pickOK(store, id, qty(a, 2))
	c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})

	r := c.exchangeLines(manchester, id, map[string]any{"return_lines": []any{ret(a, 1, "resellable")},
		"new_lines": []any{map[string]any{"sku": tv, "quantity": 1, "unit_price": 1}}})
	require.Equal(t, "no_price", problem(t, r, http.StatusConflict), "a television not on the price list")
	c.setPrice(tv, "GBP", 49900)
	r = c.exchangeLines(manchester, id, map[string]any{"return_lines": []any{ret(a, 1, "resellable")},
		"new_lines": []any{map[string]any{"sku": tv, "quantity": 1, "unit_price": 1}}})
	require.Equal(t, "price_mismatch", problem(t, r, http.StatusUnprocessableEntity), "a television at 1p")
	require.Equal(t, stock{OnHand: 5, Reserved: 0, Available: 5}, c.stock(manchester, tv), "nothing was taken")

	r = c.exchangeLines(manchester, id, map[string]any{"return_lines": []any{ret(a, 1, "resellable")},
		"new_lines": []any{map[string]any{"sku": sock, "quantity": 1}}})
	require.Equal(t, http.StatusCreated, r.Status, "unit_price left out: %s", r.Body)
	x := r.json(t)["exchange"].(map[string]any)
	require.EqualValues(t, -700, x["difference"], "priced at the list's 300")
	require.EqualValues(t, 700, x["refunded"])
}

// startRefusingOmni starts an Omni whose SMS provider refuses every message
// for good (HTTP 400) and whose mail server is down (connections refused),
// giving a notification up after giveUp.
func startRefusingOmni(t *testing.T, giveUp time.Duration) *api {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error": "invalid destination number"}`, http.StatusBadRequest)
	}))
	t.Cleanup(hook.Close)
	down := freeAddr(t) // nothing listens there
	cfg := testConfig(t.TempDir(), "127.0.0.1:0", "")
	cfg.Temporal.Address = omni.TemporalAddr()
	cfg.Temporal.TaskQueue = "omni-it-refusing-" + unique("q")
	cfg.Notify = config.Notify{
		PublicURL:   "https://shop.example",
		SMTP:        config.SMTP{Addr: down, From: "Omni Shop <orders@shop.example>"},
		SMS:         config.Webhook{WebhookURL: hook.URL + "/sms"},
		GiveUpAfter: giveUp, // below the configurable minute, for the test's patience
	}
	o, err := app.Start(context.Background(), cfg, app.Parts{API: true, Worker: true}, testLogger())
	require.NoError(t, err)
	t.Cleanup(o.Stop)
	return &api{t: t, base: "http://" + o.APIAddr()}
}

// Notifications that can never be delivered hold nothing up, against the real
// server: an SMS the provider refuses is recorded once and dropped, email to a
// mail server that is down is retried and given up, and the orders end.
func TestUndeliverableNotificationsHoldNothingUp(t *testing.T) {
	t.Parallel()
	c := startRefusingOmni(t, 4*time.Second)
	for _, customer := range []map[string]any{
		{"email": "ada@example.com", "phone": "+447700900001", "notify": "sms"},
		{"email": "ada@example.com"},
	} {
		sku := unique("SKU")
		c.setStock(store, sku, 2)
		body := orderBody("", store, line(sku, 1, 900))
		body["customer"] = customer
		id := c.place(body)
		c.waitStatus(id, "awaiting_pick")
		c.pickOK(store, id, qty(sku, 1))
		r := c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{"reason": "no longer needed"},
			"Authorization", "Bearer "+supportKey)
		require.Equal(t, http.StatusOK, r.Status, "cancel: %s", r.Body)

		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		require.NoError(t, omni.Client().GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, nil),
			"the order's workflow ends although no message can be delivered")
		cancel()
		outcomes := map[string]int{}
		for _, f := range c.timeline(id).find("notification_failed") {
			if o, ok := f["outcome"].(string); ok {
				outcomes[o]++
			}
		}
		if customer["notify"] == "sms" {
			require.Equal(t, map[string]int{"permanent": 2}, outcomes, "ready and cancelled were each refused once, not retried")
		} else {
			require.Equal(t, map[string]int{"gave_up": 2}, outcomes, "ready and cancelled were each given up")
		}
		require.Equal(t, "cancelled", c.order(id).Status)
	}
}
