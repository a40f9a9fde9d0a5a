package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The stores of the default configuration, nearest to store-001 first.
const (
	manchester = "store-002"
	leeds      = "store-003"
)

// timeline is an order's events with their data.
type timeline []struct {
	Seq     int64          `json:"seq"`
	Type    string         `json:"type"`
	Channel string         `json:"channel"`
	Actor   string         `json:"actor"`
	Data    map[string]any `json:"data"`
}

func (c *api) timeline(id string) timeline {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil)
	require.Equal(c.t, http.StatusOK, r.Status, "events: %s", r.Body)
	var body struct {
		Events timeline `json:"events"`
	}
	require.NoError(c.t, json.Unmarshal(r.Body, &body))
	return body.Events
}

func (tl timeline) find(typ string) []map[string]any {
	var out []map[string]any
	for _, e := range tl {
		if e.Type == typ {
			out = append(out, e.Data)
		}
	}
	return out
}

// storeOf reads where the order is to be collected now.
func (c *api) storeOf(id string) string {
	c.t.Helper()
	var o struct {
		Fulfilment struct {
			StoreID string `json:"store_id"`
		} `json:"fulfilment"`
	}
	r := c.do(http.MethodGet, "/v1/orders/"+id, nil)
	require.NoError(c.t, json.Unmarshal(r.Body, &o))
	return o.Fulfilment.StoreID
}

func notifications(t *testing.T, orderID string) (templates []string, data []map[string]any) {
	t.Helper()
	rows, err := omni.DB().Pool().Query(context.Background(),
		"select template, data from notifications where order_id = $1 order by id", orderID)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var tpl string
		var d map[string]any
		require.NoError(t, rows.Scan(&tpl, &d))
		templates, data = append(templates, tpl), append(data, d)
	}
	require.NoError(t, rows.Err())
	return templates, data
}

// waitNotifications waits until the order has at least n notifications
// recorded (they are sent after the change that caused them) and returns them.
func waitNotifications(t *testing.T, orderID string, n int) (templates []string, data []map[string]any) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		templates, data = notifications(t, orderID)
		if len(templates) >= n || time.Now().After(deadline) {
			return templates, data
		}
	}
}

func pickBody(lines ...map[string]any) map[string]any {
	return map[string]any{"lines": lines}
}

func qty(sku string, n int64) map[string]any { return map[string]any{"sku": sku, "quantity": n} }

// A store that cannot fulfil an order rejects it: Omni moves it to the nearest
// store with stock for every line and tells the customer; when no store is
// left the order is rejected, the authorisation voided and no stock held.
func TestStoreRejectMovesOrderThenRejects(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	c.setStock(leeds, sku, 5) // Manchester, nearer, has none
	id := c.place(orderBody("", store, line(sku, 2, 1500)))
	c.waitStatus(id, "awaiting_pick")

	require.Equal(t, "validation", problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/reject",
		map[string]any{}), http.StatusUnprocessableEntity), "a reason is required")
	require.Equal(t, "wrong_store", problem(t, c.do(http.MethodPost, "/v1/stores/"+leeds+"/orders/"+id+"/reject",
		map[string]any{"reason": "not ours"}), http.StatusConflict))

	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/reject", map[string]any{"reason": "stock damaged in the stockroom"},
		"Omni-Channel", "store_console", "Omni-Actor", "associate-12")
	require.Equal(t, http.StatusOK, r.Status, "reject: %s", r.Body)
	o := r.json(t)
	require.Equal(t, "awaiting_pick", o["status"])
	require.Equal(t, leeds, o["fulfilment"].(map[string]any)["store_id"], "Manchester has no stock: Leeds gets the order")
	require.Equal(t, stock{OnHand: 5, Reserved: 0, Available: 5}, c.stock(store, sku), "the first store's hold is released")
	require.Equal(t, stock{OnHand: 5, Reserved: 2, Available: 3}, c.stock(leeds, sku), "held at the new store")
	q := c.do(http.MethodGet, "/v1/stores/"+leeds+"/orders?status=awaiting_pick", nil)
	require.Contains(t, string(q.Body), `"id":"`+id+`"`, "in the new store's queue")
	q = c.do(http.MethodGet, "/v1/stores/"+store+"/orders?status=awaiting_pick", nil)
	require.NotContains(t, string(q.Body), `"id":"`+id+`"`, "gone from the first store's queue")
	require.Equal(t, "wrong_store", problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		pickBody(qty(sku, 2))), http.StatusConflict), "the first store can no longer pick it")
	templates, data := waitNotifications(t, id, 1)
	require.Equal(t, []string{"store_changed"}, templates)
	require.Equal(t, leeds, data[0]["store_id"], "the customer is told the new store")

	r = c.do(http.MethodPost, "/v1/stores/"+leeds+"/orders/"+id+"/reject", map[string]any{"reason": "no staff today"})
	require.Equal(t, http.StatusOK, r.Status, "reject: %s", r.Body)
	require.Equal(t, "rejected", r.json(t)["status"])
	require.Equal(t, stock{OnHand: 5, Reserved: 0, Available: 5}, c.stock(leeds, sku))
	require.Equal(t, stock{OnHand: 5, Reserved: 0, Available: 5}, c.stock(store, sku))
	b, err := omni.DB().PaymentBalance(context.Background(), id)
	require.NoError(t, err)
	require.EqualValues(t, 3000, b.Voided)
	require.Zero(t, b.Captured)

	tl := c.timeline(id)
	rejections := tl.find("store_rejected")
	require.Len(t, rejections, 2)
	require.Equal(t, "stock damaged in the stockroom", rejections[0]["reason"])
	moved := tl.find("reassigned")
	require.Len(t, moved, 1)
	require.Equal(t, map[string]any{"from_store_id": store, "store_id": leeds, "reason": "store_rejected"}, moved[0])
	require.Equal(t, []map[string]any{{"store_id": manchester, "short_skus": []any{sku}}}, tl.find("no_stock"))
	for _, e := range tl {
		if e.Type == "store_rejected" && e.Data["store_id"] == store {
			require.Equal(t, "store_console", e.Channel)
			require.Equal(t, "associate-12", e.Actor)
		}
	}
	require.Equal(t, "rejected", tl[len(tl)-1].Type)
	templates, _ = waitNotifications(t, id, 2)
	require.Equal(t, []string{"store_changed", "rejected"}, templates)
	require.Equal(t, "order_closed", problem(t, c.do(http.MethodPost, "/v1/stores/"+leeds+"/orders/"+id+"/reject",
		map[string]any{"reason": "again"}), http.StatusConflict))
}

