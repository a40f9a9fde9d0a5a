package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// The customer in the read model (issue 14). It is kept by the projection:
// PlaceOrder and Project queue queueCustomer in their own batches, so the
// customer changes in the same transaction as the order it is derived from.
// An order's customer is its customer.id when the checkout gave one; a guest
// order (no id) joins the customer with the same normalised email (a
// registered one first), else is a guest customer "guest-" + the first 16 hex
// digits of sha256(email), or of the phone when there is no email.

// CustomerNotifyPrefix prefixes a customer's id on EventsChannel: a
// subscription to CustomerNotifyPrefix+id wakes when the customer's timeline
// may have grown (an order of theirs placed or projected with events, an
// interaction logged).
const CustomerNotifyPrefix = "customer:"

// closedStatusesSQL are the statuses in which an order is no longer open:
// handed over, or ended.
const closedStatusesSQL = `('collected', 'partially_returned', 'returned', 'cancelled', 'expired', 'rejected',
	'delivered', 'returned_to_sender')`

// customerMapSQL maps order $1 to its customer (once: an order never changes
// customer) and keeps the contact details the order gave.
const customerMapSQL = `with o as (
		select id, placed_by, created_at, nullif(btrim(doc->'customer'->>'id'), '') as cid,
			lower(btrim(coalesce(doc->'customer'->>'email', ''))) as email,
			coalesce(doc->'customer'->>'phone', '') as phone,
			btrim(coalesce(doc->'customer'->>'name', '')) as name
		from orders where id = $1
	)
	insert into customer_orders (order_id, customer_id, placed_by, email, phone, name, created_at)
	select o.id, coalesce(o.cid,
			(select co.customer_id from customer_orders co where o.email <> '' and co.email = o.email
				order by starts_with(co.customer_id, 'guest-'), co.created_at desc limit 1),
			'guest-' || left(encode(sha256(convert_to(coalesce(nullif(o.email, ''), o.phone), 'UTF8')), 'hex'), 16)),
		o.placed_by, o.email, o.phone, o.name, o.created_at
	from o where o.cid is not null or o.email <> '' or o.phone <> ''
	on conflict (order_id) do update set email = excluded.email, phone = excluded.phone, name = excluded.name
	where (customer_orders.email, customer_orders.phone, customer_orders.name)
		is distinct from (excluded.email, excluded.phone, excluded.name)`

// customerUpsertSQL recomputes the customer of order $1 from all of their
// orders: the latest details, the first and last order, the counts.
const customerUpsertSQL = `insert into customers (id, email, phone, name, first_order_at, last_order_at,
		order_count, open_order_count, updated_at)
	select k.customer_id, s.email, s.phone, s.name, s.first_at, s.last_at, s.n, s.open, now()
	from (select customer_id from customer_orders where order_id = $1) k,
	lateral (
		select coalesce((array_agg(co.email order by co.created_at desc) filter (where co.email <> ''))[1], '') as email,
			coalesce((array_agg(co.phone order by co.created_at desc) filter (where co.phone <> ''))[1], '') as phone,
			coalesce((array_agg(co.name order by co.created_at desc) filter (where co.name <> ''))[1], '') as name,
			min(co.created_at) as first_at, max(co.created_at) as last_at, count(*) as n,
			count(*) filter (where o.status not in ` + closedStatusesSQL + `) as open
		from customer_orders co join orders o on o.id = co.order_id
		where co.customer_id = k.customer_id
	) s
	on conflict (id) do update set email = excluded.email, phone = excluded.phone, name = excluded.name,
		first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at,
		order_count = excluded.order_count, open_order_count = excluded.open_order_count, updated_at = now()
	where (customers.email, customers.phone, customers.name, customers.first_order_at, customers.last_order_at,
			customers.order_count, customers.open_order_count)
		is distinct from (excluded.email, excluded.phone, excluded.name, excluded.first_order_at,
			excluded.last_order_at, excluded.order_count, excluded.open_order_count)`

// customerNotifySQL wakes the live timelines of order $1's customer on commit.
const customerNotifySQL = `select pg_notify('` + EventsChannel + `', '` + CustomerNotifyPrefix + `' || customer_id)
	from customer_orders where order_id = $1`

// queueCustomer queues the upkeep of the customer of order orderID, whose
// row the batch has already written; wake says whether the customer's live
// timelines are to be woken (the batch writes timeline events).
func queueCustomer(b *pgx.Batch, orderID string, wake bool) {
	b.Queue(customerMapSQL, orderID)
	b.Queue(customerUpsertSQL, orderID)
	if wake {
		b.Queue(customerNotifySQL, orderID)
	}
}

