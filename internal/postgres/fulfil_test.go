package postgres

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSafetyStockKeepsTheLastUnitsFromTheWeb(t *testing.T) {
	db := freshDB(t, "fulfil")
	ctx := context.Background()
	_, err := db.SetStock(ctx, "store-001", "A", 5)
	require.NoError(t, err)
	short, err := db.Reserve(ctx, "o1/reserve", "o1", "store-001", lines("A", 4), 2)
	require.NoError(t, err)
	require.Equal(t, []string{"A"}, short, "5 on hand, 2 kept back: 3 for the web")
	short, err = db.Reserve(ctx, "o1/reserve", "o1", "store-001", lines("A", 3), 2)
	require.NoError(t, err)
	require.Empty(t, short)
	avail, err := db.Available(ctx, []string{"store-001", "store-002"}, []string{"A", "B"})
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]int64{"store-001": {"A": 2}}, avail, "only what is stocked is listed")
}

func TestTransferInMovesHeldStockOnce(t *testing.T) {
	db := freshDB(t, "fulfil")
	ctx := context.Background()
	_, err := db.SetStock(ctx, "store-002", "B", 4)
	require.NoError(t, err)
	_, err = db.Reserve(ctx, "o1/reserve-b", "o1", "store-002", lines("B", 2), 0)
	require.NoError(t, err)
	for range 2 { // a retry moves nothing twice
		require.NoError(t, db.TransferIn(ctx, "o1/receive-f2", "o1", "store-002", "store-001", lines("B", 2)))
	}
	require.Equal(t, Stock{StoreID: "store-002", SKU: "B", OnHand: 2, Reserved: 0, Available: 2}, stockOf(t, db, "store-002", "B"))
	require.Equal(t, Stock{StoreID: "store-001", SKU: "B", OnHand: 2, Reserved: 2, Available: 0}, stockOf(t, db, "store-001", "B"),
		"arrived and held for the order")
	// The collection store then sells it to the order like any held stock.
	require.NoError(t, db.Commit(ctx, "o1/collect-commit", "o1", "store-001", lines("B", 2)))
	require.Equal(t, Stock{StoreID: "store-001", SKU: "B", OnHand: 0, Reserved: 0, Available: 0}, stockOf(t, db, "store-001", "B"))
}
