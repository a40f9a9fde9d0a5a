package workflows

import (
	"crypto/rand"
	"crypto/subtle"
	"slices"
	"strings"
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
	UpdateReject       = "reject"
)

// QueryState is the read-only query that answers the order as its workflow
// holds it (StateView). Channels read orders from PostgreSQL; this is for
// checking the read model against its source (the chaos suite). A query
// changes nothing and adds nothing to the workflow's history.
const QueryState = "state"

// StateView is an order's own state as its workflow holds it, and whether
// the workflow is at rest: nobody holds or waits for the order's turn, every
// event is projected and no notification waits in the outbox.
type StateView struct {
	Order   order.Order `json:"order"`
	Done    bool        `json:"done"`
	Idle    bool        `json:"idle"`
	Pending int         `json:"pending"`
	Outbox  int         `json:"outbox"`
}

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
	// PickEscalation is the second pick limit: an order its store has not
	// picked by then is escalated. Zero never escalates.
	PickEscalation time.Duration `json:"pick_escalation"`
	// ReassignOnEscalation moves an escalated order to the next store with stock.
	ReassignOnEscalation bool `json:"reassign_on_escalation"`
	// Reassign lists, in order of preference, the other stores the order may
	// move to when its store cannot fulfil it.
	Reassign []string `json:"reassign,omitempty"`
	// NotifyGiveUp is how long a notification is retried before it is given
	// up (0: DefaultNotifyGiveUp).
	NotifyGiveUp time.Duration `json:"notify_give_up,omitempty"`
	// HistoryBudget is the number of history events past which the order's
	// workflow continues as new (0: DefaultHistoryBudget).
	HistoryBudget int `json:"history_budget,omitempty"`
	// Transfers brings lines a collect order's store lacks from other
	// locations (transfer.go) before the order is moved to another store.
	Transfers bool `json:"transfers,omitempty"`
	// TransferLeadTime is how long a transfer is expected to take.
	TransferLeadTime time.Duration `json:"transfer_lead_time,omitempty"`
	// OneCapture: the payment provider captures an authorisation once
	// (Stripe), so the order asks once, for all that was handed over or
	// shipped, when nothing more can be (payments.go).
	OneCapture bool `json:"one_capture,omitempty"`
}

// OrderInput starts an order's workflow: the order as placed and its policy,
// or, for a run that continues an earlier one, the order as it is and the
// state the earlier run carried over.
type OrderInput struct {
	Order  order.Order `json:"order"`
	Policy Policy      `json:"policy"`
	State  *RunState   `json:"state,omitempty"`
	// Rules is the version of the workflow's rules the order was started
	// on (CurrentRules; 0 for orders started before it was sent). An order
	// on CurrentRules takes every path that GetVersion guards without
	// asking: no version marker, no search-attribute update per change.
	Rules int `json:"rules,omitempty"`
}

// CurrentRules is the version of the rules new orders start on: the
// asynchronous notifications, the return window, and exactly-once (turns,
// request step keys, durable handovers, bounded notifications, the history
// budget, trusted exchange prices).
const CurrentRules = rulesCaptureFirst

// The versions of the rules, each with what it brought. An order started on
// a version takes the paths of that version and those before it without a
// GetVersion marker; an order started before takes them as its markers say.
const (
	// rulesExactlyOnce: asynchronous notifications, the return window,
	// exactly-once (turns, request step keys, durable handovers, bounded
	// notifications, the history budget, trusted exchange prices).
	rulesExactlyOnce = 2
	// rulesCaptureFirst: a handover takes the money before anything else
	// changes, so a refused capture changes nothing (payments.go).
	rulesCaptureFirst = 3
)

// Actor says who asked for a change, through which channel, and in which
// role (auth.Role's values): the workflow applies the role's rules itself,
// not only the API.
type Actor struct {
	Channel string `json:"channel"`
	Actor   string `json:"actor"`
	Role    string `json:"role,omitempty"`
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
	// Refused are lines the customer turns down at the counter.
	Refused []RefusedLine `json:"refused,omitempty"`
}

// RefusedLine is a quantity of one SKU the customer will not take.
type RefusedLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Reason   string `json:"reason,omitempty"`
}

