package postgres

import (
	"context"
	"github.com/omni-retail/omni/activities"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

// requireMismatch checks err is the step_key_mismatch refusal naming key, and
// that exactly one more error line naming it was logged.
func requireMismatch(t *testing.T, err error, key string, log *logBuffer, wantLines int) {
	t.Helper()
	require.Error(t, err)
	de, ok := order.AsError(err)
	require.True(t, ok, "got %v, want a domain error", err)
	require.Equal(t, order.KindConflict, de.Kind)
	require.Equal(t, "step_key_mismatch", de.Code)
	require.Contains(t, de.Detail, key)
	lines := log.errorLines()
	require.Len(t, lines, wantLines, "log: %s", log)
	require.Contains(t, lines[wantLines-1], key)
	require.Contains(t, lines[wantLines-1], "step_key_mismatch")
}

func stockOf(t *testing.T, db *DB, storeID, sku string) Stock {
	t.Helper()
	s, err := db.GetStock(context.Background(), storeID, sku)
	require.NoError(t, err)
	return s
}

func lines(kv ...any) []order.LineQty {
	var out []order.LineQty
	for i := 0; i < len(kv); i += 2 {
		out = append(out, order.LineQty{SKU: kv[i].(string), Quantity: int64(kv[i+1].(int))})
	}
	return out
}

func TestStockStepKeys(t *testing.T) {
	db := freshDB(t, "steps")
	log := capture(db)
	ctx := context.Background()
	for _, sku := range []string{"A", "B"} {
		_, err := db.SetStock(ctx, "store-001", sku, 10)
		require.NoError(t, err)
	}

	// Reserve: the same step twice (lines in another order) holds once.
	short, err := db.Reserve(ctx, "o1/reserve", "o1", "store-001", lines("A", 2, "B", 1), 0)
	require.NoError(t, err)
	require.Empty(t, short)
	short, err = db.Reserve(ctx, "o1/reserve", "o1", "store-001", lines("B", 1, "A", 2), 0)
	require.NoError(t, err, "a retry is skipped")
	require.Empty(t, short)
	require.EqualValues(t, 2, stockOf(t, db, "store-001", "A").Reserved)
	require.EqualValues(t, 1, stockOf(t, db, "store-001", "B").Reserved)
	require.Empty(t, log.errorLines())

	// The same key with another effect is refused, and changes nothing.
	_, err = db.Reserve(ctx, "o1/reserve", "o1", "store-001", lines("A", 3, "B", 1), 0)
	requireMismatch(t, err, "o1/reserve", log, 1)
	_, err = db.Reserve(ctx, "o1/reserve", "o1", "store-002", lines("A", 2, "B", 1), 0)
	requireMismatch(t, err, "o1/reserve", log, 2)
	_, err = db.Reserve(ctx, "o1/reserve", "o2", "store-001", lines("A", 2, "B", 1), 0)
	requireMismatch(t, err, "o1/reserve", log, 3)
	require.EqualValues(t, 2, stockOf(t, db, "store-001", "A").Reserved)
	require.EqualValues(t, 1, stockOf(t, db, "store-001", "B").Reserved)

	// A step of another kind under the key is another effect.
	err = db.Release(ctx, "o1/reserve", "o1", "store-001", lines("A", 2, "B", 1))
	requireMismatch(t, err, "o1/reserve", log, 4)
	require.EqualValues(t, 2, stockOf(t, db, "store-001", "A").Reserved)

	// Release of "everything held" (nil lines) is not a release of some lines.
	require.NoError(t, db.Release(ctx, "o1/release", "o1", "store-001", lines("A", 1)))
	require.NoError(t, db.Release(ctx, "o1/release", "o1", "store-001", lines("A", 1)))
	require.EqualValues(t, 1, stockOf(t, db, "store-001", "A").Reserved, "released once")
	err = db.Release(ctx, "o1/release", "o1", "store-001", nil)
	requireMismatch(t, err, "o1/release", log, 5)
	err = db.Release(ctx, "o1/release", "o1", "store-001", []order.LineQty{})
	requireMismatch(t, err, "o1/release", log, 6)
	require.EqualValues(t, 1, stockOf(t, db, "store-001", "A").Reserved)

	// Commit of everything held, retried, then with lines under the same key.
	require.NoError(t, db.Commit(ctx, "o1/commit", "o1", "store-001", nil))
	require.NoError(t, db.Commit(ctx, "o1/commit", "o1", "store-001", nil))
	a, b := stockOf(t, db, "store-001", "A"), stockOf(t, db, "store-001", "B")
	require.Equal(t, Stock{StoreID: "store-001", SKU: "A", OnHand: 9, Reserved: 0, Available: 9}, a, "committed once")
	require.Equal(t, Stock{StoreID: "store-001", SKU: "B", OnHand: 9, Reserved: 0, Available: 9}, b, "committed once")
	err = db.Commit(ctx, "o1/commit", "o1", "store-001", lines("A", 1, "B", 1))
	requireMismatch(t, err, "o1/commit", log, 7)

	// Restock.
	require.NoError(t, db.Restock(ctx, "o1/x1/restock", "o1", "store-001", lines("A", 1)))
	require.NoError(t, db.Restock(ctx, "o1/x1/restock", "o1", "store-001", lines("A", 1)))
	require.EqualValues(t, 10, stockOf(t, db, "store-001", "A").OnHand, "restocked once")
	err = db.Restock(ctx, "o1/x1/restock", "o1", "store-001", lines("A", 2))
	requireMismatch(t, err, "o1/x1/restock", log, 8)
	err = db.Restock(ctx, "o1/x1/restock", "o1", "store-002", lines("A", 1))
	requireMismatch(t, err, "o1/x1/restock", log, 9)
	require.EqualValues(t, 10, stockOf(t, db, "store-001", "A").OnHand)
	require.EqualValues(t, 0, stockOf(t, db, "store-002", "A").OnHand)

	// WriteOff.
	require.NoError(t, db.WriteOff(ctx, "o1/x1/write-off", "o1", "store-001", lines("B", 1), "damaged return"))
	require.NoError(t, db.WriteOff(ctx, "o1/x1/write-off", "o1", "store-001", lines("B", 1), "damaged return"))
	n, err := db.WrittenOff(ctx, "store-001", "B")
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "written off once")
	err = db.WriteOff(ctx, "o1/x1/write-off", "o1", "store-001", lines("B", 2), "damaged return")
	requireMismatch(t, err, "o1/x1/write-off", log, 10)
	err = db.WriteOff(ctx, "o1/x1/write-off", "o1", "store-001", lines("A", 1), "damaged return")
	requireMismatch(t, err, "o1/x1/write-off", log, 11)
	n, err = db.WrittenOff(ctx, "store-001", "B")
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = db.WrittenOff(ctx, "store-001", "A")
	require.NoError(t, err)
	require.EqualValues(t, 0, n)
}

