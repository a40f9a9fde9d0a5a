package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// A store's pick or reject that reaches the order while its placement still
// holds the order's turn (after a crash the placement's task runs again,
// while the read model already shows the order awaiting pick) is asked to
// come back (unavailable: the API answers 503 and keeps no answer under the
// request's key), not refused as if the order could never be picked; the
// same request once the stock is reserved goes through.
func TestStoreActionsDuringPlacementAreAskedToComeBack(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity("Reserve", mock.Anything, mock.Anything).After(10 * time.Minute).Return(
		func(ctx context.Context, in activities.ReserveInput) (activities.ReserveResult, error) {
			return h.f.activities().Reserve(ctx, in)
		})
	early := h.update(time.Minute, workflows.UpdatePick, pickAll())
	earlyReject := h.update(2*time.Minute, workflows.UpdateReject, workflows.RejectRequest{
		Actor: workflows.Actor{Channel: "pos", Actor: "store:store-001"}, StoreID: "store-001", Reason: "no staff"})
	later := h.update(11*time.Minute, workflows.UpdatePick, pickAll())
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Hour)
	h.run(placedOrder())

	require.Equal(t, "unavailable/not_started", failed(t, early), "a pick during placement")
	require.Equal(t, "unavailable/not_started", failed(t, earlyReject), "a reject during placement")
	require.True(t, later.done)
	require.NoError(t, later.err)
	require.Nil(t, later.rejected)
	require.Equal(t, order.StatusReadyForCollection, later.result.Status)
}
