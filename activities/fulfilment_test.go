package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// stockroom answers Available from a fixed table; sourcing needs nothing else.
type stockroom struct {
	activities.Inventory
	available map[string]map[string]int64
}

func (s stockroom) Available(_ context.Context, locations, skus []string) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	for _, l := range locations {
		for _, sku := range skus {
			if n, ok := s.available[l][sku]; ok {
				if out[l] == nil {
					out[l] = map[string]int64{}
				}
				out[l][sku] = n
			}
		}
	}
	return out, nil
}

func TestSourceHonoursShipFromStoreAndSafetyStock(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	a := &activities.Activities{
		Locations: []activities.Location{
			{ID: "wh", Ships: true, SafetyStock: 5, Lat: f(53.5), Lon: f(-1.1)},
			{ID: "london", Ships: true, Lat: f(51.5), Lon: f(-0.14)},
			{ID: "leeds", Ships: false, Lat: f(53.8), Lon: f(-1.5)}, // does not ship to customers
		},
		Inventory: stockroom{available: map[string]map[string]int64{
			"wh":     {"A": 6}, // 6 available, 5 kept back: 1 for the web
			"london": {"A": 1},
			"leeds":  {"A": 50},
		}},
	}
	source := func(in activities.SourceInput) activities.SourceResult {
		t.Helper()
		res, err := a.Source(context.Background(), in)
		require.NoError(t, err)
		return res
	}
	two := []order.LineQty{{SKU: "A", Quantity: 2}}
	require.Empty(t, source(activities.SourceInput{Lines: two, Ship: true}).Plan,
		"the warehouse may sell 1 (safety stock), London has 1 and Leeds does not ship: nobody can send 2")
	one := []order.LineQty{{SKU: "A", Quantity: 1}}
	require.Equal(t, "wh", source(activities.SourceInput{Lines: one, Ship: true}).Plan[0].LocationID,
		"warehouses first when the address has no coordinates")
	near := source(activities.SourceInput{Lines: one, Ship: true, NearLat: f(51.5), NearLon: f(-0.12)})
	require.Equal(t, "london", near.Plan[0].LocationID, "the nearest location that has it")
	transfer := source(activities.SourceInput{Lines: two, Exclude: []string{"london"}, NearLocationID: "london"})
	require.Equal(t, "leeds", transfer.Plan[0].LocationID, "a transfer may come from a store that does not ship to customers")
	require.Equal(t, int64(5), source(activities.SourceInput{Lines: one, Ship: true}).SafetyStock["wh"],
		"the reservation is told the safety stock too")
}