// GuestCustomerID is the id of the guest customer of an email (or phone).
// It is what the projection computes in SQL, for tests and tools.
func GuestCustomerID(emailOrPhone string) string {
	return "guest-" + sha256Hex16(emailOrPhone)
}

func sha256Hex16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

// Customer is one customer of the read model.
type Customer struct {
	ID             string    `json:"id"`
	Email          string    `json:"email"`
	Phone          string    `json:"phone"`
	Name           string    `json:"name"`
	FirstOrderAt   time.Time `json:"first_order_at"`
	LastOrderAt    time.Time `json:"last_order_at"`
	OrderCount     int       `json:"order_count"`
	OpenOrderCount int       `json:"open_order_count"`
}

const customerColumns = `c.id, c.email, c.phone, c.name, c.first_order_at, c.last_order_at, c.order_count, c.open_order_count`

// CustomerQuery is a search: every field given must match. Email is
// compared normalised, Phone in E.164 (the caller normalises it); Q matches
// a name (case-insensitive substring), an email, a phone or an order number.
type CustomerQuery struct {
	Email, Phone, Q string
	// QPhone is Q normalised as a phone, when it is one.
	QPhone string
}

// SearchCustomers finds customers, the most recent customers first.
func (db *DB) SearchCustomers(ctx context.Context, q CustomerQuery, limit int) ([]Customer, error) {
	email := strings.ToLower(strings.TrimSpace(q.Email))
	text := strings.ToLower(strings.TrimSpace(q.Q))
	rows, err := db.pool.Query(ctx, `with ids as (
			select id from customers where $1 <> '' and email = $1
			union select customer_id from customer_orders where $1 <> '' and email = $1
			union select id from customers where $2 <> '' and phone = $2
			union select customer_id from customer_orders where $2 <> '' and phone = $2
			union select id from customers where $3 <> '' and lower(name) like '%' || $5 || '%'
			union select id from customers where $3 <> '' and email = $3
			union select customer_id from customer_orders where $3 <> '' and email = $3
			union select customer_id from customer_orders where $4 <> '' and phone = $4
			union select co.customer_id from orders o join customer_orders co on co.order_id = o.id
				where $3 <> '' and o.number = $3
		)
		select `+customerColumns+` from customers c join ids on ids.id = c.id
		where ($1 = '' or c.email = $1 or exists (select 1 from customer_orders co where co.customer_id = c.id and co.email = $1))
			and ($2 = '' or c.phone = $2 or exists (select 1 from customer_orders co where co.customer_id = c.id and co.phone = $2))
		order by c.last_order_at desc, c.id limit $6`,
		email, q.Phone, text, q.QPhone, likeEscape(text), limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Customer])
	if out == nil {
		out = []Customer{}
	}
	return out, translate(err)
}

// likeEscape escapes LIKE's wildcards in s (the default escape is \).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Customer reads one customer (customer_not_found when there is none).
func (db *DB) Customer(ctx context.Context, id string) (Customer, error) {
	rows, err := db.pool.Query(ctx, `select `+customerColumns+` from customers c where c.id = $1`, id)
	if err != nil {
		return Customer{}, translate(err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Customer])
	if errors.Is(err, pgx.ErrNoRows) {
		return c, order.Errorf(order.KindNotFound, "customer_not_found", "no customer %q", id)
	}
	return c, translate(err)
}

