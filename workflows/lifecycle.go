package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Timeline events of the lifecycle's exceptions.
const (
	EventPickOverdue       = "pick_overdue"
	EventPickupReminder    = "pickup_reminder_sent"
	EventPickupExtended    = "pickup_extended"
	EventExpired           = "expired"
	EventCancelled         = "cancelled"
	EventStockReleased     = "stock_released"
	EventPickTaskWithdrawn = "pick_task_withdrawn"
	EventPickEscalated     = "pick_escalated"
	EventNoStock           = "no_stock"
	EventStoreRejected     = "store_rejected"
	EventReassigned        = "reassigned"
	EventPriceAdjusted     = "price_adjusted"
	EventLinesRefused      = "lines_refused"
	// EventLinesCancelled: lines of a part-collected order that the customer
	// never came for, cancelled when the hold ended.
	EventLinesCancelled = "lines_cancelled"
)

// CancelRequest asks for the order to be cancelled.
type CancelRequest struct {
	Actor
	Reason string `json:"reason"`
}

// ExtendPickupRequest asks for the pickup hold to be extended (once).
type ExtendPickupRequest struct {
	Actor
}

// runClocks runs the business clocks until the order's lifecycle ends: the
// store's pick deadline, the customer's reminder, the end of the pickup hold
// and of the return window. Each is a durable timer; a state change or an
// extension re-arms them. A clock that fires takes the order's turn like any
// handler, and acts only if the order is still where the clock found it. At a
// quiet point past the history budget the order continues as new.
func (r *orderRun) runClocks(ctx workflow.Context) error {
	for !r.done {
		if r.overBudget(ctx) {
			return r.continueAsNew(ctx)
		}
		status, expires, store := r.o.Status, r.o.Pickup.ExpiresAt, r.o.Fulfilment.StoreID
		moved := func() bool {
			return r.done || r.o.Status != status || r.o.Pickup.ExpiresAt != expires || r.o.Fulfilment.StoreID != store
		}
		changed := func() bool { return moved() || r.overBudget(ctx) }
		now := workflow.Now(ctx)
		var next time.Time
		var fire func(workflow.Context) error
		switch status {
		case order.StatusAwaitingPick, order.StatusPartiallyShipped:
			switch {
			case !r.pickReminded && r.policy.PickDeadline > 0:
				next, fire = r.assignedAt.Add(r.policy.PickDeadline), r.pickOverdue
			case !r.escalated && r.policy.PickEscalation > 0:
				next, fire = r.assignedAt.Add(r.policy.PickEscalation), r.escalate
			}
		case order.StatusAwaitingTransfer:
			if at := r.transfersExpected(); !r.transferLate && !at.IsZero() {
				next, fire = at, r.transferOverdue
			}
		case order.StatusCollected, order.StatusPartiallyReturned, order.StatusDelivered:
			if r.o.ReturnableUntil != nil {
				next, fire = *r.o.ReturnableUntil, r.closeReturns
			}
		case order.StatusReadyForCollection, order.StatusPartiallyCollected:
			if !r.pickupReminded && r.remindAt.Before(*expires) {
				next, fire = r.remindAt, r.remindPickup
			} else {
				next, fire = *expires, r.expire
			}
		}
		if fire == nil {
			if err := workflow.Await(ctx, changed); err != nil {
				return err
			}
			continue
		}
		if wait := next.Sub(now); wait > 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, wait, changed)
			if err != nil {
				return err
			}
			if ok {
				continue // the order moved on, or it is time to continue as new
			}
		}
		release, err := r.take(ctx)
		if err != nil {
			return err
		}
		if moved() {
			release()
			continue
		}
		err = fire(ctx)
		release()
		if err != nil {
			return err
		}
	}
	return nil
}

var system = Actor{Channel: order.ChannelSystem, Actor: "omni"}

func (r *orderRun) pickOverdue(ctx workflow.Context) error {
	r.pickReminded = true
	late := []string{r.o.Fulfilment.StoreID}
	if r.o.IsShip() {
		late = r.awaitingPickAt() // each location still to pick its shipment
	}
	for _, loc := range late {
		r.event(ctx, system, EventPickOverdue, map[string]any{"store_id": loc, "deadline": r.assignedAt.Add(r.policy.PickDeadline)})
	}
	return r.project(ctx)
}

func (r *orderRun) remindPickup(ctx workflow.Context) error {
	r.pickupReminded = true
	r.event(ctx, system, EventPickupReminder, map[string]any{"expires_at": r.o.Pickup.ExpiresAt})
	if err := r.project(ctx); err != nil {
		return err
	}
	return r.notify(ctx, "reminder", map[string]any{"store_id": r.o.Pickup.StoreID, "expires_at": r.o.Pickup.ExpiresAt})
}

