package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// The state query answers the order exactly as the workflow last projected
// it, with the code the store's answer leaves out, and says it is at rest.
func TestStateQueryAnswersTheProjectedOrder(t *testing.T) {
	h := newHarness(t)
	picked := h.update(time.Minute, workflows.UpdatePick, pickAll())
	var view workflows.StateView
	var queryErr error
	var projected order.Order
	h.env.RegisterDelayedCallback(func() {
		projected = h.f.last()
		v, err := h.env.QueryWorkflow(workflows.QueryState)
		if err == nil {
			err = v.Get(&view)
		}
		queryErr = err
	}, time.Hour)
	h.run(placedOrder())

	require.NoError(t, picked.err)
	require.NoError(t, queryErr)
	require.Equal(t, order.StatusReadyForCollection, view.Order.Status)
	require.Equal(t, projected.Version, view.Order.Version)
	require.Equal(t, projected.Lines, view.Order.Lines)
	require.Equal(t, projected.Pickup.Code, view.Order.Pickup.Code)
	require.NotEmpty(t, view.Order.Pickup.Code)
	require.True(t, view.Idle, "nobody holds the order's turn")
	require.Zero(t, view.Pending, "every event is projected")
	require.False(t, view.Done)
}
