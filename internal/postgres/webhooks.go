package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// WebhookSubscription is another system's subscription to order events.
// Secret is only read by the dispatcher: the API shows it once, at creation.
type WebhookSubscription struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"event_types"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
	Secret     string    `json:"-"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event's delivery to one subscription, as the admin
// sees it.
type WebhookDelivery struct {
	EventID        string     `json:"event_id"`
	OrderID        string     `json:"order_id"`
	Seq            int64      `json:"seq"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastStatus     *int       `json:"last_status"`
	LastError      *string    `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"` // while pending
	FirstAttemptAt *time.Time `json:"first_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// DueWebhook is a delivery the dispatcher has claimed for one attempt.
type DueWebhook struct {
	SubscriptionID string
	OutboxID       int64
	EventID        string
	// Attempt numbers this attempt (1 for the first); recording the outcome
	// names it, so an attempt that lost its claim records nothing.
	Attempt int
	URL     string
	Secret  string
	// Body is the event as JSON: the outbox payload with the order id. It is
	// rebuilt from the stored jsonb for each attempt, byte for byte the same.
	Body []byte
}

// WebhookOutcome is how one attempt went.
type WebhookOutcome struct {
	SubscriptionID string
	OutboxID       int64
	Attempt        int
	Delivered      bool
	// HTTPStatus is the receiver's answer, 0 when it gave none.
	HTTPStatus int
	Error      string
	// Backoff is how long to wait before the next attempt after a failure;
	// RetryFor how long after the first attempt Omni gives up.
	Backoff, RetryFor time.Duration
}

// CreateWebhook stores a new, active subscription. It receives the events
// written from its creation on.
func (db *DB) CreateWebhook(ctx context.Context, id, url, secret string, eventTypes []string) (WebhookSubscription, error) {
	if eventTypes == nil {
		eventTypes = []string{}
	}
	s := WebhookSubscription{ID: id, URL: url, Secret: secret, EventTypes: eventTypes, Active: true}
	err := db.pool.QueryRow(ctx, `insert into webhook_subscriptions (id, url, secret, event_types)
		values ($1, $2, $3, $4) returning created_at`, id, url, secret, eventTypes).Scan(&s.CreatedAt)
	return s, translate(err)
}

// Webhooks lists the subscriptions, newest first, without their secrets.
func (db *DB) Webhooks(ctx context.Context) ([]WebhookSubscription, error) {
	rows, err := db.pool.Query(ctx, `select id, url, event_types, active, created_at from webhook_subscriptions
		order by created_at desc, id`)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (WebhookSubscription, error) {
		var s WebhookSubscription
		err := row.Scan(&s.ID, &s.URL, &s.EventTypes, &s.Active, &s.CreatedAt)
		return s, err
	})
	return out, translate(err)
}

// DeactivateWebhook stops a subscription: nothing more is fanned out to it,
// and its pending deliveries fail. Deactivating it again changes nothing.
func (db *DB) DeactivateWebhook(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "update webhook_subscriptions set active = false where id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return webhookNotFound(id)
		}
		_, err = tx.Exec(ctx, `update webhook_deliveries set status = 'failed', last_error = 'subscription deleted'
			where subscription_id = $1 and status = 'pending'`, id)
		return err
	})
	return translate(err)
}

// WebhookDeliveries lists a subscription's deliveries, newest event first:
// all of them, or those in status, or those of one order.
func (db *DB) WebhookDeliveries(ctx context.Context, subscriptionID, status, orderID string, limit int) ([]WebhookDelivery, error) {
	var exists bool
	if err := db.pool.QueryRow(ctx, "select exists (select 1 from webhook_subscriptions where id = $1)",
		subscriptionID).Scan(&exists); err != nil {
		return nil, translate(err)
	}
	if !exists {
		return nil, webhookNotFound(subscriptionID)
	}
	rows, err := db.pool.Query(ctx, `select d.event_id, o.order_id, o.seq, o.type, d.status, d.attempts, d.last_status,
			d.last_error, case when d.status = 'pending' then d.next_attempt_at end, d.first_attempt_at,
			d.last_attempt_at, d.delivered_at, d.created_at
		from webhook_deliveries d join outbox o on o.id = d.outbox_id
		where d.subscription_id = $1 and ($2 = '' or d.status = $2) and ($3 = '' or o.order_id = $3)
		order by d.outbox_id desc limit $4`, subscriptionID, status, orderID, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[WebhookDelivery])
	return out, translate(err)
}

func webhookNotFound(id string) error {
	return order.Errorf(order.KindNotFound, "webhook_not_found", "no webhook subscription %q", id)
}

// FanOutWebhooks turns the outbox rows written since the last fan-out into
// deliveries, once per active subscription that wants their event type, and
// returns how many it created. It only takes outbox rows of transactions that
// have finished (below the snapshot's xmin), so a row that commits late is
// never skipped; subscriptions another process is fanning out are skipped.
func (db *DB) FanOutWebhooks(ctx context.Context) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `with horizon as (select pg_snapshot_xmin(pg_current_snapshot()) as below),
		subs as (
			select s.id, s.event_types, s.fanned_out_below from webhook_subscriptions s
			where s.active and s.fanned_out_below < (select below from horizon)
			for update of s skip locked
		),
		fanned as (
			insert into webhook_deliveries (subscription_id, outbox_id, event_id)
			select s.id, o.id, 'evt_' || o.order_id || '_' || o.seq
			from subs s join outbox o on o.xid >= s.fanned_out_below and o.xid < (select below from horizon)
			where cardinality(s.event_types) = 0 or o.type = any (s.event_types)
			on conflict do nothing
			returning 1
		),
		moved as (
			update webhook_subscriptions w set fanned_out_below = (select below from horizon)
			from subs s where w.id = s.id
		)
		select count(*) from fanned`).Scan(&n)
	return n, translate(err)
}

// ClaimWebhooks takes up to limit due deliveries of active subscriptions for
// one attempt each, oldest due first. A claimed delivery is not due again for
// lease, so another process takes it over only if this one dies mid-attempt;
// rows other processes are claiming are skipped.
func (db *DB) ClaimWebhooks(ctx context.Context, limit int, lease time.Duration) ([]DueWebhook, error) {
	rows, err := db.pool.Query(ctx, `update webhook_deliveries d
		set attempts = d.attempts + 1, next_attempt_at = now() + $2::interval,
			first_attempt_at = coalesce(d.first_attempt_at, now()), last_attempt_at = now()
		from (
			select dd.subscription_id, dd.outbox_id from webhook_deliveries dd
			join webhook_subscriptions s on s.id = dd.subscription_id and s.active
			where dd.status = 'pending' and dd.next_attempt_at <= now()
			order by dd.next_attempt_at limit $1
			for update of dd skip locked
		) due, webhook_subscriptions s, outbox o
		where d.subscription_id = due.subscription_id and d.outbox_id = due.outbox_id
			and s.id = d.subscription_id and o.id = d.outbox_id
		returning d.subscription_id, d.outbox_id, d.event_id, d.attempts, s.url, s.secret,
			(o.payload || jsonb_build_object('order_id', o.order_id))::text`, limit, lease)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DueWebhook])
	return out, translate(err)
}

// RecordWebhookAttempt records how a claimed attempt went: delivered; or
// failed, and then due again after the back-off, or given up for good once
// RetryFor has passed since the first attempt (the last retry is made at that
// moment). It returns the delivery's status, or "" when the attempt had lost
// its claim and nothing was recorded.
func (db *DB) RecordWebhookAttempt(ctx context.Context, o WebhookOutcome) (string, error) {
	var status *int
	if o.HTTPStatus != 0 {
		status = &o.HTTPStatus
	}
	var lastErr *string
	if o.Error != "" {
		lastErr = &o.Error
	}
	var result string
	err := db.pool.QueryRow(ctx, `update webhook_deliveries set
			last_status = $4, last_error = $5,
			status = case when $6 then 'delivered'
				when now() >= first_attempt_at + $8::interval then 'failed' else 'pending' end,
			delivered_at = case when $6 then now() end,
			next_attempt_at = case when $6 then next_attempt_at
				else least(now() + $7::interval, first_attempt_at + $8::interval) end
		where subscription_id = $1 and outbox_id = $2 and attempts = $3 and status = 'pending'
		returning status`,
		o.SubscriptionID, o.OutboxID, o.Attempt, status, lastErr, o.Delivered, o.Backoff, o.RetryFor).Scan(&result)
	if isNoRows(err) {
		return "", nil
	}
	return result, translate(err)
}

// WebhookBacklog counts the deliveries waiting to be made (the
// omni_webhook_backlog gauge).
func (db *DB) WebhookBacklog(ctx context.Context) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, "select count(*) from webhook_deliveries where status = 'pending'").Scan(&n)
	return n, translate(err)
}
