package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// NotificationAttempt is one attempt to notify a customer: sent, or failed
// with the provider's error.
type NotificationAttempt struct {
	Key       string    `json:"key"`
	Template  string    `json:"template"`
	Channel   string    `json:"channel"`
	Recipient string    `json:"recipient"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

// RecordNotificationFailure stores a failed attempt to send n. Every attempt
// is kept: a notification retried five times before it went out has five rows.
func (db *DB) RecordNotificationFailure(ctx context.Context, n Notification, cause string) error {
	_, err := db.pool.Exec(ctx, `insert into notification_failures
		(order_id, step_key, template, channel, recipient, data, error) values ($1, $2, $3, $4, $5, $6, $7)`,
		n.OrderID, n.Key, n.Template, n.Channel, n.Recipient, n.Data, cause)
	return translate(err)
}

// attemptsSQL is every attempt of order $1, sent and failed; the caller orders them.
const attemptsSQL = `select step_key, template, channel, recipient, status, error, at, data from (
		select step_key, template, channel, recipient, status, '' as error, created_at as at, data, 1 as rank
			from notifications where order_id = $1
		union all
		select step_key, template, channel, recipient, 'failed', error, created_at, data, 0
			from notification_failures where order_id = $1
	) a`

// NotificationAttempts lists every attempt to notify the order's customer,
// oldest first.
func (db *DB) NotificationAttempts(ctx context.Context, orderID string) ([]NotificationAttempt, error) {
	rows, err := db.pool.Query(ctx, attemptsSQL+" order by at, rank", orderID)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (NotificationAttempt, error) {
		var a NotificationAttempt
		var data any
		err := row.Scan(&a.Key, &a.Template, &a.Channel, &a.Recipient, &a.Status, &a.Error, &a.At, &data)
		return a, err
	})
	if out == nil {
		out = []NotificationAttempt{}
	}
	return out, translate(err)
}

// LastNotification returns the notification the order's customer was sent,
// or failed to be sent, most recently, with its template data.
func (db *DB) LastNotification(ctx context.Context, orderID string) (Notification, error) {
	n := Notification{OrderID: orderID}
	var ignore any
	err := db.pool.QueryRow(ctx, attemptsSQL+" order by at desc, rank desc limit 1", orderID).
		Scan(&n.Key, &n.Template, &n.Channel, &n.Recipient, &ignore, &ignore, &ignore, &n.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, order.Errorf(order.KindNotFound, "no_notifications", "order %q has no notifications yet", orderID)
	}
	return n, translate(err)
}

// CountNotificationKeys counts the distinct keys, sent or failed, that
// start with prefix (the resends of one notification).
func (db *DB) CountNotificationKeys(ctx context.Context, orderID, prefix string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `select count(distinct step_key) from (
			select step_key from notifications where order_id = $1 and starts_with(step_key, $2)
			union all
			select step_key from notification_failures where order_id = $1 and starts_with(step_key, $2)
		) k`, orderID, prefix).Scan(&n)
	return n, translate(err)
}
