package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// claimStep records a step's idempotency key inside tx. It reports false when
// the step has already been done (its key is present), so the caller does nothing.
func claimStep(ctx context.Context, tx pgx.Tx, key string) (bool, error) {
	tag, err := tx.Exec(ctx, "insert into activity_steps (key) values ($1) on conflict do nothing", key)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func splitLines(lines []order.LineQty) ([]string, []int64) {
	sorted := slices.Clone(lines)
	slices.SortFunc(sorted, func(a, b order.LineQty) int {
		switch {
		case a.SKU < b.SKU:
			return -1
		case a.SKU > b.SKU:
			return 1
		}
		return 0
	})
	skus := make([]string, len(sorted))
	qtys := make([]int64, len(sorted))
	for i, l := range sorted {
		skus[i], qtys[i] = l.SKU, l.Quantity
	}
	return skus, qtys
}

// Reserve holds stock of every line at the store for the order, all or
// nothing: when any SKU lacks available stock nothing is held and the short
// SKUs are returned. Rows are locked in SKU order so concurrent orders cannot
// deadlock, and the check constraint (reserved <= on_hand) backs the rule that
// available stock never goes below zero. Idempotent on key.
func (db *DB) Reserve(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) ([]string, error) {
	skus, qtys := splitLines(lines)
	var short []string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fresh, err := claimStep(ctx, tx, key)
		if err != nil || !fresh {
			return err
		}
		rows, err := tx.Query(ctx, `select sku, on_hand - reserved from stock
			where store_id = $1 and sku = any($2) order by sku for update`, storeID, skus)
		if err != nil {
			return err
		}
		available := map[string]int64{}
		var sku string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&sku, &n}, func() error { available[sku] = n; return nil }); err != nil {
			return err
		}
		for i, s := range skus {
			if available[s] < qtys[i] {
				short = append(short, s)
			}
		}
		if len(short) > 0 {
			return errShort
		}
		b := &pgx.Batch{}
		b.Queue(`update stock s set reserved = s.reserved + r.qty, updated_at = now()
			from unnest($2::text[], $3::bigint[]) as r(sku, qty) where s.store_id = $1 and s.sku = r.sku`, storeID, skus, qtys)
		b.Queue(`insert into reservations (order_id, store_id, sku, reserved)
			select $1, $2, r.sku, r.qty from unnest($3::text[], $4::bigint[]) as r(sku, qty)`, orderID, storeID, skus, qtys)
		return tx.SendBatch(ctx, b).Close()
	})
	if err == errShort {
		return short, nil
	}
	return nil, translate(err)
}

type shortError struct{}

func (shortError) Error() string { return "insufficient stock" }

var errShort error = shortError{}

// Release gives back held stock of the order at the store: the given lines, or
// everything still held when lines is nil. Idempotent on key.
func (db *DB) Release(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return db.settle(ctx, key, orderID, storeID, lines, false)
}

// Commit turns held stock into a sale: on hand and reserved both go down.
// Idempotent on key.
func (db *DB) Commit(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return db.settle(ctx, key, orderID, storeID, lines, true)
}

func (db *DB) settle(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, commit bool) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fresh, err := claimStep(ctx, tx, key)
		if err != nil || !fresh {
			return err
		}
		// What is to move, capped at what the order still holds.
		var skus []string
		var qtys []int64
		if lines == nil {
			err = tx.QueryRow(ctx, `select coalesce(array_agg(sku order by sku), '{}'), coalesce(array_agg(reserved order by sku), '{}')
				from reservations where order_id = $1 and store_id = $2 and reserved > 0`, orderID, storeID).Scan(&skus, &qtys)
		} else {
			ls, qs := splitLines(lines)
			err = tx.QueryRow(ctx, `select coalesce(array_agg(r.sku order by r.sku), '{}'), coalesce(array_agg(least(r.reserved, q.qty) order by r.sku), '{}')
				from reservations r join unnest($3::text[], $4::bigint[]) as q(sku, qty) on q.sku = r.sku
				where r.order_id = $1 and r.store_id = $2 and r.reserved > 0`, orderID, storeID, ls, qs).Scan(&skus, &qtys)
		}
		if err != nil || len(skus) == 0 {
			return err
		}
		// Lock the store's rows in SKU order, as Reserve does, so that
		// concurrent orders on the same SKUs queue instead of deadlocking.
		if _, err := tx.Exec(ctx, `select 1 from stock where store_id = $1 and sku = any($2) order by sku for update`,
			storeID, skus); err != nil {
			return err
		}
		onHand := "s.on_hand"
		moved := "released = r.released + m.qty"
		if commit {
			onHand = "s.on_hand - m.qty"
			moved = "committed = r.committed + m.qty"
		}
		b := &pgx.Batch{}
		b.Queue(`update stock s set reserved = s.reserved - m.qty, on_hand = `+onHand+`, updated_at = now()
			from unnest($2::text[], $3::bigint[]) as m(sku, qty) where s.store_id = $1 and s.sku = m.sku`, storeID, skus, qtys)
		b.Queue(`update reservations r set reserved = r.reserved - m.qty, `+moved+`
			from unnest($3::text[], $4::bigint[]) as m(sku, qty)
			where r.order_id = $1 and r.store_id = $2 and r.sku = m.sku`, orderID, storeID, skus, qtys)
		return tx.SendBatch(ctx, b).Close()
	})
	return translate(err)
}
