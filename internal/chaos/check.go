package chaos

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// Snapshot is everything the checker reads after a run, at rest: what the
// clients were answered, the read model, the workflows' own state and the
// ledgers. Check is a pure function of it.
type Snapshot struct {
	// Records are the clients' truth: every order they tried to place and
	// every definite answer they got, by order id.
	Records map[string]*record
	// InitialStock is what the admin set each store's SKUs to before the run.
	InitialStock map[storeSKU]int64

	Orders       map[string]dbOrder // the orders table
	Workflows    map[string]wfState // each order's workflow
	Stock        map[storeSKU]stockRow
	Reservations []reservationRow
	Payments     []paymentRow
	Steps        []stepRow // activity_steps
	WriteOffs    []writeOffRow
}

type storeSKU struct{ Store, SKU string }

func (k storeSKU) String() string { return k.Store + "/" + k.SKU }

// dbOrder is a row of the orders table.
type dbOrder struct {
	Status  string
	Version int64
	Doc     order.Order
}

// wfState is an order's workflow: its execution status and its own state.
type wfState struct {
	Execution string // Running, Completed, Failed, ...
	View      workflows.StateView
	Err       string // why it could not be read
}

type stockRow struct{ OnHand, Reserved int64 }

type reservationRow struct {
	OrderID, Store, SKU           string
	Reserved, Committed, Released int64
}

type paymentRow struct {
	OrderID, Kind, Reference, StepKey string
	Amount                            int64
}

// stepRow is a stock step of the inventory ledger: its key and what it did.
type stepRow struct {
	Key  string
	Step string // reserve, release, commit, restock, write_off
	// OrderID is the holder (an order, or "<order>/<exchange>"); empty for restocks.
	OrderID, Store string
	Lines          []order.LineQty
}

type writeOffRow struct {
	OrderID, Store, SKU, StepKey string
	Quantity                     int64
}

// Violation is one broken invariant, naming what it is about.
type Violation struct {
	Rule    string // stock, money, status, read_model, orders, once, answers
	Subject string // order, store/SKU, order/tender
	Detail  string
}

func (v Violation) String() string { return fmt.Sprintf("[%s] %s: %s", v.Rule, v.Subject, v.Detail) }

type checker struct {
	s   *Snapshot
	out []Violation
}

func (c *checker) fail(rule, subject, format string, args ...any) {
	c.out = append(c.out, Violation{Rule: rule, Subject: subject, Detail: fmt.Sprintf(format, args...)})
}

// Check proves the run's invariants on s and returns every violation:
//   - orders: the orders in the database are exactly those the clients got
//     201 for (none lost, none doubled), every action got a definite answer;
//   - status: every order is in exactly one valid status, the same in the
//     table, its document and its workflow, and the one the client's answers
//     imply;
//   - read_model: each order's snapshot equals its workflow's own state;
//   - money: per order and tender captured + voided ≤ authorised, refunded ≤
//     captured, the ledger equals the workflow's payments, nothing is left
//     authorised on a closed order, and what was kept equals what was handed
//     over and not given back;
//   - stock: per store and SKU, initial − committed + restocked = on hand,
//     reserved = what open orders hold, nothing negative, and every unit
//     committed, restocked or written off is one the clients were answered for;
//   - once: no ledger effect was applied twice (under two keys).
func Check(s *Snapshot) []Violation {
	c := &checker{s: s}
	c.orders()
	for _, id := range sortedKeys(s.Orders) {
		rec, w, o := s.Records[id], s.Workflows[id], s.Orders[id]
		if rec == nil || !rec.Placed {
			continue // reported by orders()
		}
		if w.Err != "" {
			c.fail("read_model", id, "the workflow could not be read: %s", w.Err)
			continue
		}
		c.status(id, rec, o, w)
		c.readModel(id, o, w)
		c.money(id, rec, w.View.Order)
		c.goods(id, rec, w.View.Order)
	}
	c.stock()
	return c.out
}

func (c *checker) orders() {
	for _, id := range sortedKeys(c.s.Records) {
		rec := c.s.Records[id]
		for _, why := range rec.Indefinite {
			c.fail("answers", id, "%s", why)
		}
		_, inDB := c.s.Orders[id]
		switch {
		case rec.Placed && !inDB:
			c.fail("orders", id, "the checkout got 201 but the order is not in the database (lost)")
		case !rec.Placed && inDB && rec.PlaceStatus != 0:
			c.fail("orders", id, "the checkout was answered %d but the order is in the database", rec.PlaceStatus)
		case rec.PlaceStatus != 0 && rec.PlaceStatus != 201:
			c.fail("orders", id, "the placement was refused with %d", rec.PlaceStatus)
		}
	}
	for _, id := range sortedKeys(c.s.Orders) {
		if rec := c.s.Records[id]; rec == nil {
			c.fail("orders", id, "the order is in the database but no client placed it")
		}
	}
}

