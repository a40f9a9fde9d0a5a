package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Home delivery: an order shipped to the customer's address, from one or
// more stores and warehouses, one fulfilment (and one shipment) each.
//
//	placed ──source──▶ one fulfilment per location ──(none can)──▶ rejected
//
//	each fulfilment:
//	awaiting_pick ──pick──▶ picked ──ship (label, capture, commit)──▶ shipped
//	      │                                                              │
//	      └─nothing found: sourced again elsewhere, or cancelled          ▼
//	in_transit ─▶ out_for_delivery ─▶ delivered (returnable in any store)
//	      └──────────────┴─▶ failed_attempt (customer told) ─▶ … ─▶ returned_to_sender (refunded)
//
// The order's status summarises its fulfilments (shipStatus): awaiting_pick,
// picked, partially_shipped, shipped, delivered, then partially_returned and
// returned as goods come back in a store. Each shipment's payment is
// captured as it ships; what never ships (short picks, cancelled
// fulfilments) is voided. Every step's key names the order, the fulfilment
// and the request, so retries and crashes repeat nothing.

// Timeline events of delivery.
const (
	EventFulfilmentCreated = "fulfilment_created"
	EventShipped           = "shipped"
	EventTrackingUpdated   = "tracking_updated"
	EventDelivered         = "delivered"
	EventDeliveryFailed    = "delivery_failed"
	EventReturnedToSender  = "returned_to_sender"
	EventFulfilmentCancel  = "fulfilment_cancelled"
)

// placeShipment sources a ship order and reserves its stock at each chosen
// location. A reservation refused (the stock sold meanwhile) releases the
// others and sources again, up to three times.
func (r *orderRun) placeShipment(ctx workflow.Context) error {
	lines := r.ordered()
	for attempt := 1; attempt <= 3; attempt++ {
		placed, found, err := r.sourceLines(ctx, lines, nil, fmt.Sprint("place-", attempt))
		if err != nil {
			return err
		}
		if placed {
			r.o.Status = r.shipStatus()
			return r.project(ctx)
		}
		if !found {
			break // nobody has it: no point asking again
		}
	}
	return r.rejectShipment(ctx, "no_stock")
}

// sourceLines finds locations for lines (not at exclude), reserves them and
// opens a fulfilment at each. It reports placed false, holding nothing, when
// no set of locations can send every line (found false) or a reservation was
// refused (the stock sold meanwhile: found true).
func (r *orderRun) sourceLines(ctx workflow.Context, lines []order.LineQty, exclude []string, step string) (placed, found bool, err error) {
	addr := r.o.Fulfilment.Address
	in := activities.SourceInput{OrderID: r.o.ID, Lines: lines, Ship: true, Exclude: exclude}
	if addr != nil {
		in.NearLat, in.NearLon = addr.Lat, addr.Lon
	}
	var plan activities.SourceResult
	if err := r.exec(ctx, a.Source, in, &plan); err != nil {
		return false, false, err
	}
	if len(plan.Plan) == 0 {
		r.event(ctx, system, EventNoStock, map[string]any{"lines": lines, "reason": "no_location"})
		return false, false, nil
	}
	held := make([]order.Assignment, 0, len(plan.Plan))
	for _, as := range plan.Plan {
		var res activities.ReserveResult
		if err := r.exec(ctx, a.Reserve, activities.ReserveInput{
			Key: r.key("reserve-" + step + "-" + as.LocationID), OrderID: r.o.ID, StoreID: as.LocationID, Lines: as.Lines,
			SafetyStock: plan.SafetyStock[as.LocationID],
		}, &res); err != nil {
			return false, true, err
		}
		if !res.Reserved {
			r.event(ctx, system, EventNoStock, map[string]any{"store_id": as.LocationID, "short_skus": res.Short})
			for _, h := range held {
				if err := r.exec(ctx, a.Release, activities.StockInput{
					Key: r.key("unreserve-" + step + "-" + h.LocationID), OrderID: r.o.ID, StoreID: h.LocationID, Lines: h.Lines,
				}, nil); err != nil {
					return false, true, err
				}
			}
			return false, true, nil
		}
		held = append(held, as)
	}
	now := workflow.Now(ctx).UTC()
	for _, as := range held {
		if err := r.exec(ctx, a.OpenPickTask, activities.PickTaskInput{
			OrderID: r.o.ID, StoreID: as.LocationID, Lines: as.Lines, Number: r.o.Number,
			DueBy: r.pickDueBy(ctx),
		}, nil); err != nil {
			return false, true, err
		}
		f := order.FulfilmentState{ID: fmt.Sprintf("f%d", len(r.o.Fulfilments)+1), Type: order.FulfilmentShip,
			LocationID: as.LocationID, Status: order.FulfilmentAwaitingPick, CreatedAt: now}
		for _, l := range as.Lines {
			f.Lines = append(f.Lines, order.FulfilmentLine{SKU: l.SKU, Quantity: l.Quantity})
		}
		r.o.Fulfilments = append(r.o.Fulfilments, f)
		r.event(ctx, system, order.EventReserved, map[string]any{"store_id": as.LocationID, "fulfilment_id": f.ID})
		r.event(ctx, system, EventFulfilmentCreated, map[string]any{"fulfilment_id": f.ID, "type": f.Type,
			"location_id": f.LocationID, "lines": as.Lines})
		r.event(ctx, system, order.EventPickRequested, map[string]any{"store_id": as.LocationID, "fulfilment_id": f.ID})
	}
	r.assignedAt = now
	return true, true, nil
}

