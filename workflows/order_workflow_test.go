package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// fakes is an in-memory stand-in for the systems the activities call.
type fakes struct {
	mu        sync.Mutex
	short     map[string]bool // SKUs no store has
	shortAt   map[string]bool // "store/SKU" a store lacks
	held      map[string]int64
	heldAt    map[string]map[string]int64 // store → SKU → held
	committed map[string]int64
	released  map[string]int64
	tasks     map[string]string // order → pick task status
	taskStore map[string]string // order → store of its pick task
	captured  int64
	voided    int64
	refunded  int64
	charged   int64
	restocked map[string]int64 // "store/SKU" → units
	writeOffs map[string]int64 // "store/SKU" → units
	prices    map[string]int64 // the price list in GBP
	// captureKeys are the step keys of the captures, in order.
	captureKeys []string
	// notesRefused makes every notification fail for good (the provider refuses it).
	notesRefused bool
	returns      []order.Exchange
	notified     []string
	notes        []activities.Notification
	failNotes    int // notifications to refuse before taking them
	projected    []order.Order
	events       []order.Event
	shipments    []activities.ShipmentRequest
	// refuseCapture makes the provider refuse every capture (409 authorization_expired).
	refuseCapture      bool
	cancelledShipments []string
}

func newFakes() *fakes {
	return &fakes{short: map[string]bool{}, shortAt: map[string]bool{}, held: map[string]int64{},
		heldAt: map[string]map[string]int64{}, committed: map[string]int64{},
		released: map[string]int64{}, tasks: map[string]string{}, taskStore: map[string]string{},
		restocked: map[string]int64{}, writeOffs: map[string]int64{},
		prices: map[string]int64{"A-LARGE": 1000, "C": 1500, "E": 300, "F": 1000}}
}

func (f *fakes) UnitPrices(_ context.Context, currency string, skus []string) (map[string]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int64{}
	for _, sku := range skus {
		if p, ok := f.prices[sku]; ok && currency == "GBP" {
			out[sku] = p
		}
	}
	return out, nil
}

func (f *fakes) Reserve(_ context.Context, _, _, store string, lines []order.LineQty, _ int64) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var short []string
	for _, l := range lines {
		if f.short[l.SKU] || f.shortAt[store+"/"+l.SKU] {
			short = append(short, l.SKU)
		}
	}
	if len(short) > 0 {
		return short, nil
	}
	if f.heldAt[store] == nil {
		f.heldAt[store] = map[string]int64{}
	}
	for _, l := range lines {
		f.held[l.SKU] += l.Quantity
		f.heldAt[store][l.SKU] += l.Quantity
	}
	return nil, nil
}

// settle takes lines (nil: all the order holds at the store) off the store's holding.
func (f *fakes) settle(store string, lines []order.LineQty, into map[string]int64) {
	if lines == nil {
		for sku, n := range f.heldAt[store] {
			if n > 0 {
				lines = append(lines, order.LineQty{SKU: sku, Quantity: n})
			}
		}
	}
	for _, l := range lines {
		f.held[l.SKU] -= l.Quantity
		f.heldAt[store][l.SKU] -= l.Quantity
		into[l.SKU] += l.Quantity
	}
}

func (f *fakes) Release(_ context.Context, _, _, store string, lines []order.LineQty) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle(store, lines, f.released)
	return nil
}

func (f *fakes) Commit(_ context.Context, _, _, store string, lines []order.LineQty) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle(store, lines, f.committed)
	return nil
}

// heldAtStore is the units an order holds at a store.
func (f *fakes) heldAtStore(store string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, q := range f.heldAt[store] {
		n += q
	}
	return n
}

func (f *fakes) OpenPickTask(_ context.Context, t activities.PickTask) error {
	orderID, store := t.OrderID, t.StoreID
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks[orderID] = "open"
	f.taskStore[orderID] = store
	f.tasks[orderID+"@"+store] = "open" // a split order has a task at each of its stores
	return nil
}

func (f *fakes) ClosePickTask(_ context.Context, orderID, store, status string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tasks[orderID+"@"+store]; !ok {
		return errors.New("closing the pick task of another store")
	}
	f.tasks[orderID+"@"+store] = status
	if f.taskStore[orderID] == store {
		f.tasks[orderID] = status
	}
	return nil
}

