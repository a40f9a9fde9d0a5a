package workflows

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Update names of OrderWorkflow.
const (
	UpdatePick         = "pick"
	UpdateCollect      = "collect"
	UpdateCancel       = "cancel"
	UpdateExtendPickup = "extend_pickup"
)

// WorkflowID is the ID of an order's workflow.
func WorkflowID(orderID string) string { return "order-" + orderID }

// Policy holds the business clocks an order runs on.
type Policy struct {
	PickDeadline   time.Duration `json:"pick_deadline"`
	PickupHold     time.Duration `json:"pickup_hold"`
	PickupReminder time.Duration `json:"pickup_reminder"`
	// PickupExtension is how much longer one extension holds the order.
	PickupExtension time.Duration `json:"pickup_extension"`
	ReturnWindow    time.Duration `json:"return_window"`
}

// OrderInput starts an order's workflow: the order as placed and its policy.
type OrderInput struct {
	Order  order.Order `json:"order"`
	Policy Policy      `json:"policy"`
}

// Actor says who asked for a change, through which channel.
type Actor struct {
	Channel string `json:"channel"`
	Actor   string `json:"actor"`
}

// PickRequest is the store's report of what it found.
type PickRequest struct {
	Actor
	StoreID string          `json:"store_id"`
	Lines   []order.LineQty `json:"lines"`
}

// CollectedBy says who took the goods at the counter.
type CollectedBy struct {
	Name     string `json:"name"`
	Relation string `json:"relation"`
}

// CollectRequest is a handover at the counter.
type CollectRequest struct {
	Actor
	StoreID     string          `json:"store_id"`
	PickupCode  string          `json:"pickup_code"`
	Lines       []order.LineQty `json:"lines,omitempty"`
	CollectedBy CollectedBy     `json:"collected_by"`
}

// pickupCodeAlphabet leaves out characters that are easily confused (0/O, 1/I/L).
const pickupCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// PickupCodeLength gives 31^8 ≈ 8.5e11 codes: not guessable at a counter.
const PickupCodeLength = 8

// orderRun is the state of one order's workflow.
type orderRun struct {
	o       order.Order
	policy  Policy
	seq     int64 // last timeline seq written
	pending []order.Event
	busy    bool // a handler is between its first and last activity
	done    bool
	collect int // handovers so far, for step keys

	pickReminded   bool // the store was reminded of the pick deadline
	pickupReminded bool // the customer was reminded to collect
	extended       bool // the pickup hold was extended (allowed once)
	remindAt       time.Time
}

var (
	localOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    100 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	}
	a *activities.Activities
)

// OrderWorkflow runs one collect-in-store order from placement to its end.
func OrderWorkflow(ctx workflow.Context, in OrderInput) error {
	r := &orderRun{o: in.Order, policy: in.Policy, seq: 1}
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions)

	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdatePick, r.pick,
		workflow.UpdateHandlerOptions{Validator: r.validatePick}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCollect, r.collectHandler,
		workflow.UpdateHandlerOptions{Validator: r.validateCollect}); err != nil {
		return err
	}

	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, r.cancel,
		workflow.UpdateHandlerOptions{Validator: r.validateCancel}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateExtendPickup, r.extendPickup,
		workflow.UpdateHandlerOptions{Validator: r.validateExtendPickup}); err != nil {
		return err
	}

	r.recordLockouts(ctx)

	r.busy = true
	err := r.reserve(ctx)
	r.busy = false
	if err != nil {
		return err
	}
	if err := r.runClocks(ctx); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// lines is the order as a list of SKU quantities.
func (r *orderRun) lines(qty func(order.Line) int64) []order.LineQty {
	out := make([]order.LineQty, 0, len(r.o.Lines))
	for _, l := range r.o.Lines {
		if q := qty(l); q > 0 {
			out = append(out, order.LineQty{SKU: l.SKU, Quantity: q})
		}
	}
	return out
}

