package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// keyed sends a request with an Idempotency-Key (and any other headers).
func (c *api) keyed(method, path string, body any, key string, headers ...string) response {
	c.t.Helper()
	return c.do(method, path, body, append([]string{"Idempotency-Key", key}, headers...)...)
}

// requireReplay checks that again is first, served again byte for byte.
func requireReplay(t *testing.T, first, again response) {
	t.Helper()
	require.Equal(t, first.Status, again.Status, "the retry gets the first status: %s", again.Body)
	require.Equal(t, string(first.Body), string(again.Body), "the retry gets the first answer, byte for byte")
	require.Empty(t, first.Header.Get("Idempotent-Replayed"), "the first answer is not a replay")
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
}

// ledgerCount counts an order's payment ledger rows of one kind.
func ledgerCount(t *testing.T, orderID, kind string) int {
	t.Helper()
	var n int
	require.NoError(t, omni.DB().Pool().QueryRow(context.Background(),
		"select count(*) from payments where order_id = $1 and kind = $2", orderID, kind).Scan(&n))
	return n
}

// lockStock holds a row lock on a store's stock of sku until the returned
// function is called: a step that moves that stock (a restock) waits for it.
func lockStock(t *testing.T, storeID, sku string) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := omni.DB().Pool().Begin(ctx)
	require.NoError(t, err)
	var n int64
	require.NoError(t, tx.QueryRow(ctx, "select on_hand from stock where store_id = $1 and sku = $2 for update",
		storeID, sku).Scan(&n))
	done := false
	unlock = func() {
		if !done {
			done = true
			require.NoError(t, tx.Rollback(ctx))
		}
	}
	t.Cleanup(unlock)
	return unlock
}

// A return retried with its Idempotency-Key gets the same return and refund,
// and the ledgers show one refund and one restock.
func TestIdempotentReturn(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.collected(line(sku, 2, 1000))
	path := "/v1/stores/" + manchester + "/orders/" + id + "/returns"
	body := map[string]any{"lines": []map[string]any{ret(sku, 1, "resellable")}}
	key := unique("pos-return")

	first := c.keyed(http.MethodPost, path, body, key)
	require.Equal(t, http.StatusCreated, first.Status, "return: %s", first.Body)
	again := c.keyed(http.MethodPost, path, body, key)
	requireReplay(t, first, again)
	rt := again.json(t)["return"].(map[string]any)
	require.Equal(t, first.json(t)["return"].(map[string]any)["id"], rt["id"], "the same return")
	require.EqualValues(t, 1000, rt["refund"])

	_, refunded := c.money(id)
	require.EqualValues(t, 1000, refunded, "refunded once")
	require.Equal(t, 1, ledgerCount(t, id, "refund"), "one refund in the payment ledger")
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(manchester, sku), "restocked once")
	var o struct {
		Status  string `json:"status"`
		Returns []any  `json:"returns"`
	}
	require.NoError(t, json.Unmarshal(c.do(http.MethodGet, "/v1/orders/"+id, nil).Body, &o))
	require.Len(t, o.Returns, 1)
	require.Equal(t, "partially_returned", o.Status)

	// The same key with another body, or for another action, is refused.
	other := map[string]any{"lines": []map[string]any{ret(sku, 1, "damaged")}}
	require.Equal(t, "idempotency_key_reused", problem(t, c.keyed(http.MethodPost, path, other, key), http.StatusUnprocessableEntity))
	exch := map[string]any{"return_lines": []map[string]any{ret(sku, 1, "resellable")},
		"new_lines": []map[string]any{line(sku, 1, 1000)}}
	require.Equal(t, "idempotency_key_reused", problem(t,
		c.keyed(http.MethodPost, "/v1/stores/"+manchester+"/orders/"+id+"/exchanges", exch, key), http.StatusUnprocessableEntity))
	// A new key is a new return.
	r := c.keyed(http.MethodPost, path, body, unique("pos-return"))
	require.Equal(t, http.StatusCreated, r.Status, "second return: %s", r.Body)
	require.NotEqual(t, rt["id"], r.json(t)["return"].(map[string]any)["id"])
	require.Equal(t, 2, ledgerCount(t, id, "refund"))
}

// The case: a return whose answer does not come in time (503) is
// retried with its key. While the first request runs the retry is told to
// wait (409); once the workflow has finished the return, the retry gets it
// (the same return, one refund, one restock) instead of making a second one.
func TestIdempotentReturnRetriedAfterTimeout(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	c.setStock(manchester, sku, 0)
	id := c.collected(line(sku, 2, 1000))
	path := "/v1/stores/" + manchester + "/orders/" + id + "/returns"
	body := map[string]any{"lines": []map[string]any{ret(sku, 1, "resellable")}}
	key := unique("pos-return")

	unlock := lockStock(t, manchester, sku) // the restock waits
	firstDone := make(chan response, 1)
	go func() {
		firstDone <- newAPI(t).keyed(http.MethodPost, path, body, key)
	}()
	require.Eventually(t, func() bool {
		var n int
		_ = omni.DB().Pool().QueryRow(context.Background(),
			"select count(*) from request_keys where key = $1 and sent", key).Scan(&n)
		return n == 1
	}, 10*time.Second, 20*time.Millisecond, "the first request reaches the workflow")

	busy := c.keyed(http.MethodPost, path, body, key)
	require.Equal(t, "request_in_progress", problem(t, busy, http.StatusConflict))
	require.Equal(t, "1", busy.Header.Get("Retry-After"))

	first := <-firstDone // the request timeout passes with the restock still waiting
	require.Equal(t, "timeout", problem(t, first, http.StatusServiceUnavailable))
	require.Zero(t, ledgerCount(t, id, "refund"), "nothing refunded yet")
	unlock()

	var again response
	require.Eventually(t, func() bool {
		again = c.keyed(http.MethodPost, path, body, key)
		return again.Status != http.StatusConflict && again.Status != http.StatusServiceUnavailable
	}, 20*time.Second, 200*time.Millisecond, "the retry gets the first return's outcome")
	require.Equal(t, http.StatusCreated, again.Status, "retry: %s", again.Body)
	rt := again.json(t)["return"].(map[string]any)
	require.EqualValues(t, 1000, rt["refund"])
	requireReplay(t, again, c.keyed(http.MethodPost, path, body, key))

	o := c.waitStatus(id, "partially_returned")
	require.EqualValues(t, 2, o.Lines[0].Collected)
	require.Equal(t, 1, ledgerCount(t, id, "refund"), "one refund in the payment ledger")
	_, refunded := c.money(id)
	require.EqualValues(t, 1000, refunded)
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(manchester, sku), "restocked once")
}

// A partial handover retried with its key hands over once.
func TestIdempotentPartialCollect(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody("", store, line(sku, 3, 1000)))
	c.waitStatus(id, "awaiting_pick")
	r := c.keyed(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(sku, 3)), unique("pick"))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	code := c.order(id).Pickup.Code
	path := "/v1/stores/" + store + "/orders/" + id + "/collect"
	body := map[string]any{"pickup_code": code, "lines": []map[string]any{qty(sku, 1)},
		"collected_by": map[string]any{"name": "Ada Lovelace", "relation": "customer"}}
	key := unique("handover")

	first := c.keyed(http.MethodPost, path, body, key)
	require.Equal(t, http.StatusOK, first.Status, "collect: %s", first.Body)
	require.Equal(t, "partially_collected", first.json(t)["status"])
	requireReplay(t, first, c.keyed(http.MethodPost, path, body, key))

	o := c.order(id)
	require.EqualValues(t, 1, o.Lines[0].Collected, "handed over once")
	captured, _ := c.money(id)
	require.EqualValues(t, 1000, captured, "paid once")
	require.Equal(t, 1, ledgerCount(t, id, "capture"))
	require.Equal(t, stock{OnHand: 4, Reserved: 2, Available: 2}, c.stock(store, sku), "stock committed once")

	// Another body under the key is refused; a new key hands over the rest.
	body["lines"] = []map[string]any{qty(sku, 2)}
	require.Equal(t, "idempotency_key_reused", problem(t, c.keyed(http.MethodPost, path, body, key), http.StatusUnprocessableEntity))
	r = c.keyed(http.MethodPost, path, body, unique("handover"))
	require.Equal(t, http.StatusOK, r.Status, "collect the rest: %s", r.Body)
	require.Equal(t, "collected", r.json(t)["status"])
}