// CustomerOrder is one order of a customer, as the customer view lists it.
type CustomerOrder struct {
	ID        string       `json:"id"`
	Number    string       `json:"number"`
	Status    order.Status `json:"status"`
	Channel   string       `json:"channel"`
	StoreID   string       `json:"store_id,omitempty"`
	Pickup    OrderPickup  `json:"pickup"`
	Total     int64        `json:"total"`
	Currency  string       `json:"currency"`
	Open      bool         `json:"open"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// OrderPickup is the pickup window of an order (no code: the customer's only).
type OrderPickup struct {
	StoreID   string     `json:"store_id,omitempty"`
	ReadyAt   *time.Time `json:"ready_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// closedStatuses are the statuses of closedStatusesSQL.
var closedStatuses = map[order.Status]bool{order.StatusCollected: true, order.StatusPartiallyReturned: true,
	order.StatusReturned: true, order.StatusCancelled: true, order.StatusExpired: true, order.StatusRejected: true,
	order.StatusDelivered: true, order.StatusReturnedToSender: true}

// OrderOpen reports whether an order in status s is open: not yet handed
// over and not ended.
func OrderOpen(s order.Status) bool { return !closedStatuses[s] }

// CustomerOrders lists a customer's orders, newest first; placedBy, when
// not empty, keeps only the orders that client placed.
func (db *DB) CustomerOrders(ctx context.Context, customerID, placedBy string, limit int) ([]CustomerOrder, error) {
	rows, err := db.pool.Query(ctx, `select o.doc from customer_orders co join orders o on o.id = co.order_id
		where co.customer_id = $1 and ($2 = '' or co.placed_by = $2)
		order by co.created_at desc, co.order_id limit $3`, customerID, placedBy, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CustomerOrder, error) {
		o, err := pgx.RowTo[order.Order](row)
		if err != nil {
			return CustomerOrder{}, err
		}
		return CustomerOrder{ID: o.ID, Number: o.Number, Status: o.Status, Channel: o.Channel, StoreID: o.Fulfilment.StoreID,
			Pickup: OrderPickup{StoreID: o.Pickup.StoreID, ReadyAt: o.Pickup.ReadyAt, ExpiresAt: o.Pickup.ExpiresAt},
			Total:  o.Total(), Currency: o.Currency, Open: OrderOpen(o.Status), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
	})
	if out == nil {
		out = []CustomerOrder{}
	}
	return out, translate(err)
}

// Interaction is a call, chat, email, social message or store visit logged
// against a customer, optionally about one of their orders.
type Interaction struct {
	ID           string    `json:"id"`
	CustomerID   string    `json:"customer_id"`
	OrderID      string    `json:"order_id,omitempty"`
	Channel      string    `json:"channel"`
	Summary      string    `json:"summary"`
	Outcome      string    `json:"outcome,omitempty"`
	Actor        string    `json:"actor"`
	ActorChannel string    `json:"actor_channel"`
	At           time.Time `json:"at"`
}

const interactionColumns = `id, customer_id, coalesce(order_id, ''), channel, summary, outcome, actor, actor_channel, at`

// AddInteraction stores an interaction under its id, once: the same id
// again returns the one stored. The customer must exist
// (customer_not_found), and an order it names must be the customer's
// (validation error on order_id). The customer's live timelines are woken on
// commit.
func (db *DB) AddInteraction(ctx context.Context, in Interaction) (Interaction, error) {
	var out Interaction
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var customerKnown, orderTheirs bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from customers where id = $1),
			exists (select 1 from customer_orders where customer_id = $1 and order_id = $2)`,
			in.CustomerID, in.OrderID).Scan(&customerKnown, &orderTheirs); err != nil {
			return err
		}
		if !customerKnown {
			return order.Errorf(order.KindNotFound, "customer_not_found", "no customer %q", in.CustomerID)
		}
		if in.OrderID != "" && !orderTheirs {
			return &order.Error{Kind: order.KindInvalid, Code: "validation", Detail: "the interaction is not valid",
				Fields: []order.FieldError{{Field: "order_id", Detail: "is not an order of this customer"}}}
		}
		if _, err := tx.Exec(ctx, `insert into customer_interactions
			(id, customer_id, order_id, channel, summary, outcome, actor, actor_channel, at)
			values ($1, $2, nullif($3, ''), $4, $5, $6, $7, $8, coalesce($9, now()))
			on conflict (id) do nothing`,
			in.ID, in.CustomerID, in.OrderID, in.Channel, in.Summary, in.Outcome, in.Actor, in.ActorChannel,
			nullTime(in.At)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select `+interactionColumns+` from customer_interactions where id = $1`, in.ID)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Interaction]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "select pg_notify('"+EventsChannel+"', $1)", CustomerNotifyPrefix+in.CustomerID)
		return err
	})
	if err != nil {
		return Interaction{}, translate(err)
	}
	return out, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CustomerInteractions lists a customer's interactions, newest first.
func (db *DB) CustomerInteractions(ctx context.Context, customerID string, limit int) ([]Interaction, error) {
	rows, err := db.pool.Query(ctx, `select `+interactionColumns+` from customer_interactions
		where customer_id = $1 order by at desc, id desc limit $2`, customerID, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Interaction])
	if out == nil {
		out = []Interaction{}
	}
	return out, translate(err)
}

// Timeline entry kinds.
const (
	EntryOrderEvent   = "order_event"
	EntryNotification = "notification"
	EntryInteraction  = "interaction"
)

// TimelineEntry is one entry of a customer's timeline: an event of one of
// their orders, a notification sent or failed, or an interaction. ID is
// unique and stable; with At it orders the timeline.
type TimelineEntry struct {
	ID      string         `json:"id"`
	At      time.Time      `json:"at"`
	Kind    string         `json:"kind"`
	OrderID string         `json:"order_id,omitempty"`
	Type    string         `json:"type"`
	Channel string         `json:"channel"`
	Actor   string         `json:"actor"`
	Data    map[string]any `json:"data"`
}

// Cursor is a position in a customer's timeline: an entry's At and ID.
type Cursor struct {
	At time.Time
	ID string
}

// Cursor is the position of the entry.
func (e TimelineEntry) Cursor() Cursor { return Cursor{At: e.At, ID: e.ID} }

