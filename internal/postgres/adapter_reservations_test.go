package postgres

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/adapters/inventory"
	"github.com/omni-retail/omni/internal/order"
)

// TestAdapterReservations: the HTTP inventory adapter's book keeps each
// reservation once, per order and location, oldest first.
func TestAdapterReservations(t *testing.T) {
	db := freshDB(t, "adapter_res")
	ctx := context.Background()

	got, err := db.Reservations(ctx, "ord-1", "store-001")
	require.NoError(t, err)
	require.Empty(t, got)

	l1 := []order.LineQty{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}
	require.NoError(t, db.Record(ctx, "ord-1", "store-001", "R-2", l1))
	require.NoError(t, db.Record(ctx, "ord-1", "store-001", "R-2", l1), "a retry records nothing more")
	require.NoError(t, db.Record(ctx, "ord-1", "store-001", "R-1", []order.LineQty{{SKU: "A", Quantity: 1}}))
	require.NoError(t, db.Record(ctx, "ord-1", "store-002", "R-3", []order.LineQty{{SKU: "C", Quantity: 4}}))
	require.NoError(t, db.Record(ctx, "ord-2", "store-001", "R-4", nil))
	// Another system (a franchise) may issue the same id at its own location.
	require.NoError(t, db.Record(ctx, "ord-3", "store-009", "R-1", []order.LineQty{{SKU: "Z", Quantity: 1}}))

	got, err = db.Reservations(ctx, "ord-1", "store-001")
	require.NoError(t, err)
	require.Equal(t, []inventory.Reservation{
		{ID: "R-2", Lines: l1},
		{ID: "R-1", Lines: []order.LineQty{{SKU: "A", Quantity: 1}}},
	}, got, "oldest first, once each")

	got, err = db.Reservations(ctx, "ord-2", "store-001")
	require.NoError(t, err)
	require.Equal(t, []inventory.Reservation{{ID: "R-4", Lines: []order.LineQty{}}}, got)

	got, err = db.Reservations(ctx, "ord-3", "store-009")
	require.NoError(t, err)
	require.Equal(t, []inventory.Reservation{{ID: "R-1", Lines: []order.LineQty{{SKU: "Z", Quantity: 1}}}}, got)
}
