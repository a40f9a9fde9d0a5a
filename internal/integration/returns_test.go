package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// collected places an order for lines at store, picks and hands over all of it.
func (c *api) collected(lines ...map[string]any) string {
	c.t.Helper()
	id := c.place(orderBody("", store, lines...))
	c.waitStatus(id, "awaiting_pick")
	var found []map[string]any
	for _, l := range lines {
		found = append(found, qty(l["sku"].(string), l["quantity"].(int64)))
	}
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(found...))
	require.Equal(c.t, http.StatusOK, r.Status, "pick: %s", r.Body)
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": c.order(id).Pickup.Code})
	require.Equal(c.t, http.StatusOK, r.Status, "collect: %s", r.Body)
	return id
}

func ret(sku string, n int64, condition string) map[string]any {
	return map[string]any{"sku": sku, "quantity": n, "reason": "does not fit", "condition": condition}
}

func (c *api) returnLines(storeID, id string, lines ...map[string]any) response {
	c.t.Helper()
	return c.do(http.MethodPost, "/v1/stores/"+storeID+"/orders/"+id+"/returns", map[string]any{"lines": lines})
}

// money reads the order's payment ledger and checks, line by line, that
// nothing was given back beyond what was paid.
func (c *api) money(id string) (captured, refunded int64) {
	c.t.Helper()
	b, err := omni.DB().PaymentBalance(context.Background(), id)
	require.NoError(c.t, err)
	require.LessOrEqual(c.t, b.Refunded, b.Captured, "never more refunded than captured")
	var doc struct {
		Lines []struct {
			SKU       string `json:"sku"`
			UnitPrice int64  `json:"unit_price"`
			Collected int64  `json:"collected"`
			Delivered int64  `json:"delivered"`
			Returned  int64  `json:"returned"`
			Refunded  int64  `json:"refunded"`
		} `json:"lines"`
	}
	require.NoError(c.t, json.Unmarshal(c.do(http.MethodGet, "/v1/orders/"+id, nil).Body, &doc))
	for _, l := range doc.Lines {
		handed := l.Collected + l.Delivered
		require.LessOrEqual(c.t, l.Returned, handed, "%s: returned at most what was handed over", l.SKU)
		require.LessOrEqual(c.t, l.Refunded, handed*l.UnitPrice, "%s: given back at most what was paid", l.SKU)
	}
	return b.Captured, b.Refunded
}

func TestFullReturnRefundsAndRestocksWhereTaken(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 5)
	id := c.collected(line(a, 2, 1000), line(b, 1, 500))

	r := c.returnLines(manchester, id, ret(a, 2, "resellable"), ret(b, 1, "damaged"))
	require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
	body := r.json(t)
	require.EqualValues(t, 2500, body["return"].(map[string]any)["refund"])
	require.Equal(t, "returned", body["order"].(map[string]any)["status"])

	require.Equal(t, stock{OnHand: 3, Reserved: 0, Available: 3}, c.stock(store, a), "sold from the collection store")
	require.Equal(t, stock{OnHand: 2, Reserved: 0, Available: 2}, c.stock(manchester, a), "restocked where it came back")
	require.Equal(t, stock{OnHand: 0, Reserved: 0, Available: 0}, c.stock(manchester, b), "damaged goods are not restocked")
	n, err := omni.DB().WrittenOff(context.Background(), manchester, b)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "and are written off")
	captured, refunded := c.money(id)
	require.EqualValues(t, 2500, captured)
	require.EqualValues(t, 2500, refunded)
	tl := c.timeline(id)
	require.Len(t, tl.find("returned"), 1)
	require.Len(t, tl.find("payment_refunded"), 1)
	templates, _ := notifications(t, id)
	require.Contains(t, templates, "refunded", "the refund is sent before the return answers")
	require.Equal(t, "nothing_to_return", problem(t, c.returnLines(store, id, ret(a, 1, "resellable")), http.StatusConflict))
}

