package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// stepFingerprint is what a stock step does, as recorded beside its key in
// activity_steps: the kind of step, the order, the store, the lines sorted by
// SKU and, for a write-off, its reason. Nil lines ("everything the order
// holds") are null, which is not the empty list.
type stepFingerprint struct {
	Step    string          `json:"step"`
	OrderID string          `json:"order_id"`
	StoreID string          `json:"store_id"`
	Lines   []order.LineQty `json:"lines"`
	Reason  string          `json:"reason,omitempty"`
}

func fingerprint(step, orderID, storeID string, lines []order.LineQty) stepFingerprint {
	sorted := slices.Clone(lines) // nil stays nil
	slices.SortFunc(sorted, func(a, b order.LineQty) int {
		if c := strings.Compare(a.SKU, b.SKU); c != 0 {
			return c
		}
		return cmp.Compare(a.Quantity, b.Quantity)
	})
	return stepFingerprint{Step: step, OrderID: orderID, StoreID: storeID, Lines: sorted}
}

func (f stepFingerprint) String() string {
	b, _ := json.Marshal(f) // plain strings and numbers: cannot fail
	return string(b)
}

// claimStep records a step's idempotency key and fingerprint inside tx. It
// reports false when the step has already been done (its key is present with
// the same fingerprint, or with none: a step recorded before fingerprints),
// so the caller does nothing. A key present with another fingerprint is a
// different step under the same key: it is refused as step_key_mismatch and
// logged, never skipped.
func (db *DB) claimStep(ctx context.Context, tx pgx.Tx, key string, fp stepFingerprint) (bool, error) {
	want := fp.String()
	tag, err := tx.Exec(ctx, "insert into activity_steps (key, fingerprint) values ($1, $2) on conflict (key) do nothing", key, want)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	// A separate statement: it sees the row the insert waited for, should a
	// concurrent claim have committed meanwhile.
	var got *string
	if err := tx.QueryRow(ctx, "select fingerprint from activity_steps where key = $1", key).Scan(&got); err != nil {
		return false, err
	}
	if got == nil || *got == want {
		return false, nil
	}
	return false, db.stepKeyMismatch(ctx, key, *got, want)
}

// stepKeyMismatch logs and returns the refusal of a step key already used for
// another effect: a bug in whoever makes the keys, or a workflow that changed
// what a step does. Either way nobody must believe the step was done.
func (db *DB) stepKeyMismatch(ctx context.Context, key, recorded, requested string) error {
	db.log.ErrorContext(ctx, "step key reused with a different effect; refused", "code", "step_key_mismatch",
		"key", key, "recorded", recorded, "requested", requested)
	return order.Errorf(order.KindConflict, "step_key_mismatch",
		"step key %q was already used for a different effect (recorded %s, requested %s)",
		key, clip(recorded), clip(requested))
}

// clip shortens what an error detail quotes; the log line has it whole.
func clip(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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
// available stock never goes below zero. Idempotent on key: a retry does
// nothing, the key with other lines, order or store is refused
// (step_key_mismatch). A short reservation records nothing, so a retry checks
// the stock again.
func (db *DB) Reserve(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, keep int64) ([]string, error) {
	skus, qtys := splitLines(lines)
	var short []string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fresh, err := db.claimStep(ctx, tx, key, fingerprint("reserve", orderID, storeID, lines))
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
			if available[s]-keep < qtys[i] {
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

// Available reads what each location has available (on hand less reserved)
// of each SKU; a SKU a location has never stocked is absent.
func (db *DB) Available(ctx context.Context, locations, skus []string) (map[string]map[string]int64, error) {
	rows, err := db.pool.Query(ctx, `select store_id, sku, on_hand - reserved from stock
		where store_id = any($1) and sku = any($2)`, locations, skus)
	if err != nil {
		return nil, translate(err)
	}
	out := map[string]map[string]int64{}
	var loc, sku string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&loc, &sku, &n}, func() error {
		if out[loc] == nil {
			out[loc] = map[string]int64{}
		}
		out[loc][sku] = n
		return nil
	})
	return out, translate(err)
}

// TransferIn receives an order's transfer: the lines held at from are
// committed there (they left on the van) and put on hand at to, held for the
// order, in one transaction, so nobody else can buy them on the way in.
// Idempotent on key.
func (db *DB) TransferIn(ctx context.Context, key, orderID, from, to string, lines []order.LineQty) error {
	if err := db.Commit(ctx, key+"/out", orderID, from, lines); err != nil {
		return err
	}
	skus, qtys := splitLines(lines)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fresh, err := db.claimStep(ctx, tx, key+"/in", fingerprint("transfer_in", orderID, to, lines))
		if err != nil || !fresh {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`insert into stock (store_id, sku, on_hand, reserved)
			select $1, r.sku, r.qty, r.qty from unnest($2::text[], $3::bigint[]) as r(sku, qty)
			on conflict (store_id, sku) do update set on_hand = stock.on_hand + excluded.on_hand,
				reserved = stock.reserved + excluded.reserved, updated_at = now()`, to, skus, qtys)
		b.Queue(`insert into reservations (order_id, store_id, sku, reserved)
			select $1, $2, r.sku, r.qty from unnest($3::text[], $4::bigint[]) as r(sku, qty)
			on conflict (order_id, store_id, sku) do update set reserved = reservations.reserved + excluded.reserved`,
			orderID, to, skus, qtys)
		return tx.SendBatch(ctx, b).Close()
	})
	return translate(err)
}

type shortError struct{}

func (shortError) Error() string { return "insufficient stock" }

var errShort error = shortError{}

// Release gives back held stock of the order at the store: the given lines, or
// everything still held when lines is nil. Idempotent on key; the key with
// another effect is refused (step_key_mismatch).
func (db *DB) Release(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return db.settle(ctx, key, orderID, storeID, lines, false)
}

// Commit turns held stock into a sale: on hand and reserved both go down.
// Idempotent on key; the key with another effect is refused (step_key_mismatch).
func (db *DB) Commit(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return db.settle(ctx, key, orderID, storeID, lines, true)
}

func (db *DB) settle(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, commit bool) error {
	step := "release"
	if commit {
		step = "commit"
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fresh, err := db.claimStep(ctx, tx, key, fingerprint(step, orderID, storeID, lines))
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