func TestShortReservationClaimsNothing(t *testing.T) {
	db := freshDB(t, "steps")
	ctx := context.Background()
	_, err := db.SetStock(ctx, "store-001", "A", 1)
	require.NoError(t, err)
	short, err := db.Reserve(ctx, "o1/reserve", "o1", "store-001", lines("A", 2), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"A"}, short)
	_, err = db.SetStock(ctx, "store-001", "A", 5)
	require.NoError(t, err)
	short, err = db.Reserve(ctx, "o1/reserve", "o1", "store-001", lines("A", 2), 0)
	require.NoError(t, err)
	require.Empty(t, short, "the retry checks the stock again")
	require.EqualValues(t, 2, stockOf(t, db, "store-001", "A").Reserved)

	// A short reservation under another key leaves no claim either, so the
	// same key may later reserve other lines.
	short, err = db.Reserve(ctx, "o2/reserve", "o2", "store-001", lines("A", 4), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"A"}, short)
	short, err = db.Reserve(ctx, "o2/reserve", "o2", "store-001", lines("A", 3), 0)
	require.NoError(t, err)
	require.Empty(t, short)
}

// Steps recorded before fingerprints (migration 008) match any retry: orders
// already in flight are not broken by the change.
func TestStepsBeforeFingerprintsStillSkip(t *testing.T) {
	db := freshDB(t, "steps")
	log := capture(db)
	ctx := context.Background()
	_, err := db.SetStock(ctx, "store-001", "A", 10)
	require.NoError(t, err)
	_, err = db.pool.Exec(ctx, "insert into activity_steps (key) values ('old/reserve'), ('old/restock')")
	require.NoError(t, err)
	_, err = db.pool.Exec(ctx, `insert into write_offs (store_id, sku, quantity, order_id, reason, step_key)
		values ('store-001', 'A', 1, 'old', 'damaged return', 'old/write-off')`)
	require.NoError(t, err)

	short, err := db.Reserve(ctx, "old/reserve", "old", "store-001", lines("A", 2), 0)
	require.NoError(t, err)
	require.Empty(t, short)
	require.NoError(t, db.Restock(ctx, "old/restock", "o1", "store-001", lines("A", 2)))
	require.NoError(t, db.WriteOff(ctx, "old/write-off", "old", "store-001", lines("A", 3), "damaged return"))
	require.NoError(t, db.WriteOff(ctx, "old/write-off", "old", "store-001", lines("A", 1), "damaged return"))
	require.Equal(t, Stock{StoreID: "store-001", SKU: "A", OnHand: 10, Available: 10}, stockOf(t, db, "store-001", "A"),
		"each step was done before: nothing again")
	n, err := db.WrittenOff(ctx, "store-001", "A")
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Empty(t, log.errorLines())
}

