package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// readyAt is when placedOrder is ready once picked at one minute; its hold
// ends policy.PickupHold later.
var expiresAfter = time.Minute + policy.PickupHold

// slowRelease makes the expiry saga's release take ten minutes of workflow
// time, so that requests can arrive while it runs.
func (h *harness) slowRelease() {
	h.env.OnActivity("Release", mock.Anything, mock.Anything).After(10 * time.Minute).Return(nil)
}

// updateWithID sends an Update with the given Update ID (the API derives it
// from the caller's Idempotency-Key; "" lets the test suite choose one).
func (h *harness) updateWithID(at time.Duration, id, name string, arg any) *outcome {
	out := &outcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { out.rejected = err; out.done = true },
			OnComplete: func(v any, err error) {
				out.err, out.done = err, true
				switch r := v.(type) {
				case order.Order:
					out.result = r
				case workflows.TakeBackResult:
					out.result, out.id = r.Order, r.ID
				}
			},
		}, arg)
	}, at)
	return out
}

func failed(t *testing.T, o *outcome) string {
	t.Helper()
	require.True(t, o.done, "the request was answered")
	if o.rejected != nil {
		return rejectionType(t, o.rejected)
	}
	require.Error(t, o.err, "the request failed")
	return rejectionType(t, o.err)
}

func pickAll() workflows.PickRequest {
	return pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1})
}

func extendReq(role string) workflows.ExtendPickupRequest {
	return workflows.ExtendPickupRequest{Actor: workflows.Actor{Channel: "web", Actor: "ada", Role: role}}
}

// An extension that arrives while the expiry saga runs waits its turn and is
// refused: the order has expired. (It used to answer "extended" and expire.)
func TestExtendDuringExpiryIsRefused(t *testing.T) {
	h := newHarness(t)
	h.slowRelease()
	h.update(time.Minute, workflows.UpdatePick, pickAll())
	ext := h.update(expiresAfter+time.Minute, workflows.UpdateExtendPickup, extendReq("customer"))
	h.run(placedOrder())

	require.Equal(t, "conflict/order_closed", failed(t, ext))
	require.Equal(t, order.StatusExpired, h.f.last().Status)
	require.NotContains(t, h.f.eventTypes(), workflows.EventPickupExtended)
	checkProjection(t, h.f)
}

// A handover that arrives during the expiry saga (behind an extension that
// arrived first) never runs beside it: nothing is captured after the release.
func TestHandoverDuringExpiryNeverRunsBesideIt(t *testing.T) {
	h := newHarness(t)
	h.slowRelease()
	h.update(time.Minute, workflows.UpdatePick, pickAll())
	ext := h.update(expiresAfter+time.Minute, workflows.UpdateExtendPickup, extendReq("support"))
	var handover *outcome
	h.env.RegisterDelayedCallback(func() {
		handover = h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code))
	}, expiresAfter+2*time.Minute)
	h.run(placedOrder())

	require.Equal(t, "conflict/order_closed", failed(t, ext))
	require.Equal(t, "conflict/order_closed", failed(t, handover))
	require.Zero(t, h.f.captured, "nothing was captured")
	require.EqualValues(t, 2500, h.f.voided, "the whole authorisation was voided by the expiry")
	require.Equal(t, order.StatusExpired, h.f.last().Status)
	checkProjection(t, h.f)
}

// A customer may cancel only before the pick, also when the cancel races the
// pick: both are accepted at once, the pick goes first, and the customer's
// cancel is refused once it has its turn.
func TestCustomerCancelRacingPickIsRefused(t *testing.T) {
	h := newHarness(t)
	picked := h.update(time.Minute, workflows.UpdatePick, pickAll())
	cancel := h.update(time.Minute, workflows.UpdateCancel,
		workflows.CancelRequest{Actor: workflows.Actor{Channel: "web", Actor: "ada", Role: "customer"}})
	var after order.Status
	var voided int64
	h.env.RegisterDelayedCallback(func() { after, voided = h.f.last().Status, h.f.voided }, 2*time.Minute)
	h.run(placedOrder())

	require.NoError(t, picked.err)
	require.Equal(t, "conflict/too_late_to_cancel", failed(t, cancel))
	require.Equal(t, order.StatusReadyForCollection, after)
	require.Zero(t, voided)
}

