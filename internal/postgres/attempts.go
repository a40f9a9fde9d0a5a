package postgres

import (
	"context"
	"time"
)

// RecordPickupCodeFailure records a wrong pickup code and returns how many
// wrong codes the order has had within window.
func (db *DB) RecordPickupCodeFailure(ctx context.Context, orderID, storeID string, window time.Duration) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `with ins as (insert into pickup_code_failures (order_id, store_id) values ($1, $2))
		select count(*) + 1 from pickup_code_failures where order_id = $1 and at > now() - $3::interval`,
		orderID, storeID, window).Scan(&n)
	return n, translate(err)
}

// PickupCodeLockedUntil reports until when handovers of the order are refused:
// the time the limit-th most recent failure within window leaves it, or zero.
func (db *DB) PickupCodeLockedUntil(ctx context.Context, orderID string, limit int, window time.Duration) (time.Time, error) {
	var until *time.Time
	err := db.pool.QueryRow(ctx, `select at + $3::interval from pickup_code_failures
		where order_id = $1 and at > now() - $3::interval order by at desc offset $2 - 1 limit 1`,
		orderID, limit, window).Scan(&until)
	if err != nil {
		if isNoRows(err) {
			return time.Time{}, nil
		}
		return time.Time{}, translate(err)
	}
	return *until, nil
}