// String encodes the cursor for clients (opaque to them).
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.At.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

// ParseCursor decodes a cursor from String.
func ParseCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, errors.New("not a timeline cursor")
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return Cursor{}, errors.New("not a timeline cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Cursor{}, errors.New("not a timeline cursor")
	}
	return Cursor{At: t, ID: id}, nil
}

// timelineSQL is every entry of customer $1. The order event recording an
// interaction (customer_contacted) is left out: the interaction itself is
// on the timeline.
const timelineSQL = `select id, at, kind, order_id, type, channel, actor, data from (
		select 'e:' || e.order_id || ':' || lpad(e.seq::text, 12, '0') as id, e.at, 'order_event' as kind,
			e.order_id, e.type, e.channel, e.actor, e.data
		from customer_orders co join order_events e on e.order_id = co.order_id
		where co.customer_id = $1 and e.type <> 'customer_contacted'
		union all
		select 'n:' || n.id, n.created_at, 'notification', n.order_id, n.template, n.channel, 'omni',
			jsonb_build_object('status', n.status, 'recipient', n.recipient, 'key', n.step_key)
		from customer_orders co join notifications n on n.order_id = co.order_id
		where co.customer_id = $1
		union all
		select 'f:' || f.id, f.created_at, 'notification', f.order_id, f.template, f.channel, 'omni',
			jsonb_build_object('status', 'failed', 'recipient', f.recipient, 'key', f.step_key, 'error', f.error)
		from customer_orders co join notification_failures f on f.order_id = co.order_id
		where co.customer_id = $1
		union all
		select 'i:' || i.id, i.at, 'interaction', coalesce(i.order_id, ''), 'interaction', i.channel, i.actor,
			jsonb_strip_nulls(jsonb_build_object('interaction_id', i.id, 'summary', i.summary,
				'outcome', nullif(i.outcome, ''), 'actor_channel', i.actor_channel))
		from customer_interactions i where i.customer_id = $1
	) t`

// CustomerTimeline reads a page of the customer's timeline, newest first,
// from before the cursor (nil: the newest). next is the cursor of the page
// after this one, nil when there is none.
func (db *DB) CustomerTimeline(ctx context.Context, customerID string, before *Cursor, limit int) ([]TimelineEntry, *Cursor, error) {
	var at *time.Time
	var id string
	if before != nil {
		at, id = &before.At, before.ID
	}
	rows, err := db.pool.Query(ctx, timelineSQL+` where $2::timestamptz is null or (t.at, t.id) < ($2, $3)
		order by t.at desc, t.id desc limit $4`, customerID, at, id, limit+1)
	if err != nil {
		return nil, nil, translate(err)
	}
	out, err := collectEntries(rows)
	if err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(out) > limit {
		out = out[:limit]
		c := out[limit-1].Cursor()
		next = &c
	}
	return out, next, nil
}

// CustomerTimelineSince reads the customer's entries from since on (at or
// after since.At, and after since.ID at since.At), oldest first: what a live
// timeline reads on every wake-up.
func (db *DB) CustomerTimelineSince(ctx context.Context, customerID string, since Cursor, limit int) ([]TimelineEntry, error) {
	rows, err := db.pool.Query(ctx, timelineSQL+` where (t.at, t.id) > ($2, $3)
		order by t.at, t.id limit $4`, customerID, since.At, since.ID, limit)
	if err != nil {
		return nil, translate(err)
	}
	return collectEntries(rows)
}

func collectEntries(rows pgx.Rows) ([]TimelineEntry, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (TimelineEntry, error) {
		var e TimelineEntry
		var data []byte
		if err := row.Scan(&e.ID, &e.At, &e.Kind, &e.OrderID, &e.Type, &e.Channel, &e.Actor, &data); err != nil {
			return e, err
		}
		if err := json.Unmarshal(data, &e.Data); err != nil {
			return e, err
		}
		if e.Data == nil {
			e.Data = map[string]any{}
		}
		return e, nil
	})
	if out == nil {
		out = []TimelineEntry{}
	}
	return out, translate(err)
}

// OrderCustomer is the customer of an order ("" when it has none).
func (db *DB) OrderCustomer(ctx context.Context, orderID string) (string, error) {
	var id string
	err := db.pool.QueryRow(ctx, "select customer_id from customer_orders where order_id = $1", orderID).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	return id, translate(err)
}

// CustomerPlacedBy reports whether client placed any order of the customer.
func (db *DB) CustomerPlacedBy(ctx context.Context, customerID, client string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, `select exists (select 1 from customer_orders where customer_id = $1 and placed_by = $2)`,
		customerID, client).Scan(&ok)
	return ok, translate(err)
}