// Handovers, returns and exchanges need a key; a key is at most 200 characters.
func TestIdempotencyKeyRequired(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.collected(line(sku, 2, 1000))
	base := "/v1/stores/" + store + "/orders/" + id
	for _, tc := range []struct {
		action string
		body   any
	}{
		{"collect", map[string]any{"pickup_code": "ABCDEFGH"}},
		{"returns", map[string]any{"lines": []map[string]any{ret(sku, 1, "resellable")}}},
		{"exchanges", map[string]any{"return_lines": []map[string]any{ret(sku, 1, "resellable")},
			"new_lines": []map[string]any{line(sku, 1, 1000)}}},
	} {
		r := c.do(http.MethodPost, base+"/"+tc.action, tc.body, "Idempotency-Key", "none")
		require.Equal(t, "idempotency_key_missing", problem(t, r, http.StatusBadRequest), tc.action)
	}
	long := strings.Repeat("k", 201)
	require.Equal(t, "idempotency_key_too_long", problem(t,
		c.keyed(http.MethodPost, base+"/returns", map[string]any{"lines": []map[string]any{ret(sku, 1, "resellable")}}, long),
		http.StatusBadRequest))
	require.Equal(t, "idempotency_key_too_long", problem(t,
		c.keyed(http.MethodPost, "/v1/orders/"+id+"/cancel", nil, long), http.StatusBadRequest))
	require.Equal(t, 0, ledgerCount(t, id, "refund"), "nothing was returned")
}

// A pick or a cancellation retried with its key gets the first answer, not
// the 409 the changed order would give a new request.
func TestIdempotentPickAndCancel(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody("", store, line(sku, 2, 1000)))
	c.waitStatus(id, "awaiting_pick")
	pick := "/v1/stores/" + store + "/orders/" + id + "/pick"
	key := unique("pick")
	first := c.keyed(http.MethodPost, pick, pickBody(qty(sku, 2)), key)
	require.Equal(t, http.StatusOK, first.Status, "pick: %s", first.Body)
	requireReplay(t, first, c.keyed(http.MethodPost, pick, pickBody(qty(sku, 2)), key))
	require.Equal(t, "not_awaiting_pick", problem(t, c.do(http.MethodPost, pick, pickBody(qty(sku, 2))), http.StatusConflict),
		"a pick without the key is a new one")

	cancel := "/v1/orders/" + id + "/cancel"
	key = unique("cancel")
	first = c.keyed(http.MethodPost, cancel, map[string]any{"reason": "changed my mind"}, key)
	require.Equal(t, http.StatusOK, first.Status, "cancel: %s", first.Body)
	require.Equal(t, "cancelled", first.json(t)["status"])
	requireReplay(t, first, c.keyed(http.MethodPost, cancel, map[string]any{"reason": "changed my mind"}, key))
	require.Equal(t, "order_closed", problem(t, c.do(http.MethodPost, cancel, nil), http.StatusConflict),
		"a cancellation without the key is a new one")
	require.Equal(t, 1, ledgerCount(t, id, "void"), "the authorisation is voided once")
}

// A reject retried with its key gets the first answer, although the order has
// moved to a store this key may not see.
func TestIdempotentRejectAfterTheOrderMoved(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 2)
	c.setStock(manchester, sku, 2)
	id := c.place(orderBody("", store, line(sku, 1, 1000)))
	c.waitStatus(id, "awaiting_pick")
	path := "/v1/stores/" + store + "/orders/" + id + "/reject"
	body := map[string]any{"reason": "damaged in the stockroom"}
	key := unique("reject")
	staff := []string{"Authorization", "Bearer " + store1Key}
	first := c.keyed(http.MethodPost, path, body, key, staff...)
	require.Equal(t, http.StatusOK, first.Status, "reject: %s", first.Body)
	require.Equal(t, manchester, first.json(t)["fulfilment"].(map[string]any)["store_id"])
	requireReplay(t, first, c.keyed(http.MethodPost, path, body, key, staff...))
	require.Equal(t, "order_not_found", problem(t, c.keyed(http.MethodPost, path, body, unique("reject"), staff...), http.StatusNotFound),
		"a new reject from the first store cannot see the order any more")
}

// Keys are the caller's own: the same key from two store clients is two returns.
func TestIdempotencyKeysAreTheCallers(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.collected(line(sku, 2, 1000))
	path := "/v1/stores/" + store + "/orders/" + id + "/returns"
	body := map[string]any{"lines": []map[string]any{ret(sku, 1, "resellable")}}
	key := unique("shared")
	a := c.keyed(http.MethodPost, path, body, key, "Authorization", "Bearer "+store1Key)
	require.Equal(t, http.StatusCreated, a.Status, "return: %s", a.Body)
	b := c.keyed(http.MethodPost, path, body, key, "Authorization", "Bearer "+allStoresKey)
	require.Equal(t, http.StatusCreated, b.Status, "return: %s", b.Body)
	require.Empty(t, b.Header.Get("Idempotent-Replayed"))
	require.NotEqual(t, a.json(t)["return"].(map[string]any)["id"], b.json(t)["return"].(map[string]any)["id"])
	require.Equal(t, 2, ledgerCount(t, id, "refund"))
	c.waitStatus(id, "returned")
}