// rejectShipment ends a ship order no location can send.
func (r *orderRun) rejectShipment(ctx workflow.Context, reason string) error {
	if err := r.voidOpen(ctx, r.step("reject", "void")); err != nil {
		return err
	}
	r.o.Status = order.StatusRejected
	r.event(ctx, system, order.EventRejected, map[string]any{"reason": reason})
	if err := r.project(ctx); err != nil {
		return err
	}
	r.done = true
	return r.notify(ctx, "rejected", map[string]any{"reason": reason})
}

// fulfilmentAt is the order's fulfilment of type typ at location in one of
// statuses (any status when none is given), or nil.
func (r *orderRun) fulfilmentAt(location string, statuses ...string) *order.FulfilmentState {
	for i := range r.o.Fulfilments {
		f := &r.o.Fulfilments[i]
		if f.Type == order.FulfilmentCollect || f.LocationID != location {
			continue
		}
		if len(statuses) == 0 || slices.Contains(statuses, f.Status) {
			return f
		}
	}
	return nil
}

// picksFulfilment reports that a pick at the store is for one of the
// order's shipments or transfers rather than its collection.
func (r *orderRun) picksFulfilment(store string) bool {
	return r.o.IsShip() || r.fulfilmentAt(store) != nil
}

// validatePickFulfilment checks a store's pick of its shipment or transfer.
func (r *orderRun) validatePickFulfilment(req PickRequest) error {
	f := r.fulfilmentAt(req.StoreID)
	switch {
	case f == nil:
		return reject(order.KindConflict, "wrong_store", "the order has nothing to send from %s", req.StoreID)
	case r.fulfilmentAt(req.StoreID, order.FulfilmentAwaitingPick) != nil:
		f = r.fulfilmentAt(req.StoreID, order.FulfilmentAwaitingPick)
	case r.o.Status == order.StatusPlaced && !r.idle():
		return reject(order.KindUnavailable, "not_started", "the order is still being set up; try again in a few seconds")
	default:
		return reject(order.KindConflict, "not_awaiting_pick", "the order's fulfilment at %s is %s, not awaiting pick",
			req.StoreID, f.Status)
	}
	want := map[string]int64{}
	for _, l := range f.Lines {
		want[l.SKU] = l.Quantity
	}
	seen := map[string]bool{}
	for i, l := range req.Lines {
		q, ok := want[l.SKU]
		switch {
		case !ok:
			return reject(order.KindInvalid, "unknown_line", "lines[%d]: SKU %q is not sent from %s", i, l.SKU, req.StoreID)
		case seen[l.SKU]:
			return reject(order.KindInvalid, "duplicate_line", "lines[%d]: SKU %q appears twice", i, l.SKU)
		case l.Quantity < 0 || l.Quantity > q:
			return reject(order.KindInvalid, "bad_quantity", "lines[%d]: %s can be picked 0 to %d, got %d", i, l.SKU, q, l.Quantity)
		}
		seen[l.SKU] = true
	}
	return nil
}

