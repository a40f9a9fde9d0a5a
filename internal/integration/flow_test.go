package integration

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const store = "store-001"

func TestClickAndCollect(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 10)

	id := c.place(orderBody(unique("web"), store, line(sku, 2, 1999)))
	o := c.waitStatus(id, "awaiting_pick")
	require.Equal(t, stock{OnHand: 10, Reserved: 2, Available: 8}, c.stock(store, sku), "stock is held for the order")

	// The store sees the order in its queue, without the pickup code.
	q := c.do(http.MethodGet, "/v1/stores/"+store+"/orders?status=awaiting_pick", nil)
	require.Equal(t, http.StatusOK, q.Status)
	require.Contains(t, string(q.Body), `"id":"`+id+`"`)
	require.NotContains(t, string(q.Body), `"code"`)

	// Handing over before the pick is refused.
	problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": "ABCDEFGH"}), http.StatusConflict)

	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 2}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	require.NotContains(t, string(r.Body), `"code"`, "store staff never see the pickup code")
	require.Equal(t, "ready_for_collection", r.json(t)["status"])

	// The Update returned after its projection: the read model already says so.
	o = c.order(id)
	require.Equal(t, "ready_for_collection", o.Status)
	require.Len(t, o.Pickup.Code, 8)
	require.NotNil(t, o.Pickup.ReadyAt)
	require.NotNil(t, o.Pickup.ExpiresAt)
	code := o.Pickup.Code

	require.Equal(t, "wrong_pickup_code", problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect",
		map[string]any{"pickup_code": wrongCode(code)}), http.StatusForbidden))
	require.Equal(t, "wrong_store", problem(t, c.do(http.MethodPost, "/v1/stores/store-002/orders/"+id+"/collect",
		map[string]any{"pickup_code": code}), http.StatusConflict))
	versionBefore := c.order(id).Version

	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{
		"pickup_code": code, "collected_by": map[string]any{"name": "Ada Lovelace", "relation": "customer"}})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)

	o = c.order(id)
	require.Equal(t, "collected", o.Status)
	require.Equal(t, versionBefore+1, o.Version, "rejected handovers changed nothing")
	require.EqualValues(t, 2, o.Lines[0].Collected)
	require.EqualValues(t, 3998, o.Payments[0].Captured)
	require.Equal(t, stock{OnHand: 8, Reserved: 0, Available: 8}, c.stock(store, sku), "the sale left the store's stock")
	require.Equal(t, []string{"placed", "stock_reserved", "pick_requested", "picked", "ready_for_collection",
		"collected", "payment_captured"}, c.eventTypes(id))

	b, err := omni.DB().PaymentBalance(context.Background(), id)
	require.NoError(t, err)
	require.EqualValues(t, 3998, b.Captured, "payment ledger captured the order total")
	require.Zero(t, b.Open(), "nothing left authorised")

	// A collected order cannot be handed over again.
	problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code}), http.StatusConflict)
}

func wrongCode(code string) string {
	if strings.HasPrefix(code, "A") {
		return "B" + code[1:]
	}
	return "A" + code[1:]
}

func TestShortPickCapturesWhatWasFound(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 5)
	id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
	c.waitStatus(id, "awaiting_pick")

	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": a, "quantity": 1}, map[string]any{"sku": b, "quantity": 1}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	require.Equal(t, stock{OnHand: 5, Reserved: 1, Available: 4}, c.stock(store, a), "the missing unit went back to the store")

	o := c.order(id)
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": o.Pickup.Code})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	o = c.order(id)
	require.Equal(t, "collected", o.Status)
	require.EqualValues(t, 1500, o.Payments[0].Captured, "only what was found is paid for")
	require.EqualValues(t, 1000, o.Payments[0].Voided, "the rest of the authorisation is released")
	require.Equal(t, stock{OnHand: 4, Reserved: 0, Available: 4}, c.stock(store, a))
}

func TestPartialCollection(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 3)
	c.setStock(store, b, 3)
	id := c.place(orderBody("", store, line(a, 1, 1000), line(b, 2, 500)))
	c.waitStatus(id, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": a, "quantity": 1}, map[string]any{"sku": b, "quantity": 2}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	code := c.order(id).Pickup.Code

	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code,
		"lines": []any{map[string]any{"sku": a, "quantity": 1}}, "collected_by": map[string]any{"name": "Charles Babbage", "relation": "nominee"}})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	o := c.order(id)
	require.Equal(t, "partially_collected", o.Status)
	require.EqualValues(t, 1000, o.Payments[0].Captured)

	// More than is left is refused.
	require.Equal(t, "bad_quantity", problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect",
		map[string]any{"pickup_code": code, "lines": []any{map[string]any{"sku": a, "quantity": 1}}}), http.StatusUnprocessableEntity))

	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	o = c.order(id)
	require.Equal(t, "collected", o.Status)
	require.EqualValues(t, 2000, o.Payments[0].Captured)
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(store, b))
}

