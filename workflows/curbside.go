package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/internal/order"
)

// Curbside: a collect order the customer collects at their car.
//
//	ready_for_collection ──arrived (bay, vehicle)──▶ the store console alerts
//	        └──collect at the car (same pickup-code rules)──▶ collected
//	                     (the wait from arrival to handover on the timeline and in the metrics)

// EventCustomerArrived is the timeline event of a curbside "I'm here".
const EventCustomerArrived = "customer_arrived"

func (r *orderRun) validateArrived(ctx workflow.Context, req ArrivedRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := r.checkOpen(); err != nil {
		return err
	}
	if err := checkRole(req.Actor, roleCustomer, roleCheckout); err != nil {
		return err
	}
	if !r.o.Fulfilment.Curbside {
		return reject(order.KindConflict, "not_curbside", "the order is not for curbside collection: collect it in store")
	}
	if r.o.Status != order.StatusReadyForCollection && r.o.Status != order.StatusPartiallyCollected {
		return reject(order.KindConflict, "not_ready", "the order is %s, not ready for collection", r.o.Status)
	}
	return nil
}

// arrived records the customer waiting at the car park: the store console
// shows it at once, with the bay and the vehicle. Saying it again (another
// bay) updates them; the wait is counted from the first arrival.
func (r *orderRun) arrived(ctx workflow.Context, req ArrivedRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateArrived(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o, nil
	}
	now := workflow.Now(ctx).UTC()
	arrival := order.Arrival{At: now, Bay: strings.TrimSpace(req.Bay), Vehicle: strings.TrimSpace(req.Vehicle)}
	if r.o.Arrival != nil {
		arrival.At = r.o.Arrival.At
	}
	r.o.Arrival = &arrival
	r.event(ctx, req.Actor, EventCustomerArrived, map[string]any{"store_id": r.o.Fulfilment.StoreID,
		"bay": arrival.Bay, "vehicle": arrival.Vehicle})
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o, nil
}

// arrivalWait adds the curbside wait, from arrival to handover, to a
// handover's timeline data.
func (r *orderRun) arrivalWait(ctx workflow.Context, data map[string]any) {
	if r.o.Arrival == nil {
		return
	}
	data["curbside"] = true
	data["arrived_at"] = r.o.Arrival.At
	data["wait_seconds"] = workflow.Now(ctx).Sub(r.o.Arrival.At).Seconds()
}