// pickupCodeAlphabet leaves out characters that are easily confused (0/O, 1/I/L).
const pickupCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// PickupCodeLength gives 31^8 ≈ 8.5e11 codes: not guessable at a counter.
const PickupCodeLength = 8

// orderRun is the state of one order's workflow.
type orderRun struct {
	o       order.Order
	policy  Policy
	seq     int64         // last timeline seq written
	pending []order.Event // events not yet projected
	turn    turn          // who may change the order now (turns.go)
	request string        // the ID of the Update holding the turn ("" for a clock)
	done    bool          // the lifecycle has ended; the workflow finishes its last steps
	durable bool          // the running handler is a saga: its steps are durable activities
	// durableFirst runs the next step as a durable activity (acceptDurably).
	durableFirst bool
	runs         int // earlier runs of this order's workflow (continue-as-new)
	rules        int // OrderInput.Rules

	tried      []string  // stores offered the order, its first store included
	assignedAt time.Time // when the current store was given the order

	transferLate   bool // a transfer missed its expected date (transfer.go)
	pickReminded   bool // the store was reminded of the pick deadline
	escalated      bool // the store missed the second pick limit
	pickupReminded bool // the customer was reminded to collect
	extended       bool // the pickup hold was extended (allowed once)
	remindAt       time.Time

	returning map[string]int64 // units claimed by returns in progress, by SKU
	takebacks int              // returns and exchanges so far, for their ids
	handled   []HandledRequest // requests carried out, newest last (turns.go)

	asyncNotify   bool           // notifications go through the outbox (notifications.go)
	exactlyOnce   bool           // the order runs this version's rules (exactlyOnceChange)
	outbox        []QueuedNotice // notifications not yet sent, oldest first
	notifyAttempt int            // failed tries of the first notification in the outbox
	sending       bool           // a notification is with the provider now

	lockouts workflow.ReceiveChannel // SignalPickupCodeLocked
	lookups  workflow.ReceiveChannel // SignalLookedUpForReturn
	// settlements are the payment provider's later answers (SignalPaymentSettled).
	settlements workflow.ReceiveChannel
	// retries are steps failing at a retailer's system (activities.SignalAdapterRetrying).
	retries workflow.ReceiveChannel
	// contacts are interactions with the customer about the order (contacts.go);
	// contacted the ids of those recorded, newest last.
	contacts  workflow.ReceiveChannel
	contacted []string
	// stepping counts the steps the turn's holder waits for, other than
	// projections: while it waits, a failing step's news is recorded aside
	// (payments.go); asideBusy holds the holder back until that is written.
	stepping   int
	projecting bool
	asideBusy  bool
}

// exactlyOnceChange marks the version whose orders take turns for every
// handler and clock, retry notifications for a bounded time, keep what was
// handed over when the hold ends, price exchanged-in items from the price
// list and continue as new within a history budget.
const exactlyOnceChange = "exactly-once"

var (
	// A fast-path step retries for up to a day, through a database outage,
	// not for 10 s (the SDK's schedule-to-close defaults to start-to-close):
	// a step that gave up failed the Update after part of its effects, or
	// the whole workflow when a clock's step met a database outage.
	localOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    100 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	}
	// activityOptions are the options of durable steps: each is recorded in
	// the workflow's history before it runs and retried until it succeeds.
	activityOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}
	a *activities.Activities
)

// OrderWorkflow runs one collect-in-store order from placement to its end.
func OrderWorkflow(ctx workflow.Context, in OrderInput) error {
	r := newRun(in)
	if err := r.register(ctx); err != nil {
		return err
	}
	if r.rules >= rulesExactlyOnce {
		r.asyncNotify, r.exactlyOnce = true, true
	} else {
		// Orders started before their input named the rules: each change as
		// its version marker says (none in histories from before the change).
		r.asyncNotify = workflow.GetVersion(ctx, asyncNotifyChange, workflow.DefaultVersion, 1) == 1
		r.exactlyOnce = workflow.GetVersion(ctx, exactlyOnceChange, workflow.DefaultVersion, 1) == 1
	}
	if r.asyncNotify {
		r.sendNotifications(ctx)
	}
	r.recordLockouts(ctx)
	r.recordLookups(ctx)
	r.recordSettlements(ctx)
	r.recordRetries(ctx)
	r.recordContacts(ctx)

	if in.State == nil {
		release, err := r.take(ctx)
		if err != nil {
			return err
		}
		err = r.reserve(ctx)
		release()
		if err != nil {
			return err
		}
	}
	if err := r.runClocks(ctx); err != nil {
		return err // a *workflow.ContinueAsNewError too
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && len(r.outbox) == 0 })
}

