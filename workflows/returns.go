package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Update names of returns and exchanges at store counters.
const (
	UpdateReturn   = "return"
	UpdateExchange = "exchange"
)

// Timeline events of returns and exchanges.
const (
	EventReturned           = "returned"
	EventRestocked          = "restocked"
	EventWrittenOff         = "written_off"
	EventPaymentRefunded    = "payment_refunded"
	EventExchanged          = "exchanged"
	EventReturnWindowClosed = "return_window_closed"
)

// exchangePricesChange marks, in orders started before exactly-once, the
// exchange from which new items are priced from the price list.
const exchangePricesChange = "exchange-prices"

// returnWindowChange marks the change that keeps an order's workflow open for
// its return window after collection (before it, the workflow ended there).
const returnWindowChange = "return-window"

// ReturnRequest is lines of a collected order brought back to a store.
type ReturnRequest struct {
	Actor
	StoreID string             `json:"store_id"`
	Lines   []order.ReturnLine `json:"lines"`
}

// Tender is a payment the POS took at the counter.
type Tender struct {
	Method    string `json:"method"`
	Reference string `json:"reference"`
}

// ExchangeRequest is lines brought back and new items taken from the store's
// stock in one transaction at the counter.
type ExchangeRequest struct {
	Actor
	StoreID     string               `json:"store_id"`
	ReturnLines []order.ReturnLine   `json:"return_lines"`
	NewLines    []order.ExchangeLine `json:"new_lines"`
	// Tender pays a difference the order's authorisation cannot cover.
	Tender *Tender `json:"tender,omitempty"`
}

// TakeBackResult is the outcome of a return or exchange Update: the id of the
// return or exchange the request made (the same on a retry of the request)
// and the order after it.
type TakeBackResult struct {
	ID    string      `json:"id"`
	Order order.Order `json:"order"`
}

// TenderAmount is money moved against one tender of the order.
type TenderAmount struct {
	Payment   int    `json:"payment"` // index in the order's payments; -1 for a new tender
	Reference string `json:"reference"`
	Amount    int64  `json:"amount"`
}

// ReturnInput is everything a return or exchange does, decided by the order.
type ReturnInput struct {
	OrderID string `json:"order_id"`
	// Request is the ID of the request (Update) that takes the goods back;
	// the steps' idempotency keys derive from it. Empty in returns started
	// before it was sent: their keys derive from the return's id.
	Request  string         `json:"request,omitempty"`
	Currency string         `json:"currency"`
	Exchange order.Exchange `json:"exchange"`
	Refunds  []TenderAmount `json:"refunds,omitempty"`
	// Capture takes the difference from the order's authorisation.
	Capture *TenderAmount `json:"capture,omitempty"`
	// Charge takes the difference from a new tender at the counter.
	Charge *TenderAmount `json:"charge,omitempty"`
	// Notify is the customer's message, sent as the last step by returns
	// started before the order's outbox took it (empty now: a notification
	// never holds up a return).
	Notify activities.Notification `json:"notify"`
}

// ReturnResult says how a return or exchange went.
type ReturnResult struct {
	// Short names the new items the store lacks; then nothing was done.
	Short []string `json:"short,omitempty"`
}