func (f *fakes) Capture(_ context.Context, key, _ string, amount int64, _, _ string) (activities.PaymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuseCapture {
		return activities.PaymentResult{}, order.Errorf(order.KindConflict, "authorization_expired", "the authorisation has expired")
	}
	f.captureKeys = append(f.captureKeys, key)
	f.captured += amount
	return activities.PaymentResult{Status: activities.PaymentSucceeded}, nil
}

func (f *fakes) Void(_ context.Context, _, _ string, amount int64, _, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.voided += amount
	return nil
}

func (f *fakes) Refund(_ context.Context, _, _ string, amount int64, _, _ string) (activities.PaymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunded += amount
	return activities.PaymentResult{Status: activities.PaymentSucceeded}, nil
}

func (f *fakes) Charge(_ context.Context, _, _ string, amount int64, _, _ string) (activities.PaymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.charged += amount
	return activities.PaymentResult{Status: activities.PaymentSucceeded}, nil
}

func (f *fakes) RecordReturn(_ context.Context, _ string, x order.Exchange) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.returns = append(f.returns, x)
	return nil
}

func (f *fakes) Restock(_ context.Context, _, _, store string, lines []order.LineQty) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range lines {
		f.restocked[store+"/"+l.SKU] += l.Quantity
	}
	return nil
}

func (f *fakes) WriteOff(_ context.Context, _, _, store string, lines []order.LineQty, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range lines {
		f.writeOffs[store+"/"+l.SKU] += l.Quantity
	}
	return nil
}

func (f *fakes) Notify(_ context.Context, n activities.Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notesRefused {
		return order.Errorf(order.KindInvalid, "notification_rejected", "sms provider: 400 invalid number")
	}
	if f.failNotes > 0 {
		f.failNotes--
		return errors.New("smtp: 451 try again later")
	}
	f.notified = append(f.notified, n.Template)
	f.notes = append(f.notes, n)
	return nil
}

func (f *fakes) Project(_ context.Context, o order.Order, events []order.Event, _ int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A copy, as the real projection writes one: the workflow goes on changing its own.
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	var snapshot order.Order
	if err := json.Unmarshal(b, &snapshot); err != nil {
		return err
	}
	f.projected = append(f.projected, snapshot)
	f.events = append(f.events, events...)
	return nil
}

func (f *fakes) last() order.Order {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.projected[len(f.projected)-1]
}

func (f *fakes) eventTypes() []string {
	out := make([]string, len(f.events))
	for i, e := range f.events {
		out[i] = e.Type
	}
	return out
}

var policy = workflows.Policy{PickDeadline: 4 * time.Hour, PickupHold: 120 * time.Hour, PickupExtension: 48 * time.Hour,
	PickupReminder: 72 * time.Hour, ReturnWindow: 720 * time.Hour, PickEscalation: 8 * time.Hour,
	ReassignOnEscalation: true, Reassign: []string{"store-002", "store-003"}}

func placedOrder() order.Order {
	return order.Order{
		ID: "o-1", Number: "100001", Status: order.StatusPlaced, Channel: "web",
		Customer: order.Customer{Email: "ada@example.com"}, Currency: "GBP",
		Fulfilment: order.Fulfilment{Type: "collect", StoreID: "store-001"},
		Lines:      []order.Line{{SKU: "A", Quantity: 2, UnitPrice: 1000}, {SKU: "B", Quantity: 1, UnitPrice: 500}},
		Pickup:     order.Pickup{StoreID: "store-001"},
		Payments:   []order.Payment{{Method: "card", Reference: "psp-1", Authorized: 2500}},
		Version:    1,
		CreatedAt:  testStart,
	}
}

type harness struct {
	rules  int // OrderInput.Rules: new orders' by default
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	f      *fakes
	policy workflows.Policy
}

func newHarness(t *testing.T) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := newFakes()
	env.RegisterWorkflow(workflows.OrderWorkflow)
	env.RegisterWorkflow(workflows.ReturnWorkflow)
	env.RegisterActivity(f.activities())
	return &harness{t: t, env: env, f: f, policy: policy, rules: workflows.CurrentRules}
}

// activities are the fakes as the worker registers its systems.
func (f *fakes) activities() *activities.Activities {
	return &activities.Activities{Inventory: f, Stores: f, Payments: f, Returns: f, Notifier: f, Projector: f, Prices: f,
		Carrier: f, Shipments: f, Locations: testLocations, Logger: slog.New(slog.DiscardHandler)}
}