// The contact centre may still cancel a picked order; a store may not cancel.
func TestCancelRolesInTheWorkflow(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pickAll())
	byStore := h.update(time.Hour, workflows.UpdateCancel,
		workflows.CancelRequest{Actor: workflows.Actor{Channel: "pos", Actor: "store-001", Role: "store"}})
	bySupport := h.update(2*time.Hour, workflows.UpdateCancel,
		workflows.CancelRequest{Actor: workflows.Actor{Channel: "contact_centre", Actor: "agent-7", Role: "support"}})
	h.run(placedOrder())

	require.Equal(t, "forbidden/forbidden", failed(t, byStore))
	require.NoError(t, bySupport.err)
	require.Equal(t, order.StatusCancelled, h.f.last().Status)
}

// Two handlers accepted together each write their events exactly once, in
// seq order: an extension and a handover at the same moment both reach the
// timeline. (An extension used to run beside the handover and lose events.)
func TestConcurrentHandlersWriteEverySeqOnce(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pickAll())
	var partial, ext *outcome
	h.env.RegisterDelayedCallback(func() {
		partial = h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code, order.LineQty{SKU: "B", Quantity: 1}))
		ext = h.update(0, workflows.UpdateExtendPickup, extendReq("support"))
	}, time.Hour)
	h.run(placedOrder())

	require.NoError(t, partial.err)
	require.NoError(t, ext.err)
	types := h.f.eventTypes()
	require.Contains(t, types, order.EventCollected)
	require.Contains(t, types, workflows.EventPickupExtended)
	checkProjection(t, h.f)
}

// Step keys come from the request: two handovers capture under their own
// keys, and a retried request (the same Update ID) captures nothing again.
func TestStepKeysComeFromTheRequest(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pickAll())
	var first, retry, second *outcome
	h.env.RegisterDelayedCallback(func() {
		code := h.f.last().Pickup.Code
		first = h.updateWithID(0, "req-k1", workflows.UpdateCollect, collect("store-001", code, order.LineQty{SKU: "B", Quantity: 1}))
		retry = h.updateWithID(time.Minute, "req-k1", workflows.UpdateCollect, collect("store-001", code, order.LineQty{SKU: "B", Quantity: 1}))
		second = h.updateWithID(2*time.Minute, "req-k2", workflows.UpdateCollect, collect("store-001", code))
	}, time.Hour)
	h.run(placedOrder())

	require.NoError(t, first.err)
	require.NoError(t, retry.err, "a retry gets the first outcome")
	require.NoError(t, second.err)
	require.Equal(t, []string{"o-1/collect/req-k1/capture", "o-1/collect/req-k2/capture"}, h.f.captureKeys)
	require.EqualValues(t, 2500, h.f.captured, "each unit captured once")
	require.Equal(t, order.StatusCollected, h.f.last().Status)
}

