package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// Placement is what PlaceOrder stored, or found stored, for an Idempotency-Key.
type Placement struct {
	OrderID    string
	StatusCode int
	Response   []byte
	// Replayed is true when the key had been used before with the same body.
	Replayed bool
	// WorkflowStarted says whether the order's workflow is known to be running.
	WorkflowStarted bool
}

// NewOrderFunc builds the order once its number is known.
type NewOrderFunc func(number string) (order.Order, error)

// PlaceOrder records a new order, its first timeline event, its payment
// authorisation and the response for its Idempotency-Key in one transaction.
// The same key with the same request hash returns the stored response; with a
// different hash it is refused; while another request with the key is being
// processed it is refused as a conflict.
func (db *DB) PlaceOrder(ctx context.Context, placedBy, actor, key string, requestHash []byte, storeID, orderID string,
	build NewOrderFunc,
) (Placement, error) {
	if actor == "" {
		actor = placedBy
	}
	var p Placement
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, "select pg_try_advisory_xact_lock(hashtextextended($1, 7))", key).Scan(&locked); err != nil {
			return err
		}
		if !locked {
			return order.Errorf(order.KindConflict, "request_in_progress",
				"a request with this Idempotency-Key is still being processed; retry shortly")
		}
		var storedHash []byte
		err := tx.QueryRow(ctx, `select k.request_hash, k.order_id, k.status_code, k.response, o.workflow_started
			from idempotency_keys k join orders o on o.id = k.order_id where k.key = $1`, key).
			Scan(&storedHash, &p.OrderID, &p.StatusCode, &p.Response, &p.WorkflowStarted)
		switch {
		case err == nil:
			if !bytes.Equal(storedHash, requestHash) {
				return order.Errorf(order.KindInvalid, "idempotency_key_reused",
					"this Idempotency-Key was already used with a different request body")
			}
			p.Replayed = true
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}

		var storeKnown, idTaken bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from stores where id = $1 and kind = 'store'),
			exists (select 1 from orders where id = $2)`, storeID, orderID).Scan(&storeKnown, &idTaken); err != nil {
			return err
		}
		if !storeKnown && storeID != "" { // a ship order names no store: sourcing chooses
			return &order.Error{Kind: order.KindInvalid, Code: "unknown_store", Detail: "the order names a store Omni does not know",
				Fields: []order.FieldError{{Field: "fulfilment.store_id", Detail: fmt.Sprintf("unknown store %q", storeID)}}}
		}
		if idTaken {
			return order.Errorf(order.KindConflict, "order_exists", "an order with id %q already exists", orderID)
		}
		var seq int64
		if err := tx.QueryRow(ctx, "select nextval('order_number_seq')").Scan(&seq); err != nil {
			return err
		}
		o, err := build(fmt.Sprint(seq))
		if err != nil {
			return err
		}
		doc, err := json.Marshal(o)
		if err != nil {
			return err
		}
		data := map[string]any{"total": o.Total(), "currency": o.Currency, "fulfilment": o.Fulfilment.Type}
		if o.Fulfilment.StoreID != "" {
			data["store_id"] = o.Fulfilment.StoreID
		}
		if o.PlacedAt != "" {
			data["placed_at_store_id"] = o.PlacedAt
		}
		placed := order.Event{Seq: 1, Type: order.EventPlaced, At: o.CreatedAt, Channel: o.Channel, Actor: actor, Data: data}
		pay := o.Payments[0]

		b := &pgx.Batch{}
		b.Queue(`insert into orders (id, number, status, store_id, customer_email, doc, version, created_at, updated_at, placed_by, locations)
			values ($1, $2, $3, nullif($4, ''), $5, $6, $7, $8, $8, $9, $10)`,
			o.ID, o.Number, o.Status, o.Fulfilment.StoreID, o.Customer.Email, doc, o.Version, o.CreatedAt, placedBy, o.Locations())
		queueFulfilments(b, o)
		queueEvent(b, o.ID, o.Version, placed)
		b.Queue(notifySQL, o.ID) // delivered on commit: wakes the order's event streams
		// The customer in the read model (customers.go).
		queueCustomer(b, o.ID, true)
		b.Queue(`insert into payments (order_id, kind, amount, currency, reference, step_key)
			values ($1, 'authorization', $2, $3, $4, $5)`, o.ID, pay.Authorized, o.Currency, pay.Reference, o.ID+"/authorization")
		b.Queue(`insert into idempotency_keys (key, request_hash, order_id, status_code, response) values ($1, $2, $3, 201, $4)`,
			key, requestHash, o.ID, doc)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		p = Placement{OrderID: o.ID, StatusCode: 201, Response: doc}
		return nil
	})
	if err != nil {
		return Placement{}, translate(err)
	}
	return p, nil
}

// queueEvent queues the writing of a timeline event and its outbox row, if
// the order's stored snapshot has version (so a stale projection writes
// nothing). An event already stored under its seq takes the new content: a
// workflow task that was lost after projecting may run its step again,
// differently. So does its outbox row, unless it was delivered to a
// subscriber (what was sent stays as it was sent); the row then gets a new
// transaction id so that the fan-out takes it again, and its deliveries not
// made are dropped, to be fanned out afresh for the subscriptions that want
// its (possibly new) type. A row whose content is unchanged (a retry) is not
// touched.
func queueEvent(b *pgx.Batch, orderID string, version int64, e order.Event) {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	payload := order.Event{Seq: e.Seq, Type: e.Type, At: e.At, Channel: e.Channel, Actor: e.Actor, Data: data}
	b.Queue(`with live as (select 1 from orders where id = $1 and version = $2),
		event as (
			insert into order_events (order_id, seq, type, at, channel, actor, data)
			select $1, $3::bigint, $4::text, $5::timestamptz, $6::text, $7::text, $8::jsonb from live
			on conflict (order_id, seq) do update set type = excluded.type, at = excluded.at,
				channel = excluded.channel, actor = excluded.actor, data = excluded.data
		),
		changed as (
			select o.id from outbox o, live
			where o.order_id = $1 and o.seq = $3::bigint and (o.type, o.payload) is distinct from ($4::text, $9::jsonb)
				and not exists (select 1 from webhook_deliveries d where d.outbox_id = o.id and d.status = 'delivered')
		),
		undelivered as (
			delete from webhook_deliveries d using changed c where d.outbox_id = c.id and d.status <> 'delivered'
		)
		insert into outbox (order_id, seq, type, payload) select $1, $3::bigint, $4::text, $9::jsonb from live
		on conflict (order_id, seq) do update set type = excluded.type, payload = excluded.payload,
			xid = pg_current_xact_id(), created_at = now()
		where outbox.id in (select id from changed)`,
		orderID, version, e.Seq, e.Type, e.At, e.Channel, e.Actor, data, payload)
}

// queueFulfilments queues the writing of the order's fulfilments (the
// stores' queues read them), if the stored snapshot has the order's version.
func queueFulfilments(b *pgx.Batch, o order.Order) {
	if len(o.Fulfilments) == 0 {
		return
	}
	ids := make([]string, len(o.Fulfilments))
	types := make([]string, len(o.Fulfilments))
	locs := make([]string, len(o.Fulfilments))
	statuses := make([]string, len(o.Fulfilments))
	created := make([]time.Time, len(o.Fulfilments))
	for i, f := range o.Fulfilments {
		ids[i], types[i], locs[i], statuses[i], created[i] = f.ID, f.Type, f.LocationID, f.Status, f.CreatedAt
		if created[i].IsZero() {
			created[i] = o.CreatedAt
		}
	}
	b.Queue(`with live as (select 1 from orders where id = $1 and version = $2)
		insert into order_fulfilments (order_id, fulfilment_id, type, location_id, status, created_at)
		select $1, f.id, f.type, f.loc, f.status, f.created from live,
			unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) as f(id, type, loc, status, created)
		on conflict (order_id, fulfilment_id) do update set location_id = excluded.location_id, status = excluded.status`,
		o.ID, o.Version, ids, types, locs, statuses, created)
}

// queueForget queues the removal of the order's timeline events after seq,
// and of their outbox rows not yet delivered to any subscriber, if the
// order's stored snapshot has version: the workflow no longer has them.
func queueForget(b *pgx.Batch, orderID string, version, seq int64) {
	b.Queue(`with live as (select 1 from orders where id = $1 and version = $2),
		events as (delete from order_events e using live where e.order_id = $1 and e.seq > $3),
		gone as (
			select o.id from outbox o, live
			where o.order_id = $1 and o.seq > $3
				and not exists (select 1 from webhook_deliveries d where d.outbox_id = o.id and d.status = 'delivered')
		),
		undelivered as (
			delete from webhook_deliveries d using gone g where d.outbox_id = g.id and d.status <> 'delivered'
		)
		delete from outbox o using gone g where o.id = g.id`, orderID, version, seq)
}

// MarkWorkflowStarted records that the order's workflow runs, so the
// reconciler stops looking at it.
func (db *DB) MarkWorkflowStarted(ctx context.Context, orderID string) error {
	_, err := db.pool.Exec(ctx, "update orders set workflow_started = true where id = $1 and not workflow_started", orderID)
	return translate(err)
}

// UnstartedOrders lists orders older than olderThan whose workflow start was
// never confirmed: the process crashed between writing the order and starting it.
func (db *DB) UnstartedOrders(ctx context.Context, olderThan time.Duration, limit int) ([]order.Order, error) {
	rows, err := db.pool.Query(ctx, `select doc from orders where not workflow_started and created_at < now() - $1::interval
		order by created_at limit $2`, olderThan, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[order.Order])
	return out, translate(err)
}

// Project writes the order's snapshot and timeline events, with their
// outbox rows, in one implicit transaction (a single pipelined batch). seq is
// the last timeline seq the workflow has written (0: unknown).
//
// The workflow is the truth, and what it projected can be undone: a workflow
// task may run its local activities, this projection included, and then be
// lost when its worker dies before the task completes; the workflow then runs
// the same step again, possibly differently, and projects the same version
// and seqs with other content. So a snapshot at least as new as the stored
// one replaces it; the batch's events replace those stored under their seqs;
// and, when seq is known, the order's events after seq are removed. Outbox
// rows follow the events unless they were already delivered (see
// queueEvent). A snapshot older than the stored one writes nothing at all, so
// a late retry cannot undo newer projections.
//
// It reports the status the order had before, and whether this snapshot was
// applied (false: the store already had a newer one), so that a status change
// is seen once. A retried projection of the same snapshot reports its own
// status as the previous one.
func (db *DB) Project(ctx context.Context, o order.Order, events []order.Event, seq int64) (previous order.Status, applied bool, err error) {
	doc, err := json.Marshal(o)
	if err != nil {
		return "", false, err
	}
	b := &pgx.Batch{}
	b.Queue(`update orders o set status = $2, doc = $3, version = $4, updated_at = $5, store_id = nullif($6, ''), locations = $7
		from (select status from orders where id = $1 for update) prev
		where o.id = $1 and o.version <= $4
		returning prev.status`,
		o.ID, o.Status, doc, o.Version, o.UpdatedAt, o.Fulfilment.StoreID, o.Locations())
	queueFulfilments(b, o)
	if seq > 0 {
		queueForget(b, o.ID, o.Version, seq)
	}
	for _, e := range events {
		queueEvent(b, o.ID, o.Version, e)
	}
	if len(events) > 0 {
		b.Queue(notifySQL, o.ID) // delivered on commit: wakes the order's event streams
	}
	queueCustomer(b, o.ID, len(events) > 0) // the customer in the read model (customers.go)
	br := db.pool.SendBatch(ctx, b)
	err = br.QueryRow().Scan(&previous)
	applied = err == nil
	if isNoRows(err) {
		err = nil
	}
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return "", false, translate(err)
	}
	return previous, applied, nil
}

// Order returns the stored snapshot of an order.
func (db *DB) Order(ctx context.Context, id string) (order.Order, error) {
	var o order.Order
	err := db.pool.QueryRow(ctx, "select doc from orders where id = $1", id).Scan(&o)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, order.Errorf(order.KindNotFound, "order_not_found", "no order %q", id)
	}
	return o, translate(err)
}

// OrderAccess is what deciding who may see an order needs.
type OrderAccess struct {
	PlacedBy string
	// StoreID is the collection store ("" for a ship order).
	StoreID string
	// Locations are every store and warehouse the order involves.
	Locations []string
	Status    order.Status
}

// At reports whether the order involves the location.
func (a OrderAccess) At(location string) bool {
	for _, l := range a.Locations {
		if l == location {
			return true
		}
	}
	return false
}

// Access reads who placed an order, where it is to be collected and its status.
func (db *DB) Access(ctx context.Context, id string) (OrderAccess, error) {
	var a OrderAccess
	err := db.pool.QueryRow(ctx, "select placed_by, coalesce(store_id, ''), locations, status from orders where id = $1", id).
		Scan(&a.PlacedBy, &a.StoreID, &a.Locations, &a.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, order.Errorf(order.KindNotFound, "order_not_found", "no order %q", id)
	}
	return a, translate(err)
}

// OrderWithAccess reads an order's stored snapshot and its access facts in
// one round trip: the hot path of GET /v1/orders/{id}.
func (db *DB) OrderWithAccess(ctx context.Context, id string) ([]byte, OrderAccess, error) {
	var doc []byte
	var a OrderAccess
	err := db.pool.QueryRow(ctx, "select doc, placed_by, coalesce(store_id, ''), locations, status from orders where id = $1", id).
		Scan(&doc, &a.PlacedBy, &a.StoreID, &a.Locations, &a.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, a, order.Errorf(order.KindNotFound, "order_not_found", "no order %q", id)
	}
	return doc, a, translate(err)
}

// Events returns an order's timeline from seq after on, oldest first.
func (db *DB) Events(ctx context.Context, orderID string, after int64) ([]order.Event, error) {
	rows, err := db.pool.Query(ctx, `select seq, type, at, channel, actor, data from order_events
		where order_id = $1 and seq > $2 order by seq`, orderID, after)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[order.Event])
	return out, translate(err)
}

// StoreQueue lists a store's orders in a status, oldest first, without their
// pickup codes: store staff never see them.
func (db *DB) StoreQueue(ctx context.Context, storeID string, status order.Status, limit int) ([]order.Order, error) {
	rows, err := db.pool.Query(ctx, `select o.doc from order_fulfilments f join orders o on o.id = f.order_id
		where f.location_id = $1 and f.status = $2 order by f.created_at limit $3`, storeID, status, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (order.Order, error) {
		o, err := pgx.RowTo[order.Order](row)
		o.SyncCollect() // a snapshot stored before fulfilments shows its collect fulfilment
		return o.WithoutPickupCode(), err
	})
	return out, translate(err)
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }
