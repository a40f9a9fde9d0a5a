package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
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

// OrderStatus returns an order's stored status and snapshot version, so the
// metrics projector can tell whether a projection moves the order to a new
// status. An unknown order is an order.Error of kind KindNotFound.
func (db *DB) OrderStatus(ctx context.Context, id string) (order.Status, int64, error) {
	var (
		status  order.Status
		version int64
	)
	err := db.pool.QueryRow(ctx, "select status, version from orders where id = $1", id).Scan(&status, &version)
	if isNoRows(err) {
		return "", 0, order.Errorf(order.KindNotFound, "order_not_found", "no order %q", id)
	}
	return status, version, translate(err)
}
