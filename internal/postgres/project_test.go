package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

// placeForProjection places an order (version 1, event 1 "placed") as the API does.
func placeForProjection(t *testing.T, db *DB, id string) order.Order {
	t.Helper()
	at := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	var placed order.Order
	_, err := db.PlaceOrder(context.Background(), "checkout", "", "key-"+id, []byte("hash-"+id), "store-001", id,
		func(number string) (order.Order, error) {
			placed = order.Order{ID: id, Number: number, Status: order.StatusPlaced, Channel: order.ChannelWeb,
				Customer: order.Customer{Email: "ada@example.com"}, Currency: "GBP",
				Fulfilment: order.Fulfilment{Type: order.FulfilmentCollect, StoreID: "store-001"},
				Lines:      []order.Line{{SKU: "A", Quantity: 1, UnitPrice: 100}},
				Payments:   []order.Payment{{Method: "card", Reference: "psp-1", Authorized: 100}},
				Version:    1, CreatedAt: at, UpdatedAt: at}
			return placed, nil
		})
	require.NoError(t, err)
	return placed
}

func event(seq int64, typ string, minute int, data map[string]any) order.Event {
	return order.Event{Seq: seq, Type: typ, At: time.Date(2030, 1, 2, 10, minute, 0, 0, time.UTC),
		Channel: "system", Actor: "omni", Data: data}
}

func snapshot(o order.Order, version int64, status order.Status) order.Order {
	o.Version, o.Status = version, status
	o.UpdatedAt = o.CreatedAt.Add(time.Duration(version) * time.Minute)
	return o
}

type outboxRow struct {
	Seq     int64
	Type    string
	Payload map[string]any
}