func TestNoStockRejectsAndHoldsNothing(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 1)
	id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 2, 1000)))
	o := c.waitStatus(id, "rejected")
	require.EqualValues(t, 4000, o.Payments[0].Voided, "the authorisation is voided")
	require.Equal(t, stock{OnHand: 5, Reserved: 0, Available: 5}, c.stock(store, a), "nothing is left reserved")
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(store, b))
	require.Equal(t, []string{"placed", "no_stock", "no_stock", "no_stock", "payment_voided", "rejected"}, c.eventTypes(id),
		"no store has the SKU: each is tried")
	problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": a, "quantity": 2}}}), http.StatusConflict)
}

// Concurrent orders for the same scarce stock: exactly what is on hand is
// reserved, the rest are rejected, available never goes below zero.
func TestReservationsNeverOversell(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	ids := make([]string, 12)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = c.place(orderBody("", store, line(sku, 1, 100)))
		}()
	}
	wg.Wait()
	counts := map[string]int{}
	for _, id := range ids {
		for {
			o := c.order(id)
			if o.Status != "placed" {
				counts[o.Status]++
				break
			}
		}
	}
	require.Equal(t, map[string]int{"awaiting_pick": 5, "rejected": 7}, counts)
	require.Equal(t, stock{OnHand: 5, Reserved: 5, Available: 0}, c.stock(store, sku))

	// The stock feed cannot set on_hand below what orders hold.
	require.Equal(t, "below_reserved", problem(t, c.do(http.MethodPut, "/v1/stores/"+store+"/stock/"+sku,
		map[string]any{"on_hand": 4}), http.StatusConflict))
}

func TestStoreRules(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody("", store, line(sku, 2, 1000)))
	c.waitStatus(id, "awaiting_pick")
	pick := func(storeID, orderID string, lines ...any) response {
		return c.do(http.MethodPost, "/v1/stores/"+storeID+"/orders/"+orderID+"/pick", map[string]any{"lines": lines})
	}
	require.Equal(t, "wrong_store", problem(t, pick("store-002", id, map[string]any{"sku": sku, "quantity": 2}), http.StatusConflict))
	require.Equal(t, "order_not_found", problem(t, pick(store, "no-such-order", map[string]any{"sku": sku, "quantity": 2}), http.StatusNotFound))
	require.Equal(t, "unknown_line", problem(t, pick(store, id, map[string]any{"sku": "NOT-ON-ORDER", "quantity": 1}), http.StatusUnprocessableEntity))
	require.Equal(t, "bad_quantity", problem(t, pick(store, id, map[string]any{"sku": sku, "quantity": 3}), http.StatusUnprocessableEntity))
	require.Equal(t, "validation", problem(t, pick(store, id, map[string]any{"sku": sku, "quantity": -1}), http.StatusUnprocessableEntity))
	require.Equal(t, "validation", problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", map[string]any{}), http.StatusUnprocessableEntity))
	require.Equal(t, []string{"placed", "stock_reserved", "pick_requested"}, c.eventTypes(id), "rejected requests leave no trace")
	require.EqualValues(t, 2, c.order(id).Version)

	require.Equal(t, "forbidden", problem(t, c.do(http.MethodGet, "/v1/stores/store-999/orders", nil), http.StatusForbidden),
		"store staff work for their stores only")
	require.Equal(t, "bad_query", problem(t, c.do(http.MethodGet, "/v1/stores/"+store+"/orders?status=bogus", nil), http.StatusBadRequest))
	require.Equal(t, "store_not_found", problem(t, c.do(http.MethodPut, "/v1/stores/store-999/stock/"+sku, map[string]any{"on_hand": 1}), http.StatusNotFound))
	require.Equal(t, "store_not_found", problem(t, c.do(http.MethodGet, "/v1/stores/store-999/stock/"+sku, nil,
		"Authorization", "Bearer "+adminKey), http.StatusNotFound))
	require.Equal(t, "validation", problem(t, c.do(http.MethodPut, "/v1/stores/"+store+"/stock/"+sku, map[string]any{"on_hand": -1}), http.StatusUnprocessableEntity))
	require.Equal(t, "order_not_found", problem(t, c.do(http.MethodGet, "/v1/orders/nope", nil), http.StatusNotFound))
	require.Equal(t, "order_not_found", problem(t, c.do(http.MethodGet, "/v1/orders/nope/events", nil), http.StatusNotFound))
	require.Equal(t, "route_not_found", problem(t, c.do(http.MethodGet, "/v1/nothing-here", nil), http.StatusNotFound))
}

func TestHealth(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	require.Equal(t, http.StatusOK, c.do(http.MethodGet, "/healthz", nil).Status)
	r := c.do(http.MethodGet, "/readyz", nil, "Authorization", "none")
	require.Equal(t, http.StatusOK, r.Status, "readyz: %s", r.Body)
	require.Equal(t, map[string]any{"status": "up"}, r.json(t), "anonymous callers learn up or down only")
	r = c.do(http.MethodGet, "/readyz", nil, "Authorization", "Bearer "+adminKey)
	require.Equal(t, map[string]any{"status": "up", "checks": map[string]any{"postgres": "ok", "temporal": "ok"}}, r.json(t))
}
