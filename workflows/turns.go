package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/internal/order"
)

// One way to take turns. Every Update handler, business clock and coroutine
// that changes the order (placement, pick, collect, cancel, extend, reject,
// returns, exchanges, expiry, reminders, escalation, lockout and notification
// records) takes the order's turn before it reads the state it acts on and
// holds it until its last step is done. Turns are served first come, first
// served. A handler checks its request again once it has the turn: the order
// may have moved on while it waited, and then the request fails as its
// validator would have refused it.
//
//	request ──validator──▶ accepted ──take()──▶ check again ──▶ steps ──▶ release
//	                          │                      │
//	                          └─ waits its turn      └─ refused: the order moved on

// turn hands out the order's turn: each taker gets the next ticket and waits
// until it is served.
type turn struct{ next, serving int64 }

// take waits for the order's turn; release gives it to the next in line.
func (r *orderRun) take(ctx workflow.Context) (release func(), err error) {
	ticket := r.turn.next
	r.turn.next++
	if err := workflow.Await(ctx, func() bool { return r.turn.serving == ticket }); err != nil {
		return nil, err // the workflow is being cancelled: nothing runs after this
	}
	released := false
	return func() {
		if !released {
			released = true
			r.turn.serving++
		}
	}, nil
}

// idle reports that nobody holds or waits for the order's turn.
func (r *orderRun) idle() bool { return r.turn.serving == r.turn.next }

// HandledRequest is a request the order has carried out: its Update ID (from
// the caller's Idempotency-Key) and what it made (a return's or exchange's id).
type HandledRequest struct {
	ID  string `json:"id"`
	Ref string `json:"ref,omitempty"`
}

// maxHandled bounds the requests an order remembers. Within one run Temporal
// itself answers a repeated Update ID with the first outcome; this list
// carries that across continue-as-new, where Temporal's memory of Update IDs
// ends.
const maxHandled = 200

// requestID is the ID of the Update being handled; call it only from an
// Update's validator or handler.
func requestID(ctx workflow.Context) string {
	if info := workflow.GetCurrentUpdateInfo(ctx); info != nil {
		return info.ID
	}
	return ""
}

// handledBefore finds the Update being validated or handled among the
// requests already carried out.
func (r *orderRun) handledBefore(ctx workflow.Context) (HandledRequest, bool) {
	id := requestID(ctx)
	for _, h := range r.handled {
		if h.ID == id {
			return h, true
		}
	}
	return HandledRequest{}, false
}

// remember records that the request holding the turn was carried out.
func (r *orderRun) remember(ref string) {
	id := r.request
	if id == "" {
		return
	}
	r.handled = append(r.handled, HandledRequest{ID: id, Ref: ref})
	if len(r.handled) > maxHandled {
		r.handled = r.handled[len(r.handled)-maxHandled:]
	}
}

// step is the idempotency key of one step of the request holding the turn:
// the order, the action, the request's identity and the step, the same on
// every retry of the request and after a crash, and different for another
// request. Steps of clocks (no request) are named by the action alone: each
// clock acts once.
func (r *orderRun) step(action, step string) string {
	if r.request != "" {
		return r.key(action + "/" + r.request + "/" + step)
	}
	return r.key(action + "-" + step)
}

// RunState is what an order's workflow carries into its next run when it
// continues as new: everything the order's lifecycle needs beyond the order
// itself.
type RunState struct {
	Seq            int64            `json:"seq"`
	Pending        []order.Event    `json:"pending,omitempty"`
	Tried          []string         `json:"tried"`
	AssignedAt     time.Time        `json:"assigned_at"`
	PickReminded   bool             `json:"pick_reminded,omitempty"`
	Escalated      bool             `json:"escalated,omitempty"`
	PickupReminded bool             `json:"pickup_reminded,omitempty"`
	Extended       bool             `json:"extended,omitempty"`
	RemindAt       time.Time        `json:"remind_at"`
	Takebacks      int              `json:"takebacks,omitempty"`
	Outbox         []QueuedNotice   `json:"outbox,omitempty"`
	NotifyAttempt  int              `json:"notify_attempt,omitempty"`
	Handled        []HandledRequest `json:"handled,omitempty"`
	Runs           int              `json:"runs"`
	TransferLate   bool             `json:"transfer_late,omitempty"`
	Contacted      []string         `json:"contacted,omitempty"`
}

