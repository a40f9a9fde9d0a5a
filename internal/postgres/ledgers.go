package postgres

import (
	"context"
	"encoding/json"
	"github.com/omni-retail/omni/activities"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// OpenPickTask puts the order in the store's pick queue. Idempotent per order
// and store: an order moved to another store, or split across several, gets
// a task at each.
func (db *DB) OpenPickTask(ctx context.Context, t activities.PickTask) error {
	_, err := db.pool.Exec(ctx, `insert into pick_tasks (order_id, store_id, status, lines) values ($1, $2, 'open', $3)
		on conflict (order_id, store_id) do nothing`, t.OrderID, t.StoreID, t.Lines)
	return translate(err)
}

// ClosePickTask takes the order off the store's pick queue with a final status
// (picked, cancelled, rejected, escalated). Closing a closed task, or the
// task of another store, changes nothing.
func (db *DB) ClosePickTask(ctx context.Context, orderID, storeID, status string) error {
	_, err := db.pool.Exec(ctx, `update pick_tasks set status = $3, updated_at = now()
		where order_id = $1 and store_id = $2 and status = 'open'`, orderID, storeID, status)
	return translate(err)
}

// Balance is the money of an order's payment ledger, in minor units.
type Balance struct {
	Authorized, Captured, Voided, Refunded int64
}

// Open is what can still be captured or voided.
func (b Balance) Open() int64 { return b.Authorized - b.Captured - b.Voided }

func balance(ctx context.Context, q pgx.Tx, orderID string) (Balance, error) {
	var b Balance
	err := q.QueryRow(ctx, `select
		coalesce(sum(amount) filter (where kind = 'authorization'), 0),
		coalesce(sum(amount) filter (where kind = 'capture'), 0),
		coalesce(sum(amount) filter (where kind = 'void'), 0),
		coalesce(sum(amount) filter (where kind = 'refund'), 0)
		from payments where order_id = $1`, orderID).Scan(&b.Authorized, &b.Captured, &b.Voided, &b.Refunded)
	return b, err
}

// Capture takes amount of the order's authorisation. It never captures more
// than is still authorised. Idempotent on key; the key with another movement
// is refused.
func (db *DB) Capture(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	return settled(key, db.movePayment(ctx, "capture", key, orderID, amount, currency, reference))
}

// settled is the built-in ledger's answer to a money movement: done at once
// (it never answers pending), its step key as the reference.
func settled(key string, err error) (activities.PaymentResult, error) {
	if err != nil {
		return activities.PaymentResult{}, err
	}
	return activities.PaymentResult{Status: activities.PaymentSucceeded, PSPReference: key}, nil
}

// Void releases amount of the order's authorisation. Idempotent on key; the
// key with another movement is refused.
func (db *DB) Void(ctx context.Context, key, orderID string, amount int64, currency, reference string) error {
	return db.movePayment(ctx, "void", key, orderID, amount, currency, reference)
}

// Refund pays amount back to the tender. It never refunds more than was
// captured and not yet refunded. Idempotent on key; the key with another
// movement is refused.
func (db *DB) Refund(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	return settled(key, db.movePayment(ctx, "refund", key, orderID, amount, currency, reference))
}

// Charge records a new tender taken at a store counter: authorised and
// captured at once. Idempotent on key; the key with another movement is
// refused.
func (db *DB) Charge(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	if err := db.movePayment(ctx, "authorization", key+"/auth", orderID, amount, currency, reference); err != nil {
		return activities.PaymentResult{}, err
	}
	return settled(key, db.movePayment(ctx, "capture", key, orderID, amount, currency, reference))
}

// paymentStep is what one payment step moved, as its row records it.
type paymentStep struct {
	OrderID   string `json:"order_id"`
	Kind      string `json:"kind"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
}

func (p paymentStep) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// movePayment records one money movement under key. The same key with the
// same movement is a retry and does nothing; with another kind, amount,
// currency, reference or order it is refused (step_key_mismatch) and logged.
func (db *DB) movePayment(ctx context.Context, kind, key, orderID string, amount int64, currency, reference string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Serialise money movements of one order.
		if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock(hashtextextended($1, 11))", orderID); err != nil {
			return err
		}
		// A known key is a retry when it moved the same money, and a
		// different step under the same key otherwise: refused, not skipped.
		want := paymentStep{OrderID: orderID, Kind: kind, Amount: amount, Currency: currency, Reference: reference}
		var got paymentStep
		err := tx.QueryRow(ctx, "select order_id, kind, amount, currency, reference from payments where step_key = $1", key).
			Scan(&got.OrderID, &got.Kind, &got.Amount, &got.Currency, &got.Reference)
		switch {
		case err == nil && got == want:
			return nil
		case err == nil:
			return db.stepKeyMismatch(ctx, key, got.String(), want.String())
		case !isNoRows(err):
			return err
		}
		b, err := balance(ctx, tx, orderID)
		if err != nil {
			return err
		}
		switch kind {
		case "capture", "void":
			if amount > b.Open() {
				return order.Errorf(order.KindConflict, "payment_exceeds_authorisation",
					"%s of %d exceeds the %d still authorised", kind, amount, b.Open())
			}
		case "refund":
			if amount > b.Captured-b.Refunded {
				return order.Errorf(order.KindConflict, "refund_exceeds_captured",
					"a refund of %d exceeds the %d captured and not yet refunded", amount, b.Captured-b.Refunded)
			}
		}
		_, err = tx.Exec(ctx, `insert into payments (order_id, kind, amount, currency, reference, step_key)
			values ($1, $2, $3, $4, $5, $6)`, orderID, kind, amount, currency, reference, key)
		return err
	})
	return translate(err)
}

// PaymentBalance reads an order's payment ledger.
func (db *DB) PaymentBalance(ctx context.Context, orderID string) (Balance, error) {
	var b Balance
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		b, err = balance(ctx, tx, orderID)
		return err
	})
	return b, translate(err)
}

// Notification is one message to a customer.
type Notification struct {
	Key       string
	OrderID   string
	Template  string
	Channel   string
	Recipient string
	Data      map[string]any
}

// RecordNotification stores a sent notification. It reports false when one
// with the same key was already recorded (the step is being retried).
func (db *DB) RecordNotification(ctx context.Context, n Notification, status string) (bool, error) {
	tag, err := db.pool.Exec(ctx, `insert into notifications (order_id, step_key, template, channel, recipient, data, status)
		values ($1, $2, $3, $4, $5, $6, $7) on conflict (step_key) do nothing`,
		n.OrderID, n.Key, n.Template, n.Channel, n.Recipient, n.Data, status)
	if err != nil {
		return false, translate(err)
	}
	return tag.RowsAffected() == 1, nil
}

// NotificationSent reports whether a notification with key was already recorded.
func (db *DB) NotificationSent(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, "select exists (select 1 from notifications where step_key = $1)", key).Scan(&ok)
	return ok, translate(err)
}