// ReturnWorkflow takes goods back at a store for an order, as a child of the
// order's workflow: for an exchange the new items are first reserved and
// committed from the store's stock (all or nothing), then the return is
// recorded, resellable goods are restocked into the store that took them back
// and damaged ones written off, money is refunded to the original tender (or
// the difference taken), and the customer is told. Every step is a durable,
// idempotent activity.
func ReturnWorkflow(ctx workflow.Context, in ReturnInput) (ReturnResult, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	x := in.Exchange
	key := func(step string) string { return in.OrderID + "/" + x.ID + "/" + step }
	if in.Request != "" {
		key = func(step string) string { return in.OrderID + "/" + in.Request + "/" + step }
	}
	run := func(fn, arg any) error { return workflow.ExecuteActivity(ctx, fn, arg).Get(ctx, nil) }

	if len(x.NewLines) > 0 {
		taken := make([]order.LineQty, len(x.NewLines))
		for i, l := range x.NewLines {
			taken[i] = order.LineQty{SKU: l.SKU, Quantity: l.Quantity}
		}
		// The new items are held under the exchange's own name, apart from the order's lines.
		holder := in.OrderID + "/" + x.ID
		var res activities.ReserveResult
		if err := workflow.ExecuteActivity(ctx, a.Reserve, activities.ReserveInput{
			Key: key("reserve"), OrderID: holder, StoreID: x.StoreID, Lines: taken,
		}).Get(ctx, &res); err != nil {
			return ReturnResult{}, err
		}
		if !res.Reserved {
			return ReturnResult{Short: res.Short}, nil
		}
		if err := run(a.Commit, activities.StockInput{Key: key("commit"), OrderID: holder, StoreID: x.StoreID, Lines: taken}); err != nil {
			return ReturnResult{}, err
		}
	}
	if err := run(a.RecordReturn, activities.RecordReturnInput{OrderID: in.OrderID, Exchange: x}); err != nil {
		return ReturnResult{}, err
	}
	resellable, damaged := byCondition(x.ReturnLines)
	if len(resellable) > 0 {
		if err := run(a.Restock, activities.StockInput{Key: key("restock"), OrderID: in.OrderID, StoreID: x.StoreID, Lines: resellable}); err != nil {
			return ReturnResult{}, err
		}
	}
	if len(damaged) > 0 {
		if err := run(a.WriteOff, activities.WriteOffInput{
			StockInput: activities.StockInput{Key: key("write-off"), OrderID: in.OrderID, StoreID: x.StoreID, Lines: damaged},
			Reason:     "damaged return",
		}); err != nil {
			return ReturnResult{}, err
		}
	}
	for i, t := range in.Refunds {
		if err := run(a.Refund, activities.PaymentInput{Key: key(fmt.Sprintf("refund-%d", i)), OrderID: in.OrderID,
			Amount: t.Amount, Currency: in.Currency, Reference: t.Reference}); err != nil {
			return ReturnResult{}, err
		}
	}
	if t := in.Capture; t != nil {
		if err := run(a.Capture, activities.PaymentInput{Key: key("capture"), OrderID: in.OrderID,
			Amount: t.Amount, Currency: in.Currency, Reference: t.Reference}); err != nil {
			return ReturnResult{}, err
		}
	}
	if t := in.Charge; t != nil {
		if err := run(a.Charge, activities.PaymentInput{Key: key("charge"), OrderID: in.OrderID,
			Amount: t.Amount, Currency: in.Currency, Reference: t.Reference}); err != nil {
			return ReturnResult{}, err
		}
	}
	if in.Notify.Key == "" {
		return ReturnResult{}, nil // the order's outbox tells the customer
	}
	// Returns started before the outbox tell the customer as their last step;
	// a message refused for good ends the return all the same.
	if err := run(a.Notify, in.Notify); err != nil && !permanentNotifyFailure(err) {
		return ReturnResult{}, err
	}
	return ReturnResult{}, nil
}

// byCondition splits returned lines into resellable and damaged quantities.
func byCondition(lines []order.ReturnLine) (resellable, damaged []order.LineQty) {
	for _, l := range lines {
		q := order.LineQty{SKU: l.SKU, Quantity: l.Quantity}
		if l.Condition == order.ConditionDamaged {
			damaged = append(damaged, q)
		} else {
			resellable = append(resellable, q)
		}
	}
	return resellable, damaged
}

// checkReturnable refuses returns for an order that is not the store's
// business to take back: nothing handed over, or the window closed.
func (r *orderRun) checkReturnable(ctx workflow.Context) error {
	if e := r.o.CheckReturnable(workflow.Now(ctx)); e != nil {
		return reject(e.Kind, e.Code, "%s", e.Detail)
	}
	return nil
}

// checkReturnLines checks lines brought back against what was handed over,
// already returned, or is being returned right now.
func (r *orderRun) checkReturnLines(field string, lines []order.ReturnLine) error {
	if len(lines) == 0 {
		return reject(order.KindInvalid, "no_lines", "%s: bring back at least one line", field)
	}
	seen := map[string]bool{}
	for i, l := range lines {
		line := r.o.Line(l.SKU)
		switch {
		case line == nil:
			return reject(order.KindInvalid, "unknown_line", "%s[%d]: SKU %q is not on the order", field, i, l.SKU)
		case seen[l.SKU]:
			return reject(order.KindInvalid, "duplicate_line", "%s[%d]: SKU %q appears twice", field, i, l.SKU)
		case l.Condition != order.ConditionResellable && l.Condition != order.ConditionDamaged:
			return reject(order.KindInvalid, "bad_condition", "%s[%d]: condition must be resellable or damaged", field, i)
		case l.Quantity < 1:
			return reject(order.KindInvalid, "bad_quantity", "%s[%d]: quantity must be at least 1", field, i)
		case l.Quantity > line.Returnable()-r.returning[l.SKU]:
			return reject(order.KindConflict, "over_return", "%s[%d]: %d of %s were handed over and %d returned; %d cannot come back",
				field, i, line.HandedOver(), l.SKU, line.Returned+r.returning[l.SKU], l.Quantity)
		}
		seen[l.SKU] = true
	}
	return nil
}

func (r *orderRun) validateReturn(ctx workflow.Context, req ReturnRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := checkRole(req.Actor, roleStore); err != nil {
		return err
	}
	if err := r.checkReturnable(ctx); err != nil {
		return err
	}
	return r.checkReturnLines("lines", req.Lines)
}

func (r *orderRun) validateExchange(ctx workflow.Context, req ExchangeRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := checkRole(req.Actor, roleStore); err != nil {
		return err
	}
	if err := r.checkReturnable(ctx); err != nil {
		return err
	}
	if err := r.checkReturnLines("return_lines", req.ReturnLines); err != nil {
		return err
	}
	if len(req.NewLines) == 0 {
		return reject(order.KindInvalid, "no_lines", "new_lines: take at least one new item (or make a return)")
	}
	seen := map[string]bool{}
	for i, l := range req.NewLines {
		if seen[l.SKU] {
			return reject(order.KindInvalid, "duplicate_line", "new_lines[%d]: SKU %q appears twice", i, l.SKU)
		}
		seen[l.SKU] = true
		if line := r.o.Line(l.SKU); line != nil && l.UnitPrice != 0 && line.UnitPrice != l.UnitPrice {
			return reject(order.KindInvalid, "price_mismatch", "new_lines[%d]: %s is on the order at %d, not %d",
				i, l.SKU, line.UnitPrice, l.UnitPrice)
		}
	}
	if r.exactlyOnce {
		return nil // prices come from the price list, read in the handler
	}
	// An order started before exactly-once checks the payment here, with the
	// caller's prices (the handler then holds them to the price list): a new
	// item must name one.
	for i, l := range req.NewLines {
		if l.UnitPrice <= 0 && r.o.Line(l.SKU) == nil {
			return reject(order.KindInvalid, "validation", "new_lines[%d]: unit_price is required for %s on this order", i, l.SKU)
		}
	}
	_, err := r.settleExchange(r.exchangeDifference(req.ReturnLines, req.NewLines), req.Tender)
	return err
}