// A hold that ends on a part-collected order keeps what was handed over:
// sold, paid and returnable. Only the rest is released and its authorisation
// voided, and the order ends collected, with the rest cancelled on the
// timeline. (It used to expire, and the collected goods lost their returns.)
func TestPartlyCollectedOrderKeepsWhatWasHandedOver(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pickAll())
	var partial *outcome
	h.env.RegisterDelayedCallback(func() {
		partial = h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code, order.LineQty{SKU: "A", Quantity: 2}))
	}, time.Hour)
	ret := h.update(expiresAfter+day, workflows.UpdateReturn, returnReq("store-002", back("A", 1, "resellable")))
	h.run(placedOrder())

	require.NoError(t, partial.err)
	require.NoError(t, ret.err, "what was handed over can still be returned after the hold ended")
	got := h.f.last()
	require.Equal(t, order.StatusPartiallyReturned, got.Status)
	require.EqualValues(t, 2000, h.f.captured)
	require.EqualValues(t, 500, h.f.voided, "only the uncollected B was voided")
	require.EqualValues(t, 1, h.f.released["B"], "only the uncollected B went back on sale")
	require.EqualValues(t, 1, got.Line("B").Uncollected)
	require.Zero(t, got.Line("B").Held())
	require.EqualValues(t, 1000, h.f.refunded)
	types := h.f.eventTypes()
	require.Contains(t, types, workflows.EventLinesCancelled)
	require.NotContains(t, types, workflows.EventExpired)
	checkProjection(t, h.f)
}

// A notification the provider refuses for good is recorded once and dropped:
// the order goes on and ends.
func TestRefusedNotificationIsDroppedAtOnce(t *testing.T) {
	h := newHarness(t)
	h.f.notesRefused = true
	h.update(time.Minute, workflows.UpdateCancel, cancelReq(""))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	var failures []map[string]any
	for _, e := range h.f.events {
		if e.Type == workflows.EventNotificationFailed {
			failures = append(failures, e.Data)
		}
	}
	require.Len(t, failures, 1)
	require.Equal(t, "permanent", failures[0]["outcome"])
}

// A notification that keeps failing is given up after the give-up time; the
// order still ends, and a return never waits for its message.
func TestFailingNotificationsNeverHoldUpTheOrder(t *testing.T) {
	h := newHarness(t)
	h.policy.NotifyGiveUp = 6 * time.Hour
	h.f.failNotes = 1 << 30
	h.collectedOrder()
	ret := h.update(day, workflows.UpdateReturn, returnReq("store-002", back("A", 2, "resellable"), back("B", 1, "resellable")))
	var retAnsweredBy time.Time
	h.env.RegisterDelayedCallback(func() {
		require.True(t, ret.done, "the return is answered at once")
		retAnsweredBy = h.env.Now()
	}, day+time.Minute)
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted(), "the order ends although no message was ever sent")
	require.NoError(t, h.env.GetWorkflowError())
	require.NoError(t, ret.err)
	require.False(t, retAnsweredBy.IsZero())
	require.Equal(t, order.StatusReturned, h.f.last().Status)
	gaveUp := 0
	events := 0
	for _, e := range h.f.events {
		if e.Type == workflows.EventNotificationFailed {
			events++
			if e.Data["outcome"] == "gave_up" {
				gaveUp++
			}
		}
	}
	require.Equal(t, 3, gaveUp, "ready, collected and refunded were each given up")
	require.Less(t, events, 40, "the timeline is not flooded")
	require.Empty(t, h.f.notified)
}

// runChain runs an order through as many runs as it continues as new, and
// returns the number of runs. each registers the run's callbacks, given the
// run's start.
func runChain(t *testing.T, f *fakes, p workflows.Policy, o order.Order, each func(h *harness, runStart time.Time)) int {
	t.Helper()
	in := workflows.OrderInput{Order: o, Policy: p, Rules: workflows.CurrentRules}
	start := testStart
	for runs := 1; ; runs++ {
		require.Less(t, runs, 50, "the order ends")
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterWorkflow(workflows.OrderWorkflow)
		env.RegisterWorkflow(workflows.ReturnWorkflow)
		env.RegisterActivity(f.activities())
		h := &harness{t: t, env: env, f: f, policy: p}
		each(h, start)
		env.SetTestTimeout(30 * time.Second)
		env.SetStartTime(start)
		env.ExecuteWorkflow(workflows.OrderWorkflow, in)
		require.True(t, env.IsWorkflowCompleted())
		err := env.GetWorkflowError()
		if err == nil {
			return runs
		}
		var can *workflow.ContinueAsNewError
		require.ErrorAs(t, err, &can, "the run ends or continues as new")
		var next workflows.OrderInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
		require.NotNil(t, next.State, "the state is carried over")
		in, start = next, env.Now()
	}
}

