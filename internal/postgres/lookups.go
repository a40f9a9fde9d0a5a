package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LookupBudget is one limit on customer order lookups: at most Limit attempts
// per Window for one Value of a Kind (a client address, an order number, an
// email, a phone). Every API process that counts against the same kind and
// value spends the same budget.
type LookupBudget struct {
	Kind   string
	Value  string
	Limit  int
	Window time.Duration
}

// spendLookupSQL counts one attempt against the first budget ($1-$4) and,
// only while that one is within its limit, against the others ($5-$7): one
// statement, so concurrent attempts serialise on each budget's row and none
// is lost. A budget's window starts at its first attempt; the first attempt
// after resets_at starts the next window.
const spendLookupSQL = `with first_budget as (
	insert into lookup_attempts as a (kind, value, attempts, resets_at)
	values ($1, $2, 1, now() + $3 * interval '1 millisecond')
	on conflict (kind, value) do update set
		attempts  = case when a.resets_at <= now() then 1 else a.attempts + 1 end,
		resets_at = case when a.resets_at <= now() then excluded.resets_at else a.resets_at end
	returning a.kind, a.attempts, a.resets_at
), other_budgets as (
	insert into lookup_attempts as a (kind, value, attempts, resets_at)
	select k, v, 1, now() + w * interval '1 millisecond'
	from unnest($5::text[], $6::text[], $7::bigint[]) as o (k, v, w)
	where (select attempts from first_budget) <= $4
	on conflict (kind, value) do update set
		attempts  = case when a.resets_at <= now() then 1 else a.attempts + 1 end,
		resets_at = case when a.resets_at <= now() then excluded.resets_at else a.resets_at end
	returning a.kind, a.attempts, a.resets_at
)
select kind, attempts, ceil(extract(epoch from resets_at - now()))::int from first_budget
union all
select kind, attempts, ceil(extract(epoch from resets_at - now()))::int from other_budgets`

// SpendLookup counts one lookup attempt against first (the client's address)
// and, while first is within its limit, against each of others (the order
// number, the contact), so that one client cannot spend another's budgets
// beyond its own allowance. Each budget's kind must differ from the others'.
// It returns zero when the attempt is within every budget, else how long
// until every budget it exceeds frees again (at least a second).
func (db *DB) SpendLookup(ctx context.Context, first LookupBudget, others ...LookupBudget) (time.Duration, error) {
	limits := map[string]int{first.Kind: first.Limit}
	kinds, values, windows := make([]string, len(others)), make([]string, len(others)), make([]int64, len(others))
	for i, b := range others {
		if _, dup := limits[b.Kind]; dup {
			return 0, fmt.Errorf("postgres: lookup budget kind %q given twice", b.Kind)
		}
		limits[b.Kind] = b.Limit
		kinds[i], values[i], windows[i] = b.Kind, b.Value, b.Window.Milliseconds()
	}
	rows, err := db.pool.Query(ctx, spendLookupSQL, first.Kind, first.Value, first.Window.Milliseconds(), first.Limit,
		kinds, values, windows)
	if err != nil {
		return 0, translate(err)
	}
	var wait time.Duration
	var kind string
	var attempts, resetsIn int
	_, err = pgx.ForEachRow(rows, []any{&kind, &attempts, &resetsIn}, func() error {
		if attempts > limits[kind] {
			wait = max(wait, time.Duration(max(resetsIn, 1))*time.Second)
		}
		return nil
	})
	return wait, translate(err)
}

// ForgetLapsedLookups deletes the lookup budgets whose window has ended (an
// attempt after that starts a new window anyway) and says how many.
func (db *DB) ForgetLapsedLookups(ctx context.Context) (int64, error) {
	tag, err := db.pool.Exec(ctx, "delete from lookup_attempts where resets_at <= now()")
	return tag.RowsAffected(), translate(err)
}

// LookupContact is what matching a lookup against an order needs: the order
// with the number, if any, and its customer's contact details as stored.
type LookupContact struct {
	// OrderID is empty when no order has the number.
	OrderID string
	Email   string
	Phone   string
}

// LookupContact reads the contact details of the order with this number. It
// answers one row of the same shape whether or not such an order exists, so
// that an unknown number and a known one cost the caller the same.
func (db *DB) LookupContact(ctx context.Context, number string) (LookupContact, error) {
	var lc LookupContact
	err := db.pool.QueryRow(ctx, `select coalesce(o.id, ''), coalesce(o.customer_email, ''),
			coalesce(o.doc->'customer'->>'phone', '')
		from (values (1)) as one (n) left join orders o on o.number = $1`, number).
		Scan(&lc.OrderID, &lc.Email, &lc.Phone)
	return lc, translate(err)
}