func TestPaymentStepKeys(t *testing.T) {
	db := freshDB(t, "steps")
	log := capture(db)
	ctx := context.Background()
	_, err := db.pool.Exec(ctx, `insert into payments (order_id, kind, amount, currency, reference, step_key)
		values ('o1', 'authorization', 5000, 'GBP', 'psp-1', 'o1/authorization')`)
	require.NoError(t, err)

	require.NoError(t, only(db.Capture(ctx, "o1/capture", "o1", 3000, "GBP", "psp-1")))
	require.NoError(t, only(db.Capture(ctx, "o1/capture", "o1", 3000, "GBP", "psp-1")), "a retry is skipped")
	want := Balance{Authorized: 5000, Captured: 3000}
	got, err := db.PaymentBalance(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, want, got, "captured once")

	tests := []struct {
		name string
		move func() error
	}{
		{"another amount", func() error { return only(db.Capture(ctx, "o1/capture", "o1", 2000, "GBP", "psp-1")) }},
		{"another currency", func() error { return only(db.Capture(ctx, "o1/capture", "o1", 3000, "EUR", "psp-1")) }},
		{"another reference", func() error { return only(db.Capture(ctx, "o1/capture", "o1", 3000, "GBP", "psp-2")) }},
		{"another kind", func() error { return db.Void(ctx, "o1/capture", "o1", 3000, "GBP", "psp-1") }},
		{"another order", func() error { return only(db.Capture(ctx, "o1/capture", "o2", 3000, "GBP", "psp-1")) }},
	}
	for i, tc := range tests {
		requireMismatch(t, tc.move(), "o1/capture", log, i+1)
		got, err := db.PaymentBalance(ctx, "o1")
		require.NoError(t, err)
		require.Equal(t, want, got, "%s: the ledger is unchanged", tc.name)
	}

	require.NoError(t, only(db.Refund(ctx, "o1/r1/refund-0", "o1", 1000, "GBP", "psp-1")))
	require.NoError(t, only(db.Refund(ctx, "o1/r1/refund-0", "o1", 1000, "GBP", "psp-1")))
	requireMismatch(t, only(db.Refund(ctx, "o1/r1/refund-0", "o1", 1500, "GBP", "psp-1")), "o1/r1/refund-0", log, len(tests)+1)
	require.NoError(t, only(db.Charge(ctx, "o1/x1/charge", "o1", 700, "GBP", "till-9")))
	require.NoError(t, only(db.Charge(ctx, "o1/x1/charge", "o1", 700, "GBP", "till-9")))
	requireMismatch(t, only(db.Charge(ctx, "o1/x1/charge", "o1", 800, "GBP", "till-9")), "o1/x1/charge/auth", log, len(tests)+2)
	got, err = db.PaymentBalance(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, Balance{Authorized: 5700, Captured: 3700, Refunded: 1000}, got)
}

// only is the error of a payment step, whose result the tests do not read.
func only(_ activities.PaymentResult, err error) error { return err }
