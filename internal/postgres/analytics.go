package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/metrics"
)

// StoreAnalytics is how one store did for the orders of one channel placed
// in a period (in one currency: refunds are never added across currencies).
//
// Order figures (Orders … Exchanges) count the collect orders whose
// collection store is StoreID, after any reassignment: the store that made
// them ready and handed them over. Ship orders have no collection store. Breaches, Escalations and
// Reassignments are the store's own failures, attributed to the store the
// event names (store_id of pick_overdue and pick_escalated, from_store_id of
// reassigned) for the orders placed in the period, whichever store the order
// ended at; a location that only breached has a row with Orders 0.
type StoreAnalytics struct {
	StoreID  string `json:"store_id"`
	Channel  string `json:"channel"`
	Currency string `json:"currency"`
	Orders   int64  `json:"orders"`
	// Ready is how many of the orders became ready for collection.
	Ready int64 `json:"ready"`
	// ReadySecondsP50 and P90 are the time from placing to the first
	// ready_for_collection, in seconds (nil: no order became ready).
	ReadySecondsP50 *float64 `json:"ready_seconds_p50"`
	ReadySecondsP90 *float64 `json:"ready_seconds_p90"`
	Breaches        int64    `json:"pick_deadline_breaches"`
	Escalations     int64    `json:"escalations"`
	Reassignments   int64    `json:"reassignments"`
	// Expired are the ready orders never collected; NoShowRate is Expired / Ready.
	Expired    int64    `json:"expired"`
	NoShowRate *float64 `json:"no_show_rate"`
	// Collected are the ready orders collected in full or in part;
	// CollectionRate is Collected / Ready.
	Collected      int64    `json:"collected"`
	CollectionRate *float64 `json:"collection_rate"`
	// Returned are the collected orders with at least one return (exchanges
	// are counted apart); ReturnRate is Returned / Collected.
	Returned   int64    `json:"returned"`
	ReturnRate *float64 `json:"return_rate"`
	// Refunded is the money given back to the customers' tenders, in minor
	// units: the sum of the payment_refunded events (returns and the
	// refunded difference of exchanges).
	Refunded  int64 `json:"refunded"`
	Exchanges int64 `json:"exchanges"`
}

// analyticsSQL computes StoreAnalytics for the orders placed in [$1, $2)
// from order_analytics, one row per order kept from its events by a trigger,
// and the pick failures from their own events (order_events_pick_failures:
// every event of an order is at or after its placing). See migration
// 015_analytics.sql.
const analyticsSQL = `
with by_order as (
	select store_id, channel, currency,
		count(*) as orders,
		count(ready_seconds) as ready,
		percentile_cont(0.5) within group (order by ready_seconds) as p50,
		percentile_cont(0.9) within group (order by ready_seconds) as p90,
		count(*) filter (where ready_seconds is not null and expired) as expired,
		count(*) filter (where ready_seconds is not null and collected) as collected,
		count(*) filter (where collected and returned) as returned,
		sum(refunded)::bigint as refunded,
		sum(exchanges)::bigint as exchanges
	from order_analytics
	where created_at >= $1 and created_at < $2 and store_id <> ''
	group by store_id, channel, currency
),
by_event as (
	select (case when e.type = 'reassigned' then e.data->>'from_store_id' else e.data->>'store_id' end) collate "C" as store_id,
		a.channel, a.currency,
		count(*) filter (where e.type = 'pick_overdue') as breaches,
		count(*) filter (where e.type = 'pick_escalated') as escalations,
		count(*) filter (where e.type = 'reassigned') as reassignments
	from order_events e join order_analytics a on a.order_id = e.order_id
	where e.type in ('pick_overdue', 'pick_escalated', 'reassigned') and e.at >= $1
		and a.created_at >= $1 and a.created_at < $2
	group by 1, 2, 3
)
select coalesce(o.store_id, v.store_id, ''), coalesce(o.channel, v.channel), coalesce(o.currency, v.currency),
	coalesce(o.orders, 0), coalesce(o.ready, 0), o.p50, o.p90,
	coalesce(v.breaches, 0), coalesce(v.escalations, 0), coalesce(v.reassignments, 0),
	coalesce(o.expired, 0), coalesce(o.collected, 0), coalesce(o.returned, 0),
	coalesce(o.refunded, 0), coalesce(o.exchanges, 0)
from by_order o full join by_event v
	on v.store_id = o.store_id and v.channel = o.channel and v.currency = o.currency
order by 1, 2, 3`

// StoreAnalytics computes the figures of every store and channel for the
// orders placed in [from, to), in PostgreSQL from the timeline events.
func (db *DB) StoreAnalytics(ctx context.Context, from, to time.Time) ([]StoreAnalytics, error) {
	var out []StoreAnalytics
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// JIT compiling the aggregates costs more (~250 ms) than it saves here.
		if _, err := tx.Exec(ctx, "set local jit = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, analyticsSQL, from, to)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (StoreAnalytics, error) {
			var a StoreAnalytics
			err := row.Scan(&a.StoreID, &a.Channel, &a.Currency, &a.Orders, &a.Ready, &a.ReadySecondsP50, &a.ReadySecondsP90,
				&a.Breaches, &a.Escalations, &a.Reassignments, &a.Expired, &a.Collected, &a.Returned, &a.Refunded, &a.Exchanges)
			a.NoShowRate = ratio(a.Expired, a.Ready)
			a.CollectionRate = ratio(a.Collected, a.Ready)
			a.ReturnRate = ratio(a.Returned, a.Collected)
			return a, err
		})
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	if out == nil {
		out = []StoreAnalytics{}
	}
	return out, nil
}

// ratio is n/d, or nil when d is 0 (no rate can be given).
func ratio(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// StoreFigures are the figures of the orders placed since a time for the
// Prometheus store series (metrics.SetStoreFigures), one per store and
// channel: a store and channel with orders in several currencies has its
// failures added and the percentiles of its currency with most ready orders.
func (db *DB) StoreFigures(ctx context.Context, since time.Time) ([]metrics.StoreFigures, error) {
	rows, err := db.StoreAnalytics(ctx, since, since.AddDate(1, 0, 0)) // no order is placed in the future
	if err != nil {
		return nil, err
	}
	out := []metrics.StoreFigures{}
	at := map[[2]string]int{}
	ready := map[[2]string]int64{}
	for _, r := range rows {
		k := [2]string{r.StoreID, r.Channel}
		i, seen := at[k]
		if !seen {
			i = len(out)
			at[k] = i
			out = append(out, metrics.StoreFigures{StoreID: r.StoreID, Channel: r.Channel})
		}
		f := &out[i]
		f.Breaches += r.Breaches
		f.Escalations += r.Escalations
		f.Reassigned += r.Reassignments
		if r.Ready > ready[k] {
			ready[k] = r.Ready
			f.ReadyP50, f.ReadyP90 = r.ReadySecondsP50, r.ReadySecondsP90
		}
	}
	return out, nil
}
