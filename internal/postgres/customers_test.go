package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

// placeFor places an order of customer c, on channel, minutes after a fixed time.
func placeFor(t *testing.T, db *DB, id, placedBy, channel string, c order.Customer, minute int) order.Order {
	t.Helper()
	at := time.Date(2030, 1, 2, 10, minute, 0, 0, time.UTC)
	var placed order.Order
	_, err := db.PlaceOrder(context.Background(), placedBy, "", "key-"+id, []byte("hash-"+id), "store-001", id,
		func(number string) (order.Order, error) {
			placed = order.Order{ID: id, Number: number, Status: order.StatusPlaced, Channel: channel,
				Customer: c, Currency: "GBP",
				Fulfilment: order.Fulfilment{Type: order.FulfilmentCollect, StoreID: "store-001"},
				Pickup:     order.Pickup{StoreID: "store-001"},
				Lines:      []order.Line{{SKU: "A", Quantity: 2, UnitPrice: 150}},
				Payments:   []order.Payment{{Method: "card", Reference: "psp-" + id, Authorized: 300}},
				Version:    1, CreatedAt: at, UpdatedAt: at}
			return placed, nil
		})
	require.NoError(t, err)
	return placed
}

func TestCustomerKeptByTheProjection(t *testing.T) {
	db := freshDB(t, "customers")
	ctx := context.Background()
	ada := order.Customer{ID: "c-1", Email: "Ada@Example.com ", Phone: "+447700900001", Name: "Ada Lovelace"}
	first := placeFor(t, db, "o-1", "checkout", order.ChannelWeb, ada, 0)
	placeFor(t, db, "o-2", "app", "app", ada, 5)
	// A guest order with the same email (another case) joins Ada.
	placeFor(t, db, "o-3", "checkout", order.ChannelWeb, order.Customer{Email: "ADA@example.com", Name: "A. Lovelace"}, 10)
	// A guest with an email nobody else has is a guest customer of their own.
	placeFor(t, db, "o-4", "checkout", order.ChannelWeb, order.Customer{Email: "grace@example.com", Phone: "+12025550123"}, 11)

	c, err := db.Customer(ctx, "c-1")
	require.NoError(t, err)
	require.Equal(t, "ada@example.com", c.Email)
	require.Equal(t, "+447700900001", c.Phone)
	require.Equal(t, "A. Lovelace", c.Name, "the latest order's name")
	require.Equal(t, 3, c.OrderCount)
	require.Equal(t, 3, c.OpenOrderCount)
	require.True(t, c.FirstOrderAt.Equal(first.CreatedAt))
	require.True(t, c.LastOrderAt.Equal(first.CreatedAt.Add(10*time.Minute)))

	guest, err := db.Customer(ctx, GuestCustomerID("grace@example.com"))
	require.NoError(t, err)
	require.Equal(t, 1, guest.OrderCount)
	owner, err := db.OrderCustomer(ctx, "o-4")
	require.NoError(t, err)
	require.Equal(t, guest.ID, owner)

	// The projection keeps the counts: a collected order is no longer open,
	// and a projection run again changes nothing.
	done := snapshot(first, 2, order.StatusCollected)
	for range 2 {
		_, _, err = db.Project(ctx, done, []order.Event{event(2, "collected", 30, nil)}, 2)
		require.NoError(t, err)
	}
	c, err = db.Customer(ctx, "c-1")
	require.NoError(t, err)
	require.Equal(t, 3, c.OrderCount)
	require.Equal(t, 2, c.OpenOrderCount)

	orders, err := db.CustomerOrders(ctx, "c-1", "", 100)
	require.NoError(t, err)
	require.Len(t, orders, 3)
	require.Equal(t, []string{"o-3", "o-2", "o-1"}, []string{orders[0].ID, orders[1].ID, orders[2].ID})
	require.Equal(t, order.StatusCollected, orders[2].Status)
	require.False(t, orders[2].Open)
	require.Equal(t, int64(300), orders[0].Total)
	require.Equal(t, "app", orders[1].Channel)

	mine, err := db.CustomerOrders(ctx, "c-1", "app", 100)
	require.NoError(t, err)
	require.Len(t, mine, 1)
	require.Equal(t, "o-2", mine[0].ID)

	_, err = db.Customer(ctx, "nobody")
	de, ok := order.AsError(err)
	require.True(t, ok)
	require.Equal(t, order.KindNotFound, de.Kind)
}