var terminal = []order.Status{order.StatusCancelled, order.StatusExpired, order.StatusRejected, order.StatusReturned}

func (c *checker) status(id string, rec *record, o dbOrder, w wfState) {
	st := order.Status(o.Status)
	if !st.Valid() {
		c.fail("status", id, "status %q is not a valid status", o.Status)
	}
	if string(o.Doc.Status) != o.Status {
		c.fail("status", id, "the orders table says %q, its document %q", o.Status, o.Doc.Status)
	}
	if w.View.Order.Status != st {
		c.fail("status", id, "the read model says %q, the workflow %q", o.Status, w.View.Order.Status)
	}
	switch w.Execution {
	case "Running":
	case "Completed":
		if !slices.Contains(terminal, w.View.Order.Status) {
			c.fail("status", id, "the workflow completed with the order %q, which is not an end state", w.View.Order.Status)
		}
	default:
		c.fail("status", id, "the workflow is %s", w.Execution)
	}
	if want := expectedStatus(rec); want != "" && want != w.View.Order.Status {
		c.fail("status", id, "the client's answers imply %q (flow %s), the workflow says %q", want, rec.Flow, w.View.Order.Status)
	}
}

// expectedStatus is the status the client's definite answers imply, where
// they decide it ("" where a clock or a store decides).
func expectedStatus(rec *record) order.Status {
	if rec.Cancelled {
		return order.StatusCancelled
	}
	var collected, returned, picked, refused int64
	for _, l := range rec.Lines {
		collected += rec.Collected[l.SKU]
		picked += rec.Picked[l.SKU]
		refused += rec.Refused[l.SKU]
	}
	for _, x := range rec.Returns {
		for _, l := range x.Back {
			returned += l.Quantity
		}
	}
	if len(rec.Exchanges) > 0 {
		// An exchange keeps the order collected; the flows make no return after one.
		if len(rec.Returns) > 0 {
			return ""
		}
		return order.StatusCollected
	}
	switch {
	case collected > 0 && returned == collected:
		return order.StatusReturned
	case collected > 0 && returned > 0:
		return order.StatusPartiallyReturned
	case collected > 0:
		return order.StatusCollected // handed over in full, or the rest expired
	case picked > 0 && refused == picked:
		return order.StatusCancelled // everything refused at the counter
	case picked > 0 && rec.Flow != flowCancelReady:
		return order.StatusExpired // picked and never collected
	}
	return ""
}

// readModel compares the stored snapshot with the workflow's own order.
func (c *checker) readModel(id string, o dbOrder, w wfState) {
	got, want := o.Doc, w.View.Order
	if o.Version != want.Version {
		c.fail("read_model", id, "the orders table has version %d, the workflow %d", o.Version, want.Version)
	}
	if reflect.DeepEqual(normalise(got), normalise(want)) {
		return
	}
	if got.Version != want.Version || got.Status != want.Status {
		c.fail("read_model", id, "the read model has %s v%d, the workflow %s v%d", got.Status, got.Version, want.Status, want.Version)
	}
	for _, l := range want.Lines {
		g := got.Line(l.SKU)
		if g == nil {
			c.fail("read_model", id, "line %s is in the workflow, not in the read model", l.SKU)
		} else if *g != l {
			c.fail("read_model", id, "line %s: read model %+v, workflow %+v", l.SKU, *g, l)
		}
	}
	if len(got.Lines) != len(want.Lines) {
		c.fail("read_model", id, "the read model has %d lines, the workflow %d", len(got.Lines), len(want.Lines))
	}
	if !reflect.DeepEqual(got.Payments, want.Payments) {
		c.fail("read_model", id, "payments: read model %+v, workflow %+v", got.Payments, want.Payments)
	}
	gb, _ := json.Marshal(normalise(got))
	wb, _ := json.Marshal(normalise(want))
	c.fail("read_model", id, "the documents differ:\n  read model %s\n  workflow   %s", gb, wb)
}

