package integration

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCancelFromAnyChannelBeforeCollection(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 10)

	// Awaiting pick, cancelled by the contact centre.
	id := c.place(orderBody("", store, line(sku, 3, 1000)))
	c.waitStatus(id, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{"reason": "duplicate order"},
		"Omni-Channel", "contact_centre", "Omni-Actor", "agent-7")
	require.Equal(t, http.StatusOK, r.Status, "cancel: %s", r.Body)
	o := c.order(id)
	require.Equal(t, "cancelled", o.Status)
	require.EqualValues(t, 3000, o.Payments[0].Voided)
	require.Equal(t, stock{OnHand: 10, Reserved: 0, Available: 10}, c.stock(store, sku))
	types := c.eventTypes(id)
	require.Equal(t, "cancelled", types[len(types)-1])
	require.Contains(t, types, "pick_task_withdrawn")
	q := c.do(http.MethodGet, "/v1/stores/"+store+"/orders?status=awaiting_pick", nil)
	require.NotContains(t, string(q.Body), `"id":"`+id+`"`, "gone from the store's queue")
	require.Equal(t, "order_closed", problem(t, c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{}), http.StatusConflict))
	b, err := omni.DB().PaymentBalance(context.Background(), id)
	require.NoError(t, err)
	require.EqualValues(t, 3000, b.Voided)
	require.Zero(t, b.Captured)

	// Ready for collection, cancelled by the customer: picked stock goes back.
	id = c.place(orderBody("", store, line(sku, 2, 1000)))
	c.waitStatus(id, "awaiting_pick")
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 2}}})
	require.Equal(t, http.StatusOK, r.Status)
	r = c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", nil)
	require.Equal(t, http.StatusOK, r.Status, "cancel: %s", r.Body)
	require.Equal(t, stock{OnHand: 10, Reserved: 0, Available: 10}, c.stock(store, sku))

	// Collected: refused, use a return.
	id = c.place(orderBody("", store, line(sku, 1, 1000)))
	c.waitStatus(id, "awaiting_pick")
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 1}}}).Status)
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect",
		map[string]any{"pickup_code": c.order(id).Pickup.Code}).Status)
	require.Equal(t, "already_collected", problem(t, c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{}), http.StatusConflict),
		"a collected order is returned, not cancelled")
	require.Equal(t, "order_not_found", problem(t, c.do(http.MethodPost, "/v1/orders/nope/cancel", map[string]any{}), http.StatusNotFound))
}

func TestNoShowExpiresAndStockReturns(t *testing.T) {
	t.Parallel()
	c := &api{t: t, base: clocksURL}
	sku := unique("SKU")
	c.setStock(store, sku, 4)
	id := c.place(orderBody("", store, line(sku, 2, 1250)))
	c.waitStatus(id, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 2}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	require.Equal(t, stock{OnHand: 4, Reserved: 2, Available: 2}, c.stock(store, sku))

	o := c.waitStatus(id, "expired")
	require.EqualValues(t, 2500, o.Payments[0].Voided)
	require.Zero(t, o.Payments[0].Captured)
	require.Equal(t, stock{OnHand: 4, Reserved: 0, Available: 4}, c.stock(store, sku), "stock is back on sale")
	types := c.eventTypes(id)
	require.Contains(t, types, "pickup_reminder_sent")
	require.Equal(t, "expired", types[len(types)-1])
	require.Less(t, slices.Index(types, "pickup_reminder_sent"), slices.Index(types, "expired"))
	templates, _ := waitNotifications(t, id, 3)
	require.Equal(t, []string{"ready", "reminder", "expired"}, templates, "the customer was told each time")
	require.Equal(t, "order_closed", problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect",
		map[string]any{"pickup_code": "ABCDEFGH"}), http.StatusConflict))
}

func TestExtendPickupOnceAndPickOverdue(t *testing.T) {
	t.Parallel()
	c := &api{t: t, base: clocksURL}
	sku := unique("SKU")
	c.setStock(store, sku, 4)
	id := c.place(orderBody("", store, line(sku, 1, 700)))
	c.waitStatus(id, "awaiting_pick")
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Contains(c.eventTypes(id), "pick_overdue") {
		require.True(t, time.Now().Before(deadline), "the store is reminded of the pick deadline")
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 1}}}).Status)
	before := c.order(id).Pickup.ExpiresAt
	r := c.do(http.MethodPost, "/v1/orders/"+id+"/extend-pickup", nil)
	require.Equal(t, http.StatusOK, r.Status, "extend: %s", r.Body)
	after := c.order(id).Pickup.ExpiresAt
	b, _ := time.Parse(time.RFC3339Nano, *before)
	a, _ := time.Parse(time.RFC3339Nano, *after)
	require.Equal(t, 3*time.Second, a.Sub(b), "held 3 s longer")
	require.Equal(t, "already_extended", problem(t, c.do(http.MethodPost, "/v1/orders/"+id+"/extend-pickup", nil), http.StatusConflict))
	c.waitStatus(id, "expired")
	require.Equal(t, stock{OnHand: 4, Reserved: 0, Available: 4}, c.stock(store, sku))
}

func TestPickupCodeGuessingLocksHandover(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 2)
	id := c.place(orderBody("", store, line(sku, 1, 999)))
	c.waitStatus(id, "awaiting_pick")
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 1}}}).Status)
	code := c.order(id).Pickup.Code
	for i := range 5 {
		guess := wrongCode(code)
		guess = guess[:7] + string("23456"[i])
		if guess == code {
			guess = wrongCode(code)
		}
		require.Equal(t, "wrong_pickup_code", problem(t, c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect",
			map[string]any{"pickup_code": guess}), http.StatusForbidden))
	}
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code})
	require.Equal(t, "pickup_code_locked", problem(t, r, http.StatusTooManyRequests), "even the right code waits out the lockout")
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	require.Equal(t, "ready_for_collection", c.order(id).Status)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(c.eventTypes(id), "pickup_code_locked") {
		require.True(t, time.Now().Before(deadline), "the lockout is recorded on the timeline")
		time.Sleep(50 * time.Millisecond)
	}
}