// outcome is what happened to one Update.
type outcome struct {
	rejected error
	result   order.Order
	id       string // a return's or exchange's id
	err      error
	done     bool
}

// update sends an Update at the given point of workflow time, under an Update
// ID of the test suite's choosing.
func (h *harness) update(at time.Duration, name string, arg any) *outcome {
	return h.updateWithID(at, "", name, arg)
}

// run executes the workflow; it ends when the order's lifecycle ends or, for an
// order left waiting, when the test's callbacks are done.
func (h *harness) run(o order.Order) {
	h.env.SetTestTimeout(10 * time.Second)
	h.env.SetStartTime(testStart)
	h.env.ExecuteWorkflow(workflows.OrderWorkflow, workflows.OrderInput{Order: o, Policy: h.policy, Rules: h.rules})
}

func rejectionType(t *testing.T, err error) string {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "rejection is an application error: %v", err)
	return appErr.Type()
}

func pick(store string, lines ...order.LineQty) workflows.PickRequest {
	return workflows.PickRequest{Actor: workflows.Actor{Channel: "pos", Actor: "store:" + store}, StoreID: store, Lines: lines}
}

func collect(store, code string, lines ...order.LineQty) workflows.CollectRequest {
	return workflows.CollectRequest{Actor: workflows.Actor{Channel: "pos", Actor: "store:" + store}, StoreID: store,
		PickupCode: code, Lines: lines}
}

func checkProjection(t *testing.T, f *fakes) {
	t.Helper()
	for i := 1; i < len(f.projected); i++ {
		require.Greater(t, f.projected[i].Version, f.projected[i-1].Version, "versions strictly increase")
	}
	for i, e := range f.events {
		require.Equal(t, int64(i+2), e.Seq, "event seqs are contiguous after the API's 'placed' (seq 1)")
		require.NotEmpty(t, e.Channel)
		require.NotEmpty(t, e.Actor)
	}
}

func TestNoStockRejects(t *testing.T) {
	h := newHarness(t)
	h.f.short["B"] = true
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	got := h.f.last()
	require.Equal(t, order.StatusRejected, got.Status)
	require.EqualValues(t, 2500, h.f.voided, "the whole authorisation is voided")
	require.Zero(t, h.f.captured)
	require.Empty(t, h.f.tasks, "no pick task for an order without stock")
	require.Equal(t, []string{"no_stock", "no_stock", "no_stock", "payment_voided", "rejected"}, h.f.eventTypes(),
		"every store of the policy is tried")
	require.Equal(t, []string{"rejected"}, h.f.notified)
	checkProjection(t, h.f)
}

func TestHappyPath(t *testing.T) {
	h := newHarness(t)
	picked := h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var collected *outcome
	h.env.RegisterDelayedCallback(func() {
		code := h.f.last().Pickup.Code
		h.env.UpdateWorkflow(workflows.UpdateCollect, "", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("collect rejected: %v", err) },
			OnComplete: func(any, error) { collected = &outcome{done: true} },
		}, collect("store-001", code))
	}, 2*time.Hour)
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	require.True(t, picked.done)
	require.NoError(t, picked.err)
	require.Empty(t, picked.result.Pickup.Code, "the store's answer does not carry the code")
	require.NotNil(t, collected)

	var ready order.Order
	for _, o := range h.f.projected {
		if o.Status == order.StatusReadyForCollection {
			ready = o
		}
	}
	require.Len(t, ready.Pickup.Code, workflows.PickupCodeLength)
	for _, c := range ready.Pickup.Code {
		require.True(t, strings.ContainsRune("ABCDEFGHJKMNPQRSTUVWXYZ23456789", c), "code character %q", c)
	}
	require.Equal(t, ready.Pickup.ReadyAt.Add(policy.PickupHold), *ready.Pickup.ExpiresAt)

	got := h.f.last()
	require.Equal(t, order.StatusCollected, got.Status)
	require.EqualValues(t, 2500, h.f.captured)
	require.Zero(t, h.f.voided)
	require.Equal(t, map[string]int64{"A": 2, "B": 1}, h.f.committed)
	require.Equal(t, map[string]int64{"A": 0, "B": 0}, h.f.held)
	require.Equal(t, "picked", h.f.tasks["o-1"])
	require.Equal(t, []string{"stock_reserved", "pick_requested", "picked", "ready_for_collection",
		"collected", "payment_captured", "return_window_closed"}, h.f.eventTypes())
	require.Equal(t, testStart.Add(2*time.Hour).Add(policy.ReturnWindow), *got.ReturnableUntil, "returns are open 30 days")
	require.Equal(t, []string{"ready", "collected"}, h.f.notified)
	checkProjection(t, h.f)
}