// normalise makes two documents comparable after a JSON round trip: times in
// UTC, nil and empty lists alike.
func normalise(o order.Order) order.Order {
	b, _ := json.Marshal(o)
	var n order.Order
	_ = json.Unmarshal(b, &n)
	if len(n.Returns) == 0 {
		n.Returns = nil
	}
	if len(n.Exchanges) == 0 {
		n.Exchanges = nil
	}
	return n
}

type tenderBalance struct{ Authorized, Captured, Voided, Refunded int64 }

func (c *checker) money(id string, rec *record, w order.Order) {
	ledger := map[string]*tenderBalance{}
	var refs []string
	captures, refunds, charges := 0, 0, 0
	for _, p := range c.s.Payments {
		if p.OrderID != id {
			continue
		}
		b := ledger[p.Reference]
		if b == nil {
			b = &tenderBalance{}
			ledger[p.Reference] = b
			refs = append(refs, p.Reference)
		}
		switch p.Kind {
		case "authorization":
			b.Authorized += p.Amount
			if p.StepKey != id+"/authorization" {
				charges++
			}
		case "capture":
			b.Captured += p.Amount
			if strings.Contains(p.StepKey, "/collect/") {
				captures++
			}
		case "void":
			b.Voided += p.Amount
		case "refund":
			b.Refunded += p.Amount
			refunds++
		}
	}
	for _, ref := range refs {
		b, subject := ledger[ref], id+"/"+ref
		if b.Captured+b.Voided > b.Authorized {
			c.fail("money", subject, "captured %d + voided %d exceed the %d authorised", b.Captured, b.Voided, b.Authorized)
		}
		if b.Refunded > b.Captured {
			c.fail("money", subject, "refunded %d exceed the %d captured", b.Refunded, b.Captured)
		}
		i := slices.IndexFunc(w.Payments, func(p order.Payment) bool { return p.Reference == ref })
		if i < 0 {
			c.fail("money", subject, "the ledger moved money on a tender the workflow does not know: %+v", *b)
			continue
		}
		p := w.Payments[i]
		if got := (tenderBalance{p.Authorized, p.Captured, p.Voided, p.Refunded}); got != *b {
			c.fail("money", subject, "the ledger has %+v, the workflow %+v", *b, got)
		}
	}
	for _, p := range w.Payments {
		if ledger[p.Reference] == nil {
			c.fail("money", id+"/"+p.Reference, "the workflow has a tender the ledger never saw: %+v", p)
		}
	}
	// What is still authorised: the goods the order still holds, nothing once it is closed.
	if len(w.Payments) > 0 {
		if b := ledger[w.Payments[0].Reference]; b != nil {
			var want int64
			for _, l := range w.Lines {
				switch w.Status {
				case order.StatusPlaced, order.StatusAwaitingPick:
					want += l.Quantity * l.UnitPrice
				case order.StatusReadyForCollection, order.StatusPartiallyCollected:
					want += l.Held() * l.UnitPrice
				}
			}
			if open := b.Authorized - b.Captured - b.Voided; open != want {
				c.fail("money", id+"/"+w.Payments[0].Reference, "%d is still authorised and not voided; an order %s holding goods worth %d should have %d",
					open, w.Status, want, want)
			}
			if b.Authorized != rec.Total {
				c.fail("money", id+"/"+w.Payments[0].Reference, "authorised %d, the checkout placed %d", b.Authorized, rec.Total)
			}
		}
	}
	// Kept money equals goods handed over and not given back.
	var kept, goods int64
	for _, b := range ledger {
		kept += b.Captured - b.Refunded
	}
	for _, l := range w.Lines {
		goods += l.Collected*l.UnitPrice - l.Refunded
	}
	if kept != goods {
		c.fail("money", id, "captured − refunded is %d, the goods handed over and not given back are worth %d", kept, goods)
	}
	// Each money movement the clients were answered for, once.
	var wantRefund, wantCharge int64
	wantRefunds, wantCharges, wantCaptures := 0, 0, 0
	for _, x := range append(slices.Clone(rec.Returns), rec.Exchanges...) {
		wantRefund += x.Refunded
		if x.Refunded > 0 {
			wantRefunds++
		}
		if x.Charged > 0 && x.Tender != "" {
			wantCharge += x.Charged
			wantCharges++
		}
	}
	for _, a := range rec.Actions {
		if strings.HasPrefix(a.Name, "collect") && a.Status == 200 {
			wantCaptures++
		}
	}
	var refunded, charged int64
	for _, b := range ledger {
		refunded += b.Refunded
	}
	for _, ref := range refs {
		if len(w.Payments) == 0 || ref != w.Payments[0].Reference {
			charged += ledger[ref].Captured
		}
	}
	if refunded != wantRefund || refunds != wantRefunds {
		c.fail("once", id, "the ledger refunded %d in %d movements; the stores were answered refunds of %d in %d", refunded, refunds, wantRefund, wantRefunds)
	}
	if charged != wantCharge || charges != wantCharges {
		c.fail("once", id, "the ledger charged new tenders %d in %d movements; the stores were answered %d in %d", charged, charges, wantCharge, wantCharges)
	}
	if captures > wantCaptures {
		c.fail("once", id, "%d handover captures in the ledger for %d handovers answered 200", captures, wantCaptures)
	}
}

