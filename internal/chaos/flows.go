package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/order"
)

// The stores and SKUs of a chaos run, and each SKU's list price (GBP pence).
var (
	stores    = []string{"store-001", "store-002", "store-003"}
	skuPrices = map[string]int64{
		"CHAOS-TEE": 1999, "CHAOS-MUG": 850, "CHAOS-CAP": 1250, "CHAOS-BAG": 4500, "CHAOS-SOX": 500, "CHAOS-HAT": 2000,
	}
)

func skuList() []string {
	out := make([]string, 0, len(skuPrices))
	for s := range skuPrices {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// The flows an order can take.
const (
	flowFull          = "full"           // pick everything, hand everything over
	flowPartialRest   = "partial_rest"   // hand over part, then the rest
	flowPartialExpire = "partial_expire" // hand over part, leave the rest to expire
	flowReturn        = "return"         // full, then return some (or all) in any store
	flowExchange      = "exchange"       // full, then exchange a unit for another item
	flowCancelEarly   = "cancel_early"   // the checkout cancels before the pick
	flowCancelReady   = "cancel_ready"   // support cancels a ready order
	flowExpire        = "expire"         // picked, never collected (sometimes extended once)
	flowShortPick     = "short_pick"     // the store finds less, the rest is handed over
	flowRefuse        = "refuse"         // the customer refuses a line at the counter
	flowReject        = "reject"         // the store rejects; the next store carries on
)

var flowWeights = []struct {
	flow   string
	weight int
}{
	{flowFull, 16}, {flowPartialRest, 8}, {flowPartialExpire, 8}, {flowReturn, 16}, {flowExchange, 10},
	{flowCancelEarly, 9}, {flowCancelReady, 5}, {flowExpire, 9}, {flowShortPick, 7}, {flowRefuse, 6}, {flowReject, 6},
}

// plan is what one order will be, drawn from the run's seed.
type plan struct {
	ID, Store, Flow string
	Lines           []order.Line // SKU, Quantity, UnitPrice
	rng             *rand.Rand
}

func makePlan(seed uint64, i int, runID string) plan {
	rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
	total := 0
	for _, f := range flowWeights {
		total += f.weight
	}
	pick := rng.IntN(total)
	p := plan{ID: fmt.Sprintf("chaos-%s-%04d", runID, i), Store: stores[rng.IntN(len(stores))], rng: rng}
	for _, f := range flowWeights {
		if pick < f.weight {
			p.Flow = f.flow
			break
		}
		pick -= f.weight
	}
	skus := skuList()
	rng.Shuffle(len(skus), func(a, b int) { skus[a], skus[b] = skus[b], skus[a] })
	n := 1 + rng.IntN(3)
	if p.Flow == flowPartialRest || p.Flow == flowPartialExpire || p.Flow == flowRefuse || p.Flow == flowShortPick {
		n = max(n, 2) // a part to take and a part to leave
	}
	for _, s := range skus[:n] {
		p.Lines = append(p.Lines, order.Line{SKU: s, Quantity: int64(1 + rng.IntN(3)), UnitPrice: skuPrices[s]})
	}
	return p
}

// record is what the clients learnt of one order from Omni's definite
// answers: the truth the checker holds Omni to.
type record struct {
	ID, Flow    string
	Store       string // where the order is to be collected, as last seen
	PlaceKey    string
	Placed      bool // 201
	PlaceStatus int  // the definite answer to the placement (0: none)
	Total       int64
	Lines       []order.Line // as ordered
	Picked      map[string]int64
	Collected   map[string]int64
	Refused     map[string]int64
	Cancelled   bool // a cancel was answered 200
	Returns     []takeBack
	Exchanges   []takeBack
	Actions     []action
	Indefinite  []string // actions that never got a definite answer
}

// takeBack is a return or exchange Omni answered 201.
type takeBack struct {
	ID       string
	Store    string
	Back     []order.ReturnLine
	New      []order.ExchangeLine
	Refunded int64
	Charged  int64
	Tender   string
}

// action is one request and its definite answer.
type action struct {
	Name, Key string
	Status    int
	Problem   string
	Attempts  int
}

func (r *record) heldNow() []order.LineQty {
	var out []order.LineQty
	for _, l := range r.Lines {
		if h := r.Picked[l.SKU] - r.Collected[l.SKU] - r.Refused[l.SKU]; h > 0 {
			out = append(out, order.LineQty{SKU: l.SKU, Quantity: h})
		}
	}
	return out
}

// driver runs the flows of a run.
type driver struct {
	api *api
	mu  sync.Mutex
	// unexpected counts answers a flow did not plan for, by "action status problem".
	unexpected map[string]int
}

func (d *driver) note(r *record, name, key string, a answer, err error) bool {
	if err != nil {
		r.Indefinite = append(r.Indefinite, fmt.Sprintf("%s (key %s): %v", name, key, err))
		return false
	}
	r.Actions = append(r.Actions, action{Name: name, Key: key, Status: a.Status, Problem: a.Problem, Attempts: a.Attempts})
	return true
}

func (d *driver) surprise(name string, a answer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unexpected[fmt.Sprintf("%s %d %s", name, a.Status, a.Problem)]++
}

type orderView struct {
	Status     string `json:"status"`
	Fulfilment struct {
		StoreID string `json:"store_id"`
	} `json:"fulfilment"`
	Pickup struct {
		Code string `json:"code"`
	} `json:"pickup"`
}

// read reads the order as the checkout sees it (with its pickup code).
func (d *driver) read(ctx context.Context, id string) (orderView, error) {
	a, err := d.api.do(ctx, http.MethodGet, "/v1/orders/"+id, checkoutKey, "", nil)
	if err != nil {
		return orderView{}, err
	}
	var o orderView
	if a.Status != http.StatusOK {
		return o, fmt.Errorf("GET order %s: %d %s", id, a.Status, a.Body)
	}
	return o, json.Unmarshal(a.Body, &o)
}

// waitStatus polls until the order leaves the given statuses.
func (d *driver) waitLeaves(ctx context.Context, id string, from ...string) (orderView, error) {
	deadline := time.Now().Add(d.api.budget)
	for {
		o, err := d.read(ctx, id)
		if err != nil {
			return o, err
		}
		if !slices.Contains(from, o.Status) || time.Now().After(deadline) || ctx.Err() != nil {
			return o, ctx.Err()
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// run drives one order through its flow; every step's answer goes into rec.
func (d *driver) run(ctx context.Context, p plan, rec *record) {
	rec.ID, rec.Flow, rec.Store, rec.Lines = p.ID, p.Flow, p.Store, p.Lines
	rec.Picked, rec.Collected, rec.Refused = map[string]int64{}, map[string]int64{}, map[string]int64{}
	rng := p.rng
	lines := make([]map[string]any, len(p.Lines))
	for i, l := range p.Lines {
		lines[i] = map[string]any{"sku": l.SKU, "quantity": l.Quantity, "unit_price": l.UnitPrice}
		rec.Total += l.Quantity * l.UnitPrice
	}
	rec.PlaceKey = "place-" + p.ID
	a, err := d.api.do(ctx, http.MethodPost, "/v1/orders", checkoutKey, rec.PlaceKey, map[string]any{
		"id": p.ID, "channel": "web",
		"customer": map[string]any{"id": "c-" + p.ID, "email": p.ID + "@example.com", "name": "Chaos Shopper"},
		"currency": "GBP", "fulfilment": map[string]any{"type": "collect", "store_id": p.Store},
		"lines": lines, "payment": map[string]any{"method": "card", "reference": "psp-" + p.ID, "amount": rec.Total},
	})
	if !d.note(rec, "place", rec.PlaceKey, a, err) {
		return
	}
	rec.PlaceStatus = a.Status
	if a.Status != http.StatusCreated {
		d.surprise("place", a)
		return
	}
	rec.Placed = true

	if p.Flow == flowCancelEarly && rng.IntN(2) == 0 {
		d.cancel(ctx, rec, checkoutKey, "cancel")
		return
	}
	o, err := d.waitLeaves(ctx, p.ID, "placed")
	if err != nil {
		rec.Indefinite = append(rec.Indefinite, "wait for awaiting_pick: "+err.Error())
		return
	}
	if p.Flow == flowReject && o.Status == "awaiting_pick" {
		key := "reject-" + p.ID
		a, err := d.api.do(ctx, http.MethodPost, "/v1/stores/"+rec.Store+"/orders/"+p.ID+"/reject", storeKey(rec.Store), key,
			map[string]any{"reason": "damaged stock"})
		if !d.note(rec, "reject", key, a, err) {
			return
		}
		if a.Status != http.StatusOK {
			d.surprise("reject", a)
		}
		if o, err = d.read(ctx, p.ID); err != nil {
			rec.Indefinite = append(rec.Indefinite, "read after reject: "+err.Error())
			return
		}
		rec.Store = o.Fulfilment.StoreID
	}
	if o.Status != "awaiting_pick" {
		return
	}
	if p.Flow == flowCancelEarly {
		d.cancel(ctx, rec, checkoutKey, "cancel")
		return
	}

	// The pick: everything, or less for a short pick.
	picked := map[string]int64{}
	var pickLines []map[string]any
	for i, l := range p.Lines {
		q := l.Quantity
		if p.Flow == flowShortPick && i == 0 {
			q = int64(rng.IntN(int(l.Quantity))) // 0 to quantity-1
		}
		picked[l.SKU] = q
		pickLines = append(pickLines, map[string]any{"sku": l.SKU, "quantity": q})
	}
	key := "pick-" + p.ID
	a, err = d.api.do(ctx, http.MethodPost, "/v1/stores/"+rec.Store+"/orders/"+p.ID+"/pick", storeKey(rec.Store), key,
		map[string]any{"lines": pickLines})
	if !d.note(rec, "pick", key, a, err) {
		return
	}
	if a.Status != http.StatusOK {
		d.surprise("pick", a)
		return
	}
	rec.Picked = picked
	if o, err = d.read(ctx, p.ID); err != nil {
		rec.Indefinite = append(rec.Indefinite, "read after pick: "+err.Error())
		return
	}
	if o.Status != "ready_for_collection" {
		return
	}
	code := o.Pickup.Code

	switch p.Flow {
	case flowCancelReady:
		d.cancel(ctx, rec, supportKey, "cancel")
		return
	case flowExpire:
		if rng.IntN(3) == 0 {
			key := "extend-" + p.ID
			a, err := d.api.do(ctx, http.MethodPost, "/v1/orders/"+p.ID+"/extend-pickup", supportKey, key, nil)
			if d.note(rec, "extend", key, a, err) && a.Status != http.StatusOK {
				d.surprise("extend", a)
			}
		}
		return // left to expire
	case flowRefuse:
		held := rec.heldNow()
		refused := []map[string]any{{"sku": held[0].SKU, "quantity": held[0].Quantity, "reason": "changed mind"}}
		d.collect(ctx, rec, code, "collect-1", held[1:], refused, map[string]int64{held[0].SKU: held[0].Quantity})
	case flowPartialRest, flowPartialExpire:
		held := rec.heldNow()
		part := []order.LineQty{held[0]}
		if held[0].Quantity > 1 && rng.IntN(2) == 0 {
			part[0].Quantity = 1 + int64(rng.IntN(int(held[0].Quantity-1)))
		}
		if !d.collect(ctx, rec, code, "collect-1", part, nil, nil) {
			return
		}
		if p.Flow == flowPartialExpire {
			return // the rest is left to expire
		}
		d.collect(ctx, rec, code, "collect-2", rec.heldNow(), nil, nil)
	default:
		if held := rec.heldNow(); len(held) > 0 && !d.collect(ctx, rec, code, "collect-1", held, nil, nil) {
			return
		}
	}

	switch p.Flow {
	case flowReturn:
		d.returnSome(ctx, rec, rng, "return-1")
		if rng.IntN(3) == 0 {
			d.returnSome(ctx, rec, rng, "return-2")
		}
	case flowExchange:
		d.exchange(ctx, rec, rng)
	}
}

func (d *driver) cancel(ctx context.Context, rec *record, bearer, name string) {
	key := name + "-" + rec.ID
	a, err := d.api.do(ctx, http.MethodPost, "/v1/orders/"+rec.ID+"/cancel", bearer, key, map[string]any{"reason": "chaos"})
	if !d.note(rec, name, key, a, err) {
		return
	}
	if a.Status == http.StatusOK {
		rec.Cancelled = true
		return
	}
	d.surprise(name, a)
}

// collect hands lines over (and refuses others) at the order's store.
func (d *driver) collect(ctx context.Context, rec *record, code, name string, take []order.LineQty,
	refused []map[string]any, refusedQty map[string]int64) bool {
	key := name + "-" + rec.ID
	body := map[string]any{"pickup_code": code, "collected_by": map[string]any{"name": "Chaos Shopper", "relation": "customer"}}
	if len(take) > 0 {
		body["lines"] = take
	}
	if len(refused) > 0 {
		body["refused"] = refused
	}
	a, err := d.api.do(ctx, http.MethodPost, "/v1/stores/"+rec.Store+"/orders/"+rec.ID+"/collect", storeKey(rec.Store), key, body)
	if !d.note(rec, name, key, a, err) {
		return false
	}
	if a.Status != http.StatusOK {
		d.surprise("collect", a)
		return false
	}
	for _, l := range take {
		rec.Collected[l.SKU] += l.Quantity
	}
	for s, q := range refusedQty {
		rec.Refused[s] += q
	}
	return true
}

// returnable is what of each line was handed over and not yet brought back.
func (rec *record) returnable() []order.LineQty {
	back := map[string]int64{}
	for _, x := range append(slices.Clone(rec.Returns), rec.Exchanges...) {
		for _, l := range x.Back {
			back[l.SKU] += l.Quantity
		}
	}
	var out []order.LineQty
	for _, l := range rec.Lines {
		if n := rec.Collected[l.SKU] - back[l.SKU]; n > 0 {
			out = append(out, order.LineQty{SKU: l.SKU, Quantity: n})
		}
	}
	return out
}

// returnSome returns some of what can be returned, at a random store.
func (d *driver) returnSome(ctx context.Context, rec *record, rng *rand.Rand, name string) {
	can := rec.returnable()
	if len(can) == 0 {
		return
	}
	var back []order.ReturnLine
	for _, l := range can {
		if rng.IntN(3) == 0 && len(back) > 0 {
			continue
		}
		cond := order.ConditionResellable
		if rng.IntN(4) == 0 {
			cond = order.ConditionDamaged
		}
		back = append(back, order.ReturnLine{SKU: l.SKU, Quantity: 1 + int64(rng.IntN(int(l.Quantity))), Reason: "chaos", Condition: cond})
	}
	store := stores[rng.IntN(len(stores))]
	key := name + "-" + rec.ID
	a, err := d.api.do(ctx, http.MethodPost, "/v1/stores/"+store+"/orders/"+rec.ID+"/returns", storeKey(store), key,
		map[string]any{"lines": back})
	if !d.note(rec, name, key, a, err) {
		return
	}
	if a.Status != http.StatusCreated {
		d.surprise("return", a)
		return
	}
	var res struct {
		Return order.Return `json:"return"`
	}
	if err := json.Unmarshal(a.Body, &res); err != nil {
		rec.Indefinite = append(rec.Indefinite, name+": unreadable answer: "+err.Error())
		return
	}
	rec.Returns = append(rec.Returns, takeBack{ID: res.Return.ID, Store: store, Back: back, Refunded: res.Return.Refund})
}

// exchange brings one unit back and takes another item from the list.
func (d *driver) exchange(ctx context.Context, rec *record, rng *rand.Rand) {
	can := rec.returnable()
	if len(can) == 0 {
		return
	}
	l := can[rng.IntN(len(can))]
	back := []order.ReturnLine{{SKU: l.SKU, Quantity: 1, Reason: "wrong size", Condition: order.ConditionResellable}}
	var others []string
	for _, s := range skuList() {
		if !slices.ContainsFunc(rec.Lines, func(x order.Line) bool { return x.SKU == s }) {
			others = append(others, s)
		}
	}
	newSKU := others[rng.IntN(len(others))]
	taken := []order.ExchangeLine{{SKU: newSKU, Quantity: 1}}
	store := stores[rng.IntN(len(stores))]
	key := "exchange-" + rec.ID
	a, err := d.api.do(ctx, http.MethodPost, "/v1/stores/"+store+"/orders/"+rec.ID+"/exchanges", storeKey(store), key,
		map[string]any{"return_lines": back, "new_lines": taken, "tender": map[string]any{"method": "card", "reference": "pos-" + rec.ID}})
	if !d.note(rec, "exchange", key, a, err) {
		return
	}
	if a.Status != http.StatusCreated {
		d.surprise("exchange", a)
		return
	}
	var res struct {
		Exchange order.Exchange `json:"exchange"`
	}
	if err := json.Unmarshal(a.Body, &res); err != nil {
		rec.Indefinite = append(rec.Indefinite, "exchange: unreadable answer: "+err.Error())
		return
	}
	taken[0].UnitPrice = skuPrices[newSKU]
	rec.Exchanges = append(rec.Exchanges, takeBack{ID: res.Exchange.ID, Store: store, Back: back, New: taken,
		Refunded: res.Exchange.Refunded, Charged: res.Exchange.Charged, Tender: res.Exchange.Tender})
}
