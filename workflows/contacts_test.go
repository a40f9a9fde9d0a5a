package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

func TestInteractionAboutTheOrderIsOnItsTimeline(t *testing.T) {
	h := newHarness(t)
	agent := workflows.Actor{Channel: order.ChannelContact, Actor: "agent:sam", Role: "support"}
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalCustomerContacted, workflows.CustomerContacted{Actor: agent,
			InteractionID: "int-1", ContactChannel: "phone", Summary: "asked when it will be ready", Outcome: "told: today"})
	}, 10*time.Minute)
	h.env.RegisterDelayedCallback(func() { // the API's retry signals it again
		h.env.SignalWorkflow(workflows.SignalCustomerContacted, workflows.CustomerContacted{Actor: agent,
			InteractionID: "int-1", ContactChannel: "phone", Summary: "asked when it will be ready", Outcome: "told: today"})
	}, 11*time.Minute)
	h.update(time.Hour, workflows.UpdateCancel, cancelReq("no longer needed"))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	var contact order.Event
	n := 0
	for _, e := range h.f.events {
		if e.Type == workflows.EventCustomerContacted {
			contact = e
			n++
		}
	}
	require.Equal(t, 1, n, "recorded once, however often it is signalled")
	require.Equal(t, "agent:sam", contact.Actor)
	require.Equal(t, order.ChannelContact, contact.Channel)
	require.Equal(t, "phone", contact.Data["contact_channel"])
	require.Equal(t, "told: today", contact.Data["outcome"])
	checkProjection(t, h.f)
}