func (r *orderRun) reserve(ctx workflow.Context) error {
	ordered := r.lines(func(l order.Line) int64 { return l.Quantity })
	var res activities.ReserveResult
	if err := workflow.ExecuteLocalActivity(ctx, a.Reserve, activities.ReserveInput{
		Key: r.key("reserve"), OrderID: r.o.ID, StoreID: r.o.Fulfilment.StoreID, Lines: ordered,
	}).Get(ctx, &res); err != nil {
		return err
	}
	if !res.Reserved {
		r.o.Status = order.StatusRejected
		r.event(ctx, system, order.EventRejected, map[string]any{"reason": "no_stock", "short_skus": res.Short})
		if err := r.voidOpen(ctx, "reject"); err != nil {
			return err
		}
		if err := r.project(ctx); err != nil {
			return err
		}
		r.done = true
		return r.notify(ctx, "rejected", nil)
	}
	if err := workflow.ExecuteLocalActivity(ctx, a.OpenPickTask, activities.PickTaskInput{
		OrderID: r.o.ID, StoreID: r.o.Fulfilment.StoreID, Lines: ordered,
	}).Get(ctx, nil); err != nil {
		return err
	}
	r.o.Status = order.StatusAwaitingPick
	r.event(ctx, system, order.EventReserved, map[string]any{"store_id": r.o.Fulfilment.StoreID})
	r.event(ctx, system, order.EventPickRequested, map[string]any{"store_id": r.o.Fulfilment.StoreID})
	return r.project(ctx)
}

func (r *orderRun) validatePick(ctx workflow.Context, req PickRequest) error {
	if err := r.checkStore(req.StoreID); err != nil {
		return err
	}
	if r.o.Status != order.StatusAwaitingPick || r.busy {
		return reject(order.KindConflict, "not_awaiting_pick", "the order is %s, not awaiting pick", r.o.Status)
	}
	seen := map[string]bool{}
	for i, l := range req.Lines {
		line := r.o.Line(l.SKU)
		switch {
		case line == nil:
			return reject(order.KindInvalid, "unknown_line", "lines[%d]: SKU %q is not on the order", i, l.SKU)
		case seen[l.SKU]:
			return reject(order.KindInvalid, "duplicate_line", "lines[%d]: SKU %q appears twice", i, l.SKU)
		case l.Quantity < 0 || l.Quantity > line.Quantity:
			return reject(order.KindInvalid, "bad_quantity", "lines[%d]: picked quantity of %s must be 0 to %d", i, l.SKU, line.Quantity)
		}
		seen[l.SKU] = true
	}
	return nil
}

// pick records what the store found. Whatever was not found is released back to
// the store; an order where nothing was found is rejected. Otherwise the order
// is ready for collection with a fresh pickup code.
func (r *orderRun) pick(ctx workflow.Context, req PickRequest) (order.Order, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions)
	r.busy = true
	defer func() { r.busy = false }()

	found := map[string]int64{}
	for _, l := range req.Lines {
		found[l.SKU] = l.Quantity
	}
	var total int64
	for i := range r.o.Lines {
		r.o.Lines[i].Picked = found[r.o.Lines[i].SKU]
		total += r.o.Lines[i].Picked
	}
	missing := r.lines(func(l order.Line) int64 { return l.Quantity - l.Picked })
	r.event(ctx, req.Actor, order.EventPicked, map[string]any{"lines": req.Lines, "short": len(missing) > 0})

	if len(missing) > 0 {
		if err := workflow.ExecuteLocalActivity(ctx, a.Release, activities.StockInput{
			Key: r.key("pick-release"), OrderID: r.o.ID, StoreID: r.o.Fulfilment.StoreID, Lines: missing,
		}).Get(ctx, nil); err != nil {
			return order.Order{}, err
		}
	}
	taskStatus := "picked"
	if total == 0 {
		taskStatus = "rejected"
	}
	if err := workflow.ExecuteLocalActivity(ctx, a.ClosePickTask, activities.PickTaskInput{
		OrderID: r.o.ID, Status: taskStatus,
	}).Get(ctx, nil); err != nil {
		return order.Order{}, err
	}

	if total == 0 {
		r.o.Status = order.StatusRejected
		r.event(ctx, req.Actor, order.EventRejected, map[string]any{"reason": "nothing_found"})
		if err := r.voidOpen(ctx, "reject"); err != nil {
			return order.Order{}, err
		}
		if err := r.project(ctx); err != nil {
			return order.Order{}, err
		}
		r.done = true
		return r.o.WithoutPickupCode(), r.notify(ctx, "rejected", nil)
	}

	var code string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return newPickupCode() }).Get(&code); err != nil {
		return order.Order{}, err
	}
	now := workflow.Now(ctx).UTC()
	expires := now.Add(r.policy.PickupHold)
	r.o.Status = order.StatusReadyForCollection
	r.o.Pickup.Code = code
	r.o.Pickup.ReadyAt = &now
	r.o.Pickup.ExpiresAt = &expires
	r.remindAt = now.Add(r.policy.PickupReminder)
	r.event(ctx, req.Actor, order.EventReadyForCollection, map[string]any{"store_id": r.o.Pickup.StoreID, "expires_at": expires})
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	if err := r.notify(ctx, "ready", map[string]any{"pickup_code": code, "store_id": r.o.Pickup.StoreID, "expires_at": expires}); err != nil {
		return order.Order{}, err
	}
	return r.o.WithoutPickupCode(), nil
}