// A short pick makes the order ready with what was found: the rest is
// released and its authorisation voided at once, and the customer is told.
// A pick that finds nothing moves the order to the next store.
func TestShortPickAndNothingFound(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 5)
	id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
	c.waitStatus(id, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(a, 1), qty(b, 1)))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	o := c.order(id)
	require.Equal(t, "ready_for_collection", o.Status)
	require.EqualValues(t, 1000, o.Payments[0].Voided, "the missing unit's authorisation is voided at the pick")
	require.Equal(t, stock{OnHand: 5, Reserved: 1, Available: 4}, c.stock(store, a), "the missing unit is released")
	adjusted := c.timeline(id).find("price_adjusted")
	require.Len(t, adjusted, 1)
	require.EqualValues(t, 1500, adjusted[0]["total"])
	templates, data := waitNotifications(t, id, 2)
	require.Equal(t, []string{"short_picked", "ready"}, templates)
	require.EqualValues(t, 1500, data[0]["total"], "the customer is told the new total")
	require.Equal(t, []any{"collect", "cancel"}, data[0]["choices"])

	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": o.Pickup.Code})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	bal, err := omni.DB().PaymentBalance(context.Background(), id)
	require.NoError(t, err)
	require.EqualValues(t, 1500, bal.Captured)
	require.EqualValues(t, 1000, bal.Voided)
	require.Equal(t, stock{OnHand: 4, Reserved: 0, Available: 4}, c.stock(store, a))

	// Nothing found: the next store with stock gets the order.
	d := unique("SKU")
	c.setStock(store, d, 1)
	c.setStock(manchester, d, 3)
	id = c.place(orderBody("", store, line(d, 1, 800)))
	c.waitStatus(id, "awaiting_pick")
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(d, 0)))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	require.Equal(t, manchester, c.storeOf(id))
	require.Equal(t, "awaiting_pick", c.order(id).Status)
	require.Equal(t, stock{OnHand: 1, Reserved: 0, Available: 1}, c.stock(store, d))
	require.Equal(t, stock{OnHand: 3, Reserved: 1, Available: 2}, c.stock(manchester, d))
	moved := c.timeline(id).find("reassigned")
	require.Len(t, moved, 1)
	require.Equal(t, "nothing_found", moved[0]["reason"])
	r = c.do(http.MethodPost, "/v1/stores/"+manchester+"/orders/"+id+"/pick", pickBody(qty(d, 1)))
	require.Equal(t, http.StatusOK, r.Status, "pick at the new store: %s", r.Body)
	require.Equal(t, manchester, c.order(id).Pickup.StoreID, "collected at the new store")
}