func TestPartialReturnsInTwoStoresAndOverReturn(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a := unique("SKU")
	c.setStock(store, a, 5)
	id := c.collected(line(a, 3, 700))

	r := c.returnLines(manchester, id, ret(a, 1, "resellable"))
	require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
	require.Equal(t, "partially_returned", c.order(id).Status)
	r = c.returnLines(leeds, id, ret(a, 1, "resellable"))
	require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
	require.Equal(t, "over_return", problem(t, c.returnLines(leeds, id, ret(a, 2, "resellable")), http.StatusConflict))

	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(manchester, a))
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(leeds, a))
	captured, refunded := c.money(id)
	require.EqualValues(t, 2100, captured)
	require.EqualValues(t, 1400, refunded)
	require.Equal(t, "partially_returned", c.order(id).Status)
}

func TestRacingReturnsNeverOverReturn(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a := unique("SKU")
	c.setStock(store, a, 5)
	id := c.collected(line(a, 2, 900))

	const racers = 4
	statuses := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := (&api{t: t, base: baseURL}).returnLines(manchester, id, ret(a, 2, "resellable"))
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	var ok int
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			ok++
		case http.StatusConflict:
		default:
			t.Fatalf("unexpected status %d", s)
		}
	}
	require.Equal(t, 1, ok, "exactly one of the racing returns is taken: %v", statuses)
	require.Equal(t, stock{OnHand: 2, Reserved: 0, Available: 2}, c.stock(manchester, a))
	_, refunded := c.money(id)
	require.EqualValues(t, 1800, refunded)
}

func TestReturnRefusals(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a := unique("SKU")
	c.setStock(store, a, 5)

	waiting := c.place(orderBody("", store, line(a, 1, 500)))
	c.waitStatus(waiting, "awaiting_pick")
	require.Equal(t, "not_collected", problem(t, c.returnLines(store, waiting, ret(a, 1, "resellable")), http.StatusConflict))
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/orders/"+waiting+"/cancel", nil).Status)
	require.Equal(t, "not_returnable", problem(t, c.returnLines(store, waiting, ret(a, 1, "resellable")), http.StatusConflict))

	id := c.collected(line(a, 1, 500))
	tests := []struct {
		name   string
		store  string
		lines  []map[string]any
		status int
		want   string
	}{
		{"a store the key does not work for", "store-999", []map[string]any{ret(a, 1, "resellable")}, http.StatusForbidden, "forbidden"},
		{"line not on the order", store, []map[string]any{ret("OTHER-SKU", 1, "resellable")}, http.StatusUnprocessableEntity, "unknown_line"},
		{"bad condition", store, []map[string]any{ret(a, 1, "like new")}, http.StatusUnprocessableEntity, "validation"},
		{"no reason", store, []map[string]any{{"sku": a, "quantity": 1, "condition": "damaged"}}, http.StatusUnprocessableEntity, "validation"},
		{"more than bought", store, []map[string]any{ret(a, 2, "resellable")}, http.StatusConflict, "over_return"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, problem(t, c.returnLines(tc.store, id, tc.lines...), tc.status), tc.name)
	}
	require.Equal(t, "not_found", problemOrNotFound(t, c.returnLines(store, "no-such-order", ret(a, 1, "resellable"))))
	_, refunded := c.money(id)
	require.Zero(t, refunded, "refused returns change nothing")
	require.Equal(t, "collected", c.order(id).Status)
}

func problemOrNotFound(t *testing.T, r response) string {
	t.Helper()
	require.Equal(t, http.StatusNotFound, r.Status, "body: %s", r.Body)
	return "not_found"
}

func TestReturnAfterWindowRefused(t *testing.T) {
	t.Parallel()
	c := &api{t: t, base: clocksURL} // return window: 3 s
	a := unique("SKU")
	c.setStock(store, a, 2)
	id := c.collected(line(a, 1, 400))
	deadline := time.Now().Add(20 * time.Second)
	for len(c.timeline(id).find("return_window_closed")) == 0 {
		require.True(t, time.Now().Before(deadline), "the return window closes")
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, "return_window_closed", problem(t, c.returnLines(store, id, ret(a, 1, "resellable")), http.StatusConflict))
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(store, a))
}

func (c *api) exchangeLines(storeID, id string, body map[string]any) response {
	c.t.Helper()
	return c.do(http.MethodPost, "/v1/stores/"+storeID+"/orders/"+id+"/exchanges", body)
}