// priceNewLines prices the new items of an exchange from sources Omni
// trusts: a SKU already on the order at the price the customer paid for it,
// any other at the price list's price in the order's currency. A caller's
// unit_price may be left out; one that differs is refused.
func (r *orderRun) priceNewLines(ctx workflow.Context, taken []order.ExchangeLine) ([]order.ExchangeLine, error) {
	var lookup []string
	for _, l := range taken {
		if r.o.Line(l.SKU) == nil {
			lookup = append(lookup, l.SKU)
		}
	}
	var list activities.PriceResult
	if len(lookup) > 0 {
		if err := r.exec(ctx, a.UnitPrices, activities.PriceInput{Currency: r.o.Currency, SKUs: lookup}, &list); err != nil {
			return nil, err
		}
	}
	priced := make([]order.ExchangeLine, len(taken))
	for i, l := range taken {
		price, source := list.Prices[l.SKU], "the price list"
		if line := r.o.Line(l.SKU); line != nil {
			price, source = line.UnitPrice, "the order"
		}
		switch {
		case price <= 0:
			return nil, reject(order.KindConflict, "no_price", "new_lines[%d]: %s has no price in %s on the price list",
				i, l.SKU, r.o.Currency)
		case l.UnitPrice != 0 && l.UnitPrice != price:
			return nil, reject(order.KindInvalid, "price_mismatch", "new_lines[%d]: %s costs %d %s on %s, not %d",
				i, l.SKU, price, r.o.Currency, source, l.UnitPrice)
		}
		priced[i] = order.ExchangeLine{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: price}
	}
	return priced, nil
}

// exchangeDifference is what new items cost minus what the returned lines give back.
func (r *orderRun) exchangeDifference(back []order.ReturnLine, taken []order.ExchangeLine) int64 {
	var d int64
	for _, l := range taken {
		d += l.Quantity * l.UnitPrice
	}
	for _, l := range back {
		d -= r.o.Line(l.SKU).RefundFor(l.Quantity)
	}
	return d
}

// settleExchange decides how a difference the customer owes is paid: from the
// order's authorisation while it covers it, else from the tender the POS took.
func (r *orderRun) settleExchange(diff int64, tender *Tender) (*TenderAmount, error) {
	if diff <= 0 {
		return nil, nil
	}
	pay := r.o.Payments[0]
	// What is still authorised, less what the goods still waiting at the counter will take.
	open := pay.Open()
	for _, l := range r.o.Lines {
		open -= l.Held() * l.UnitPrice
	}
	if r.policy.OneCapture {
		open = 0 // the authorisation is captured once, for what was handed over: the counter takes a new tender
	}
	if open >= diff {
		return &TenderAmount{Payment: 0, Reference: pay.Reference, Amount: diff}, nil
	}
	if tender == nil || tender.Reference == "" {
		return nil, reject(order.KindConflict, "payment_required",
			"the customer owes %d %s for the exchange: take payment at the counter and send its tender reference", diff, r.o.Currency)
	}
	return &TenderAmount{Payment: -1, Reference: tender.Reference, Amount: diff}, nil
}

// refundTenders spreads a refund over the order's tenders, the original first,
// never more than each has captured and not yet refunded.
func (r *orderRun) refundTenders(amount int64) []TenderAmount {
	var out []TenderAmount
	for i, p := range r.o.Payments {
		if amount == 0 {
			break
		}
		if n := min(amount, p.Captured-p.Refunded); n > 0 {
			out = append(out, TenderAmount{Payment: i, Reference: p.Reference, Amount: n})
			amount -= n
		}
	}
	return out
}

func (r *orderRun) takeBack(ctx workflow.Context, req ReturnRequest) (TakeBackResult, error) {
	return r.returnGoods(ctx, req.Actor, req.StoreID, req.Lines, nil, nil)
}

func (r *orderRun) exchange(ctx workflow.Context, req ExchangeRequest) (TakeBackResult, error) {
	return r.returnGoods(ctx, req.Actor, req.StoreID, req.ReturnLines, req.NewLines, req.Tender)
}