// goods compares the workflow's lines with what the clients were answered.
func (c *checker) goods(id string, rec *record, w order.Order) {
	ordered := map[string]int64{}
	for _, l := range rec.Lines {
		ordered[l.SKU] = l.Quantity
	}
	newItems, back := map[string]int64{}, map[string]int64{}
	for _, x := range append(slices.Clone(rec.Returns), rec.Exchanges...) {
		for _, l := range x.New {
			newItems[l.SKU] += l.Quantity
		}
		for _, l := range x.Back {
			back[l.SKU] += l.Quantity
		}
	}
	pickAnswered := slices.ContainsFunc(rec.Actions, func(a action) bool { return a.Name == "pick" && a.Status == 200 })
	seen := map[string]bool{}
	for _, l := range w.Lines {
		seen[l.SKU] = true
		subject := id + "/" + l.SKU
		if l.Quantity != ordered[l.SKU]+newItems[l.SKU] {
			c.fail("goods", subject, "quantity %d; ordered %d and %d taken in exchanges", l.Quantity, ordered[l.SKU], newItems[l.SKU])
		}
		if want := rec.Collected[l.SKU] + newItems[l.SKU]; l.Collected != want {
			c.fail("goods", subject, "collected %d; the store was answered for %d handed over (%d in exchanges)", l.Collected, want, newItems[l.SKU])
		}
		if l.Refused != rec.Refused[l.SKU] {
			c.fail("goods", subject, "refused %d; the store was answered for %d", l.Refused, rec.Refused[l.SKU])
		}
		if l.Returned != back[l.SKU] {
			c.fail("goods", subject, "returned %d; the stores were answered for %d", l.Returned, back[l.SKU])
		}
		if pickAnswered && l.Picked != rec.Picked[l.SKU]+newItems[l.SKU] {
			c.fail("goods", subject, "picked %d; the store was answered for %d", l.Picked, rec.Picked[l.SKU])
		}
	}
	for sku := range ordered {
		if !seen[sku] {
			c.fail("goods", id+"/"+sku, "the line ordered is not on the workflow's order")
		}
	}
}