// A resend with a key sends once: its retry sends nothing new.
func TestIdempotentResend(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 2)
	id := c.place(orderBody("", store, line(sku, 1, 1000)))
	c.waitStatus(id, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(sku, 1)))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	support := []string{"Authorization", "Bearer " + supportKey}
	require.Eventually(t, func() bool { return len(c.notifications(id, support...)) > 0 }, 10*time.Second, 50*time.Millisecond)

	path := "/v1/orders/" + id + "/notifications/resend"
	key := unique("resend")
	first := c.keyed(http.MethodPost, path, nil, key, support...)
	require.Equal(t, http.StatusAccepted, first.Status, "resend: %s", first.Body)
	requireReplay(t, first, c.keyed(http.MethodPost, path, nil, key, support...))
	var sent notificationView
	require.NoError(t, json.Unmarshal(first.Body, &sent))
	require.Contains(t, sent.Key, "/resend/req-", "the resend's key derives from the request's")
	require.NotContains(t, sent.Key, key, "never the raw key")
	resends := 0
	for _, n := range c.notifications(id, support...) {
		if strings.Contains(n.Key, "/resend/") {
			resends++
		}
	}
	require.Equal(t, 1, resends, "one resend")
}

// The lease at the storage level: one request holds a key at a time, its
// answer is kept, a lapsed or released lease is taken by the next retry.
func TestIdempotencyLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := omni.DB()
	caller, key, hash := unique("it-caller"), "k-1", []byte("hash-1")

	first, err := db.ClaimRequest(ctx, caller, key, hash, "ord-1", time.Minute)
	require.NoError(t, err)
	require.Nil(t, first.Outcome)
	require.False(t, first.Retry)
	_, err = db.ClaimRequest(ctx, caller, key, hash, "ord-1", time.Minute)
	e, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "request_in_progress", e.Code)
	require.Equal(t, order.KindConflict, e.Kind)
	_, err = db.ClaimRequest(ctx, caller, key, []byte("hash-2"), "ord-1", time.Minute)
	e, ok = order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "idempotency_key_reused", e.Code)
	require.Equal(t, order.KindInvalid, e.Kind)

	// Let go without an answer: the next request takes the key at once.
	require.NoError(t, db.MarkRequestSent(ctx, caller, key, first.Lease))
	require.NoError(t, db.ReleaseRequest(ctx, caller, key, first.Lease))
	second, err := db.ClaimRequest(ctx, caller, key, hash, "ord-1", time.Minute)
	require.NoError(t, err)
	require.True(t, second.Retry)
	require.True(t, second.Sent, "the first reached the workflow")
	// A stale holder cannot let go of the new lease.
	require.NoError(t, db.ReleaseRequest(ctx, caller, key, first.Lease))
	_, err = db.ClaimRequest(ctx, caller, key, hash, "ord-1", time.Minute)
	e, ok = order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "request_in_progress", e.Code)

	answer := postgres.RequestOutcome{StatusCode: 201, ContentType: "application/json", Body: []byte("{\"id\": \"x\"}\n")}
	require.NoError(t, db.FinishRequest(ctx, caller, key, answer))
	require.NoError(t, db.FinishRequest(ctx, caller, key, postgres.RequestOutcome{StatusCode: 409,
		ContentType: "application/problem+json", Body: []byte("{}")}), "a later answer does not replace the first")
	third, err := db.ClaimRequest(ctx, caller, key, hash, "ord-1", time.Minute)
	require.NoError(t, err)
	require.Equal(t, &answer, third.Outcome)

	// A lease that lapses (its request died) is taken by the next retry.
	short := "k-2"
	_, err = db.ClaimRequest(ctx, caller, short, hash, "ord-1", 50*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	taken, err := db.ClaimRequest(ctx, caller, short, hash, "ord-1", time.Minute)
	require.NoError(t, err)
	require.True(t, taken.Retry)
	require.False(t, taken.Sent)

	// Keys are per caller.
	other, err := db.ClaimRequest(ctx, caller+"-other", key, []byte("hash-2"), "ord-2", time.Minute)
	require.NoError(t, err)
	require.Nil(t, other.Outcome)
	require.False(t, other.Retry)
	var n int
	require.NoError(t, db.Pool().QueryRow(ctx, "select count(*) from request_keys where caller like $1", caller+"%").Scan(&n))
	require.Equal(t, 3, n)
}