func TestCustomerBackfillMigration(t *testing.T) {
	// The migration's backfill and the projection agree: rebuilding the
	// tables from the orders with the migration's SQL gives the same rows.
	db := freshDB(t, "custbackfill")
	ctx := context.Background()
	ada := order.Customer{ID: "c-1", Email: "ada@example.com", Phone: "+447700900001", Name: "Ada"}
	placeFor(t, db, "o-1", "checkout", order.ChannelWeb, ada, 0)
	placeFor(t, db, "o-2", "checkout", order.ChannelWeb, order.Customer{Email: "ada@example.com"}, 1)
	placeFor(t, db, "o-3", "checkout", order.ChannelWeb, order.Customer{Email: "bob@example.com", Name: "Bob"}, 2)
	before := customerRows(t, db)

	sql, err := migrations.ReadFile("migrations/014_customers.sql")
	require.NoError(t, err)
	_, err = db.pool.Exec(ctx, `drop table customer_interactions; drop table customers; drop table customer_orders;`)
	require.NoError(t, err)
	_, err = db.pool.Exec(ctx, string(sql))
	require.NoError(t, err)
	require.Equal(t, before, customerRows(t, db))
}

func customerRows(t *testing.T, db *DB) []string {
	rows, err := db.pool.Query(context.Background(), `select c.id || ' ' || c.email || ' ' || c.phone || ' ' || c.name || ' ' ||
		c.order_count || ' ' || c.open_order_count || ' ' || string_agg(co.order_id, ',' order by co.order_id)
		from customers c join customer_orders co on co.customer_id = c.id group by c.id order by c.id`)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out)
	return out
}

func TestSearchCustomers(t *testing.T) {
	db := freshDB(t, "custsearch")
	ctx := context.Background()
	ada := placeFor(t, db, "o-1", "checkout", order.ChannelWeb,
		order.Customer{ID: "c-1", Email: "ada@example.com", Phone: "+447700900001", Name: "Ada Lovelace"}, 0)
	placeFor(t, db, "o-2", "checkout", order.ChannelWeb,
		order.Customer{ID: "c-2", Email: "bob@example.com", Phone: "+447700900002", Name: "Bob 100% Smith"}, 1)

	ids := func(q CustomerQuery) []string {
		t.Helper()
		found, err := db.SearchCustomers(ctx, q, 20)
		require.NoError(t, err)
		out := []string{}
		for _, c := range found {
			out = append(out, c.ID)
		}
		return out
	}
	// A phone typed any way: the API normalises with order.NormalPhone
	// (and a leading 00), then searches in E.164.
	for _, typed := range []string{"+44 7700-900 001", "+44 (7700) 900.001", "+447700900001"} {
		normal, ok := order.NormalPhone(typed)
		require.True(t, ok, typed)
		require.Equal(t, []string{"c-1"}, ids(CustomerQuery{Phone: normal}), typed)
	}
	require.Equal(t, []string{"c-1"}, ids(CustomerQuery{Email: " ADA@Example.COM"}))
	require.Equal(t, []string{"c-1"}, ids(CustomerQuery{Q: "lovel"}), "a name, case-insensitive substring")
	require.Equal(t, []string{"c-1"}, ids(CustomerQuery{Q: ada.Number}), "an order number")
	require.Equal(t, []string{"c-1"}, ids(CustomerQuery{Q: "ada@example.com"}))
	require.Equal(t, []string{"c-1"}, ids(CustomerQuery{Q: "+44 7700", QPhone: "+447700900001"}))
	require.Equal(t, []string{"c-2"}, ids(CustomerQuery{Q: "100%"}), "LIKE wildcards are literal")
	require.Equal(t, []string{}, ids(CustomerQuery{Q: "_"}))
	require.Equal(t, []string{"c-2", "c-1"}, ids(CustomerQuery{Q: "o"}), "newest customer first")
	require.Equal(t, []string{}, ids(CustomerQuery{Email: "ada@example.com", Phone: "+447700900002"}), "every field must match")
	require.Equal(t, []string{}, ids(CustomerQuery{Phone: "+447700900009"}))
}