func (r *orderRun) validateCollect(ctx workflow.Context, req CollectRequest) error {
	if err := r.checkStore(req.StoreID); err != nil {
		return err
	}
	if (r.o.Status != order.StatusReadyForCollection && r.o.Status != order.StatusPartiallyCollected) || r.busy {
		return reject(order.KindConflict, "not_ready", "the order is %s, not ready for collection", r.o.Status)
	}
	if subtle.ConstantTimeCompare([]byte(req.PickupCode), []byte(r.o.Pickup.Code)) != 1 {
		return reject(order.KindForbidden, "wrong_pickup_code", "the pickup code does not match this order")
	}
	switch req.CollectedBy.Relation {
	case "", "customer", "nominee":
	default:
		return reject(order.KindInvalid, "bad_relation", "collected_by.relation must be customer or nominee")
	}
	if req.CollectedBy.Relation == "nominee" && req.CollectedBy.Name == "" {
		return reject(order.KindInvalid, "nominee_name", "collected_by.name is required for a nominee")
	}
	seen := map[string]bool{}
	for i, l := range req.Lines {
		line := r.o.Line(l.SKU)
		switch {
		case line == nil:
			return reject(order.KindInvalid, "unknown_line", "lines[%d]: SKU %q is not on the order", i, l.SKU)
		case seen[l.SKU]:
			return reject(order.KindInvalid, "duplicate_line", "lines[%d]: SKU %q appears twice", i, l.SKU)
		case l.Quantity < 1 || l.Quantity > line.Picked-line.Collected:
			return reject(order.KindInvalid, "bad_quantity", "lines[%d]: %s can be handed over 1 to %d, asked %d",
				i, l.SKU, line.Picked-line.Collected, l.Quantity)
		}
		seen[l.SKU] = true
	}
	return nil
}

// collectHandler hands goods over: payment for them is captured and their stock
// committed. When everything picked has been handed over, the order is collected
// and any authorisation left over (for items not found) is voided.
func (r *orderRun) collectHandler(ctx workflow.Context, req CollectRequest) (order.Order, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions)
	r.busy = true
	defer func() { r.busy = false }()
	r.collect++
	step := fmt.Sprintf("collect-%d", r.collect)

	take := req.Lines
	if len(take) == 0 {
		take = r.lines(func(l order.Line) int64 { return l.Picked - l.Collected })
	}
	var amount int64
	for _, t := range take {
		amount += t.Quantity * r.o.Line(t.SKU).UnitPrice
	}
	pay := &r.o.Payments[0]
	if err := workflow.ExecuteLocalActivity(ctx, a.Capture, activities.PaymentInput{
		Key: r.key(step + "-capture"), OrderID: r.o.ID, Amount: amount, Currency: r.o.Currency, Reference: pay.Reference,
	}).Get(ctx, nil); err != nil {
		return order.Order{}, err
	}
	pay.Captured += amount
	if err := workflow.ExecuteLocalActivity(ctx, a.Commit, activities.StockInput{
		Key: r.key(step + "-commit"), OrderID: r.o.ID, StoreID: r.o.Fulfilment.StoreID, Lines: take,
	}).Get(ctx, nil); err != nil {
		return order.Order{}, err
	}
	remaining := int64(0)
	for _, t := range take {
		r.o.Line(t.SKU).Collected += t.Quantity
	}
	for _, l := range r.o.Lines {
		remaining += l.Picked - l.Collected
	}
	by := req.CollectedBy
	if by.Relation == "" {
		by.Relation = "customer"
	}
	r.event(ctx, req.Actor, order.EventCollected, map[string]any{
		"lines": take, "collected_by": by, "store_id": req.StoreID, "complete": remaining == 0,
	})
	r.event(ctx, req.Actor, order.EventPaymentCaptured, map[string]any{"amount": amount, "currency": r.o.Currency})
	if remaining == 0 {
		r.o.Status = order.StatusCollected
		if err := r.voidOpen(ctx, step); err != nil {
			return order.Order{}, err
		}
	} else {
		r.o.Status = order.StatusPartiallyCollected
	}
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	if remaining == 0 {
		r.done = true
	}
	if err := r.notify(ctx, "collected", map[string]any{"amount": amount}); err != nil {
		return order.Order{}, err
	}
	return r.o.WithoutPickupCode(), nil
}

