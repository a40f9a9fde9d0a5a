package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// OrderCounts counts the orders in the read model by status, in one query.
// Statuses without orders are absent from the map. It backs the omni_orders
// gauge (internal/metrics), computed at each scrape.
func (db *DB) OrderCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, "select status, count(*) from orders group by status")
	if err != nil {
		return nil, translate(err)
	}
	counts := map[string]int64{}
	var (
		status string
		n      int64
	)
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		counts[status] = n
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return counts, nil
}