// keepHandedOverChange marks the change after which an order whose hold ends
// part-collected keeps what was handed over (sold, paid, returnable) and ends
// as collected; before it, the whole order expired.
const keepHandedOverChange = "expire-keeps-handed-over"

// expire ends the hold of an order that was not (fully) collected in time:
// what is still held goes back to the store's available stock, the open
// authorisation is voided and the customer is told. An order nothing of
// which was handed over expires. One part of which was handed over keeps
// those goods sold, paid and returnable: the rest is cancelled, and the order
// is collected (or partially returned) and stays open for returns.
func (r *orderRun) expire(ctx workflow.Context) error {
	r.durable = true
	defer func() { r.durable = false }()
	var collected int64
	for _, l := range r.o.Lines {
		collected += l.Collected
	}
	keep := collected > 0 && r.exactlyOnce &&
		(r.rules >= rulesExactlyOnce || workflow.GetVersion(ctx, keepHandedOverChange, workflow.DefaultVersion, 1) == 1)
	rest := r.lines(func(l order.Line) int64 { return l.Held() })
	if err := r.releaseHeld(ctx, "expire"); err != nil {
		return err
	}
	if pay := &r.o.Payments[0]; keep && r.policy.OneCapture {
		// The one capture, for what was handed over before the hold ended.
		if amount := r.handedOverValue(nil) - pay.Captured; amount > 0 {
			var res activities.PaymentResult
			if err := r.exec(ctx, a.Capture, activities.PaymentInput{Key: r.step("expire", "capture"), OrderID: r.o.ID,
				Amount: amount, Currency: r.o.Currency, Reference: pay.Reference}, &res); err != nil {
				return err
			}
			pay.Captured += amount
			r.capturedEvent(ctx, system, amount, res, nil)
		}
	}
	if err := r.voidOpen(ctx, r.step("expire", "void")); err != nil {
		return err
	}
	if !keep {
		r.o.Status = order.StatusExpired
		r.event(ctx, system, EventExpired, map[string]any{"expired_at": r.o.Pickup.ExpiresAt})
		if err := r.project(ctx); err != nil {
			return err
		}
		r.done = true
		return r.notify(ctx, "expired", nil)
	}
	for _, l := range rest {
		r.o.Line(l.SKU).Uncollected += l.Quantity
	}
	r.o.Status = r.handedOverStatus()
	r.event(ctx, system, EventLinesCancelled, map[string]any{"lines": rest, "reason": "not_collected",
		"expired_at": r.o.Pickup.ExpiresAt, "store_id": r.o.Fulfilment.StoreID})
	if err := r.project(ctx); err != nil {
		return err
	}
	return r.notify(ctx, "expired", map[string]any{"partial": true, "cancelled": rest})
}

// releaseHeld releases all stock the order still holds at its store, as the
// action named (its key: the action, the request and the store).
func (r *orderRun) releaseHeld(ctx workflow.Context, action string) error {
	held := r.lines(func(l order.Line) int64 {
		switch r.o.Status {
		case order.StatusAwaitingPick, order.StatusPlaced, order.StatusAwaitingTransfer:
			return l.Quantity
		}
		return l.Held()
	})
	if r.o.IsShip() {
		return nil // its stock is held by its fulfilments (cancelFulfilments)
	}
	if len(held) == 0 {
		return nil
	}
	if err := r.exec(ctx, a.Release, activities.StockInput{
		Key: r.step(action, "release-"+r.o.Fulfilment.StoreID), OrderID: r.o.ID, StoreID: r.o.Fulfilment.StoreID,
	}, nil); err != nil {
		return err
	}
	r.event(ctx, system, EventStockReleased, map[string]any{"store_id": r.o.Fulfilment.StoreID, "lines": held})
	return nil
}

func (r *orderRun) validateCancel(ctx workflow.Context, req CancelRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := checkRole(req.Actor, roleCheckout, roleSupport, roleCustomer); err != nil {
		return err
	}
	if r.o.IsShip() {
		return r.checkCancelShipment(req)
	}
	switch r.o.Status {
	case order.StatusPlaced, order.StatusAwaitingPick, order.StatusAwaitingTransfer:
		return nil
	case order.StatusReadyForCollection:
		if req.Role == roleCustomer {
			return reject(order.KindConflict, "too_late_to_cancel",
				"the order is %s: the store has picked it; ask the contact centre or refuse it at the counter", r.o.Status)
		}
		return nil
	case order.StatusPartiallyCollected, order.StatusCollected, order.StatusPartiallyReturned, order.StatusReturned:
		return reject(order.KindConflict, "already_collected",
			"the order is %s: goods have been handed over, so take them back as a return instead", r.o.Status)
	}
	return reject(order.KindConflict, "order_closed", "the order is already %s", r.o.Status)
}