func outboxOf(t *testing.T, db *DB, orderID string) []outboxRow {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), "select seq, type, payload from outbox where order_id = $1 order by seq", orderID)
	require.NoError(t, err)
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		require.NoError(t, rows.Scan(&r.Seq, &r.Type, &r.Payload))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func typesOf(events []order.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

// deliveriesOf lists a subscription's deliveries of an order: "seq type status".
func deliveriesOf(t *testing.T, db *DB, subscription, orderID string) []string {
	t.Helper()
	ds, err := db.WebhookDeliveries(context.Background(), subscription, "", orderID, 100)
	require.NoError(t, err)
	var out []string
	for i := len(ds) - 1; i >= 0; i-- { // oldest first
		d := ds[i]
		out = append(out, fmt.Sprintf("%d %s %s", d.Seq, d.Type, d.Status))
	}
	return out
}

// fanOutUntil fans out until n deliveries were made in all: a write
// transaction elsewhere in the cluster can hold the horizon back for a moment.
func fanOutUntil(t *testing.T, db *DB, n int64) {
	t.Helper()
	var total int64
	deadline := time.Now().Add(10 * time.Second)
	for total < n {
		got, err := db.FanOutWebhooks(context.Background())
		require.NoError(t, err)
		total += got
		require.True(t, time.Now().Before(deadline), "fanned out %d deliveries, want %d", total, n)
		if total < n {
			time.Sleep(10 * time.Millisecond)
		}
	}
	require.Equal(t, n, total)
}

func TestProjectionRunAgainReplacesWhatTheWorkflowNoLongerHas(t *testing.T) {
	db := freshDB(t, "project")
	ctx := context.Background()
	o := placeForProjection(t, db, "o1")

	// The lost workflow task: v2 with events 2 and 3.
	prev, applied, err := db.Project(ctx, snapshot(o, 2, order.StatusAwaitingPick),
		[]order.Event{event(2, "reserved", 1, map[string]any{"n": 1}), event(3, "pick_task_opened", 2, nil)}, 3)
	require.NoError(t, err)
	require.True(t, applied)
	require.Equal(t, order.StatusPlaced, prev)

	// The same step run again, differently: v2 with event 2 only.
	again := snapshot(o, 2, order.StatusCancelled)
	prev, applied, err = db.Project(ctx, again, []order.Event{event(2, "cancelled", 3, map[string]any{"reason": "short"})}, 2)
	require.NoError(t, err)
	require.True(t, applied, "a snapshot of the same version replaces the stored one")
	require.Equal(t, order.StatusAwaitingPick, prev, "the previous status is what the lost projection wrote")

	stored, err := db.Order(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, order.StatusCancelled, stored.Status)
	require.EqualValues(t, 2, stored.Version)
	a, err := db.Access(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, order.StatusCancelled, a.Status)

	events, err := db.Events(ctx, "o1", 0)
	require.NoError(t, err)
	require.Equal(t, []string{order.EventPlaced, "cancelled"}, typesOf(events))
	require.Equal(t, []int64{1, 2}, []int64{events[0].Seq, events[1].Seq})
	events[1].At = events[1].At.UTC()
	require.Equal(t, event(2, "cancelled", 3, map[string]any{"reason": "short"}), events[1], "event 2 has the new content")

	ob := outboxOf(t, db, "o1")
	require.Len(t, ob, 2, "outbox: %v", ob)
	require.Equal(t, order.EventPlaced, ob[0].Type)
	require.Equal(t, "cancelled", ob[1].Type)
	require.Equal(t, "cancelled", ob[1].Payload["type"])
	require.Equal(t, map[string]any{"reason": "short"}, ob[1].Payload["data"])

	// A late retry of an older projection changes nothing, and removes nothing.
	prev, applied, err = db.Project(ctx, snapshot(o, 1, order.StatusPlaced), nil, 1)
	require.NoError(t, err)
	require.False(t, applied)
	require.Empty(t, prev)
	events, err = db.Events(ctx, "o1", 0)
	require.NoError(t, err)
	require.Equal(t, []string{order.EventPlaced, "cancelled"}, typesOf(events))
	require.Len(t, outboxOf(t, db, "o1"), 2)

	// Without a known seq (histories from before it was sent) nothing is removed.
	_, applied, err = db.Project(ctx, snapshot(o, 3, order.StatusCancelled), []order.Event{event(3, "refunded", 4, nil)}, 3)
	require.NoError(t, err)
	require.True(t, applied)
	_, applied, err = db.Project(ctx, snapshot(o, 4, order.StatusCancelled), nil, 0)
	require.NoError(t, err)
	require.True(t, applied)
	events, err = db.Events(ctx, "o1", 0)
	require.NoError(t, err)
	require.Equal(t, []string{order.EventPlaced, "cancelled", "refunded"}, typesOf(events))
}

func TestProjectionRunAgainAndWebhooks(t *testing.T) {
	db := freshDB(t, "project")
	ctx := context.Background()
	_, err := db.CreateWebhook(ctx, "wh_all", "http://127.0.0.1:1/all", "whsec_a2V5", nil)
	require.NoError(t, err)
	_, err = db.CreateWebhook(ctx, "wh_reserved", "http://127.0.0.1:1/r", "whsec_a2V5", []string{"reserved"})
	require.NoError(t, err)

	o := placeForProjection(t, db, "o1") // not yet delivered
	d := placeForProjection(t, db, "o2") // delivered
	for _, x := range []order.Order{o, d} {
		_, _, err := db.Project(ctx, snapshot(x, 2, order.StatusAwaitingPick),
			[]order.Event{event(2, "reserved", 1, nil), event(3, "pick_task_opened", 2, nil)}, 3)
		require.NoError(t, err)
	}
	fanOutUntil(t, db, 2*(3+1))
	require.Equal(t, []string{"1 placed pending", "2 reserved pending", "3 pick_task_opened pending"}, deliveriesOf(t, db, "wh_all", "o1"))
	_, err = db.pool.Exec(ctx, `update webhook_deliveries set status = 'delivered', delivered_at = now()
		where outbox_id in (select id from outbox where order_id = 'o2')`)
	require.NoError(t, err)

	// A retry of the same projection touches no delivery.
	_, err = db.pool.Exec(ctx, `update webhook_deliveries set attempts = 2 where outbox_id in (select id from outbox where order_id = 'o1')`)
	require.NoError(t, err)
	_, _, err = db.Project(ctx, snapshot(o, 2, order.StatusAwaitingPick),
		[]order.Event{event(2, "reserved", 1, nil), event(3, "pick_task_opened", 2, nil)}, 3)
	require.NoError(t, err)
	var attempts []int
	require.NoError(t, db.pool.QueryRow(ctx, `select array_agg(d.attempts order by o.seq) from webhook_deliveries d
		join outbox o on o.id = d.outbox_id where o.order_id = 'o1' and d.subscription_id = 'wh_all'`).Scan(&attempts))
	require.Equal(t, []int{2, 2, 2}, attempts)

	// The step run again, differently, for both orders.
	for _, x := range []order.Order{o, d} {
		_, applied, err := db.Project(ctx, snapshot(x, 2, order.StatusCancelled), []order.Event{event(2, "cancelled", 3, nil)}, 2)
		require.NoError(t, err)
		require.True(t, applied)
	}

	// Not delivered: the outbox follows the timeline, and the new event 2 is
	// fanned out afresh, to the subscriptions that want its type.
	require.Equal(t, []string{order.EventPlaced, "cancelled"}, []string{outboxOf(t, db, "o1")[0].Type, outboxOf(t, db, "o1")[1].Type})
	require.Len(t, outboxOf(t, db, "o1"), 2)
	require.Equal(t, []string{"1 placed pending"}, deliveriesOf(t, db, "wh_all", "o1"))
	require.Empty(t, deliveriesOf(t, db, "wh_reserved", "o1"))
	fanOutUntil(t, db, 1)
	require.Equal(t, []string{"1 placed pending", "2 cancelled pending"}, deliveriesOf(t, db, "wh_all", "o1"))
	require.Empty(t, deliveriesOf(t, db, "wh_reserved", "o1"), "no longer a reserved event")
	due, err := db.ClaimWebhooks(ctx, 100, time.Minute)
	require.NoError(t, err)
	var body map[string]any
	for _, w := range due {
		if w.EventID == "evt_o1_2" {
			require.NoError(t, json.Unmarshal(w.Body, &body))
		}
	}
	require.Equal(t, "cancelled", body["type"], "the delivery carries the new content")

	// Delivered: what was sent stays as it was sent; the timeline still follows the workflow.
	ob := outboxOf(t, db, "o2")
	require.Len(t, ob, 3)
	require.Equal(t, []string{order.EventPlaced, "reserved", "pick_task_opened"}, []string{ob[0].Type, ob[1].Type, ob[2].Type})
	require.Equal(t, []string{"1 placed delivered", "2 reserved delivered", "3 pick_task_opened delivered"},
		deliveriesOf(t, db, "wh_all", "o2"))
	events, err := db.Events(ctx, "o2", 0)
	require.NoError(t, err)
	require.Equal(t, []string{order.EventPlaced, "cancelled"}, typesOf(events))
}