// An order lives through 30 days of failing notifications and 50 store
// actions, continuing as new whenever its history reaches its budget, and
// still takes a return at the end: nothing is lost across runs and every
// timeline seq is written once.
func TestLongLivedOrderContinuesAsNewAndStillTakesAReturn(t *testing.T) {
	f := newFakes()
	f.failNotes = 1 << 30
	p := policy
	p.HistoryBudget = 1000
	o := placedOrder()
	o.Lines = []order.Line{{SKU: "A", Quantity: 60, UnitPrice: 100}}
	o.Payments[0].Authorized = 6000

	type action struct {
		at   time.Duration
		id   string
		name string
		arg  func() any
	}
	var actions []action
	actions = append(actions, action{time.Minute, "req-pick", workflows.UpdatePick,
		func() any { return pick("store-001", order.LineQty{SKU: "A", Quantity: 60}) }})
	actions = append(actions, action{time.Hour, "req-collect", workflows.UpdateCollect,
		func() any { return collect("store-001", f.last().Pickup.Code) }})
	for i := range 48 { // returns of one unit each, every 14 hours
		store := []string{"store-002", "store-003"}[i%2]
		actions = append(actions, action{2*time.Hour + time.Duration(i)*14*time.Hour, fmt.Sprintf("req-return-%d", i),
			workflows.UpdateReturn, func() any { return returnReq(store, back("A", 1, "resellable")) }})
	}
	final := action{29 * day, "req-return-final", workflows.UpdateReturn,
		func() any { return returnReq("store-002", back("A", 12, "damaged")) }}
	actions = append(actions, final)
	// The test suite does not count history events, so the run's history
	// length is set here as it grows on a server: about 3 events an hour of
	// notification retries and store actions, so a run reaches the budget of
	// 1,000 events after about two weeks.
	outcomes := map[string]*outcome{}
	historyAt := func(d time.Duration) int { return int(d/time.Hour) * 3 }

	runs := runChain(t, f, p, o, func(h *harness, runStart time.Time) {
		elapsed := runStart.Sub(testStart)
		for _, a := range actions {
			if _, done := outcomes[a.id]; done && outcomes[a.id].done {
				continue
			}
			if a.at < elapsed {
				continue
			}
			a := a
			h.env.RegisterDelayedCallback(func() {
				outcomes[a.id] = h.updateWithID(0, a.id, a.name, a.arg())
			}, a.at-elapsed)
		}
		// The run's history: what has happened since it started.
		for d := 12 * time.Hour; d < 31*day; d += 12 * time.Hour {
			d := d
			h.env.RegisterDelayedCallback(func() { h.env.SetCurrentHistoryLength(historyAt(d)) }, d)
		}
	})

	require.Greater(t, runs, 2, "the order continued as new")
	for _, a := range actions {
		require.Contains(t, outcomes, a.id)
		require.True(t, outcomes[a.id].done, "%s answered", a.id)
		require.NoError(t, outcomes[a.id].err, "%s", a.id)
		require.NoError(t, outcomes[a.id].rejected, "%s", a.id)
	}
	got := f.last()
	require.Equal(t, order.StatusReturned, got.Status)
	require.EqualValues(t, 60, got.Line("A").Returned)
	require.Len(t, got.Returns, 49)
	require.EqualValues(t, 6000, f.refunded, "every unit refunded once")
	require.Empty(t, f.notified, "no message ever got through")
	checkProjection(t, f)
}