// cancel is a saga of idempotent steps: withdraw the pick task, release the
// stock, void the authorisation, record and tell. A worker that dies half-way
// replays the steps done and carries on with the rest.
func (r *orderRun) cancel(ctx workflow.Context, req CancelRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateCancel(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o, nil
	}
	r.durable = true
	defer func() { r.durable = false }()

	if err := r.cancelFulfilments(ctx); err != nil {
		return order.Order{}, err
	}
	if r.o.Status == order.StatusAwaitingPick && !r.o.IsShip() {
		if err := r.exec(ctx, a.ClosePickTask, activities.PickTaskInput{
			OrderID: r.o.ID, StoreID: r.o.Fulfilment.StoreID, Status: "cancelled",
		}, nil); err != nil {
			return order.Order{}, err
		}
		r.event(ctx, system, EventPickTaskWithdrawn, map[string]any{"store_id": r.o.Fulfilment.StoreID})
	}
	if err := r.releaseHeld(ctx, "cancel"); err != nil {
		return order.Order{}, err
	}
	if err := r.voidOpen(ctx, r.step("cancel", "void")); err != nil {
		return order.Order{}, err
	}
	r.o.Status = order.StatusCancelled
	r.event(ctx, req.Actor, EventCancelled, map[string]any{"reason": req.Reason})
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	r.done = true
	if err := r.notify(ctx, "cancelled", map[string]any{"reason": req.Reason}); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o, nil
}

func (r *orderRun) validateExtendPickup(ctx workflow.Context, req ExtendPickupRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := r.checkOpen(); err != nil {
		return err
	}
	if err := checkRole(req.Actor, roleSupport, roleCustomer); err != nil {
		return err
	}
	if r.o.Status != order.StatusReadyForCollection && r.o.Status != order.StatusPartiallyCollected {
		return reject(order.KindConflict, "not_ready", "the order is %s, not waiting for collection", r.o.Status)
	}
	if r.extended {
		return reject(order.KindConflict, "already_extended", "the pickup hold has already been extended once")
	}
	return nil
}

// extendPickup holds the order for PickupExtension longer, once. The reminder
// is sent again before the new end.
func (r *orderRun) extendPickup(ctx workflow.Context, req ExtendPickupRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateExtendPickup(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o, nil
	}
	r.extended = true
	expires := r.o.Pickup.ExpiresAt.Add(r.policy.PickupExtension)
	r.o.Pickup.ExpiresAt = &expires
	// Remind again, as long before the new end as the first reminder came before the old one.
	r.pickupReminded = false
	r.remindAt = expires.Add(r.policy.PickupReminder - r.policy.PickupHold)
	r.event(ctx, req.Actor, EventPickupExtended, map[string]any{"expires_at": expires})
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	if err := r.notify(ctx, "pickup_extended", map[string]any{"expires_at": expires}); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o, nil
}

// SignalPickupCodeLocked tells the order that handovers are refused for a
// while after too many wrong pickup codes, so the timeline shows it.
const SignalPickupCodeLocked = "pickup_code_locked"

// EventPickupCodeLocked is the timeline event of a pickup-code lockout.
const EventPickupCodeLocked = "pickup_code_locked"

// PickupCodeLocked is the signal's payload.
type PickupCodeLocked struct {
	Actor
	Attempts int       `json:"attempts"`
	Until    time.Time `json:"until"`
}

// recordLockouts records each lockout signal on the timeline, one at a time
// and in the order's turn, while the order's lifecycle runs.
func (r *orderRun) recordLockouts(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var sig PickupCodeLocked
			r.lockouts.Receive(ctx, &sig)
			release, err := r.take(ctx)
			if err != nil {
				return
			}
			if !r.done {
				r.recordEvent(ctx, sig.Actor, EventPickupCodeLocked, map[string]any{"attempts": sig.Attempts, "until": sig.Until})
			}
			release()
		}
	})
}

// recordAside puts one event on the timeline from a coroutine running beside
// the handlers (notifications), in the order's turn.
func (r *orderRun) recordAside(ctx workflow.Context, who Actor, typ string, data map[string]any) {
	release, err := r.take(ctx)
	if err != nil {
		return
	}
	defer release()
	r.recordEvent(ctx, who, typ, data)
}

// recordEvent records and projects one event that is not the order's state.
// A projection that fails is logged: the next projection writes the event.
func (r *orderRun) recordEvent(ctx workflow.Context, who Actor, typ string, data map[string]any) {
	r.event(ctx, who, typ, data)
	if err := r.project(ctx); err != nil {
		workflow.GetLogger(ctx).Error("project timeline event", "type", typ, "error", err)
	}
}

// pickDueBy is when a pick given to a store now is due: the pick deadline.
func (r *orderRun) pickDueBy(ctx workflow.Context) time.Time {
	return workflow.Now(ctx).UTC().Add(r.policy.PickDeadline)
}
