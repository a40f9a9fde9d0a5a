package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// RejectRequest is a store turning down an order it cannot fulfil.
type RejectRequest struct {
	Actor
	StoreID string `json:"store_id"`
	Reason  string `json:"reason"`
}

// MaxReasonLength bounds a free-text reason, in characters.
const MaxReasonLength = order.MaxReasonLength

func (r *orderRun) validateReject(ctx workflow.Context, req RejectRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := r.checkOpen(); err != nil {
		return err
	}
	if err := checkRole(req.Actor, roleStore); err != nil {
		return err
	}
	if err := r.checkStore(req.StoreID); err != nil {
		return err
	}
	if err := r.checkAwaitingPick(); err != nil {
		return err
	}
	if req.Reason == "" || order.TooLong(req.Reason, MaxReasonLength) {
		return reject(order.KindInvalid, "reason", "a reason of 1 to %d characters is required", MaxReasonLength)
	}
	return nil
}

// reject takes the order away from a store that cannot fulfil it: its pick task
// is withdrawn, its stock there released, and the order offered to the next
// store.
func (r *orderRun) reject(ctx workflow.Context, req RejectRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateReject(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o.WithoutPickupCode(), nil
	}
	r.durable = true
	defer func() { r.durable = false }()
	store := r.o.Fulfilment.StoreID
	if err := r.leaveStore(ctx, "rejected", "reject"); err != nil {
		return order.Order{}, err
	}
	r.event(ctx, req.Actor, EventStoreRejected, map[string]any{"store_id": store, "reason": req.Reason})
	if err := r.reassign(ctx, req.Actor, "store_rejected"); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// escalate acts on a store that has missed the second pick limit: the order
// is escalated on its timeline and, where the policy says so, moved to the
// next store with stock.
func (r *orderRun) escalate(ctx workflow.Context) error {
	r.escalated = true
	if r.o.IsShip() {
		// A shipment late at one location stays there: the escalation
		// tells the retailer's staff.
		for _, loc := range r.awaitingPickAt() {
			r.event(ctx, system, EventPickEscalated, map[string]any{"store_id": loc, "since": r.assignedAt, "reassign": false})
		}
		return r.project(ctx)
	}
	store := r.o.Fulfilment.StoreID
	r.event(ctx, system, EventPickEscalated, map[string]any{"store_id": store,
		"since": r.assignedAt, "reassign": r.policy.ReassignOnEscalation})
	if !r.policy.ReassignOnEscalation {
		return r.project(ctx)
	}
	r.durable = true
	defer func() { r.durable = false }()
	if err := r.leaveStore(ctx, "escalated", "escalate"); err != nil {
		return err
	}
	return r.reassign(ctx, system, "pick_overdue")
}

// leaveStore takes the order off its store before it moves on: the pick task
// closes with taskStatus and the stock held there is released, as the step
// named.
func (r *orderRun) leaveStore(ctx workflow.Context, taskStatus, step string) error {
	if err := r.exec(ctx, a.ClosePickTask, activities.PickTaskInput{
		OrderID: r.o.ID, StoreID: r.o.Fulfilment.StoreID, Status: taskStatus,
	}, nil); err != nil {
		return err
	}
	return r.releaseHeld(ctx, step)
}

// reassign offers the order, which holds no stock now, to the stores of the
// policy in turn, skipping those already tried: the first that can hold every
// line gets it, and the customer is told the new store. When none can, the
// order is rejected: its authorisation is voided and the customer told.
func (r *orderRun) reassign(ctx workflow.Context, who Actor, reason string) error {
	from := r.o.Fulfilment.StoreID
	for _, to := range r.policy.Reassign {
		if slices.Contains(r.tried, to) {
			continue
		}
		r.tried = append(r.tried, to)
		var res activities.ReserveResult
		if err := r.exec(ctx, a.Reserve, activities.ReserveInput{
			Key: r.key("reserve-" + to), OrderID: r.o.ID, StoreID: to, Lines: r.ordered(),
		}, &res); err != nil {
			return err
		}
		if !res.Reserved {
			r.event(ctx, system, EventNoStock, map[string]any{"store_id": to, "short_skus": res.Short})
			continue
		}
		if err := r.exec(ctx, a.OpenPickTask, activities.PickTaskInput{
			OrderID: r.o.ID, StoreID: to, Lines: r.ordered(), Number: r.o.Number,
			DueBy: r.pickDueBy(ctx),
		}, nil); err != nil {
			return err
		}
		r.o.Fulfilment.StoreID, r.o.Pickup.StoreID = to, to
		r.o.Status = order.StatusAwaitingPick
		r.assignedAt = workflow.Now(ctx)
		r.pickReminded, r.escalated = false, false
		r.event(ctx, who, EventReassigned, map[string]any{"from_store_id": from, "store_id": to, "reason": reason})
		r.event(ctx, system, order.EventReserved, map[string]any{"store_id": to})
		r.event(ctx, system, order.EventPickRequested, map[string]any{"store_id": to})
		if err := r.project(ctx); err != nil {
			return err
		}
		return r.notify(ctx, "store_changed", map[string]any{"store_id": to, "previous_store_id": from, "reason": reason})
	}

	if err := r.voidOpen(ctx, r.step("reject", "void")); err != nil {
		return err
	}
	r.o.Status = order.StatusRejected
	r.event(ctx, who, order.EventRejected, map[string]any{"reason": reason, "stores_tried": r.tried})
	if err := r.project(ctx); err != nil {
		return err
	}
	r.done = true
	return r.notify(ctx, "rejected", map[string]any{"reason": reason})
}
