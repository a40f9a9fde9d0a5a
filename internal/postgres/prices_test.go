package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// The built-in price list is the activities' price source.
var _ activities.PriceList = (*DB)(nil)

func TestPrices(t *testing.T) {
	t.Parallel()
	db := webhookDB(t)
	ctx := context.Background()

	got, err := db.Prices(ctx, "SKU-1")
	require.NoError(t, err)
	require.Empty(t, got, "a SKU never priced has no prices")

	before := time.Now().Add(-time.Minute)
	p, err := db.SetPrice(ctx, "SKU-1", "GBP", 1500)
	require.NoError(t, err)
	require.Equal(t, "SKU-1", p.SKU)
	require.Equal(t, "GBP", p.Currency)
	require.Equal(t, int64(1500), p.UnitPrice)
	require.True(t, p.UpdatedAt.After(before), "updated_at %v is now", p.UpdatedAt)

	// Setting it again replaces it, and moves updated_at.
	again, err := db.SetPrice(ctx, "SKU-1", "GBP", 1750)
	require.NoError(t, err)
	require.Equal(t, int64(1750), again.UnitPrice)
	require.False(t, again.UpdatedAt.Before(p.UpdatedAt), "updated_at %v, was %v", again.UpdatedAt, p.UpdatedAt)

	_, err = db.SetPrice(ctx, "SKU-1", "EUR", 1900)
	require.NoError(t, err)
	_, err = db.SetPrice(ctx, "SKU-2", "GBP", 900)
	require.NoError(t, err)

	got, err = db.Prices(ctx, "SKU-1")
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{"EUR", "GBP"}, []string{got[0].Currency, got[1].Currency}, "by currency")
	require.Equal(t, []int64{1900, 1750}, []int64{got[0].UnitPrice, got[1].UnitPrice})

	units, err := db.UnitPrices(ctx, "GBP", []string{"SKU-1", "SKU-2", "SKU-3"})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"SKU-1": 1750, "SKU-2": 900}, units, "SKU-3 has no price: absent")
	units, err = db.UnitPrices(ctx, "USD", []string{"SKU-1"})
	require.NoError(t, err)
	require.Empty(t, units, "no price in that currency")
	units, err = db.UnitPrices(ctx, "GBP", nil)
	require.NoError(t, err)
	require.Empty(t, units)

	// The table refuses a price that is not positive, as a domain error.
	_, err = db.SetPrice(ctx, "SKU-1", "GBP", 0)
	de, ok := order.AsError(err)
	require.True(t, ok, "a domain error, got %v", err)
	require.Equal(t, "check_violation", de.Code)
	units, err = db.UnitPrices(ctx, "GBP", []string{"SKU-1"})
	require.NoError(t, err)
	require.Equal(t, int64(1750), units["SKU-1"], "the refused price changed nothing")
}