func TestExchanges(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	small, large, dearer, cheaper, missing := unique("SKU"), unique("SKU"), unique("SKU"), unique("SKU"), unique("SKU")
	c.setStock(store, small, 5)
	for _, sku := range []string{large, dearer, cheaper} {
		c.setStock(manchester, sku, 3)
	}
	id := c.collected(line(small, 3, 2000))
	for sku, price := range map[string]int64{large: 2000, dearer: 2600, cheaper: 1500, missing: 2000} {
		c.setPrice(sku, "GBP", price) // exchanged-in items are priced from the price list
	}
	exchange := func(newSKU string, price int64, tender map[string]any) response {
		body := map[string]any{"return_lines": []any{ret(small, 1, "resellable")},
			"new_lines": []any{map[string]any{"sku": newSKU, "quantity": 1, "unit_price": price}}}
		if tender != nil {
			body["tender"] = tender
		}
		return c.exchangeLines(manchester, id, body)
	}

	// Even: another size at the same price moves no money.
	r := exchange(large, 2000, nil)
	require.Equal(t, http.StatusCreated, r.Status, "even exchange: %s", r.Body)
	x := r.json(t)["exchange"].(map[string]any)
	require.EqualValues(t, 0, x["difference"])
	captured, refunded := c.money(id)
	require.EqualValues(t, 6000, captured)
	require.Zero(t, refunded)
	require.Equal(t, stock{OnHand: 2, Reserved: 0, Available: 2}, c.stock(manchester, large), "taken from this store's stock")
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(manchester, small), "the returned item is restocked here")

	// Payment due: without a tender nothing happens; with one the difference is taken.
	require.Equal(t, "payment_required", problem(t, exchange(dearer, 2600, nil), http.StatusConflict))
	require.Equal(t, stock{OnHand: 3, Reserved: 0, Available: 3}, c.stock(manchester, dearer), "nothing changed")
	r = exchange(dearer, 2600, map[string]any{"method": "CARD", "reference": "pos-4411"})
	require.Equal(t, http.StatusCreated, r.Status, "exchange with payment: %s", r.Body)
	x = r.json(t)["exchange"].(map[string]any)
	require.EqualValues(t, 600, x["difference"])
	require.EqualValues(t, 600, x["charged"])
	captured, refunded = c.money(id)
	require.EqualValues(t, 6600, captured, "the difference is captured from the new tender")
	require.Zero(t, refunded)

	// Refund due: the difference goes back to the original tender.
	r = exchange(cheaper, 1500, nil)
	require.Equal(t, http.StatusCreated, r.Status, "exchange with refund: %s", r.Body)
	x = r.json(t)["exchange"].(map[string]any)
	require.EqualValues(t, -500, x["difference"])
	require.EqualValues(t, 500, x["refunded"])
	captured, refunded = c.money(id)
	require.EqualValues(t, 6600, captured)
	require.EqualValues(t, 500, refunded)

	// No stock for the new item: 409 and nothing changed.
	before := c.order(id).Version
	r = c.exchangeLines(manchester, id, map[string]any{"return_lines": []any{ret(large, 1, "resellable")},
		"new_lines": []any{map[string]any{"sku": missing, "quantity": 1, "unit_price": 2000}}})
	require.Equal(t, "no_stock", problem(t, r, http.StatusConflict))
	require.Equal(t, before, c.order(id).Version, "nothing was changed")
	require.Equal(t, stock{OnHand: 2, Reserved: 0, Available: 2}, c.stock(manchester, large))

	var doc struct {
		Status    string           `json:"status"`
		Exchanges []map[string]any `json:"exchanges"`
		Payments  []map[string]any `json:"payments"`
	}
	require.NoError(t, json.Unmarshal(c.do(http.MethodGet, "/v1/orders/"+id, nil).Body, &doc))
	require.Equal(t, "collected", doc.Status, "exchanges keep the order collected")
	require.Len(t, doc.Exchanges, 3)
	require.Len(t, doc.Payments, 2)
	require.Equal(t, "card", doc.Payments[1]["method"])
	require.Len(t, c.timeline(id).find("exchanged"), 3)

	// An exchanged-in item can itself be returned later, for what was paid for it.
	r = c.returnLines(manchester, id, ret(dearer, 1, "resellable"))
	require.Equal(t, http.StatusCreated, r.Status, "return of an exchanged item: %s", r.Body)
	require.EqualValues(t, 2600, r.json(t)["return"].(map[string]any)["refund"])
	c.money(id)
}
