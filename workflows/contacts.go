package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"
)

// Contacts with the customer about an order. The contact centre (or a store)
// logs a call, chat, email, social message or store visit against the
// customer; one about an order is also put on that order's timeline, so the
// store and the customer's page see it.
//
//	API (POST /v1/customers/{id}/interactions, order_id) ──signal──▶ waits its turn ──▶ customer_contacted

// SignalCustomerContacted tells the order of an interaction about it.
const SignalCustomerContacted = "customer_contacted"

// EventCustomerContacted is its timeline event; the channel and actor are
// who logged it, the data the interaction.
const EventCustomerContacted = "customer_contacted"

// CustomerContacted is the signal's payload.
type CustomerContacted struct {
	Actor
	InteractionID string `json:"interaction_id"`
	// ContactChannel is how the customer got in touch: phone, chat, email,
	// social or store (Actor.Channel is the channel of whoever logged it).
	ContactChannel string `json:"contact_channel"`
	Summary        string `json:"summary"`
	Outcome        string `json:"outcome,omitempty"`
}

// recordContacts records each interaction about the order on its timeline,
// in the order's turn, while the workflow runs (an order whose lifecycle has
// ended records them too: the contact happened).
func (r *orderRun) recordContacts(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var sig CustomerContacted
			r.contacts.Receive(ctx, &sig)
			if slices.Contains(r.contacted, sig.InteractionID) {
				continue // the API signalled it again (a retried request): recorded once
			}
			release, err := r.take(ctx)
			if err != nil {
				return
			}
			r.contacted = append(r.contacted, sig.InteractionID)
			if len(r.contacted) > maxContacted {
				r.contacted = r.contacted[len(r.contacted)-maxContacted:]
			}
			data := map[string]any{"interaction_id": sig.InteractionID, "contact_channel": sig.ContactChannel, "summary": sig.Summary}
			if sig.Outcome != "" {
				data["outcome"] = sig.Outcome
			}
			r.recordEvent(ctx, sig.Actor, EventCustomerContacted, data)
			release()
		}
	})
}

// maxContacted bounds the interactions an order remembers to record each once.
const maxContacted = 100
