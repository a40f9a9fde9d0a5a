package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

func cancelReq(reason string) workflows.CancelRequest {
	return workflows.CancelRequest{Actor: workflows.Actor{Channel: "contact_centre", Actor: "agent-7"}, Reason: reason}
}

func TestCancelAwaitingPick(t *testing.T) {
	h := newHarness(t)
	res := h.update(time.Minute, workflows.UpdateCancel, cancelReq("changed my mind"))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, res.err)
	require.Equal(t, order.StatusCancelled, h.f.last().Status)
	require.Equal(t, "cancelled", h.f.tasks["o-1"], "the pick task is withdrawn")
	require.Equal(t, map[string]int64{"A": 0, "B": 0}, h.f.held, "nothing is left reserved")
	require.EqualValues(t, 2500, h.f.voided)
	require.Equal(t, []string{"stock_reserved", "pick_requested", "pick_task_withdrawn", "stock_released",
		"payment_voided", "cancelled"}, h.f.eventTypes())
	require.Equal(t, []string{"cancelled"}, h.f.notified)
	checkProjection(t, h.f)
}

func TestCancelReadyReleasesPickedStock(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 1}, order.LineQty{SKU: "B", Quantity: 1}))
	res := h.update(time.Hour, workflows.UpdateCancel, cancelReq(""))
	h.run(placedOrder())

	require.NoError(t, res.err)
	require.Equal(t, order.StatusCancelled, h.f.last().Status)
	require.Equal(t, map[string]int64{"A": 0, "B": 0}, h.f.held)
	require.Equal(t, map[string]int64{"A": 2, "B": 1}, h.f.released, "the short unit at pick, the rest at cancel")
	require.EqualValues(t, 2500, h.f.voided)
}

func TestCancelAfterCollectionRefused(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var partial, res *outcome
	h.env.RegisterDelayedCallback(func() {
		partial = h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code, order.LineQty{SKU: "B", Quantity: 1}))
	}, time.Hour)
	res = h.update(2*time.Hour, workflows.UpdateCancel, cancelReq(""))
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateCollect, "", &testsuite.TestUpdateCallback{}, collect("store-001", h.f.last().Pickup.Code))
	}, 3*time.Hour)
	h.run(placedOrder())

	require.NoError(t, partial.err)
	require.Equal(t, "conflict/already_collected", rejectionType(t, res.rejected))
	require.Equal(t, order.StatusCollected, h.f.last().Status)
}

func TestPickOverdueReminder(t *testing.T) {
	h := newHarness(t)
	h.update(policy.PickDeadline+time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	h.update(policy.PickDeadline+time.Hour, workflows.UpdateCancel, cancelReq(""))
	h.run(placedOrder())

	types := h.f.eventTypes()
	require.Equal(t, []string{"stock_reserved", "pick_requested", "pick_overdue", "picked"}, types[:4])
	for _, e := range h.f.events {
		if e.Type == "pick_overdue" {
			require.Equal(t, testStart.Add(policy.PickDeadline), e.At, "the reminder fires at the deadline")
		}
	}
}

func TestNoShowExpires(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 0}))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	got := h.f.last()
	require.Equal(t, order.StatusExpired, got.Status)
	require.Equal(t, []string{"short_picked", "ready", "reminder", "expired"}, h.f.notified)
	require.Equal(t, map[string]int64{"A": 0, "B": 0}, h.f.held, "stock goes back to the store")
	require.EqualValues(t, 2500, h.f.voided, "the authorisation is voided")
	require.Zero(t, h.f.captured)
	var remindedAt, expiredAt time.Time
	for _, e := range h.f.events {
		switch e.Type {
		case "pickup_reminder_sent":
			remindedAt = e.At
		case "expired":
			expiredAt = e.At
		}
	}
	ready := testStart.Add(time.Minute)
	require.Equal(t, ready.Add(policy.PickupReminder), remindedAt)
	require.Equal(t, ready.Add(policy.PickupHold), expiredAt)
	checkProjection(t, h.f)
}

func TestExtendPickupOnce(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	ext := h.update(100*time.Hour, workflows.UpdateExtendPickup, workflows.ExtendPickupRequest{Actor: workflows.Actor{Channel: "contact_centre", Actor: "agent-7"}})
	again := h.update(101*time.Hour, workflows.UpdateExtendPickup, workflows.ExtendPickupRequest{Actor: workflows.Actor{Channel: "web", Actor: "customer"}})
	h.run(placedOrder())

	require.NoError(t, ext.err)
	require.Equal(t, "conflict/already_extended", rejectionType(t, again.rejected))
	require.Equal(t, order.StatusExpired, h.f.last().Status)
	var expiredAt time.Time
	reminders := 0
	for _, e := range h.f.events {
		if e.Type == "expired" {
			expiredAt = e.At
		}
		if e.Type == "pickup_reminder_sent" {
			reminders++
		}
	}
	require.Equal(t, testStart.Add(time.Minute).Add(policy.PickupHold+policy.PickupExtension), expiredAt)
	require.Equal(t, 2, reminders, "reminded before the first end and again before the extended one")
}

func TestNotificationFailuresAreRetriedAndOnTheTimeline(t *testing.T) {
	h := newHarness(t)
	h.f.failNotes = 5
	picked := h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	h.update(2*time.Hour, workflows.UpdateCancel, cancelReq(""))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, picked.err, "the pick answers although the customer's message cannot be sent yet")
	require.Equal(t, []string{"ready", "cancelled"}, h.f.notified, "every message is sent in the end, in order")
	var attempts []any
	for _, e := range h.f.events {
		if e.Type == workflows.EventNotificationFailed {
			require.Equal(t, "ready", e.Data["template"])
			require.Equal(t, "smtp: 451 try again later", e.Data["error"])
			attempts = append(attempts, e.Data["attempt"])
		}
	}
	require.Equal(t, []any{1, 2, 4}, attempts, "failures 1, 2 and 4 of the 5 are on the timeline")
	checkProjection(t, h.f)
}
