package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// Reads behind the store console and the customer's order page
// (internal/console): store names, a store's open orders at a glance, and an
// order found by the number printed on the customer's receipt.

// StoreNames returns the stores among ids that Omni knows, in the order given.
func (db *DB) StoreNames(ctx context.Context, ids []string) ([]Store, error) {
	rows, err := db.pool.Query(ctx, `select s.id, s.name from unnest($1::text[]) with ordinality as w(id, n)
		join stores s on s.id = w.id order by w.n`, ids)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Store])
	return out, translate(err)
}

// AllStores lists every store and warehouse Omni knows, by id, with its kind.
func (db *DB) AllStores(ctx context.Context) ([]Store, error) {
	rows, err := db.pool.Query(ctx, `select id, name, kind from stores order by id`)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Store, error) {
		var s Store
		err := row.Scan(&s.ID, &s.Name, &s.Kind)
		return s, err
	})
	return out, translate(err)
}

// OpenOrder is an order that still needs its store, as a store's queue shows
// it: without the pickup code, and saying whether its pick is overdue.
type OpenOrder struct {
	order.Order
	// Overdue is true for an order awaiting pick that the store has been
	// reminded of (a pick_overdue event for this store) or that has waited
	// longer than the pick deadline since the store got it.
	Overdue bool `json:"overdue"`
}

// OpenStoreOrders lists the orders that still need the store, oldest first,
// at most limit: a fulfilment of the store's awaiting pick, picked (to pack
// and ship) or shipped to it as a transfer, and its collect orders waiting
// for a transfer, ready for collection or partially collected.
func (db *DB) OpenStoreOrders(ctx context.Context, storeID string, pickDeadline time.Duration, limit int) ([]OpenOrder, error) {
	// pickDeadline 0 (not configured) counts only the pick_overdue events.
	rows, err := db.pool.Query(ctx, `select o.doc, f.status = 'awaiting_pick' and (
			exists (select 1 from order_events e where e.order_id = o.id and e.type = 'pick_overdue'
				and e.data->>'store_id' = f.location_id)
			or ($2 > 0 and coalesce((select max(e.at) from order_events e where e.order_id = o.id
				and e.type = 'pick_requested' and e.data->>'store_id' = f.location_id), o.created_at)
				< now() - make_interval(secs => $2)))
		from (select distinct on (order_id) order_id, location_id, status, created_at from order_fulfilments
			where location_id = $1 and status in ('awaiting_pick', 'picked', 'awaiting_transfer', 'ready_for_collection',
				'partially_collected')
			order by order_id, status = 'awaiting_pick' desc) f
		join orders o on o.id = f.order_id
		order by f.created_at limit $3`, storeID, pickDeadline.Seconds(), limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (OpenOrder, error) {
		var o OpenOrder
		err := row.Scan(&o.Order, &o.Overdue)
		o.Order.SyncCollect() // a snapshot stored before fulfilments shows its collect fulfilment
		o.Order = o.Order.WithoutPickupCode()
		return o, err
	})
	return out, translate(err)
}

// OrderIDByNumber finds the id of the order with this number (the number the
// customer's receipt and notifications show).
func (db *DB) OrderIDByNumber(ctx context.Context, number string) (string, error) {
	var id string
	err := db.pool.QueryRow(ctx, "select id from orders where number = $1", number).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", order.Errorf(order.KindNotFound, "order_not_found", "no order number %q", number)
	}
	return id, translate(err)
}