func TestCustomerTimelineOrderAndPages(t *testing.T) {
	db := freshDB(t, "custtimeline")
	ctx := context.Background()
	ada := order.Customer{ID: "c-1", Email: "ada@example.com", Name: "Ada"}
	o1 := placeFor(t, db, "o-1", "checkout", order.ChannelWeb, ada, 0)
	placeFor(t, db, "o-2", "checkout", "app", ada, 1)
	placeFor(t, db, "o-x", "checkout", order.ChannelWeb, order.Customer{ID: "c-2", Email: "bob@example.com"}, 2)
	_, _, err := db.Project(ctx, snapshot(o1, 2, order.StatusAwaitingPick), []order.Event{event(2, "sent_to_store", 3, nil)}, 2)
	require.NoError(t, err)
	_, err = db.RecordNotification(ctx, Notification{OrderID: "o-1", Key: "o-1/ready", Template: "ready_for_collection",
		Channel: "email", Recipient: "ada@example.com", Data: map[string]any{}}, "sent")
	require.NoError(t, err)
	require.NoError(t, db.RecordNotificationFailure(ctx, Notification{OrderID: "o-2", Key: "o-2/placed",
		Template: "order_placed", Channel: "sms", Recipient: "+447700900001", Data: map[string]any{}}, "provider down"))

	// An interaction, about an order of the customer's; another customer's order is refused.
	in, err := db.AddInteraction(ctx, Interaction{ID: "i-1", CustomerID: "c-1", OrderID: "o-2", Channel: "phone",
		Summary: "Where is my order?", Outcome: "told", Actor: "agent-7", ActorChannel: "contact_centre",
		At: time.Date(2030, 1, 2, 10, 4, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Equal(t, "o-2", in.OrderID)
	again, err := db.AddInteraction(ctx, Interaction{ID: "i-1", CustomerID: "c-1", Channel: "chat", Summary: "other",
		Actor: "agent-7", ActorChannel: "contact_centre"})
	require.NoError(t, err)
	require.Equal(t, in, again, "the same id stores once")
	_, err = db.AddInteraction(ctx, Interaction{ID: "i-2", CustomerID: "c-1", OrderID: "o-x", Channel: "phone",
		Summary: "x", Actor: "a", ActorChannel: "contact_centre"})
	de, ok := order.AsError(err)
	require.True(t, ok)
	require.Equal(t, order.KindInvalid, de.Kind)
	require.Equal(t, "order_id", de.Fields[0].Field)
	_, err = db.AddInteraction(ctx, Interaction{ID: "i-3", CustomerID: "nobody", Channel: "phone", Summary: "x",
		Actor: "a", ActorChannel: "contact_centre"})
	de, ok = order.AsError(err)
	require.True(t, ok)
	require.Equal(t, order.KindNotFound, de.Kind)
	// The order event recording an interaction is not shown twice.
	_, _, err = db.Project(ctx, snapshot(o1, 3, order.StatusAwaitingPick),
		[]order.Event{event(3, "customer_contacted", 4, map[string]any{"interaction_id": "i-1"})}, 3)
	require.NoError(t, err)

	all, next, err := db.CustomerTimeline(ctx, "c-1", nil, 100)
	require.NoError(t, err)
	require.Nil(t, next)
	var kinds []string
	for i, e := range all {
		kinds = append(kinds, e.Kind+"/"+e.Type+"/"+e.OrderID)
		if i > 0 {
			require.False(t, e.At.After(all[i-1].At), "newest first")
		}
	}
	// The notifications are stamped now, which is before these orders of 2030: oldest.
	require.Equal(t, []string{"interaction/interaction/o-2", "order_event/sent_to_store/o-1",
		"order_event/placed/o-2", "order_event/placed/o-1"}, kinds[:4])
	require.ElementsMatch(t, []string{"notification/ready_for_collection/o-1", "notification/order_placed/o-2"}, kinds[4:])
	failed := all[4]
	if failed.Data["status"] != "failed" {
		failed = all[5]
	}
	require.Equal(t, "provider down", failed.Data["error"])
	require.Equal(t, "+447700900001", failed.Data["recipient"])
	require.Equal(t, "Where is my order?", all[0].Data["summary"])
	require.Equal(t, "agent-7", all[0].Actor)
	require.Equal(t, "phone", all[0].Channel)

	// Pages of two, cursor by cursor, give the same entries once each.
	var paged []TimelineEntry
	var cursor *Cursor
	for page := 0; ; page++ {
		require.Less(t, page, 10)
		entries, n, err := db.CustomerTimeline(ctx, "c-1", cursor, 2)
		require.NoError(t, err)
		paged = append(paged, entries...)
		if n == nil {
			break
		}
		parsed, err := ParseCursor(n.String())
		require.NoError(t, err)
		require.True(t, parsed.At.Equal(n.At))
		require.Equal(t, n.ID, parsed.ID)
		cursor = &parsed
	}
	require.Equal(t, all, paged)

	// Since a cursor, oldest first: what the live stream reads.
	since, err := db.CustomerTimelineSince(ctx, "c-1", all[3].Cursor(), 100)
	require.NoError(t, err)
	require.Len(t, since, 3)
	require.Equal(t, all[2].ID, since[0].ID)
	require.Equal(t, all[0].ID, since[2].ID)

	_, err = ParseCursor("not-a-cursor")
	require.Error(t, err)
}