// newRun builds the run's state from its input.
func newRun(in OrderInput) *orderRun {
	r := &orderRun{o: in.Order, policy: in.Policy, seq: 1, rules: in.Rules,
		tried: []string{in.Order.Fulfilment.StoreID}, assignedAt: in.Order.CreatedAt, returning: map[string]int64{}}
	r.o.SyncCollect() // an order placed before fulfilments gets its collect fulfilment first
	if st := in.State; st != nil {
		r.seq, r.pending, r.tried, r.assignedAt = st.Seq, st.Pending, st.Tried, st.AssignedAt
		r.pickReminded, r.escalated, r.pickupReminded, r.extended = st.PickReminded, st.Escalated, st.PickupReminded, st.Extended
		r.remindAt, r.takebacks, r.outbox, r.notifyAttempt = st.RemindAt, st.Takebacks, st.Outbox, st.NotifyAttempt
		r.handled, r.runs, r.transferLate, r.contacted = st.Handled, st.Runs, st.TransferLate, st.Contacted
	}
	return r
}

// register sets the order's Update handlers.
func (r *orderRun) register(ctx workflow.Context) error {
	for _, h := range []struct {
		name              string
		handler, validate any
	}{
		{UpdatePick, r.pick, r.validatePick},
		{UpdateCollect, r.collectHandler, r.validateCollect},
		{UpdateCancel, r.cancel, r.validateCancel},
		{UpdateExtendPickup, r.extendPickup, r.validateExtendPickup},
		{UpdateReject, r.reject, r.validateReject},
		{UpdateReturn, r.takeBack, r.validateReturn},
		{UpdateExchange, r.exchange, r.validateExchange},
		{UpdateShip, r.ship, r.validateShip},
		{UpdateTracking, r.tracking, r.validateTracking},
		{UpdateReceive, r.receive, r.validateReceive},
		{UpdateArrived, r.arrived, r.validateArrived},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler,
			workflow.UpdateHandlerOptions{Validator: h.validate}); err != nil {
			return err
		}
	}
	r.lockouts = workflow.GetSignalChannel(ctx, SignalPickupCodeLocked)
	r.lookups = workflow.GetSignalChannel(ctx, SignalLookedUpForReturn)
	r.settlements = workflow.GetSignalChannel(ctx, SignalPaymentSettled)
	r.retries = workflow.GetSignalChannel(ctx, activities.SignalAdapterRetrying)
	r.contacts = workflow.GetSignalChannel(ctx, SignalCustomerContacted)
	return workflow.SetQueryHandler(ctx, QueryState, func() (StateView, error) {
		return StateView{Order: r.o, Done: r.done, Idle: r.idle(), Pending: len(r.pending), Outbox: len(r.outbox)}, nil
	})
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

// reserve holds the order's stock at its store and puts it in the store's
// pick queue. A store without the stock hands the order on to the next one.
func (r *orderRun) reserve(ctx workflow.Context) error {
	if r.o.IsShip() {
		return r.placeShipment(ctx)
	}
	store := r.o.Fulfilment.StoreID
	var res activities.ReserveResult
	if err := r.exec(ctx, a.Reserve, activities.ReserveInput{
		Key: r.key("reserve"), OrderID: r.o.ID, StoreID: store, Lines: r.ordered(),
	}, &res); err != nil {
		return err
	}
	if !res.Reserved {
		r.event(ctx, system, EventNoStock, map[string]any{"store_id": store, "short_skus": res.Short})
		if r.policy.Transfers {
			ok, err := r.transferIn(ctx, res.Short)
			if err != nil || ok {
				return err
			}
		}
		return r.reassign(ctx, system, "no_stock")
	}
	if err := r.exec(ctx, a.OpenPickTask, activities.PickTaskInput{
		OrderID: r.o.ID, StoreID: store, Lines: r.ordered(), Number: r.o.Number,
		DueBy: r.pickDueBy(ctx),
	}, nil); err != nil {
		return err
	}
	r.o.Status = order.StatusAwaitingPick
	r.event(ctx, system, order.EventReserved, map[string]any{"store_id": store})
	r.event(ctx, system, order.EventPickRequested, map[string]any{"store_id": store})
	return r.project(ctx)
}

