package integration

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The customer's details on every order these tests place: none of them may
// reach another store's staff.
const (
	lpEmail       = "grace.hopper@example.com"
	lpPhone       = "+447700900123"
	lpName        = "Grace Hopper"
	lpNominee     = "Katherine Johnson"
	lpNomineeTel  = "+447700900456"
	lpPushToken   = "lp-device-token"
	lpPaymentRefs = "psp-lp-secret-"
)

// privateOrder is an order at store-001 for lines whose customer, nominee and
// payment carry details another store must never see.
func privateOrder(lines ...map[string]any) map[string]any {
	id := unique("lp")
	b := orderBody(id, store, lines...)
	b["customer"] = map[string]any{"id": "c-lp", "email": lpEmail, "phone": lpPhone, "name": lpName, "push_token": lpPushToken}
	b["nominee"] = map[string]any{"name": lpNominee, "phone": lpNomineeTel}
	b["payment"].(map[string]any)["reference"] = lpPaymentRefs + id
	return b
}

// handedOver places a private order at store-001, picks it and hands it over.
func (c *api) handedOver(lines ...map[string]any) (id, number string) {
	c.t.Helper()
	id = c.place(privateOrder(lines...))
	c.waitStatus(id, "awaiting_pick")
	var found []map[string]any
	for _, l := range lines {
		found = append(found, qty(l["sku"].(string), l["quantity"].(int64)))
	}
	c.pickOK(store, id, found...)
	o := c.order(id)
	c.collectOK(store, id, map[string]any{"pickup_code": o.Pickup.Code,
		"collected_by": map[string]any{"name": lpName, "relation": "customer"}})
	return id, c.waitStatus(id, "collected").Number
}

// requireNoPrivateData fails when body carries any of the customer's
// details, the nominee's, the pickup code or the payment's reference.
func requireNoPrivateData(t *testing.T, body []byte, what string) {
	t.Helper()
	for _, secret := range []string{lpEmail, lpPhone, lpName, lpNominee, lpNomineeTel, lpPushToken, lpPaymentRefs,
		`"customer"`, `"pickup"`, `"nominee"`, `"code"`, `"reference"`, `"notifications"`} {
		require.NotContains(t, string(body), secret, "%s: %s", what, body)
	}
}

// forReturnKeys are the only fields of an order found by another store.
var forReturnKeys = []string{"currency", "exchanges", "id", "lines", "number", "payments", "returnable_until", "returns", "status", "version"}

// requireForReturn checks that raw is the order as another store sees it for
// a return: what a return needs and nothing more.
func requireForReturn(t *testing.T, raw json.RawMessage, id string) map[string]any {
	t.Helper()
	requireNoPrivateData(t, raw, "the order for a return")
	var o map[string]any
	require.NoError(t, json.Unmarshal(raw, &o))
	require.Equal(t, forReturnKeys, slices.Sorted(maps.Keys(o)), "the fields of the order for a return: %s", raw)
	require.Equal(t, id, o["id"])
	for _, p := range o["payments"].([]any) {
		require.Equal(t, []string{"method"}, slices.Sorted(maps.Keys(p.(map[string]any))), "of the payment, only its method")
	}
	for _, l := range o["lines"].([]any) {
		require.Equal(t, []string{"collected", "quantity", "refunded", "returned", "sku", "unit_price"},
			slices.Sorted(maps.Keys(l.(map[string]any))), "what a return needs of each line")
	}
	return o
}

// recordedEvent is one event of GET /v1/orders/{id}/events, with its data.
type recordedEvent struct {
	Seq     int64          `json:"seq"`
	Type    string         `json:"type"`
	Channel string         `json:"channel"`
	Actor   string         `json:"actor"`
	Data    map[string]any `json:"data"`
}

// eventsOfType reads the order's timeline (as the checkout that placed it)
// and returns its events of type typ, with the raw timeline.
func (c *api) eventsOfType(id, typ string) ([]recordedEvent, []byte) {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil, "Authorization", "Bearer "+checkoutKey)
	require.Equal(c.t, http.StatusOK, r.Status, "events: %s", r.Body)
	var body struct {
		Events []json.RawMessage `json:"events"`
	}
	require.NoError(c.t, json.Unmarshal(r.Body, &body))
	var out []recordedEvent
	var raw []byte
	for _, e := range body.Events {
		var ev recordedEvent
		require.NoError(c.t, json.Unmarshal(e, &ev))
		if ev.Type == typ {
			out = append(out, ev)
			raw = append(raw, e...)
		}
	}
	return out, raw
}

