package workflows

import "go.temporal.io/sdk/workflow"

// Reads of the order by a store that does not hold it. A store may find
// another store's order by its receipt number to take goods of it back, and
// sees only what a return needs; each such read is recorded on the order's
// timeline, where the customer, the contact centre and the order's store see
// who looked, from where and when.
//
//	API (GET .../orders/by-number/{number}) ──signal──▶ waits its turn ──▶ looked_up_for_return
//
// An order whose lifecycle has ended (its return window closed, everything
// came back) records nothing: the API finds no workflow to tell and answers
// that no such order can be returned.

// SignalLookedUpForReturn tells the order that a store read it for a return.
const SignalLookedUpForReturn = "looked_up_for_return"

// EventLookedUpForReturn is the timeline event of such a read. Its data name
// the store that read the order; the event's channel and actor say who.
const EventLookedUpForReturn = "looked_up_for_return"

// LookedUpForReturn is the signal's payload: who read the order, and for
// which store.
type LookedUpForReturn struct {
	Actor
	StoreID string `json:"store_id"`
}

// recordLookups records each look-up signal on the timeline, one at a time
// and in the order's turn, while the order's lifecycle runs.
func (r *orderRun) recordLookups(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var sig LookedUpForReturn
			r.lookups.Receive(ctx, &sig)
			release, err := r.take(ctx)
			if err != nil {
				return
			}
			if !r.done {
				r.recordEvent(ctx, sig.Actor, EventLookedUpForReturn, map[string]any{"store_id": sig.StoreID})
			}
			release()
		}
	})
}