// voidOpen voids whatever is still authorised and not captured.
func (r *orderRun) voidOpen(ctx workflow.Context, step string) error {
	pay := &r.o.Payments[0]
	open := pay.Authorized - pay.Captured - pay.Voided
	if open <= 0 {
		return nil
	}
	if err := workflow.ExecuteLocalActivity(ctx, a.Void, activities.PaymentInput{
		Key: r.key(step + "-void"), OrderID: r.o.ID, Amount: open, Currency: r.o.Currency, Reference: pay.Reference,
	}).Get(ctx, nil); err != nil {
		return err
	}
	pay.Voided += open
	r.event(ctx, Actor{Channel: order.ChannelSystem, Actor: "omni"}, order.EventPaymentVoided,
		map[string]any{"amount": open, "currency": r.o.Currency})
	return nil
}

func (r *orderRun) checkStore(storeID string) error {
	if storeID != r.o.Fulfilment.StoreID {
		return reject(order.KindConflict, "wrong_store", "the order is for collection at %s, not %s",
			r.o.Fulfilment.StoreID, storeID)
	}
	return nil
}

// event queues a timeline event for the next projection.
func (r *orderRun) event(ctx workflow.Context, who Actor, typ string, data map[string]any) {
	r.seq++
	r.pending = append(r.pending, order.Event{
		Seq: r.seq, Type: typ, At: workflow.Now(ctx).UTC(), Channel: who.Channel, Actor: who.Actor, Data: data,
	})
}

// project writes the snapshot with a new version and the queued events. A
// handler returns only after this, so its caller reads its own write.
func (r *orderRun) project(ctx workflow.Context) error {
	r.o.Version++
	r.o.UpdatedAt = workflow.Now(ctx).UTC()
	err := workflow.ExecuteLocalActivity(ctx, a.Project, activities.ProjectInput{Order: r.o, Events: r.pending}).Get(ctx, nil)
	if err != nil {
		return err
	}
	r.pending = nil
	return nil
}

func (r *orderRun) notify(ctx workflow.Context, template string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["order_number"] = r.o.Number
	return workflow.ExecuteLocalActivity(ctx, a.Notify, activities.Notification{
		Key: r.key("notify-" + template + fmt.Sprint(r.seq)), OrderID: r.o.ID, Template: template,
		Channel: "email", Recipient: r.o.Customer.Email, Data: data,
	}).Get(ctx, nil)
}

// key is an activity's idempotency key: the order and the step.
func (r *orderRun) key(step string) string { return r.o.ID + "/" + step }

// reject builds a validator's rejection: a non-retryable application error
// whose type the API maps back to a status.
func reject(kind order.Kind, code, format string, args ...any) error {
	e := order.Errorf(kind, code, format, args...)
	return temporal.NewNonRetryableApplicationError(e.Detail, e.Type(), nil)
}

// newPickupCode draws a code from crypto/rand. It runs inside SideEffect, so
// replays read the recorded code instead of drawing a new one.
func newPickupCode() string {
	const unbiased = 256 - 256%len(pickupCodeAlphabet) // reject bytes past the last full cycle
	code := make([]byte, 0, PickupCodeLength)
	buf := make([]byte, 2*PickupCodeLength)
	for len(code) < PickupCodeLength {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		for _, b := range buf {
			if int(b) < unbiased && len(code) < PickupCodeLength {
				code = append(code, pickupCodeAlphabet[int(b)%len(pickupCodeAlphabet)])
			}
		}
	}
	return string(code)
}