// waitEvents waits until the order's timeline has n events of type typ.
func (c *api) waitEvents(id, typ string, n int) ([]recordedEvent, []byte) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs, raw := c.eventsOfType(id, typ)
		if len(evs) >= n {
			return evs, raw
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("order %s has %d %s events, waited for %d", id, len(evs), typ, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A store key reads orders, their timelines and their streams only for the
// stores it works for: another store's order, handed over or not, answers
// exactly as an unknown order.
func TestStoreKeyReadsOnlyItsStoresOrders(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id, _ := c.handedOver(line(sku, 1, 1500))
	other := "Bearer " + store2Key

	unknown := unique("no-such-order")
	for _, path := range []string{"", "/events"} {
		r := c.do(http.MethodGet, "/v1/orders/"+id+path, nil, "Authorization", other)
		require.Equal(t, "order_not_found", problem(t, r, http.StatusNotFound), "GET /v1/orders/{id}%s of another store's collected order", path)
		requireNoPrivateData(t, r.Body, "the refusal")
		u := c.do(http.MethodGet, "/v1/orders/"+unknown+path, nil, "Authorization", other)
		require.Equal(t, strings.ReplaceAll(string(u.Body), unknown, id), string(r.Body), "answered exactly as an unknown order")
	}
	require.Equal(t, "order_not_found", problem(t, streamRefused(t, id, "", "Authorization", other), http.StatusNotFound),
		"the live timeline too")

	// The store that holds the order still reads all of it (but the pickup code).
	r := c.do(http.MethodGet, "/v1/orders/"+id, nil, "Authorization", "Bearer "+store1Key)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), lpEmail)
	require.Equal(t, http.StatusOK, c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil, "Authorization", "Bearer "+store1Key).Status)
}

// Another store finds a handed-over order by the number on its receipt and
// gets only what a return needs; the read is on the order's timeline.
func TestAnotherStoreFindsAnOrderForAReturn(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id, number := c.handedOver(line(sku, 2, 1250))
	byNumber := func(at, key string, headers ...string) response {
		return c.do(http.MethodGet, "/v1/stores/"+at+"/orders/by-number/"+number, nil,
			append([]string{"Authorization", "Bearer " + key}, headers...)...)
	}

	// The order's own store finds all of it, and that is no look-up for a return.
	own := byNumber(store, store1Key)
	require.Equal(t, http.StatusOK, own.Status, "%s", own.Body)
	require.Contains(t, string(own.Body), lpEmail, "the order's store sees the customer")
	require.NotContains(t, string(own.Body), `"code"`)

	r := byNumber(manchester, store2Key, "Omni-Channel", "store_console", "Omni-Actor", "associate-42")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	o := requireForReturn(t, r.Body, id)
	require.Equal(t, number, o["number"])
	require.Equal(t, "collected", o["status"])
	require.Equal(t, "GBP", o["currency"])
	require.NotEmpty(t, o["returnable_until"])
	require.Equal(t, []any{map[string]any{"method": "card"}}, o["payments"])
	require.Equal(t, []any{map[string]any{"sku": sku, "quantity": 2.0, "unit_price": 1250.0, "collected": 2.0, "returned": 0.0, "refunded": 0.0}}, o["lines"])

	evs, raw := c.waitEvents(id, "looked_up_for_return", 1)
	require.Len(t, evs, 1, "one read, one event; the order's own store left none")
	require.Equal(t, "store_console", evs[0].Channel)
	require.Equal(t, "associate-42", evs[0].Actor)
	require.Equal(t, map[string]any{"store_id": manchester}, evs[0].Data)
	requireNoPrivateData(t, raw, "the timeline event")

	// Every read is recorded: a second one is a second event.
	require.Equal(t, http.StatusOK, byNumber(manchester, store2Key).Status)
	evs, _ = c.waitEvents(id, "looked_up_for_return", 2)
	require.Equal(t, "manchester-staff", evs[1].Actor, "the key's name when no Omni-Actor is sent")
	require.Equal(t, "pos", evs[1].Channel, "a store's default channel")
}