func TestValidatorsRejectWithoutTrace(t *testing.T) {
	h := newHarness(t)
	early := h.update(time.Minute, workflows.UpdateCollect, collect("store-001", "ABCDEFGH"))
	wrongStore := h.update(2*time.Minute, workflows.UpdatePick, pick("store-002", order.LineQty{SKU: "A", Quantity: 2}))
	notOnOrder := h.update(3*time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "Z", Quantity: 1}))
	tooMany := h.update(4*time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 3}))
	var projectedBefore int
	h.env.RegisterDelayedCallback(func() { projectedBefore = len(h.f.projected) }, 5*time.Minute)
	ok := h.update(6*time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	wrongCode := h.update(7*time.Minute, workflows.UpdateCollect, collect("store-001", "AAAAAAAA"))
	wrongStoreCollect := h.update(8*time.Minute, workflows.UpdateCollect, collect("store-002", "AAAAAAAA"))
	var projectedAfter int
	h.env.RegisterDelayedCallback(func() { projectedAfter = len(h.f.projected) }, 9*time.Minute)
	h.env.RegisterDelayedCallback(func() {}, 10*time.Minute)
	h.run(placedOrder())

	tests := []struct {
		name string
		got  *outcome
		want string
	}{
		{"collect before ready", early, "conflict/not_ready"},
		{"pick at another store", wrongStore, "conflict/wrong_store"},
		{"pick a SKU not on the order", notOnOrder, "invalid/unknown_line"},
		{"pick more than ordered", tooMany, "invalid/bad_quantity"},
		{"wrong pickup code", wrongCode, "forbidden/wrong_pickup_code"},
		{"collect at another store", wrongStoreCollect, "conflict/wrong_store"},
	}
	for _, tc := range tests {
		require.True(t, tc.got.done, "%s: update answered", tc.name)
		require.Error(t, tc.got.rejected, "%s: rejected by the validator", tc.name)
		require.Equal(t, tc.want, rejectionType(t, tc.got.rejected), tc.name)
	}
	require.NoError(t, ok.err)
	require.Equal(t, 1, projectedBefore, "rejected picks projected nothing (only the reservation)")
	require.Equal(t, 2, projectedAfter, "rejected handovers projected nothing")
	require.Zero(t, h.f.captured)
}

func TestShortPick(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 1}, order.LineQty{SKU: "B", Quantity: 1}))
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateCollect, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("collect rejected: %v", err) },
		}, collect("store-001", h.f.last().Pickup.Code))
	}, time.Hour)
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.Equal(t, []string{"short_picked", "ready", "collected"}, h.f.notified, "the customer is told what is missing")
	require.Equal(t, []string{"stock_reserved", "pick_requested", "picked", "payment_voided", "price_adjusted",
		"ready_for_collection", "collected", "payment_captured", "return_window_closed"}, h.f.eventTypes(), "the price is adjusted at the pick")
	require.Equal(t, map[string]int64{"A": 1}, h.f.released, "the unit not found goes back to the store")
	require.Equal(t, map[string]int64{"A": 1, "B": 1}, h.f.committed)
	require.EqualValues(t, 1500, h.f.captured, "only what was found is paid for")
	require.EqualValues(t, 1000, h.f.voided, "the rest of the authorisation is voided")
	got := h.f.last()
	require.Equal(t, order.StatusCollected, got.Status)
	require.EqualValues(t, 1, got.Line("A").Picked)
	checkProjection(t, h.f)
}

