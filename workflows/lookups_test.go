package workflows_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// lookUp signals, at the given point of workflow time, that a store read the
// order for a return.
func (h *harness) lookUp(at time.Duration, store, actor string) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalLookedUpForReturn, workflows.LookedUpForReturn{
			Actor: workflows.Actor{Channel: "store_console", Actor: actor, Role: "store"}, StoreID: store})
	}, at)
}

// Every read of the order by another store for a return is on its timeline,
// in the order's turn, with the store, the channel and who read it.
func TestLookUpForReturnIsOnTheTimeline(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	h.lookUp(2*time.Hour, "store-002", "associate-42")
	h.lookUp(3*time.Hour, "store-003", "associate-7")
	res := h.update(2*day, workflows.UpdateReturn, returnReq("store-003", back("A", 2, "resellable"), back("B", 1, "resellable")))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, res.err)
	var looks []order.Event
	for _, e := range h.f.events {
		if e.Type == workflows.EventLookedUpForReturn {
			looks = append(looks, e)
		}
	}
	require.Len(t, looks, 2, "one event per read")
	require.Equal(t, "store_console", looks[0].Channel)
	require.Equal(t, "associate-42", looks[0].Actor)
	require.Equal(t, map[string]any{"store_id": "store-002"}, looks[0].Data, "the store, and no customer data")
	require.Equal(t, testStart.Add(2*time.Hour), looks[0].At)
	require.Equal(t, "associate-7", looks[1].Actor)
	require.Equal(t, map[string]any{"store_id": "store-003"}, looks[1].Data)
	types := h.f.eventTypes()
	require.Less(t, slices.Index(types, workflows.EventLookedUpForReturn), slices.Index(types, "returned"))
	require.Equal(t, order.StatusReturned, h.f.last().Status, "a read changes nothing of the order")
	checkProjection(t, h.f)
}

// A read signalled once the order's lifecycle has ended, while its last
// notification is still being retried, records nothing.
func TestLookUpAfterTheLifecycleEndedRecordsNothing(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	h.env.RegisterDelayedCallback(func() {
		h.f.mu.Lock()
		h.f.failNotes = 10 // the customer's refund message waits for its provider
		h.f.mu.Unlock()
	}, 2*day-time.Minute)
	// Everything comes back: the lifecycle ends.
	res := h.update(2*day, workflows.UpdateReturn, returnReq("store-003", back("A", 2, "resellable"), back("B", 1, "resellable")))
	h.lookUp(2*day+time.Minute, "store-002", "associate-42")
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, res.err)
	require.Equal(t, "refunded", h.f.notified[len(h.f.notified)-1], "the workflow stayed open until the message went")
	require.NotContains(t, h.f.eventTypes(), workflows.EventLookedUpForReturn)
}
