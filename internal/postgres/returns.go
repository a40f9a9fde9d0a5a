package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// RecordReturn records a return (an exchange without new lines) or an
// exchange taken at a store. Recording it again changes nothing.
func (db *DB) RecordReturn(ctx context.Context, orderID string, x order.Exchange) error {
	kind := "exchange"
	if len(x.NewLines) == 0 {
		kind = "return"
	}
	newLines := x.NewLines
	if newLines == nil {
		newLines = []order.ExchangeLine{}
	}
	_, err := db.pool.Exec(ctx, `insert into returns (id, order_id, store_id, kind, lines, new_lines, refund, charge)
		values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (id) do nothing`,
		x.ID, orderID, x.StoreID, kind, x.ReturnLines, newLines, x.Refunded, x.Charged)
	return translate(err)
}

// Restock puts goods taken back (for orderID) into a store's on-hand stock.
// Idempotent on key; the key with another store or other lines is refused
// (step_key_mismatch). The order is not part of the step's fingerprint, as
// it was not when restocks were first recorded.
func (db *DB) Restock(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	skus, qtys := splitLines(lines)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fresh, err := db.claimStep(ctx, tx, key, fingerprint("restock", "", storeID, lines))
		if err != nil || !fresh {
			return err
		}
		_, err = tx.Exec(ctx, `insert into stock (store_id, sku, on_hand)
			select $1, r.sku, r.qty from unnest($2::text[], $3::bigint[]) as r(sku, qty)
			on conflict (store_id, sku) do update set on_hand = stock.on_hand + excluded.on_hand, updated_at = now()`,
			storeID, skus, qtys)
		return err
	})
	return translate(err)
}

// WriteOff records damaged goods taken back at a store: they never return to
// stock. Idempotent on key; the key with another order, store, lines or
// reason is refused (step_key_mismatch).
func (db *DB) WriteOff(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, reason string) error {
	skus, qtys := splitLines(lines)
	fp := fingerprint("write_off", orderID, storeID, lines)
	fp.Reason = reason
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fresh, err := db.claimStep(ctx, tx, key, fp)
		if err != nil || !fresh {
			return err
		}
		// Write-offs recorded before they claimed a step (before migration
		// 008) have rows but no claim: such a step is done, whatever it did,
		// and its claim says so with no fingerprint.
		var legacy bool
		if err := tx.QueryRow(ctx, "select exists (select 1 from write_offs where step_key = $1)", key).Scan(&legacy); err != nil {
			return err
		}
		if legacy {
			_, err := tx.Exec(ctx, "update activity_steps set fingerprint = null where key = $1", key)
			return err
		}
		_, err = tx.Exec(ctx, `insert into write_offs (store_id, sku, quantity, order_id, reason, step_key)
			select $1, r.sku, r.qty, $4, $5, $6 from unnest($2::text[], $3::bigint[]) as r(sku, qty)
			on conflict (step_key, sku) do nothing`, storeID, skus, qtys, orderID, reason, key)
		return err
	})
	return translate(err)
}

// WrittenOff is the quantity of a SKU written off at a store.
func (db *DB) WrittenOff(ctx context.Context, storeID, sku string) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `select coalesce(sum(quantity), 0) from write_offs where store_id = $1 and sku = $2`,
		storeID, sku).Scan(&n)
	return n, translate(err)
}