// A return retried after the order continued as new gets its first outcome
// (the same return id) and refunds nothing again.
func TestRetryAfterContinueAsNewGetsTheFirstOutcome(t *testing.T) {
	f := newFakes()
	p := policy
	p.HistoryBudget = 500
	first := map[int]*outcome{}
	runChain(t, f, p, placedOrder(), func(h *harness, runStart time.Time) {
		switch runStart {
		case testStart:
			h.update(time.Minute, workflows.UpdatePick, pickAll())
			h.env.RegisterDelayedCallback(func() {
				h.update(0, workflows.UpdateCollect, collect("store-001", f.last().Pickup.Code))
			}, time.Hour)
			first[0] = h.updateWithID(day, "req-return-1", workflows.UpdateReturn, returnReq("store-002", back("A", 1, "resellable")))
			h.env.RegisterDelayedCallback(func() { h.env.SetCurrentHistoryLength(600) }, 2*day)
		default:
			if first[1] == nil {
				first[1] = h.updateWithID(time.Hour, "req-return-1", workflows.UpdateReturn, returnReq("store-002", back("A", 1, "resellable")))
				first[2] = h.updateWithID(2*time.Hour, "req-return-2", workflows.UpdateReturn, returnReq("store-002", back("A", 1, "resellable")))
			}
		}
	})
	require.NoError(t, first[0].err)
	require.NoError(t, first[1].err)
	require.NoError(t, first[1].rejected)
	require.Equal(t, first[0].id, first[1].id, "the retry answers with the first return's id")
	require.NoError(t, first[2].err)
	require.NotEqual(t, first[0].id, first[2].id)
	require.EqualValues(t, 2000, f.refunded, "two returns of one unit each, not three")
	require.Len(t, f.last().Returns, 2)
}

// Exchanged-in items are priced from the price list: an item without a price
// is refused, a caller's price that differs is refused, and one left out is
// taken from the list.
func TestExchangePricesComeFromThePriceList(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	noPrice := h.update(day, workflows.UpdateExchange, exchangeReq("store-002", nil, []order.ReturnLine{back("A", 1, "resellable")},
		order.ExchangeLine{SKU: "TV-65", Quantity: 1, UnitPrice: 1}))
	cheap := h.update(day+time.Minute, workflows.UpdateExchange, exchangeReq("store-002", nil, []order.ReturnLine{back("A", 1, "resellable")},
		order.ExchangeLine{SKU: "C", Quantity: 1, UnitPrice: 1}))
	listed := h.update(day+2*time.Minute, workflows.UpdateExchange, exchangeReq("store-002", nil, []order.ReturnLine{back("A", 1, "resellable")},
		order.ExchangeLine{SKU: "E", Quantity: 1}))
	h.run(placedOrder())

	require.Equal(t, "conflict/no_price", failed(t, noPrice))
	require.Equal(t, "invalid/price_mismatch", failed(t, cheap))
	require.NoError(t, listed.err)
	x := h.f.last().Exchanges
	require.Len(t, x, 1)
	require.EqualValues(t, 300, x[0].NewLines[0].UnitPrice, "the list's price")
	require.EqualValues(t, -700, x[0].Difference)
	require.EqualValues(t, 700, h.f.refunded, "refunded against the list price, never the caller's")
}

// An order whose lifecycle ends while it waits to continue as new ends in
// that run instead of carrying an ended order into a new one.
func TestLifecycleEndingAtTheBudgetEndsTheRun(t *testing.T) {
	f := newFakes()
	p := policy
	p.HistoryBudget = 500
	var cancelled *outcome
	runs := runChain(t, f, p, placedOrder(), func(h *harness, runStart time.Time) {
		if runStart != testStart {
			return
		}
		// The budget is reached while the cancel holds the order's turn.
		h.env.OnActivity("ClosePickTask", mock.Anything, mock.Anything).After(time.Minute).Return(nil)
		cancelled = h.update(time.Hour, workflows.UpdateCancel, cancelReq("changed my mind"))
		h.env.RegisterDelayedCallback(func() { h.env.SetCurrentHistoryLength(600) }, time.Hour+30*time.Second)
	})
	require.Equal(t, 1, runs, "the order ended in its first run")
	require.NoError(t, cancelled.err)
	require.Equal(t, order.StatusCancelled, f.last().Status)
}