// returnGoods runs a return (no new items) or an exchange through a child
// ReturnWorkflow and records the outcome on the order, in the order's turn.
func (r *orderRun) returnGoods(ctx workflow.Context, who Actor, store string,
	back []order.ReturnLine, taken []order.ExchangeLine, tender *Tender) (TakeBackResult, error) {
	field := "lines"
	if len(taken) > 0 {
		field = "return_lines"
	}
	release, prior, err := r.begin(ctx, func() error {
		if err := r.checkReturnable(ctx); err != nil {
			return err
		}
		return r.checkReturnLines(field, back)
	})
	if err != nil {
		return TakeBackResult{}, err
	}
	defer release()
	if prior != nil {
		return TakeBackResult{ID: prior.Ref, Order: r.o.WithoutPickupCode()}, nil
	}
	// The units are claimed while the return runs: requests validated
	// meanwhile are refused at once.
	for _, l := range back {
		r.returning[l.SKU] += l.Quantity
	}
	defer func() {
		for _, l := range back {
			r.returning[l.SKU] -= l.Quantity
		}
	}()
	// Orders started before exactly-once take trusted prices too, from their
	// next exchange on (a version marker records the switch in their history).
	if len(taken) > 0 && (r.exactlyOnce ||
		workflow.GetVersion(ctx, exchangePricesChange, workflow.DefaultVersion, 1) == 1) {
		if taken, err = r.priceNewLines(ctx, taken); err != nil {
			return TakeBackResult{}, err
		}
	}

	r.takebacks++
	kind, template := "r", "refunded"
	if len(taken) > 0 {
		kind, template = "x", "exchange"
	}
	x := order.Exchange{ID: fmt.Sprintf("%s-%s%d", r.o.ID, kind, r.takebacks), StoreID: store,
		ReturnLines: back, NewLines: taken, CreatedAt: workflow.Now(ctx).UTC()}
	credit := make([]int64, len(back)) // what each returned line gives back
	for i, l := range back {
		credit[i] = r.o.Line(l.SKU).RefundFor(l.Quantity)
	}
	x.Difference = r.exchangeDifference(back, taken)
	in := ReturnInput{OrderID: r.o.ID, Currency: r.o.Currency}
	if r.exactlyOnce {
		in.Request = r.request
	}
	if x.Difference < 0 {
		in.Refunds = r.refundTenders(-x.Difference)
		for _, t := range in.Refunds {
			x.Refunded += t.Amount
		}
	}
	pay, err := r.settleExchange(x.Difference, tender)
	if err != nil {
		return TakeBackResult{}, err
	}
	if pay != nil {
		x.Charged = pay.Amount
		if pay.Payment < 0 {
			in.Charge, x.Tender = pay, pay.Reference
		} else {
			in.Capture = pay
		}
	}
	in.Exchange = x
	notice := activities.Notification{Key: r.key("notify-" + x.ID), OrderID: r.o.ID, Template: template,
		Channel: "email", Recipient: r.o.Customer.Email, Data: map[string]any{
			"order_number": r.o.Number, "id": x.ID, "store_id": store, "refunded": x.Refunded, "charged": x.Charged,
			"currency": r.o.Currency,
		}}
	if !r.asyncNotify || !r.exactlyOnce {
		in.Notify = notice // as before: the return's last step
	}

	var res ReturnResult
	child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "return-" + x.ID})
	if err := workflow.ExecuteChildWorkflow(child, ReturnWorkflow, in).Get(ctx, &res); err != nil {
		return TakeBackResult{}, err
	}
	if len(res.Short) > 0 {
		return TakeBackResult{}, reject(order.KindConflict, "no_stock",
			"store %s does not have %v for the exchange; nothing was changed", store, res.Short)
	}

	// Record what happened.
	for i, l := range back {
		line := r.o.Line(l.SKU)
		line.Returned += l.Quantity
		line.Refunded += credit[i]
	}
	for _, l := range taken {
		if line := r.o.Line(l.SKU); line != nil {
			line.Quantity += l.Quantity
			line.Picked += l.Quantity
			line.Collected += l.Quantity
		} else {
			r.o.Lines = append(r.o.Lines, order.Line{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: l.UnitPrice,
				Picked: l.Quantity, Collected: l.Quantity})
		}
	}
	for _, t := range in.Refunds {
		r.o.Payments[t.Payment].Refunded += t.Amount
	}
	if in.Capture != nil {
		r.o.Payments[0].Captured += in.Capture.Amount
	}
	if in.Charge != nil {
		method := strings.ToLower(tender.Method)
		if method == "" {
			method = "pos"
		}
		r.o.Payments = append(r.o.Payments, order.Payment{Method: method, Reference: in.Charge.Reference,
			Authorized: in.Charge.Amount, Captured: in.Charge.Amount})
	}
	resellable, damaged := byCondition(back)
	if len(taken) > 0 {
		r.o.Exchanges = append(r.o.Exchanges, x)
		r.event(ctx, who, EventExchanged, map[string]any{"exchange_id": x.ID, "store_id": store,
			"return_lines": back, "new_lines": taken, "difference": x.Difference})
	} else {
		r.o.Returns = append(r.o.Returns, order.Return{ID: x.ID, StoreID: store, Lines: back, Refund: x.Refunded, CreatedAt: x.CreatedAt})
		r.event(ctx, who, EventReturned, map[string]any{"return_id": x.ID, "store_id": store, "lines": back, "refund": x.Refunded})
	}
	if len(resellable) > 0 {
		r.event(ctx, system, EventRestocked, map[string]any{"store_id": store, "lines": resellable})
	}
	if len(damaged) > 0 {
		r.event(ctx, system, EventWrittenOff, map[string]any{"store_id": store, "lines": damaged})
	}
	for _, t := range in.Refunds {
		r.event(ctx, system, EventPaymentRefunded, map[string]any{"amount": t.Amount, "currency": r.o.Currency, "reference": t.Reference})
	}
	if x.Charged > 0 {
		r.event(ctx, who, order.EventPaymentCaptured, map[string]any{"amount": x.Charged, "currency": r.o.Currency, "reference": pay.Reference})
	}
	if len(taken) == 0 {
		r.o.Status = r.handedOverStatus()
	}
	if err := r.project(ctx); err != nil {
		return TakeBackResult{}, err
	}
	if r.o.Status == order.StatusReturned {
		r.done = true // nothing is left to bring back
	}
	if in.Notify.Key == "" {
		r.queue(ctx, notice)
	}
	r.remember(x.ID)
	return TakeBackResult{ID: x.ID, Order: r.o.WithoutPickupCode()}, nil
}