// Walking the sequential numbers from another store finds nothing but
// orders whose goods were handed over and that can still be returned.
func TestAnotherStoreCannotWalkOrderNumbers(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 20)

	awaiting := c.place(privateOrder(line(sku, 1, 1000)))
	c.waitStatus(awaiting, "awaiting_pick")
	ready := c.place(privateOrder(line(sku, 1, 1000)))
	c.waitStatus(ready, "awaiting_pick")
	c.pickOK(store, ready, qty(sku, 1))
	c.waitStatus(ready, "ready_for_collection")
	cancelled := c.place(privateOrder(line(sku, 1, 1000)))
	c.waitStatus(cancelled, "awaiting_pick")
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/orders/"+cancelled+"/cancel", nil).Status)
	c.waitStatus(cancelled, "cancelled")
	// Every unit came back: its lifecycle has ended, nothing of it can be returned.
	returned, _ := c.handedOver(line(sku, 1, 1000))
	require.Equal(t, http.StatusCreated, c.returnLines(store, returned, ret(sku, 1, "resellable")).Status)
	c.waitStatus(returned, "returned")

	unknown := c.do(http.MethodGet, "/v1/stores/store-002/orders/by-number/99999999", nil, "Authorization", "Bearer "+store2Key)
	require.Equal(t, "order_not_found", problem(t, unknown, http.StatusNotFound))
	for name, id := range map[string]string{"awaiting pick": awaiting, "ready": ready, "cancelled": cancelled, "returned": returned} {
		number := c.order(id).Number
		r := c.do(http.MethodGet, "/v1/stores/store-002/orders/by-number/"+number, nil, "Authorization", "Bearer "+store2Key)
		require.Equal(t, "order_not_found", problem(t, r, http.StatusNotFound), "%s order %s from another store", name, number)
		require.Equal(t, strings.ReplaceAll(string(unknown.Body), "99999999", number), string(r.Body),
			"a %s order answers exactly as an unknown number", name)
		evs, _ := c.eventsOfType(id, "looked_up_for_return")
		require.Empty(t, evs, "%s: nothing was read, nothing recorded", name)
	}
}

// A return and an exchange at another store still work, and their answers
// carry the order as that store may see it.
func TestReturnAtAnotherStoreAnswersTheReducedOrder(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku, newSKU := unique("SKU"), unique("SKU")
	c.setStock(store, sku, 5)
	c.setStock(manchester, newSKU, 5)
	c.setPrice(newSKU, "GBP", 900)
	id, _ := c.handedOver(line(sku, 3, 1000))
	staff := []string{"Authorization", "Bearer " + store2Key}

	r := c.do(http.MethodPost, "/v1/stores/"+manchester+"/orders/"+id+"/returns",
		map[string]any{"lines": []any{ret(sku, 1, "resellable")}}, staff...)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var answer map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &answer))
	require.Contains(t, answer, "return")
	o := requireForReturn(t, answer["order"], id)
	require.Equal(t, "partially_returned", o["status"])
	require.Len(t, o["returns"], 1)
	requireNoPrivateData(t, r.Body, "the return's answer")

	r = c.do(http.MethodPost, "/v1/stores/"+manchester+"/orders/"+id+"/exchanges", map[string]any{
		"return_lines": []any{ret(sku, 1, "damaged")},
		"new_lines":    []any{map[string]any{"sku": newSKU, "quantity": 1}},
	}, staff...)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	answer = nil
	require.NoError(t, json.Unmarshal(r.Body, &answer))
	require.Contains(t, answer, "exchange")
	o = requireForReturn(t, answer["order"], id)
	require.Len(t, o["exchanges"], 1)
	requireNoPrivateData(t, r.Body, "the exchange's answer")

	// The order's own store still gets all of it in its answers.
	r = c.returnLines(store, id, ret(sku, 1, "resellable")) // a key working for every store
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), lpEmail)
	c.waitStatus(id, "partially_returned")
}
