package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

const day = 24 * time.Hour

// collectedOrder schedules a full pick at 1 minute and a full handover at 1 hour.
func (h *harness) collectedOrder() {
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateCollect, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { h.t.Errorf("collect rejected: %v", err) },
		}, collect("store-001", h.f.last().Pickup.Code))
	}, time.Hour)
}

func returnReq(store string, lines ...order.ReturnLine) workflows.ReturnRequest {
	return workflows.ReturnRequest{Actor: workflows.Actor{Channel: "pos", Actor: "store:" + store}, StoreID: store, Lines: lines}
}

func back(sku string, n int64, condition string) order.ReturnLine {
	return order.ReturnLine{SKU: sku, Quantity: n, Reason: "changed mind", Condition: condition}
}

func exchangeReq(store string, tender *workflows.Tender, ret []order.ReturnLine, taken ...order.ExchangeLine) workflows.ExchangeRequest {
	return workflows.ExchangeRequest{Actor: workflows.Actor{Channel: "pos", Actor: "store:" + store}, StoreID: store,
		ReturnLines: ret, NewLines: taken, Tender: tender}
}

func TestFullReturnRestocksAndWritesOff(t *testing.T) {
	h := newHarness(t)
	early := h.update(30*time.Minute, workflows.UpdateReturn, returnReq("store-002", back("A", 1, "resellable")))
	h.collectedOrder()
	res := h.update(2*day, workflows.UpdateReturn, returnReq("store-002", back("A", 2, "resellable"), back("B", 1, "damaged")))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted(), "nothing is left to return: the order's lifecycle ends")
	require.Equal(t, "conflict/not_collected", rejectionType(t, early.rejected))
	require.NoError(t, res.err)
	got := h.f.last()
	require.Equal(t, order.StatusReturned, got.Status)
	require.Len(t, got.Returns, 1)
	require.EqualValues(t, 2500, got.Returns[0].Refund)
	require.EqualValues(t, 2500, got.Payments[0].Refunded)
	require.EqualValues(t, 2500, h.f.refunded, "refunded exactly what was paid")
	require.Equal(t, map[string]int64{"store-002/A": 2}, h.f.restocked, "restocked into the store that took it back")
	require.Equal(t, map[string]int64{"store-002/B": 1}, h.f.writeOffs, "damaged goods are written off")
	require.Equal(t, "refunded", h.f.notified[len(h.f.notified)-1])
	types := h.f.eventTypes()
	require.Equal(t, []string{"returned", "restocked", "written_off", "payment_refunded"}, types[len(types)-4:])
	checkProjection(t, h.f)
}

func TestPartialReturnsAcrossStoresAndOverReturn(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	first := h.update(day, workflows.UpdateReturn, returnReq("store-002", back("A", 1, "resellable")))
	second := h.update(2*day, workflows.UpdateReturn, returnReq("store-003", back("A", 1, "resellable")))
	over := h.update(3*day, workflows.UpdateReturn, returnReq("store-003", back("A", 1, "resellable")))
	notOnOrder := h.update(3*day, workflows.UpdateReturn, returnReq("store-003", back("Z", 1, "resellable")))
	badCondition := h.update(3*day, workflows.UpdateReturn, returnReq("store-003", back("B", 1, "worn")))
	late := h.update(31*day, workflows.UpdateReturn, returnReq("store-003", back("B", 1, "resellable")))
	h.run(placedOrder())

	require.NoError(t, first.err)
	require.Equal(t, order.StatusPartiallyReturned, first.result.Status)
	require.NoError(t, second.err)
	require.Equal(t, "conflict/over_return", rejectionType(t, over.rejected))
	require.Equal(t, "invalid/unknown_line", rejectionType(t, notOnOrder.rejected))
	require.Equal(t, "invalid/bad_condition", rejectionType(t, badCondition.rejected))
	require.False(t, late.done && late.err == nil && late.rejected == nil, "a return after the window is not taken")
	require.True(t, h.env.IsWorkflowCompleted(), "the workflow ends when the return window closes")
	got := h.f.last()
	require.Equal(t, order.StatusPartiallyReturned, got.Status)
	require.EqualValues(t, 2, got.Line("A").Returned)
	require.EqualValues(t, 2000, got.Line("A").Refunded)
	require.EqualValues(t, 2000, h.f.refunded)
	require.Equal(t, map[string]int64{"store-002/A": 1, "store-003/A": 1}, h.f.restocked)
	require.Equal(t, "return_window_closed", h.f.eventTypes()[len(h.f.events)-1])
	checkProjection(t, h.f)
}