// handedOverStatus is the status of an order whose goods have been handed
// over: collected, or (partially) returned once some came back. While goods
// still wait at the counter the status stays as it is.
func (r *orderRun) handedOverStatus() order.Status {
	if r.o.IsShip() {
		return r.shipStatus()
	}
	var held, collected, returned int64
	for _, l := range r.o.Lines {
		held += l.Held()
		collected += l.Collected
		returned += l.Returned
	}
	switch {
	case held > 0:
		return r.o.Status // the rest still waits at the counter
	case returned == 0:
		return order.StatusCollected
	case returned == collected:
		return order.StatusReturned
	}
	return order.StatusPartiallyReturned
}

// openReturnWindow starts the return window at a handover. Orders collected
// before the window was kept in the workflow end at collection, as they did.
func (r *orderRun) openReturnWindow(ctx workflow.Context) {
	if r.rules < rulesExactlyOnce && workflow.GetVersion(ctx, returnWindowChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	until := workflow.Now(ctx).UTC().Add(r.policy.ReturnWindow)
	r.o.ReturnableUntil = &until
}

// closeReturns ends the order's lifecycle when its return window closes.
func (r *orderRun) closeReturns(ctx workflow.Context) error {
	r.event(ctx, system, EventReturnWindowClosed, map[string]any{"returnable_until": r.o.ReturnableUntil})
	if err := r.project(ctx); err != nil {
		return err
	}
	r.done = true
	return nil
}
