package order_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

func TestCheckReturnable(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	tests := []struct {
		status order.Status
		until  *time.Time
		want   string // "" when a return may be taken
	}{
		{order.StatusCollected, &later, ""},
		{order.StatusPartiallyCollected, &later, ""},
		{order.StatusPartiallyReturned, &later, ""},
		{order.StatusCollected, &earlier, "return_window_closed"},
		{order.StatusCollected, &now, "return_window_closed"},
		{order.StatusCollected, nil, "return_window_closed"},
		{order.StatusReturned, &later, "nothing_to_return"},
		{order.StatusCancelled, nil, "not_returnable"},
		{order.StatusExpired, nil, "not_returnable"},
		{order.StatusRejected, nil, "not_returnable"},
		{order.StatusAwaitingPick, nil, "not_collected"},
		{order.StatusReadyForCollection, nil, "not_collected"},
	}
	for _, tc := range tests {
		o := order.Order{Status: tc.status, ReturnableUntil: tc.until}
		got := o.CheckReturnable(now)
		if tc.want == "" {
			require.Nil(t, got, "%s: %v", tc.status, got)
			continue
		}
		require.NotNil(t, got, "%s until %v", tc.status, tc.until)
		require.Equal(t, order.KindConflict, got.Kind)
		require.Equal(t, tc.want, got.Code, "%s until %v", tc.status, tc.until)
	}
}