// ordered is the order's lines as ordered.
func (r *orderRun) ordered() []order.LineQty {
	return r.lines(func(l order.Line) int64 { return l.Quantity })
}

func (r *orderRun) validatePick(ctx workflow.Context, req PickRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil // a retry: it gets the first outcome
	}
	if err := r.checkOpen(); err != nil {
		return err
	}
	if err := checkRole(req.Actor, roleStore); err != nil {
		return err
	}
	if r.picksFulfilment(req.StoreID) {
		return r.validatePickFulfilment(req)
	}
	if err := r.checkStore(req.StoreID); err != nil {
		return err
	}
	if err := r.checkAwaitingPick(); err != nil {
		return err
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

// pick records what the store found. Whatever was not found is released back
// to the store and its authorisation voided, and the customer is told; the
// order is ready for collection with a fresh pickup code. When nothing was
// found the order is offered to the next store.
func (r *orderRun) pick(ctx workflow.Context, req PickRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validatePick(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o.WithoutPickupCode(), nil
	}
	if r.picksFulfilment(req.StoreID) {
		r.acceptDurably() // a pick moves stock and money
		defer func() { r.durableFirst = false }()
		return r.pickFulfilment(ctx, req)
	}
	found := map[string]int64{}
	var total int64
	for _, l := range req.Lines {
		found[l.SKU] = l.Quantity
		total += l.Quantity
	}
	r.durable = total == 0 // moving the order to another store is a saga
	defer func() { r.durable = false }()

	for i := range r.o.Lines {
		r.o.Lines[i].Picked = found[r.o.Lines[i].SKU]
	}
	store := r.o.Fulfilment.StoreID
	missing := r.lines(func(l order.Line) int64 { return l.Quantity - l.Picked })
	r.event(ctx, req.Actor, order.EventPicked, map[string]any{"store_id": store, "lines": req.Lines, "short": len(missing) > 0})

	if len(missing) > 0 {
		if total > 0 {
			r.acceptDurably() // a short pick moves stock and money
		}
		if err := r.exec(ctx, a.Release, activities.StockInput{
			Key: r.step("pick", "release-"+store), OrderID: r.o.ID, StoreID: store, Lines: missing,
		}, nil); err != nil {
			return order.Order{}, err
		}
	}
	taskStatus := "picked"
	if total == 0 {
		taskStatus = "rejected"
	}
	if err := r.exec(ctx, a.ClosePickTask, activities.PickTaskInput{
		OrderID: r.o.ID, StoreID: store, Status: taskStatus,
	}, nil); err != nil {
		return order.Order{}, err
	}

	if total == 0 {
		if err := r.reassign(ctx, req.Actor, "nothing_found"); err != nil {
			return order.Order{}, err
		}
		r.remember("")
		return r.o.WithoutPickupCode(), nil
	}

	if len(missing) > 0 {
		if err := r.shortPicked(ctx, missing); err != nil {
			return order.Order{}, err
		}
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
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// shortPicked adjusts the price to what was found: the authorisation of the
// missing lines is voided now, and the customer is told what is missing and
// that they may collect the rest or cancel.
func (r *orderRun) shortPicked(ctx workflow.Context, missing []order.LineQty) error {
	var amount int64
	for _, m := range missing {
		amount += m.Quantity * r.o.Line(m.SKU).UnitPrice
	}
	if err := r.void(ctx, r.step("pick", "short-void"), amount); err != nil {
		return err
	}
	// What the customer now pays: the authorisation less all that was voided
	// (a split order may be short at more than one location).
	total := r.o.Payments[0].Authorized - r.o.Payments[0].Voided
	r.event(ctx, system, EventPriceAdjusted, map[string]any{
		"missing": missing, "amount": -amount, "total": total, "currency": r.o.Currency,
	})
	data := map[string]any{"missing": missing, "total": total, "currency": r.o.Currency,
		"choices": []string{"collect", "cancel"}}
	if r.o.IsShip() {
		data["delivery"], data["choices"] = true, []string{"cancel"}
	}
	return r.notify(ctx, "short_picked", data)
}

func (r *orderRun) validateCollect(ctx workflow.Context, req CollectRequest) error {
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
	if r.o.Status != order.StatusReadyForCollection && r.o.Status != order.StatusPartiallyCollected {
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
	if req.CollectedBy.Relation == "nominee" {
		name := strings.TrimSpace(req.CollectedBy.Name)
		if name == "" {
			return reject(order.KindInvalid, "nominee_name", "collected_by.name is required for a nominee")
		}
		if n := r.o.Pickup.Nominee; n != nil && !strings.EqualFold(name, strings.TrimSpace(n.Name)) {
			return reject(order.KindForbidden, "not_nominee", "the order names another person to collect it")
		}
	}
	// What each line can still be handed over or refused.
	open := map[string]int64{}
	for _, l := range r.o.Lines {
		open[l.SKU] = l.Held()
	}
	check := func(field string, lines []order.LineQty) error {
		seen := map[string]bool{}
		for i, l := range lines {
			line := r.o.Line(l.SKU)
			switch {
			case line == nil:
				return reject(order.KindInvalid, "unknown_line", "%s[%d]: SKU %q is not on the order", field, i, l.SKU)
			case seen[l.SKU]:
				return reject(order.KindInvalid, "duplicate_line", "%s[%d]: SKU %q appears twice", field, i, l.SKU)
			case l.Quantity < 1 || l.Quantity > open[l.SKU]:
				return reject(order.KindInvalid, "bad_quantity", "%s[%d]: %s can be handed over or refused 1 to %d, asked %d",
					field, i, l.SKU, open[l.SKU], l.Quantity)
			}
			seen[l.SKU] = true
			open[l.SKU] -= l.Quantity
		}
		return nil
	}
	if err := check("refused", refusedQty(req.Refused)); err != nil {
		return err
	}
	return check("lines", req.Lines)
}

func refusedQty(refused []RefusedLine) []order.LineQty {
	out := make([]order.LineQty, len(refused))
	for i, l := range refused {
		out[i] = order.LineQty{SKU: l.SKU, Quantity: l.Quantity}
	}
	return out
}

// collectHandler hands goods over: payment for them is captured and their stock
// committed. Lines the customer refuses go back to the store's stock and their
// authorisation is voided. When nothing is left to hand over the order is
// collected (or cancelled, if everything was refused) and any authorisation
// left over is voided. Every step's key comes from the request, so a retry of
// the same handover repeats nothing and another handover never reuses them.
func (r *orderRun) collectHandler(ctx workflow.Context, req CollectRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateCollect(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o.WithoutPickupCode(), nil
	}
	r.acceptDurably()
	defer func() { r.durableFirst = false }()
	store := r.o.Fulfilment.StoreID

	refused := refusedQty(req.Refused)
	take := req.Lines
	if len(take) == 0 {
		// Everything still held, except what is refused.
		left := map[string]int64{}
		for _, l := range refused {
			left[l.SKU] = l.Quantity
		}
		take = r.lines(func(l order.Line) int64 { return l.Held() - left[l.SKU] })
	}
	by := req.CollectedBy
	by.Name = strings.TrimSpace(by.Name)
	if by.Relation == "" {
		by.Relation = "customer"
	}

	var amount int64
	for _, t := range take {
		amount += t.Quantity * r.o.Line(t.SKU).UnitPrice
	}
	// The money is taken first (rules 3 on): a capture the provider refuses
	// fails the handover before anything has changed (402 payment_failed).
	// With a provider that captures once (Stripe), the capture waits for the
	// handover to be complete and takes everything handed over.
	pay := &r.o.Payments[0]
	captureFirst := r.rules >= rulesCaptureFirst || workflow.GetVersion(ctx, captureFirstChange, workflow.DefaultVersion, 1) == 1
	toCapture := amount
	if r.policy.OneCapture {
		toCapture = 0
		if r.heldAfter(take, refused) == 0 {
			toCapture = r.handedOverValue(take) - pay.Captured
		}
	}
	var capturedNow activities.PaymentResult
	capture := func() error {
		if toCapture <= 0 {
			return nil
		}
		if err := r.exec(ctx, a.Capture, activities.PaymentInput{
			Key: r.step("collect", "capture"), OrderID: r.o.ID, Amount: toCapture, Currency: r.o.Currency, Reference: pay.Reference,
		}, &capturedNow); err != nil {
			return paymentFailed(err)
		}
		pay.Captured += toCapture
		return nil
	}
	if captureFirst {
		if err := capture(); err != nil {
			return order.Order{}, err
		}
	}

	if len(refused) > 0 {
		if err := r.exec(ctx, a.Release, activities.StockInput{
			Key: r.step("collect", "refused-release"), OrderID: r.o.ID, StoreID: store, Lines: refused,
		}, nil); err != nil {
			return order.Order{}, err
		}
		var amount int64
		for _, l := range refused {
			line := r.o.Line(l.SKU)
			line.Refused += l.Quantity
			amount += l.Quantity * line.UnitPrice
		}
		r.event(ctx, req.Actor, EventLinesRefused, map[string]any{"lines": req.Refused, "store_id": store, "amount": amount})
		if err := r.void(ctx, r.step("collect", "refused-void"), amount); err != nil {
			return order.Order{}, err
		}
	}

	if len(take) > 0 {
		if !captureFirst {
			if err := capture(); err != nil {
				return order.Order{}, err
			}
		}
		if err := r.exec(ctx, a.Commit, activities.StockInput{
			Key: r.step("collect", "commit"), OrderID: r.o.ID, StoreID: store, Lines: take,
		}, nil); err != nil {
			return order.Order{}, err
		}
		for _, t := range take {
			r.o.Line(t.SKU).Collected += t.Quantity
		}
	}
	var remaining, collected int64
	for _, l := range r.o.Lines {
		remaining += l.Held()
		collected += l.Collected
	}
	if len(take) > 0 {
		data := map[string]any{"lines": take, "collected_by": by, "store_id": req.StoreID, "complete": remaining == 0}
		r.arrivalWait(ctx, data)
		r.event(ctx, req.Actor, order.EventCollected, data)
	}
	if toCapture > 0 {
		r.capturedEvent(ctx, req.Actor, toCapture, capturedNow, nil)
	}
	template := "collected"
	switch {
	case remaining > 0:
		r.o.Status = order.StatusPartiallyCollected
	case collected > 0:
		r.o.Status = r.handedOverStatus()
	default:
		r.o.Status = order.StatusCancelled
		r.event(ctx, req.Actor, EventCancelled, map[string]any{"reason": "refused_at_counter"})
		template = "cancelled"
	}
	if remaining == 0 {
		if err := r.voidOpen(ctx, r.step("collect", "void")); err != nil {
			return order.Order{}, err
		}
	}
	if len(take) > 0 {
		r.openReturnWindow(ctx)
	}
	returnable := r.o.ReturnableUntil != nil
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	if remaining == 0 && (collected == 0 || !returnable) {
		r.done = true
	}
	if err := r.notify(ctx, template, map[string]any{"amount": amount, "refused": req.Refused}); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// voidOpen voids whatever is still authorised and not captured, as the step key names.
func (r *orderRun) voidOpen(ctx workflow.Context, key string) error {
	return r.void(ctx, key, r.o.Payments[0].Open())
}

// void voids amount of the order's authorisation, under the step key.
func (r *orderRun) void(ctx workflow.Context, key string, amount int64) error {
	if amount <= 0 {
		return nil
	}
	pay := &r.o.Payments[0]
	if err := r.exec(ctx, a.Void, activities.PaymentInput{
		Key: key, OrderID: r.o.ID, Amount: amount, Currency: r.o.Currency, Reference: pay.Reference,
	}, nil); err != nil {
		return err
	}
	pay.Voided += amount
	r.event(ctx, system, order.EventPaymentVoided, map[string]any{"amount": amount, "currency": r.o.Currency})
	return nil
}

// exec runs one activity and waits for its result. Handlers on the fast path
// (placement, pick, collect) run local activities; sagas (cancel, expiry,
// moving the order to another store) set r.durable, so that each step is
// recorded in the workflow's history before it runs and a process that dies
// half-way resumes the saga where it stopped, even when the request that
// started it is gone.
func (r *orderRun) exec(ctx workflow.Context, fn, in, out any) error {
	if !r.projecting {
		r.stepping++
		defer func() {
			r.stepping--
			// News of a failing step being recorded aside finishes first.
			_ = workflow.Await(ctx, func() bool { return !r.asideBusy })
		}()
	}
	if r.durable || r.durableFirst {
		r.durableFirst = false
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions), fn, in).Get(ctx, out)
	}
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), fn, in).Get(ctx, out)
}

// checkOpen refuses changes to an order whose lifecycle has ended, while its
// workflow finishes its last steps.
func (r *orderRun) checkOpen() error {
	if r.done {
		return reject(order.KindConflict, "order_closed", "the order is %s; it can no longer be changed", r.o.Status)
	}
	return nil
}

// Roles, as the API names them (auth.Role).
const (
	roleCheckout = "checkout"
	roleStore    = "store"
	roleSupport  = "support"
	roleCustomer = "customer"
)

// checkRole applies the API's role rule inside the workflow too. Requests
// without a role come from Omni itself (or were sent before roles were).
func checkRole(who Actor, allowed ...string) error {
	if who.Role == "" || slices.Contains(allowed, who.Role) {
		return nil
	}
	return reject(order.KindForbidden, "forbidden", "the %s role may not do this", who.Role)
}

// begin takes the order's turn for the Update being handled and checks its
// request again against the order as it is now. A request carried out before
// (a retry that reached a new run after continue-as-new) comes back as prior:
// the handler answers with the order as it is and does nothing again.
func (r *orderRun) begin(ctx workflow.Context, check func() error) (release func(), prior *HandledRequest, err error) {
	next, err := r.take(ctx)
	if err != nil {
		return nil, nil, err
	}
	r.request = requestID(ctx)
	release = func() { r.request = ""; next() }
	if h, ok := r.handledBefore(ctx); ok {
		return release, &h, nil
	}
	if err := check(); err != nil {
		release()
		return nil, nil, err // the order moved on while the request waited its turn
	}
	return release, nil, nil
}

// checkAwaitingPick lets a store's pick or reject through only for an order
// awaiting pick. While the order's placement still holds its turn, reserving
// the stock, the request is asked to come back (unavailable: the API answers
// 503 and keeps no answer under its Idempotency-Key) rather than refused for
// good: after a crash the placement's workflow task runs again while the read
// model, written by the lost task, already shows the order awaiting pick, and
// a store that picks then would otherwise be refused on every retry.
func (r *orderRun) checkAwaitingPick() error {
	switch {
	case r.o.Status == order.StatusAwaitingPick:
		return nil
	case r.o.Status == order.StatusPlaced && !r.idle():
		return reject(order.KindUnavailable, "not_started", "the order is still being set up; try again in a few seconds")
	}
	return reject(order.KindConflict, "not_awaiting_pick", "the order is %s, not awaiting pick", r.o.Status)
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
// handler returns only after this, so its caller reads its own write. Only
// the holder of the order's turn projects, so projections commit one at a
// time, in seq order, and each event is written by the projection that sent
// it and dropped from the queue only then.
func (r *orderRun) project(ctx workflow.Context) error {
	r.o.SyncCollect()
	r.o.Version++
	r.o.UpdatedAt = workflow.Now(ctx).UTC()
	sent := len(r.pending)
	r.projecting = true
	err := r.exec(ctx, a.Project, activities.ProjectInput{Order: r.o, Events: r.pending[:sent:sent], Seq: r.seq}, nil)
	r.projecting = false
	if err != nil {
		return err
	}
	r.pending = r.pending[sent:]
	return nil
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
