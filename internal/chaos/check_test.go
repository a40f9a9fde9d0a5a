package chaos

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// consistent is the snapshot of one order that was placed at s1 for 2 A and
// 1 B, picked, handed over in full, and had one A brought back (resellable)
// at s2: every invariant holds.
func consistent() *Snapshot {
	lines := []order.Line{{SKU: "A", Quantity: 2, UnitPrice: 1000}, {SKU: "B", Quantity: 1, UnitPrice: 500}}
	rec := &record{ID: "o-1", Flow: flowReturn, Store: "s1", PlaceKey: "place-o-1", Placed: true, PlaceStatus: 201,
		Total: 2500, Lines: lines,
		Picked: map[string]int64{"A": 2, "B": 1}, Collected: map[string]int64{"A": 2, "B": 1}, Refused: map[string]int64{},
		Returns: []takeBack{{ID: "o-1-r1", Store: "s2", Refunded: 1000,
			Back: []order.ReturnLine{{SKU: "A", Quantity: 1, Reason: "chaos", Condition: order.ConditionResellable}}}},
		Actions: []action{{Name: "place", Status: 201}, {Name: "pick", Status: 200}, {Name: "collect-1", Status: 200}, {Name: "return-1", Status: 201}},
	}
	o := order.Order{ID: "o-1", Number: "100001", Status: order.StatusPartiallyReturned, Currency: "GBP",
		Fulfilment: order.Fulfilment{Type: "collect", StoreID: "s1"},
		Lines: []order.Line{
			{SKU: "A", Quantity: 2, UnitPrice: 1000, Picked: 2, Collected: 2, Returned: 1, Refunded: 1000},
			{SKU: "B", Quantity: 1, UnitPrice: 500, Picked: 1, Collected: 1},
		},
		Payments: []order.Payment{{Method: "card", Reference: "psp-o-1", Authorized: 2500, Captured: 2500, Refunded: 1000}},
		Returns:  []order.Return{{ID: "o-1-r1", StoreID: "s2", Refund: 1000}},
		Version:  9,
	}
	return &Snapshot{
		Records:      map[string]*record{"o-1": rec},
		InitialStock: map[storeSKU]int64{{"s1", "A"}: 10, {"s1", "B"}: 10, {"s2", "A"}: 10},
		Orders:       map[string]dbOrder{"o-1": {Status: string(o.Status), Version: o.Version, Doc: o}},
		Workflows: map[string]wfState{"o-1": {Execution: "Running",
			View: workflows.StateView{Order: o, Idle: true}}},
		Stock: map[storeSKU]stockRow{{"s1", "A"}: {OnHand: 8}, {"s1", "B"}: {OnHand: 9}, {"s2", "A"}: {OnHand: 11}},
		Reservations: []reservationRow{
			{OrderID: "o-1", Store: "s1", SKU: "A", Committed: 2},
			{OrderID: "o-1", Store: "s1", SKU: "B", Committed: 1},
		},
		Payments: []paymentRow{
			{OrderID: "o-1", Kind: "authorization", Amount: 2500, Reference: "psp-o-1", StepKey: "o-1/authorization"},
			{OrderID: "o-1", Kind: "capture", Amount: 2500, Reference: "psp-o-1", StepKey: "o-1/collect/req-1/capture"},
			{OrderID: "o-1", Kind: "refund", Amount: 1000, Reference: "psp-o-1", StepKey: "o-1/req-2/refund-0"},
		},
		Steps: []stepRow{
			{Key: "o-1/reserve", Step: "reserve", OrderID: "o-1", Store: "s1", Lines: []order.LineQty{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}},
			{Key: "o-1/collect/req-1/commit", Step: "commit", OrderID: "o-1", Store: "s1", Lines: []order.LineQty{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}},
			{Key: "o-1/req-2/restock", Step: "restock", Store: "s2", Lines: []order.LineQty{{SKU: "A", Quantity: 1}}},
		},
	}
}

func TestCheckConsistentSnapshot(t *testing.T) {
	require.Empty(t, Check(consistent()))
}