// pickFulfilment records what a location found for its shipment or
// transfer. What it did not find is released and its authorisation voided
// (the customer is told); a location that found nothing has its lines
// sourced again from the others, or cancelled when none can send them.
func (r *orderRun) pickFulfilment(ctx workflow.Context, req PickRequest) (order.Order, error) {
	f := r.fulfilmentAt(req.StoreID, order.FulfilmentAwaitingPick)
	found := map[string]int64{}
	for _, l := range req.Lines {
		found[l.SKU] = l.Quantity
	}
	var missing, picked []order.LineQty
	for i := range f.Lines {
		l := &f.Lines[i]
		l.Picked = found[l.SKU]
		if l.Picked > 0 {
			picked = append(picked, order.LineQty{SKU: l.SKU, Quantity: l.Picked})
		}
		if n := l.Quantity - l.Picked; n > 0 {
			missing = append(missing, order.LineQty{SKU: l.SKU, Quantity: n})
		}
	}
	taskStatus := "picked"
	if len(picked) == 0 {
		taskStatus = "nothing_found"
	}
	if err := r.exec(ctx, a.ClosePickTask, activities.PickTaskInput{
		OrderID: r.o.ID, StoreID: f.LocationID, Status: taskStatus,
	}, nil); err != nil {
		return order.Order{}, err
	}
	if len(missing) > 0 {
		if err := r.exec(ctx, a.Release, activities.StockInput{
			Key: r.step("pick", "release-"+f.ID), OrderID: r.o.ID, StoreID: f.LocationID, Lines: missing,
		}, nil); err != nil {
			return order.Order{}, err
		}
	}
	id := f.ID
	if f.Type == order.FulfilmentShip {
		for _, p := range picked {
			r.o.Line(p.SKU).Picked += p.Quantity
		}
	}
	if len(picked) == 0 {
		f.Status = order.FulfilmentCancelled
	} else {
		f.Status = order.FulfilmentPicked
	}
	r.event(ctx, req.Actor, order.EventPicked, map[string]any{"store_id": req.StoreID, "fulfilment_id": id,
		"lines": req.Lines, "complete": len(missing) == 0})
	if len(picked) == 0 {
		r.event(ctx, system, EventFulfilmentCancel, map[string]any{"fulfilment_id": id, "reason": "nothing_found"})
	}
	if len(missing) > 0 {
		if err := r.resourceMissing(ctx, f, missing, len(picked) == 0); err != nil {
			return order.Order{}, err
		}
	}
	if r.o.Status != order.StatusRejected {
		r.o.Status = r.shipStatus()
	}
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// resourceMissing deals with lines a location did not find. A transfer's
// missing lines, or a shipment that found nothing, are sourced from the
// other locations; otherwise (or when nobody else has them) they are
// dropped from the order, their authorisation voided, the customer told.
func (r *orderRun) resourceMissing(ctx workflow.Context, f *order.FulfilmentState, missing []order.LineQty, nothing bool) error {
	if f.Type == order.FulfilmentShip && nothing {
		var tried []string
		for _, g := range r.o.Fulfilments {
			tried = append(tried, g.LocationID)
		}
		placed, _, err := r.sourceLines(ctx, missing, tried, r.request+"-"+f.ID)
		if err != nil || placed {
			return err
		}
	}
	if f.Type == order.FulfilmentTransfer {
		return r.transferShort(ctx, f, missing)
	}
	if r.liveFulfilments() == 0 {
		return r.endUnfulfilled(ctx, "nothing_found")
	}
	return r.shortPicked(ctx, missing)
}

// liveFulfilments counts the shipments not cancelled.
func (r *orderRun) liveFulfilments() int {
	n := 0
	for _, f := range r.o.Fulfilments {
		if f.Type == order.FulfilmentShip && f.Status != order.FulfilmentCancelled {
			n++
		}
	}
	return n
}

// endUnfulfilled ends a ship order none of whose goods can be sent.
func (r *orderRun) endUnfulfilled(ctx workflow.Context, reason string) error {
	if err := r.voidOpen(ctx, r.step("unfulfilled", "void")); err != nil {
		return err
	}
	r.o.Status = order.StatusRejected
	r.event(ctx, system, order.EventRejected, map[string]any{"reason": reason})
	r.done = true
	return r.notify(ctx, "rejected", map[string]any{"reason": reason})
}

func (r *orderRun) validateShip(ctx workflow.Context, req ShipRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := r.checkOpen(); err != nil {
		return err
	}
	if err := checkRole(req.Actor, roleStore); err != nil {
		return err
	}
	f := r.fulfilmentAt(req.StoreID)
	if f == nil {
		return reject(order.KindConflict, "wrong_store", "the order has nothing to send from %s", req.StoreID)
	}
	f = r.fulfilmentAt(req.StoreID, order.FulfilmentPicked)
	if f == nil {
		return reject(order.KindConflict, "not_picked", "the order's fulfilment at %s is not picked and waiting to ship",
			req.StoreID)
	}
	if len(req.Parcels) == 0 {
		return nil
	}
	left := map[string]int64{}
	for _, l := range f.Lines {
		left[l.SKU] = l.Picked
	}
	for i, p := range req.Parcels {
		if len(p.Lines) == 0 {
			return reject(order.KindInvalid, "empty_parcel", "parcels[%d]: a parcel holds at least one line", i)
		}
		for j, l := range p.Lines {
			if l.Quantity < 1 || l.Quantity > left[l.SKU] {
				return reject(order.KindInvalid, "bad_parcel", "parcels[%d].lines[%d]: %s: %d left to pack, got %d",
					i, j, l.SKU, left[l.SKU], l.Quantity)
			}
			left[l.SKU] -= l.Quantity
		}
	}
	for sku, n := range left {
		if n > 0 {
			return reject(order.KindInvalid, "unpacked", "parcels: %d of %s picked but in no parcel", n, sku)
		}
	}
	return nil
}

// ship hands a picked fulfilment to the carrier: the carrier books the
// parcels (label and tracking number), the payment for the fulfilment's
// goods is captured and its stock committed, and the customer gets the
// tracking. For a transfer the parcels travel to the collection store.
func (r *orderRun) ship(ctx workflow.Context, req ShipRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateShip(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o.WithoutPickupCode(), nil
	}
	r.acceptDurably()
	defer func() { r.durableFirst = false }()
	f := r.fulfilmentAt(req.StoreID, order.FulfilmentPicked)
	if f.Type == order.FulfilmentTransfer {
		return r.dispatchTransfer(ctx, req, f)
	}
	picked := f.PickedLines()
	var amount int64
	for _, p := range picked {
		amount += p.Quantity * r.o.Line(p.SKU).UnitPrice
	}
	parcels := req.Parcels
	if len(parcels) == 0 {
		parcels = []activities.Parcel{{Lines: picked}}
	}
	var label activities.ShipmentLabel
	if err := r.exec(ctx, a.CreateShipment, activities.ShipmentInput{Key: r.key("ship-" + f.ID),
		ShipmentRequest: activities.ShipmentRequest{OrderID: r.o.ID, FulfilmentID: f.ID, FromLocationID: f.LocationID,
			Address: *r.o.Fulfilment.Address, Service: r.o.Fulfilment.Service, Parcels: parcels},
	}, &label); err != nil {
		return order.Order{}, err
	}
	pay := &r.o.Payments[0]
	toCapture := amount
	if r.policy.OneCapture {
		// One capture, once the last parcel leaves, for every parcel.
		toCapture = 0
		if r.unshippedBut(f) == 0 {
			toCapture = r.handedOverValue(picked) - pay.Captured
		}
	}
	var captured activities.PaymentResult
	if toCapture > 0 {
		if err := r.exec(ctx, a.Capture, activities.PaymentInput{
			Key: r.key("capture-" + f.ID), OrderID: r.o.ID, Amount: toCapture, Currency: r.o.Currency, Reference: pay.Reference,
		}, &captured); err != nil {
			if refused := paymentFailed(err); refused != err {
				// The provider will not pay: the parcel stays, its booking is withdrawn.
				if cerr := r.exec(ctx, a.CancelShipment, activities.CancelShipmentInput{Key: r.key("ship-cancel-" + f.ID),
					ShipmentID: label.ShipmentID, Reason: "payment_failed"}, nil); cerr != nil {
					return order.Order{}, cerr
				}
				return order.Order{}, refused
			}
			return order.Order{}, err
		}
		pay.Captured += toCapture
	}
	if err := r.exec(ctx, a.Commit, activities.StockInput{
		Key: r.key("commit-" + f.ID), OrderID: r.o.ID, StoreID: f.LocationID, Lines: picked,
	}, nil); err != nil {
		return order.Order{}, err
	}
	now := workflow.Now(ctx).UTC()
	f.Status = order.FulfilmentShipped
	f.Captured = amount // this parcel's value: what comes back if it is returned to sender
	f.Shipment = &order.Shipment{ID: label.ShipmentID, TrackingNumber: label.TrackingNumber, TrackingURL: label.TrackingURL,
		LabelURL: label.LabelURL, Service: r.o.Fulfilment.Service, Parcels: len(parcels), Status: order.FulfilmentShipped,
		ShippedAt: &now}
	for _, p := range picked {
		r.o.Line(p.SKU).Shipped += p.Quantity
	}
	tracking := map[string]any{"fulfilment_id": f.ID, "store_id": f.LocationID, "shipment_id": label.ShipmentID,
		"tracking_number": label.TrackingNumber, "tracking_url": label.TrackingURL, "parcels": len(parcels), "lines": picked}
	r.event(ctx, req.Actor, EventShipped, tracking)
	if toCapture > 0 {
		r.capturedEvent(ctx, req.Actor, toCapture, captured, map[string]any{"fulfilment_id": f.ID})
	}
	r.o.Status = r.shipStatus()
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	if err := r.notify(ctx, "shipped", tracking); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// trackingRank orders the carrier's statuses so that a late or repeated
// callback never moves a shipment back.
var trackingRank = map[string]int{
	order.FulfilmentShipped: 1, order.FulfilmentInTransit: 2, order.FulfilmentFailedAttempt: 3,
	order.FulfilmentOutForDelivery: 3, order.FulfilmentDelivered: 9, order.FulfilmentReturnedToSender: 9,
}

// shipmentByID finds the fulfilment whose shipment the carrier names.
func (r *orderRun) shipmentByID(id string) *order.FulfilmentState {
	for i := range r.o.Fulfilments {
		if s := r.o.Fulfilments[i].Shipment; s != nil && s.ID == id {
			return &r.o.Fulfilments[i]
		}
	}
	return nil
}

func (r *orderRun) validateTracking(ctx workflow.Context, req TrackingRequest) error {
	if _, ok := r.handledBefore(ctx); ok {
		return nil
	}
	if err := checkRole(req.Actor, roleSupport, roleStore); err != nil {
		return err
	}
	if _, ok := trackingRank[req.Status]; !ok || req.Status == order.FulfilmentShipped {
		return reject(order.KindInvalid, "bad_status",
			"status must be in_transit, out_for_delivery, delivered, failed_attempt or returned_to_sender")
	}
	if r.shipmentByID(req.ShipmentID) == nil {
		return reject(order.KindNotFound, "shipment_not_found", "the order has no shipment %q", req.ShipmentID)
	}
	return nil
}

// tracking applies the carrier's news of a shipment. Repeated and late news
// (a status the shipment has passed) changes nothing. Delivered goods are
// the customer's and returnable in any store; a failed attempt is told to
// the customer; a parcel returned to sender is restocked at its location
// and its payment refunded.
func (r *orderRun) tracking(ctx workflow.Context, req TrackingRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateTracking(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o.WithoutPickupCode(), nil
	}
	f := r.shipmentByID(req.ShipmentID)
	s := f.Shipment
	cur := trackingRank[s.Status]
	if cur >= trackingRank[order.FulfilmentDelivered] ||
		(trackingRank[req.Status] < cur) || (req.Status == s.Status && req.Status != order.FulfilmentFailedAttempt) {
		r.remember("")
		return r.o.WithoutPickupCode(), nil // news the shipment has passed
	}
	at := req.At.UTC()
	if at.IsZero() {
		at = workflow.Now(ctx).UTC()
	}
	data := map[string]any{"fulfilment_id": f.ID, "shipment_id": s.ID, "tracking_number": s.TrackingNumber,
		"status": req.Status, "at": at}
	s.Status, f.Status = req.Status, req.Status
	template := ""
	switch req.Status {
	case order.FulfilmentDelivered:
		s.DeliveredAt = &at
		lines := f.PickedLines()
		for _, l := range lines {
			r.o.Line(l.SKU).Delivered += l.Quantity
		}
		data["lines"] = lines
		r.event(ctx, req.Actor, EventDelivered, data)
		r.openReturnWindow(ctx)
		template = "delivered"
	case order.FulfilmentFailedAttempt:
		r.event(ctx, req.Actor, EventDeliveryFailed, data)
		template = "delivery_failed"
	case order.FulfilmentReturnedToSender:
		r.durable = true
		defer func() { r.durable = false }()
		if err := r.returnedToSender(ctx, f, req, data); err != nil {
			return order.Order{}, err
		}
		template = "returned_to_sender"
	default:
		r.event(ctx, req.Actor, EventTrackingUpdated, data)
	}
	r.o.Status = r.shipStatus()
	if r.o.Status == order.StatusReturnedToSender {
		r.done = true // nothing of it reached the customer, and nothing is left to come
	}
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	if template != "" {
		if err := r.notify(ctx, template, data); err != nil {
			return order.Order{}, err
		}
	}
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// returnedToSender puts a parcel the carrier brought back into its
// location's stock and refunds what was captured for it.
func (r *orderRun) returnedToSender(ctx workflow.Context, f *order.FulfilmentState, req TrackingRequest, data map[string]any) error {
	lines := f.PickedLines()
	if err := r.exec(ctx, a.Restock, activities.StockInput{
		Key: r.key("rts-restock-" + f.ID), OrderID: r.o.ID, StoreID: f.LocationID, Lines: lines,
	}, nil); err != nil {
		return err
	}
	pay := &r.o.Payments[0]
	if f.Captured > 0 {
		if err := r.exec(ctx, a.Refund, activities.PaymentInput{
			Key: r.key("rts-refund-" + f.ID), OrderID: r.o.ID, Amount: f.Captured, Currency: r.o.Currency, Reference: pay.Reference,
		}, nil); err != nil {
			return err
		}
		pay.Refunded += f.Captured
	}
	data["lines"], data["refund"] = lines, f.Captured
	r.event(ctx, req.Actor, EventReturnedToSender, data)
	return nil
}

// shipStatus summarises a ship order's fulfilments, and its returns.
func (r *orderRun) shipStatus() order.Status {
	var waiting, picked, moving, delivered, back, live int
	for _, f := range r.o.Fulfilments {
		if f.Type != order.FulfilmentShip {
			continue
		}
		switch f.Status {
		case order.FulfilmentCancelled:
			continue
		case order.FulfilmentAwaitingPick:
			waiting++
		case order.FulfilmentPicked:
			picked++
		case order.FulfilmentDelivered:
			delivered++
		case order.FulfilmentReturnedToSender:
			back++
		default:
			moving++
		}
		live++
	}
	switch {
	case live == 0:
		return r.o.Status
	case back == live:
		return order.StatusReturnedToSender
	case waiting+picked > 0 && moving+delivered+back > 0:
		return order.StatusPartiallyShipped
	case waiting > 0:
		return order.StatusAwaitingPick
	case picked > 0:
		return order.StatusPicked
	case moving > 0:
		return order.StatusShipped
	}
	var handed, returned int64
	for _, l := range r.o.Lines {
		handed += l.HandedOver()
		returned += l.Returned
	}
	switch {
	case returned == 0:
		return order.StatusDelivered
	case returned >= handed:
		return order.StatusReturned
	}
	return order.StatusPartiallyReturned
}

// cancelShipment is the cancel saga of a ship order none of which has
// shipped: each location's pick task is withdrawn and its stock released,
// then the authorisation is voided.
func (r *orderRun) cancelFulfilments(ctx workflow.Context) error {
	for i := range r.o.Fulfilments {
		f := &r.o.Fulfilments[i]
		if f.Type == order.FulfilmentCollect {
			continue
		}
		switch f.Status {
		case order.FulfilmentAwaitingPick:
			if err := r.exec(ctx, a.ClosePickTask, activities.PickTaskInput{
				OrderID: r.o.ID, StoreID: f.LocationID, Status: "cancelled",
			}, nil); err != nil {
				return err
			}
			r.event(ctx, system, EventPickTaskWithdrawn, map[string]any{"store_id": f.LocationID, "fulfilment_id": f.ID})
		case order.FulfilmentPicked, order.FulfilmentInTransit:
		default:
			continue
		}
		if err := r.exec(ctx, a.Release, activities.StockInput{
			Key: r.step("cancel", "release-"+f.ID), OrderID: r.o.ID, StoreID: f.LocationID,
		}, nil); err != nil {
			return err
		}
		r.event(ctx, system, EventStockReleased, map[string]any{"store_id": f.LocationID, "fulfilment_id": f.ID})
		f.Status = order.FulfilmentCancelled
	}
	return nil
}

// anyShipped reports that a shipment of the order has left its location.
func (r *orderRun) anyShipped() bool {
	for _, f := range r.o.Fulfilments {
		if f.Type == order.FulfilmentShip && f.Shipment != nil {
			return true
		}
	}
	return false
}

// checkCancelShipment lets a ship order be cancelled until its first
// parcel has left; after that what was sent comes back as a return.
func (r *orderRun) checkCancelShipment(req CancelRequest) error {
	switch r.o.Status {
	case order.StatusPlaced, order.StatusAwaitingPick:
		return nil
	case order.StatusPicked:
		if req.Role == roleCustomer {
			return reject(order.KindConflict, "too_late_to_cancel",
				"the order is %s: it is being packed; ask the contact centre", r.o.Status)
		}
		return nil
	case order.StatusPartiallyShipped, order.StatusShipped, order.StatusDelivered, order.StatusPartiallyReturned,
		order.StatusReturned:
		return reject(order.KindConflict, "already_shipped",
			"the order is %s: parcels have left, so send them back or return them in a store instead", r.o.Status)
	}
	return reject(order.KindConflict, "order_closed", "the order is already %s", r.o.Status)
}

// awaitingPickAt lists the locations whose fulfilments still await their pick.
func (r *orderRun) awaitingPickAt() []string {
	var out []string
	for _, f := range r.o.Fulfilments {
		if f.Type != order.FulfilmentCollect && f.Status == order.FulfilmentAwaitingPick {
			out = append(out, f.LocationID)
		}
	}
	return out
}

// unshippedBut counts the order's shipments, other than f, that have not
// left and still may.
func (r *orderRun) unshippedBut(f *order.FulfilmentState) int {
	n := 0
	for i := range r.o.Fulfilments {
		g := &r.o.Fulfilments[i]
		if g != f && g.Type == order.FulfilmentShip &&
			(g.Status == order.FulfilmentAwaitingPick || g.Status == order.FulfilmentPicked) {
			n++
		}
	}
	return n
}
