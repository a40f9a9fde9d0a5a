package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/metrics"
	"github.com/omni-retail/omni/internal/order"
)

// placeAt places a collect order at store on channel at the given time, as the API does.
func placeAt(t *testing.T, db *DB, id, store, channel string, at time.Time) order.Order {
	t.Helper()
	var placed order.Order
	_, err := db.PlaceOrder(context.Background(), "checkout", "", "key-"+id, []byte("hash-"+id), store, id,
		func(number string) (order.Order, error) {
			placed = order.Order{ID: id, Number: number, Status: order.StatusPlaced, Channel: channel,
				Customer: order.Customer{Email: "ada@example.com"}, Currency: "GBP",
				Fulfilment: order.Fulfilment{Type: order.FulfilmentCollect, StoreID: store},
				Lines:      []order.Line{{SKU: "A", Quantity: 1, UnitPrice: 100}},
				Payments:   []order.Payment{{Method: "card", Reference: "psp-" + id, Authorized: 100}},
				Version:    1, CreatedAt: at, UpdatedAt: at}
			return placed, nil
		})
	require.NoError(t, err)
	return placed
}

// projectAt projects events at minutes after the order was placed.
func projectAt(t *testing.T, db *DB, o order.Order, version int64, seq int64, events ...order.Event) {
	t.Helper()
	o.Version = version
	o.UpdatedAt = o.CreatedAt.Add(time.Duration(version) * time.Minute)
	_, applied, err := db.Project(context.Background(), o, events, seq)
	require.NoError(t, err)
	require.True(t, applied)
}

func ev(o order.Order, seq int64, typ string, minutes int, data map[string]any) order.Event {
	return order.Event{Seq: seq, Type: typ, At: o.CreatedAt.Add(time.Duration(minutes) * time.Minute),
		Channel: "system", Actor: "omni", Data: data}
}

func byStoreChannel(rows []StoreAnalytics) map[string]StoreAnalytics {
	out := map[string]StoreAnalytics{}
	for _, r := range rows {
		out[r.StoreID+"/"+r.Channel] = r
	}
	return out
}

func TestStoreAnalyticsFromTheEvents(t *testing.T) {
	db := freshDB(t, "analytics")
	ctx := context.Background()
	day := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	at := day.Add(10 * time.Hour)
	s1 := map[string]any{"store_id": "store-001"}

	// o1: ready after 10 minutes, collected, one return refunded 100, one exchange.
	o1 := placeAt(t, db, "o1", "store-001", order.ChannelWeb, at)
	projectAt(t, db, o1, 2, 0, ev(o1, 2, "stock_reserved", 1, s1), ev(o1, 3, "ready_for_collection", 10, s1))
	projectAt(t, db, o1, 3, 0, ev(o1, 4, "collected", 60, map[string]any{"store_id": "store-001", "complete": true}))
	projectAt(t, db, o1, 4, 0, ev(o1, 5, "returned", 120, map[string]any{"store_id": "store-001", "refund": 100}),
		ev(o1, 6, "payment_refunded", 120, map[string]any{"amount": 100, "currency": "GBP"}))
	projectAt(t, db, o1, 5, 0, ev(o1, 7, "exchanged", 130, map[string]any{"store_id": "store-001", "difference": 0}))

	// o2: ready after 30 minutes, never collected.
	o2 := placeAt(t, db, "o2", "store-001", order.ChannelWeb, at.Add(time.Hour))
	projectAt(t, db, o2, 2, 0, ev(o2, 2, "ready_for_collection", 30, s1))
	projectAt(t, db, o2, 3, 0, ev(o2, 3, "expired", 60*24*7, nil))

	// o3: store-001 misses the pick deadline, is escalated and loses the order
	// to store-002, which has it ready after an hour; collected in part.
	o3 := placeAt(t, db, "o3", "store-001", order.ChannelWeb, at.Add(2*time.Hour))
	projectAt(t, db, o3, 2, 0, ev(o3, 2, "pick_overdue", 20, s1), ev(o3, 3, "pick_escalated", 40, s1),
		ev(o3, 4, "reassigned", 40, map[string]any{"from_store_id": "store-001", "store_id": "store-002"}))
	projectAt(t, db, o3, 3, 0, ev(o3, 5, "ready_for_collection", 60, map[string]any{"store_id": "store-002"}))
	projectAt(t, db, o3, 4, 0, ev(o3, 6, "collected", 90, map[string]any{"store_id": "store-002", "complete": false}))

	// o4 (app): a ready event the workflow then no longer has (a lost task
	// run again): it is not counted.
	o4 := placeAt(t, db, "o4", "store-001", order.ChannelApp, at)
	projectAt(t, db, o4, 2, 0, ev(o4, 2, "ready_for_collection", 5, s1))
	projectAt(t, db, o4, 2, 1, ev(o4, 2, "cancelled", 6, map[string]any{"reason": "customer"}))

	// Outside the period: the day before and the day after.
	before := placeAt(t, db, "o5", "store-001", order.ChannelWeb, day.Add(-time.Minute))
	projectAt(t, db, before, 2, 0, ev(before, 2, "pick_overdue", 5, s1), ev(before, 3, "ready_for_collection", 10, s1))
	placeAt(t, db, "o6", "store-001", order.ChannelWeb, day.Add(24*time.Hour))

	rows, err := db.StoreAnalytics(ctx, day, day.Add(24*time.Hour))
	require.NoError(t, err)
	got := byStoreChannel(rows)
	require.Len(t, got, 3, "%+v", rows)
	f := func(v float64) *float64 { return &v }

	require.Equal(t, StoreAnalytics{StoreID: "store-001", Channel: "app", Currency: "GBP", Orders: 1}, got["store-001/app"])
	require.Equal(t, StoreAnalytics{StoreID: "store-001", Channel: "web", Currency: "GBP",
		Orders: 2, Ready: 2, ReadySecondsP50: f(1200), ReadySecondsP90: f(1680),
		Breaches: 1, Escalations: 1, Reassignments: 1,
		Expired: 1, NoShowRate: f(0.5), Collected: 1, CollectionRate: f(0.5),
		Returned: 1, ReturnRate: f(1), Refunded: 100, Exchanges: 1}, got["store-001/web"])
	require.Equal(t, StoreAnalytics{StoreID: "store-002", Channel: "web", Currency: "GBP",
		Orders: 1, Ready: 1, ReadySecondsP50: f(3600), ReadySecondsP90: f(3600),
		NoShowRate: f(0), Collected: 1, CollectionRate: f(1), ReturnRate: f(0)}, got["store-002/web"])

	// The Prometheus store series: one per store and channel.
	figures, err := db.StoreFigures(ctx, day)
	require.NoError(t, err)
	require.ElementsMatch(t, []metrics.StoreFigures{
		{StoreID: "store-001", Channel: "app"},
		{StoreID: "store-001", Channel: "web", ReadyP50: f(1200), ReadyP90: f(1680), Breaches: 1, Escalations: 1, Reassigned: 1},
		{StoreID: "store-002", Channel: "web", ReadyP50: f(3600), ReadyP90: f(3600)},
	}, figures)

	// An empty period has no rows, and not nil.
	rows, err = db.StoreAnalytics(ctx, day.Add(48*time.Hour), day.Add(72*time.Hour))
	require.NoError(t, err)
	require.NotNil(t, rows)
	require.Empty(t, rows)
}