// stock proves conservation per store and SKU.
func (c *checker) stock() {
	committed, reserved, restocked, written := map[storeSKU]int64{}, map[storeSKU]int64{}, map[storeSKU]int64{}, map[storeSKU]int64{}
	for _, r := range c.s.Reservations {
		k := storeSKU{r.Store, r.SKU}
		committed[k] += r.Committed
		reserved[k] += r.Reserved
	}
	restockSteps := map[storeSKU]int{}
	for _, st := range c.s.Steps {
		if st.Step != "restock" {
			continue
		}
		for _, l := range st.Lines {
			k := storeSKU{st.Store, l.SKU}
			restocked[k] += l.Quantity
			restockSteps[k]++
		}
	}
	for _, w := range c.s.WriteOffs {
		written[storeSKU{w.Store, w.SKU}] += w.Quantity
	}

	// What the clients were answered for, per store and SKU.
	wantCommitted, wantRestocked, wantWritten, wantHeld := map[storeSKU]int64{}, map[storeSKU]int64{}, map[storeSKU]int64{}, map[storeSKU]int64{}
	wantRestocks := map[storeSKU]int{}
	for _, id := range sortedKeys(c.s.Records) {
		rec := c.s.Records[id]
		if !rec.Placed {
			continue
		}
		w, ok := c.s.Workflows[id]
		if !ok || w.Err != "" {
			continue
		}
		o := w.View.Order
		store := o.Fulfilment.StoreID
		for sku, n := range rec.Collected {
			wantCommitted[storeSKU{store, sku}] += n
		}
		for _, x := range append(slices.Clone(rec.Returns), rec.Exchanges...) {
			for _, l := range x.New {
				wantCommitted[storeSKU{x.Store, l.SKU}] += l.Quantity
			}
			for _, l := range x.Back {
				k := storeSKU{x.Store, l.SKU}
				if l.Condition == order.ConditionDamaged {
					wantWritten[k] += l.Quantity
				} else {
					wantRestocked[k] += l.Quantity
					wantRestocks[k]++
				}
			}
		}
		// What the order holds at its store now, by its own state.
		for _, l := range o.Lines {
			k := storeSKU{store, l.SKU}
			switch o.Status {
			case order.StatusPlaced, order.StatusAwaitingPick:
				wantHeld[k] += l.Quantity
			case order.StatusReadyForCollection, order.StatusPartiallyCollected:
				wantHeld[k] += l.Held()
			}
		}
		c.reservationsOf(id, rec, o)
	}

	keys := map[storeSKU]bool{}
	for _, m := range []map[storeSKU]int64{c.s.InitialStock, committed, reserved, restocked, written, wantCommitted, wantRestocked, wantWritten, wantHeld} {
		for k := range m {
			keys[k] = true
		}
	}
	for _, k := range sortedStoreSKUs(keys) {
		st, ok := c.s.Stock[k]
		initial := c.s.InitialStock[k]
		if !ok && (initial != 0 || committed[k] != 0 || restocked[k] != 0 || reserved[k] != 0) {
			c.fail("stock", k.String(), "no stock row")
			continue
		}
		if want := initial - committed[k] + restocked[k]; st.OnHand != want {
			c.fail("stock", k.String(), "on hand %d; initial %d − committed %d + restocked %d = %d",
				st.OnHand, initial, committed[k], restocked[k], want)
		}
		if st.Reserved != reserved[k] {
			c.fail("stock", k.String(), "reserved %d, but the reservations hold %d", st.Reserved, reserved[k])
		}
		if reserved[k] != wantHeld[k] {
			c.fail("stock", k.String(), "the reservations hold %d; the open orders hold %d", reserved[k], wantHeld[k])
		}
		if st.OnHand < 0 || st.Reserved < 0 || st.Reserved > st.OnHand {
			c.fail("stock", k.String(), "negative or over-reserved: on hand %d, reserved %d", st.OnHand, st.Reserved)
		}
		if committed[k] != wantCommitted[k] {
			c.fail("once", k.String(), "%d units committed (sold); the stores were answered for %d", committed[k], wantCommitted[k])
		}
		if restocked[k] != wantRestocked[k] || restockSteps[k] != wantRestocks[k] {
			c.fail("once", k.String(), "%d units restocked in %d steps; the stores were answered for %d in %d returns",
				restocked[k], restockSteps[k], wantRestocked[k], wantRestocks[k])
		}
		if written[k] != wantWritten[k] {
			c.fail("once", k.String(), "%d units written off; the stores were answered for %d damaged", written[k], wantWritten[k])
		}
	}
}

// reservationsOf checks that each of the order's reservations moved each
// unit once: what it still holds, committed and released add up to what it
// reserved, the order's quantity at its store.
func (c *checker) reservationsOf(id string, rec *record, o order.Order) {
	ordered := map[string]int64{}
	for _, l := range rec.Lines {
		ordered[l.SKU] = l.Quantity
	}
	for _, r := range c.s.Reservations {
		subject := r.OrderID + "@" + r.Store + "/" + r.SKU
		switch {
		case r.OrderID == id:
			if sum := r.Reserved + r.Committed + r.Released; sum != ordered[r.SKU] {
				c.fail("once", subject, "held %d + committed %d + released %d = %d, but %d were ordered",
					r.Reserved, r.Committed, r.Released, sum, ordered[r.SKU])
			}
			if r.Store != o.Fulfilment.StoreID && r.Reserved != 0 {
				c.fail("stock", subject, "still holds %d at a store the order left", r.Reserved)
			}
		case strings.HasPrefix(r.OrderID, id+"/"):
			if r.Reserved != 0 || r.Released != 0 {
				c.fail("stock", subject, "an exchange's new items: held %d, released %d (want all committed)", r.Reserved, r.Released)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedStoreSKUs(m map[storeSKU]bool) []storeSKU {
	out := make([]storeSKU, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