// At the counter the customer may refuse a line: it goes back to the store's
// stock and its authorisation is voided; what is taken is paid for.
func TestRefusedLineAtCounter(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 5)
	c.setStock(store, b, 5)
	id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
	c.waitStatus(id, "awaiting_pick")
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		pickBody(qty(a, 2), qty(b, 1))).Status)
	code := c.order(id).Pickup.Code

	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code,
		"refused": []any{map[string]any{"sku": b, "quantity": 0}}})
	require.Equal(t, "validation", problem(t, r, http.StatusUnprocessableEntity))
	require.Contains(t, string(r.Body), `"refused[0].quantity"`)
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code,
		"lines": []any{qty(b, 1)}, "refused": []any{map[string]any{"sku": b, "quantity": 1}}})
	require.Equal(t, "bad_quantity", problem(t, r, http.StatusUnprocessableEntity), "a unit is taken or refused, not both")

	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code,
		"refused": []any{map[string]any{"sku": b, "quantity": 1, "reason": "box crushed"}}})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	require.Equal(t, "collected", r.json(t)["status"])
	require.Equal(t, stock{OnHand: 3, Reserved: 0, Available: 3}, c.stock(store, a), "what was taken is sold")
	require.Equal(t, stock{OnHand: 5, Reserved: 0, Available: 5}, c.stock(store, b), "the refused unit is back on sale")
	bal, err := omni.DB().PaymentBalance(context.Background(), id)
	require.NoError(t, err)
	require.EqualValues(t, 2000, bal.Captured)
	require.EqualValues(t, 500, bal.Voided)
	refused := c.timeline(id).find("lines_refused")
	require.Len(t, refused, 1)
	require.EqualValues(t, 500, refused[0]["amount"])
	var doc struct {
		Lines []struct {
			SKU     string `json:"sku"`
			Refused int64  `json:"refused"`
		} `json:"lines"`
	}
	require.NoError(t, json.Unmarshal(c.do(http.MethodGet, "/v1/orders/"+id, nil).Body, &doc))
	require.EqualValues(t, 1, doc.Lines[1].Refused)
}

// An order can name a nominee; only that person may collect as nominee, with
// the same pickup code, and the handover records who took the goods.
func TestNomineeCollection(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 2)
	body := orderBody("", store, line(sku, 1, 900))
	body["nominee"] = map[string]any{"name": ""}
	r := c.do(http.MethodPost, "/v1/orders", body, "Idempotency-Key", unique("key"))
	require.Equal(t, "validation", problem(t, r, http.StatusUnprocessableEntity))
	require.Contains(t, string(r.Body), `"nominee.name"`)

	body["nominee"] = map[string]any{"name": "Charles Babbage", "phone": "+447700900002"}
	id := c.place(body)
	c.waitStatus(id, "awaiting_pick")
	var doc struct {
		Pickup struct {
			Nominee map[string]any `json:"nominee"`
		} `json:"pickup"`
	}
	require.NoError(t, json.Unmarshal(c.do(http.MethodGet, "/v1/orders/"+id, nil).Body, &doc))
	require.Equal(t, "Charles Babbage", doc.Pickup.Nominee["name"])
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(sku, 1))).Status)
	code := c.order(id).Pickup.Code

	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code,
		"collected_by": map[string]any{"name": "Mallory", "relation": "nominee"}})
	require.Equal(t, "not_nominee", problem(t, r, http.StatusForbidden))
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code,
		"collected_by": map[string]any{"name": "Charles Babbage", "relation": "nominee"}})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	got := c.timeline(id).find("collected")
	require.Len(t, got, 1)
	require.Equal(t, map[string]any{"name": "Charles Babbage", "relation": "nominee"}, got[0]["collected_by"])
}

// A store that misses the pick deadline is reminded; past the second limit
// the order is escalated and moved to the next store with stock, and when the
// last store misses it too the order ends rejected with nothing held.
func TestPickEscalationMovesOrder(t *testing.T) {
	t.Parallel()
	c := &api{t: t, base: clocksURL}
	sku := unique("SKU")
	c.setStock(store, sku, 2)
	c.setStock(manchester, sku, 2)
	id := c.place(orderBody("", store, line(sku, 1, 1200)))
	c.waitStatus(id, "awaiting_pick")

	deadline := time.Now().Add(30 * time.Second)
	for c.storeOf(id) != manchester {
		require.True(t, time.Now().Before(deadline), "the escalated order moves to Manchester")
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, stock{OnHand: 2, Reserved: 0, Available: 2}, c.stock(store, sku))
	require.Equal(t, stock{OnHand: 2, Reserved: 1, Available: 1}, c.stock(manchester, sku))

	o := c.waitStatusWithin(id, "rejected", 30*time.Second)
	require.EqualValues(t, 1200, o.Payments[0].Voided)
	require.Equal(t, stock{OnHand: 2, Reserved: 0, Available: 2}, c.stock(manchester, sku))
	types := c.eventTypes(id)
	var flow []string
	for _, typ := range types {
		if slices.Contains([]string{"pick_overdue", "pick_escalated", "reassigned", "no_stock", "rejected"}, typ) {
			flow = append(flow, typ)
		}
	}
	require.Equal(t, []string{"pick_overdue", "pick_escalated", "reassigned",
		"pick_overdue", "pick_escalated", "no_stock", "rejected"}, flow, "each store gets its own clocks; Leeds has no stock")
	templates, _ := waitNotifications(t, id, 2)
	require.Equal(t, []string{"store_changed", "rejected"}, templates)
}