func TestRacingReturnsCannotOverReturn(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	var a, b *outcome
	h.env.RegisterDelayedCallback(func() {
		a = h.update(0, workflows.UpdateReturn, returnReq("store-002", back("A", 2, "resellable")))
		b = h.update(0, workflows.UpdateReturn, returnReq("store-003", back("A", 1, "resellable")))
	}, day)
	h.env.RegisterDelayedCallback(func() {}, 2*day)
	h.run(placedOrder())

	require.True(t, a.done && b.done)
	var ok, refused int
	for _, o := range []*outcome{a, b} {
		switch {
		case o.rejected == nil && o.err == nil:
			ok++
		case o.rejected != nil:
			require.Equal(t, "conflict/over_return", rejectionType(t, o.rejected))
			refused++
		default:
			require.Equal(t, "conflict/over_return", rejectionType(t, o.err))
			refused++
		}
	}
	require.Equal(t, 1, ok)
	require.Equal(t, 1, refused)
	last := h.f.last()
	require.EqualValues(t, 2, last.Line("A").Returned, "never more than was handed over")
}

func TestEvenExchangeMovesNoMoney(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	res := h.update(day, workflows.UpdateExchange, exchangeReq("store-002", nil, []order.ReturnLine{back("A", 1, "resellable")},
		order.ExchangeLine{SKU: "A-LARGE", Quantity: 1, UnitPrice: 1000}))
	h.run(placedOrder())

	require.NoError(t, res.err)
	got := h.f.last()
	require.Equal(t, order.StatusCollected, got.Status, "exchanges keep the order collected")
	require.Len(t, got.Exchanges, 1)
	require.Zero(t, got.Exchanges[0].Difference)
	require.Zero(t, h.f.refunded)
	require.Zero(t, h.f.charged)
	require.EqualValues(t, 2500, h.f.captured, "only the handover was captured")
	require.Equal(t, map[string]int64{"A": 2, "B": 1, "A-LARGE": 1}, h.f.committed, "the new item is sold from store stock")
	require.EqualValues(t, 1, got.Line("A-LARGE").Collected)
	require.Equal(t, map[string]int64{"store-002/A": 1}, h.f.restocked)
	require.Contains(t, h.f.eventTypes(), "exchanged")
	require.Equal(t, "exchange", h.f.notified[len(h.f.notified)-1])
}

func TestExchangeWithPaymentDue(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	unpaid := h.update(day, workflows.UpdateExchange, exchangeReq("store-002", nil, []order.ReturnLine{back("B", 1, "resellable")},
		order.ExchangeLine{SKU: "C", Quantity: 1, UnitPrice: 1500}))
	paid := h.update(day+time.Minute, workflows.UpdateExchange, exchangeReq("store-002", &workflows.Tender{Method: "card", Reference: "pos-77"},
		[]order.ReturnLine{back("B", 1, "resellable")}, order.ExchangeLine{SKU: "C", Quantity: 1, UnitPrice: 1500}))
	h.run(placedOrder())

	require.Equal(t, "conflict/payment_required", rejectionType(t, unpaid.err), "refused once priced from the price list")
	require.NoError(t, paid.err)
	got := h.f.last()
	require.EqualValues(t, 1000, got.Exchanges[0].Difference)
	require.EqualValues(t, 1000, got.Exchanges[0].Charged)
	require.EqualValues(t, 1000, h.f.charged, "the difference is taken from the new tender")
	require.Len(t, got.Payments, 2)
	require.Equal(t, order.Payment{Method: "card", Reference: "pos-77", Authorized: 1000, Captured: 1000}, got.Payments[1])
	require.Zero(t, h.f.refunded)
}

func TestExchangeWithRefundDue(t *testing.T) {
	h := newHarness(t)
	h.collectedOrder()
	res := h.update(day, workflows.UpdateExchange, exchangeReq("store-002", nil, []order.ReturnLine{back("A", 1, "damaged")},
		order.ExchangeLine{SKU: "E", Quantity: 1, UnitPrice: 300}))
	h.run(placedOrder())

	require.NoError(t, res.err)
	got := h.f.last()
	require.EqualValues(t, -700, got.Exchanges[0].Difference)
	require.EqualValues(t, 700, got.Exchanges[0].Refunded)
	require.EqualValues(t, 700, h.f.refunded, "the difference goes back to the original tender")
	require.EqualValues(t, 700, got.Payments[0].Refunded)
	require.Equal(t, map[string]int64{"store-002/A": 1}, h.f.writeOffs)
	require.EqualValues(t, 1000, got.Line("A").Refunded, "the returned unit's full price was given back: in kind and in money")
}

func TestExchangeWithoutStockChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.f.shortAt["store-002/F"] = true
	h.collectedOrder()
	res := h.update(day, workflows.UpdateExchange, exchangeReq("store-002", nil, []order.ReturnLine{back("A", 1, "resellable")},
		order.ExchangeLine{SKU: "F", Quantity: 1, UnitPrice: 1000}))
	var projected int
	h.env.RegisterDelayedCallback(func() { projected = len(h.f.projected) }, 2*day)
	h.run(placedOrder())

	require.Equal(t, "conflict/no_stock", rejectionType(t, res.err))
	require.Equal(t, 3, projected, "nothing was projected after the handover")
	require.Empty(t, h.f.returns)
	require.Empty(t, h.f.restocked)
	require.Zero(t, h.f.refunded)
	got := h.f.last()
	require.Zero(t, got.Line("A").Returned)
	require.Empty(t, got.Exchanges)
}
