package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/adapters/inventory"
	"github.com/omni-retail/omni/internal/order"
)

var _ inventory.Book = (*DB)(nil)

// Record keeps a reservation the retailer's inventory issued for the order
// at the location (the HTTP inventory adapter's book). Recording it again,
// as a retried reservation does, changes nothing.
func (db *DB) Record(ctx context.Context, orderID, locationID, reservationID string, lines []order.LineQty) error {
	if lines == nil {
		lines = []order.LineQty{}
	}
	_, err := db.pool.Exec(ctx, `insert into adapter_reservations (order_id, location_id, reservation_id, lines)
		values ($1, $2, $3, $4) on conflict (location_id, reservation_id) do nothing`,
		orderID, locationID, reservationID, lines)
	return translate(err)
}

// Reservations are the order's reservations at the location in the
// retailer's inventory, oldest first.
func (db *DB) Reservations(ctx context.Context, orderID, locationID string) ([]inventory.Reservation, error) {
	rows, _ := db.pool.Query(ctx, `select reservation_id, lines from adapter_reservations
		where order_id = $1 and location_id = $2 order by seq`, orderID, locationID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (inventory.Reservation, error) {
		var r inventory.Reservation
		err := row.Scan(&r.ID, &r.Lines)
		return r, err
	})
	return out, translate(err)
}