// DefaultHistoryBudget is the number of history events past which an order's
// workflow continues as new. Temporal warns at 10,240 events and terminates a
// workflow at 51,200.
const DefaultHistoryBudget = 8000

// overBudget reports that the run's history has reached its budget (or that
// the server suggests continuing as new).
func (r *orderRun) overBudget(ctx workflow.Context) bool {
	if !r.exactlyOnce {
		return false // orders started before the budget keep their single run
	}
	budget := r.policy.HistoryBudget
	if budget <= 0 {
		budget = DefaultHistoryBudget
	}
	info := workflow.GetInfo(ctx)
	return info.GetCurrentHistoryLength() >= budget || info.GetContinueAsNewSuggested()
}

// continueAsNew waits for a quiet point (no Update in flight or waiting, no
// notification being sent, no signal unread, every event projected), then
// continues the order as a new run carrying its state. It returns the
// ContinueAsNewError that ends this run, or nil when the order's lifecycle
// ended while it waited.
func (r *orderRun) continueAsNew(ctx workflow.Context) error {
	quiet := func() bool {
		return r.idle() && !r.sending && workflow.AllHandlersFinished(ctx) && len(r.pending) == 0 &&
			r.lockouts.Len() == 0 && r.lookups.Len() == 0 && r.settlements.Len() == 0 && r.retries.Len() == 0 &&
			r.contacts.Len() == 0
	}
	for {
		if err := workflow.Await(ctx, func() bool {
			return quiet() || (r.idle() && !r.sending && len(r.pending) > 0)
		}); err != nil {
			return err
		}
		if len(r.pending) == 0 {
			break // quiet
		}
		// A projection of an aside event failed: write it before leaving.
		release, err := r.take(ctx)
		if err != nil {
			return err
		}
		err = r.project(ctx)
		release()
		if err != nil {
			return err
		}
	}
	if r.done {
		return nil // the lifecycle ended meanwhile: the workflow finishes in this run
	}
	st := r.state()
	workflow.GetLogger(ctx).Info("order continues as new", "order_id", r.o.ID,
		"history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "run", st.Runs)
	// The next run is new code's: it starts on the current rules.
	return workflow.NewContinueAsNewError(ctx, OrderWorkflow, OrderInput{Order: r.o, Policy: r.policy, State: &st, Rules: CurrentRules})
}

// state is the run's state for the next run.
func (r *orderRun) state() RunState {
	st := RunState{
		Seq: r.seq, Pending: r.pending, Tried: r.tried, AssignedAt: r.assignedAt,
		PickReminded: r.pickReminded, Escalated: r.escalated, PickupReminded: r.pickupReminded, Extended: r.extended,
		RemindAt: r.remindAt, Takebacks: r.takebacks, Outbox: r.outbox, NotifyAttempt: r.notifyAttempt,
		Handled: r.handled, Runs: r.runs + 1, TransferLate: r.transferLate, Contacted: r.contacted,
	}
	return st
}

// acceptDurably makes the Update being handled part of the order's history
// before its first effect. An Update is accepted within a workflow task, and
// the task's local activities (a handover's capture and commit, its
// projection) run before that task completes: a worker that died then would
// leave money moved and stock committed for a request the order never
// recorded, and a retry with another request would move them again. So the
// request's first step runs as a durable activity: scheduling it completes
// the accepting task, and from then on a crash only repeats the request's own
// steps, under the same keys. (A durable timer would do the same for one
// event less, but a timer waits for the server's timer queue, about a second.)
func (r *orderRun) acceptDurably() {
	r.durableFirst = r.exactlyOnce
}