func TestNothingFoundMovesToNextStore(t *testing.T) {
	h := newHarness(t)
	res := h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 0}))
	late := h.update(2*time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}))
	h.update(time.Hour, workflows.UpdatePick, pick("store-002", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	h.update(2*time.Hour, workflows.UpdateCancel, cancelReq("no longer needed"))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, res.err)
	require.Equal(t, "store-002", res.result.Fulfilment.StoreID, "the answer names the new store")
	require.Equal(t, order.StatusAwaitingPick, res.result.Status)
	require.Equal(t, "conflict/wrong_store", rejectionType(t, late.rejected), "the first store no longer has the order")
	require.Equal(t, []string{"store_changed", "ready", "cancelled"}, h.f.notified)
	require.Equal(t, "store-002", h.f.notes[0].Data["store_id"], "the customer is told the new store")
	require.Zero(t, h.f.heldAtStore("store-001"))
	require.Zero(t, h.f.heldAtStore("store-002"))
	require.EqualValues(t, 2500, h.f.voided)
	checkProjection(t, h.f)
}

func TestStoreRejectionsEndRejected(t *testing.T) {
	h := newHarness(t)
	h.f.shortAt["store-003/A"] = true
	reject := func(store, reason string) workflows.RejectRequest {
		return workflows.RejectRequest{Actor: workflows.Actor{Channel: "store_console", Actor: "associate-1"}, StoreID: store, Reason: reason}
	}
	noReason := h.update(time.Minute, workflows.UpdateReject, reject("store-001", ""))
	first := h.update(2*time.Minute, workflows.UpdateReject, reject("store-001", "damaged stock"))
	second := h.update(3*time.Minute, workflows.UpdateReject, reject("store-002", "no staff"))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.Equal(t, "invalid/reason", rejectionType(t, noReason.rejected))
	require.NoError(t, first.err)
	require.Equal(t, "store-002", first.result.Fulfilment.StoreID)
	require.NoError(t, second.err)
	require.Equal(t, order.StatusRejected, second.result.Status, "store-003 lacks stock: nowhere is left")
	require.Equal(t, []string{"stock_reserved", "pick_requested",
		"stock_released", "store_rejected", "reassigned", "stock_reserved", "pick_requested",
		"stock_released", "store_rejected", "no_stock", "payment_voided", "rejected"}, h.f.eventTypes())
	for _, store := range []string{"store-001", "store-002", "store-003"} {
		require.Zero(t, h.f.heldAtStore(store), "%s holds nothing", store)
	}
	require.EqualValues(t, 2500, h.f.voided)
	require.Zero(t, h.f.captured)
	require.Equal(t, "rejected", h.f.tasks["o-1"])
	require.Equal(t, []string{"store_changed", "rejected"}, h.f.notified)
	checkProjection(t, h.f)
}

func TestEscalationMovesOrder(t *testing.T) {
	h := newHarness(t)
	h.update(13*time.Hour, workflows.UpdateCancel, cancelReq(""))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	at := map[string][]time.Time{}
	for _, e := range h.f.events {
		at[e.Type] = append(at[e.Type], e.At)
	}
	require.Equal(t, []time.Time{testStart.Add(4 * time.Hour), testStart.Add(12 * time.Hour)}, at["pick_overdue"],
		"each store gets its own pick deadline")
	require.Equal(t, []time.Time{testStart.Add(8 * time.Hour)}, at["pick_escalated"])
	require.Equal(t, []time.Time{testStart.Add(8 * time.Hour)}, at["reassigned"])
	require.Equal(t, "store-002", h.f.projected[len(h.f.projected)-1].Fulfilment.StoreID)
	require.Zero(t, h.f.heldAtStore("store-001"))
	require.Zero(t, h.f.heldAtStore("store-002"))
	require.Equal(t, []string{"store_changed", "cancelled"}, h.f.notified)
	checkProjection(t, h.f)
}

func TestEscalationWithoutReassignment(t *testing.T) {
	h := newHarness(t)
	h.policy.ReassignOnEscalation = false
	h.update(20*time.Hour, workflows.UpdateCancel, cancelReq(""))
	h.run(placedOrder())

	types := h.f.eventTypes()
	require.Equal(t, []string{"stock_reserved", "pick_requested", "pick_overdue", "pick_escalated", "pick_task_withdrawn"}, types[:5])
	require.Equal(t, "store-001", h.f.last().Fulfilment.StoreID, "the order stays with its store")
}

