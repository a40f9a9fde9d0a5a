package order_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

func TestSource(t *testing.T) {
	lines := []order.LineQty{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}, {SKU: "C", Quantity: 1}}
	tests := []struct {
		name  string
		prefs []string
		avail map[string]map[string]int64
		want  []order.Assignment
	}{
		{
			name:  "the first location with everything, not the first with something",
			prefs: []string{"near", "far"},
			avail: map[string]map[string]int64{"near": {"A": 2, "B": 1}, "far": {"A": 5, "B": 5, "C": 5}},
			want:  []order.Assignment{{LocationID: "far", Lines: lines}},
		},
		{
			name:  "too few units is not having it",
			prefs: []string{"a", "b"},
			avail: map[string]map[string]int64{"a": {"A": 1, "B": 1, "C": 1}, "b": {"A": 2}},
			want: []order.Assignment{{LocationID: "a", Lines: []order.LineQty{{SKU: "B", Quantity: 1}, {SKU: "C", Quantity: 1}}},
				{LocationID: "b", Lines: []order.LineQty{{SKU: "A", Quantity: 2}}}},
		},
		{
			name:  "two locations before three, even if the first pair in preference is not the nearest",
			prefs: []string{"x", "y", "z"},
			avail: map[string]map[string]int64{"x": {"A": 2}, "y": {"B": 1}, "z": {"B": 1, "C": 1}},
			want: []order.Assignment{{LocationID: "x", Lines: []order.LineQty{{SKU: "A", Quantity: 2}}},
				{LocationID: "z", Lines: []order.LineQty{{SKU: "B", Quantity: 1}, {SKU: "C", Quantity: 1}}}},
		},
		{
			name:  "three when nothing less will do",
			prefs: []string{"x", "y", "z"},
			avail: map[string]map[string]int64{"x": {"A": 2}, "y": {"B": 1}, "z": {"C": 1}},
			want: []order.Assignment{{LocationID: "x", Lines: []order.LineQty{{SKU: "A", Quantity: 2}}},
				{LocationID: "y", Lines: []order.LineQty{{SKU: "B", Quantity: 1}}},
				{LocationID: "z", Lines: []order.LineQty{{SKU: "C", Quantity: 1}}}},
		},
		{
			name:  "nobody has C",
			prefs: []string{"x", "y"},
			avail: map[string]map[string]int64{"x": {"A": 2, "B": 1}, "y": {"A": 9}},
			want:  nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := order.Source(lines, tc.prefs, tc.avail)
			require.Equal(t, tc.want, got, "got %+v want %+v", got, tc.want)
		})
	}
}

func TestByDistance(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	locs := []order.Location{{ID: "leeds", Lat: f(53.7961), Lon: f(-1.5435)}, {ID: "nowhere"},
		{ID: "london", Lat: f(51.5152), Lon: f(-0.1419)}}
	got := order.ByDistance(locs, f(51.5), f(-0.12)) // near London
	require.Equal(t, []string{"london", "leeds", "nowhere"}, []string{got[0].ID, got[1].ID, got[2].ID})
	same := order.ByDistance(locs, nil, nil)
	require.Equal(t, "leeds", same[0].ID, "without a point the configured order stands")
}