// Each way Omni could lose or double something is caught, and named.
func TestCheckFindsBrokenInvariants(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(s *Snapshot)
		rule    string
		subject string
		detail  string
	}{
		{"a capture applied twice under another key", func(s *Snapshot) {
			s.Payments = append(s.Payments, paymentRow{OrderID: "o-1", Kind: "capture", Amount: 2500, Reference: "psp-o-1",
				StepKey: "o-1/collect/req-9/capture"})
		}, "money", "o-1/psp-o-1", "exceed the 2500 authorised"},
		{"a refund applied twice", func(s *Snapshot) {
			s.Payments = append(s.Payments, paymentRow{OrderID: "o-1", Kind: "refund", Amount: 1000, Reference: "psp-o-1",
				StepKey: "o-1/req-3/refund-0"})
		}, "once", "o-1", "refunded 2000 in 2 movements"},
		{"a restock applied twice", func(s *Snapshot) {
			s.Steps = append(s.Steps, stepRow{Key: "o-1/req-3/restock", Step: "restock", Store: "s2", Lines: []order.LineQty{{SKU: "A", Quantity: 1}}})
			s.Stock[storeSKU{"s2", "A"}] = stockRow{OnHand: 12}
		}, "once", "s2/A", "2 units restocked in 2 steps"},
		{"stock lost outside the ledger", func(s *Snapshot) {
			s.Stock[storeSKU{"s1", "B"}] = stockRow{OnHand: 8}
		}, "stock", "s1/B", "on hand 8; initial 10 − committed 1 + restocked 0 = 9"},
		{"a reservation never released", func(s *Snapshot) {
			s.Reservations[1].Reserved = 1
			s.Stock[storeSKU{"s1", "B"}] = stockRow{OnHand: 9, Reserved: 1}
		}, "stock", "s1/B", "the reservations hold 1; the open orders hold 0"},
		{"an authorisation left open on a closed order", func(s *Snapshot) {
			s.Payments = append(s.Payments, paymentRow{OrderID: "o-1", Kind: "authorization", Amount: 300, Reference: "psp-o-1",
				StepKey: "o-1/authorization-extra"})
		}, "money", "o-1/psp-o-1", "300 is still authorised and not voided"},
		{"an order the checkout got 201 for is lost", func(s *Snapshot) {
			delete(s.Orders, "o-1")
		}, "orders", "o-1", "not in the database (lost)"},
		{"an order nobody placed", func(s *Snapshot) {
			s.Orders["o-2"] = s.Orders["o-1"]
		}, "orders", "o-2", "no client placed it"},
		{"the read model behind its workflow", func(s *Snapshot) {
			o := s.Orders["o-1"]
			o.Version, o.Doc.Version, o.Doc.Lines[0].Returned = 8, 8, 0
			s.Orders["o-1"] = o
		}, "read_model", "o-1", "the orders table has version 8, the workflow 9"},
		{"two statuses for one order", func(s *Snapshot) {
			o := s.Orders["o-1"]
			o.Status = "collected"
			s.Orders["o-1"] = o
		}, "status", "o-1", `the orders table says "collected", its document "partially_returned"`},
		{"a handover the store was refused but which happened", func(s *Snapshot) {
			s.Records["o-1"].Actions[2].Status = 409
			s.Records["o-1"].Collected = map[string]int64{}
			s.Records["o-1"].Returns = nil
		}, "goods", "o-1/A", "collected 2; the store was answered for 0 handed over"},
		{"an action without a definite answer", func(s *Snapshot) {
			s.Records["o-1"].Indefinite = []string{"return-2 (key return-2-o-1): no definite answer"}
		}, "answers", "o-1", "no definite answer"},
		{"a failed workflow", func(s *Snapshot) {
			w := s.Workflows["o-1"]
			w.Execution = "Failed"
			s.Workflows["o-1"] = w
		}, "status", "o-1", "the workflow is Failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := consistent()
			tc.breakIt(s)
			got := Check(s)
			found := false
			for _, v := range got {
				if v.Rule == tc.rule && v.Subject == tc.subject && strings.Contains(v.Detail, tc.detail) {
					found = true
				}
			}
			require.True(t, found, "want a [%s] %s violation saying %q; got %v", tc.rule, tc.subject, tc.detail, got)
		})
	}
}

// The schedule is the seed's: the same seed gives the same blows and plans.
func TestScheduleReplaysFromSeed(t *testing.T) {
	c := runConfig{Seed: 42, Orders: 20, Kills: 5, PGRestarts: 1, Duration: 60e9}
	a, b := schedule(c), schedule(c)
	require.Equal(t, a, b)
	require.Len(t, a, 6)
	for _, e := range a {
		require.GreaterOrEqual(t, e.At, c.Duration/10)
		require.Less(t, e.At, c.Duration)
	}
	p, q := makePlan(42, 3, "x"), makePlan(42, 3, "x")
	require.Equal(t, p.Flow, q.Flow)
	require.Equal(t, p.Lines, q.Lines)
	require.NotEqual(t, schedule(runConfig{Seed: 43, Kills: 5, PGRestarts: 1, Duration: 60e9}), a)
}