func TestRefusedAtCounter(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var res *outcome
	h.env.RegisterDelayedCallback(func() {
		req := collect("store-001", h.f.last().Pickup.Code)
		req.Refused = []workflows.RefusedLine{{SKU: "B", Quantity: 1, Reason: "damaged box"}}
		res = h.update(0, workflows.UpdateCollect, req)
	}, time.Hour)
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, res.err)
	got := h.f.last()
	require.Equal(t, order.StatusCollected, got.Status)
	require.EqualValues(t, 1, got.Line("B").Refused)
	require.EqualValues(t, 2, got.Line("A").Collected)
	require.EqualValues(t, 2000, h.f.captured, "only what was taken is paid for")
	require.EqualValues(t, 500, h.f.voided, "the refused line's authorisation is voided")
	require.Equal(t, map[string]int64{"B": 1}, h.f.released, "the refused unit goes back to the store")
	require.Equal(t, map[string]int64{"A": 2}, h.f.committed)
	checkProjection(t, h.f)
}

func TestEverythingRefusedCancels(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var tooMany, res *outcome
	h.env.RegisterDelayedCallback(func() {
		req := collect("store-001", h.f.last().Pickup.Code, order.LineQty{SKU: "A", Quantity: 1})
		req.Refused = []workflows.RefusedLine{{SKU: "A", Quantity: 2}}
		tooMany = h.update(0, workflows.UpdateCollect, req)
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		req := collect("store-001", h.f.last().Pickup.Code)
		req.Refused = []workflows.RefusedLine{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}
		res = h.update(0, workflows.UpdateCollect, req)
	}, 2*time.Hour)
	h.run(placedOrder())

	require.Equal(t, "invalid/bad_quantity", rejectionType(t, tooMany.rejected), "taking and refusing more than was picked")
	require.NoError(t, res.err)
	require.Equal(t, order.StatusCancelled, h.f.last().Status)
	require.Zero(t, h.f.captured)
	require.EqualValues(t, 2500, h.f.voided)
	require.Equal(t, map[string]int64{"A": 2, "B": 1}, h.f.released)
	require.Equal(t, []string{"ready", "cancelled"}, h.f.notified)
}

func TestNomineeCollects(t *testing.T) {
	h := newHarness(t)
	o := placedOrder()
	o.Pickup.Nominee = &order.Nominee{Name: "Charles Babbage"}
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var stranger, nominee *outcome
	h.env.RegisterDelayedCallback(func() {
		req := collect("store-001", h.f.last().Pickup.Code)
		req.CollectedBy = workflows.CollectedBy{Name: "Someone Else", Relation: "nominee"}
		stranger = h.update(0, workflows.UpdateCollect, req)
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		req := collect("store-001", h.f.last().Pickup.Code)
		req.CollectedBy = workflows.CollectedBy{Name: " charles babbage ", Relation: "nominee"}
		nominee = h.update(0, workflows.UpdateCollect, req)
	}, 2*time.Hour)
	h.run(o)

	require.Equal(t, "forbidden/not_nominee", rejectionType(t, stranger.rejected))
	require.NoError(t, nominee.err)
	require.Equal(t, order.StatusCollected, h.f.last().Status)
	for _, e := range h.f.events {
		if e.Type == "collected" {
			require.Equal(t, workflows.CollectedBy{Name: "charles babbage", Relation: "nominee"}, e.Data["collected_by"])
		}
	}
}

func TestPartialCollection(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var first, second, over *outcome
	h.env.RegisterDelayedCallback(func() {
		first = h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code, order.LineQty{SKU: "B", Quantity: 1}))
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		require.Equal(t, order.StatusPartiallyCollected, h.f.last().Status)
		over = h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code, order.LineQty{SKU: "B", Quantity: 1}))
	}, 2*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		second = h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code))
	}, 3*time.Hour)
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NotNil(t, first)
	require.NoError(t, first.err)
	require.Equal(t, "invalid/bad_quantity", rejectionType(t, over.rejected), "B was already handed over")
	require.NoError(t, second.err)
	require.Equal(t, order.StatusCollected, h.f.last().Status)
	require.EqualValues(t, 2500, h.f.captured)
	require.Equal(t, []string{"stock_reserved", "pick_requested", "picked", "ready_for_collection",
		"collected", "payment_captured", "collected", "payment_captured", "return_window_closed"}, h.f.eventTypes())
	checkProjection(t, h.f)
}

// testStart is when test orders are placed and their workflows start.
var testStart = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
