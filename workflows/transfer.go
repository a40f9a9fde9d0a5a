package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Transfer for collection: a collect order whose store lacks lines, when the
// retailer allows transfers (Policy.Transfers), keeps its store. What the
// store has is held there; the missing lines are held at the nearest other
// locations that have them and brought over, instead of moving the whole
// order to another store.
//
//	placed ──collection store short──▶ awaiting_transfer (customer told the expected date)
//	   each transfer: awaiting_pick ──pick (at the source)──▶ picked ──ship──▶ in_transit
//	                  ──receive (at the collection store)──▶ received
//	every transfer received (or found short) ──▶ awaiting_pick at the collection store ──▶ collection as usual
//
// Received goods leave the source's stock and enter the collection store's,
// held for the order, in one step (Inventory.TransferIn).

// Timeline events of transfers.
const (
	EventTransferRequested  = "transfer_requested"
	EventTransferDispatched = "transfer_dispatched"
	EventTransferReceived   = "transfer_received"
	EventTransferShort      = "transfer_short"
	EventTransferOverdue    = "transfer_overdue"
)

// transferIn holds what the collection store has and sources the lines it
// lacks (short SKUs) from other locations, opening a transfer from each. It
// reports false, holding nothing, when they cannot all be found.
func (r *orderRun) transferIn(ctx workflow.Context, short []string) (bool, error) {
	store := r.o.Fulfilment.StoreID
	var local, moving []order.LineQty
	for _, l := range r.ordered() {
		if slices.Contains(short, l.SKU) {
			moving = append(moving, l)
		} else {
			local = append(local, l)
		}
	}
	var plan activities.SourceResult
	if err := r.exec(ctx, a.Source, activities.SourceInput{
		OrderID: r.o.ID, Lines: moving, Exclude: []string{store}, NearLocationID: store,
	}, &plan); err != nil {
		return false, err
	}
	if len(plan.Plan) == 0 {
		return false, nil
	}
	step := "transfer-" + store
	if len(local) > 0 {
		var res activities.ReserveResult
		if err := r.exec(ctx, a.Reserve, activities.ReserveInput{
			Key: r.key("reserve-" + step + "-local"), OrderID: r.o.ID, StoreID: store, Lines: local,
		}, &res); err != nil {
			return false, err
		}
		if !res.Reserved {
			return false, nil
		}
	}
	var held []order.Assignment
	undo := func() error {
		if len(local) > 0 {
			held = append(held, order.Assignment{LocationID: store, Lines: local})
		}
		for _, h := range held {
			if err := r.exec(ctx, a.Release, activities.StockInput{
				Key: r.key("unreserve-" + step + "-" + h.LocationID), OrderID: r.o.ID, StoreID: h.LocationID, Lines: h.Lines,
			}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	for _, as := range plan.Plan {
		var res activities.ReserveResult
		if err := r.exec(ctx, a.Reserve, activities.ReserveInput{
			Key: r.key("reserve-" + step + "-" + as.LocationID), OrderID: r.o.ID, StoreID: as.LocationID, Lines: as.Lines,
			SafetyStock: plan.SafetyStock[as.LocationID],
		}, &res); err != nil {
			return false, err
		}
		if !res.Reserved {
			return false, undo()
		}
		held = append(held, as)
	}
	now := workflow.Now(ctx).UTC()
	expected := now.Add(r.policy.TransferLeadTime)
	for _, as := range held {
		if err := r.exec(ctx, a.OpenPickTask, activities.PickTaskInput{
			OrderID: r.o.ID, StoreID: as.LocationID, Lines: as.Lines, Number: r.o.Number,
			DueBy: r.pickDueBy(ctx),
		}, nil); err != nil {
			return false, err
		}
		f := order.FulfilmentState{ID: fmt.Sprintf("f%d", len(r.o.Fulfilments)+1), Type: order.FulfilmentTransfer,
			LocationID: as.LocationID, ToLocationID: store, Status: order.FulfilmentAwaitingPick, CreatedAt: now,
			ExpectedAt: &expected}
		for _, l := range as.Lines {
			f.Lines = append(f.Lines, order.FulfilmentLine{SKU: l.SKU, Quantity: l.Quantity})
		}
		r.o.Fulfilments = append(r.o.Fulfilments, f)
		r.event(ctx, system, EventTransferRequested, map[string]any{"fulfilment_id": f.ID, "from_location_id": as.LocationID,
			"store_id": store, "lines": as.Lines, "expected_at": expected})
		r.event(ctx, system, order.EventPickRequested, map[string]any{"store_id": as.LocationID, "fulfilment_id": f.ID})
	}
	if len(local) > 0 {
		r.event(ctx, system, order.EventReserved, map[string]any{"store_id": store, "lines": local})
	}
	r.o.Status = order.StatusAwaitingTransfer
	if err := r.project(ctx); err != nil {
		return false, err
	}
	return true, r.notify(ctx, "transfer_scheduled", map[string]any{"store_id": store, "expected_at": expected})
}

// dispatchTransfer records that a source sent its transfer on its way.
func (r *orderRun) dispatchTransfer(ctx workflow.Context, req ShipRequest, f *order.FulfilmentState) (order.Order, error) {
	now := workflow.Now(ctx).UTC()
	f.Status = order.FulfilmentInTransit
	f.Shipment = &order.Shipment{ID: r.key("transfer-" + f.ID), Parcels: max(len(req.Parcels), 1),
		Status: order.FulfilmentInTransit, ShippedAt: &now}
	r.event(ctx, req.Actor, EventTransferDispatched, map[string]any{"fulfilment_id": f.ID, "from_location_id": f.LocationID,
		"store_id": f.ToLocationID, "expected_at": f.ExpectedAt})
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// transferShort records lines a source did not find: the collection store
// will pick what it has, and the rest is a short pick there.
func (r *orderRun) transferShort(ctx workflow.Context, f *order.FulfilmentState, missing []order.LineQty) error {
	r.event(ctx, system, EventTransferShort, map[string]any{"fulfilment_id": f.ID, "from_location_id": f.LocationID,
		"missing": missing})
	if f.Status == order.FulfilmentCancelled {
		return r.transfersSettled(ctx)
	}
	return nil
}

func (r *orderRun) validateReceive(ctx workflow.Context, req ReceiveRequest) error {
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
	if len(r.arriving()) == 0 {
		return reject(order.KindConflict, "nothing_in_transit", "no transfer of the order is on its way to %s", req.StoreID)
	}
	return nil
}

// arriving lists the transfers on their way to the collection store.
func (r *orderRun) arriving() []*order.FulfilmentState {
	var out []*order.FulfilmentState
	for i := range r.o.Fulfilments {
		if f := &r.o.Fulfilments[i]; f.Type == order.FulfilmentTransfer && f.Status == order.FulfilmentInTransit {
			out = append(out, f)
		}
	}
	return out
}

// receive takes the transfers on their way into the collection store's
// stock, held for the order; once none is still to come the store picks
// the whole order.
func (r *orderRun) receive(ctx workflow.Context, req ReceiveRequest) (order.Order, error) {
	release, prior, err := r.begin(ctx, func() error { return r.validateReceive(ctx, req) })
	if err != nil {
		return order.Order{}, err
	}
	defer release()
	if prior != nil {
		return r.o.WithoutPickupCode(), nil
	}
	r.durable = true
	defer func() { r.durable = false }()
	for _, f := range r.arriving() {
		lines := f.PickedLines()
		if err := r.exec(ctx, a.TransferIn, activities.TransferInput{
			Key: r.key("receive-" + f.ID), OrderID: r.o.ID, FromID: f.LocationID, ToID: f.ToLocationID, Lines: lines,
		}, nil); err != nil {
			return order.Order{}, err
		}
		f.Status = order.FulfilmentReceived
		f.Shipment.Status = order.FulfilmentReceived
		r.event(ctx, req.Actor, EventTransferReceived, map[string]any{"fulfilment_id": f.ID, "from_location_id": f.LocationID,
			"store_id": f.ToLocationID, "lines": lines})
	}
	if err := r.transfersSettled(ctx); err != nil {
		return order.Order{}, err
	}
	if err := r.project(ctx); err != nil {
		return order.Order{}, err
	}
	r.remember("")
	return r.o.WithoutPickupCode(), nil
}

// transfersSettled hands the order to its collection store's pick queue
// once no transfer is still to come.
func (r *orderRun) transfersSettled(ctx workflow.Context) error {
	for _, f := range r.o.Fulfilments {
		if f.Type == order.FulfilmentTransfer && f.Status != order.FulfilmentReceived && f.Status != order.FulfilmentCancelled {
			return nil
		}
	}
	store := r.o.Fulfilment.StoreID
	if err := r.exec(ctx, a.OpenPickTask, activities.PickTaskInput{
		OrderID: r.o.ID, StoreID: store, Lines: r.ordered(), Number: r.o.Number,
		DueBy: r.pickDueBy(ctx),
	}, nil); err != nil {
		return err
	}
	r.o.Status = order.StatusAwaitingPick
	r.assignedAt = workflow.Now(ctx)
	r.event(ctx, system, order.EventPickRequested, map[string]any{"store_id": store})
	return nil
}

// transfersExpected is when the last transfer still to come is expected
// (zero when none is).
func (r *orderRun) transfersExpected() time.Time {
	var last time.Time
	for _, f := range r.o.Fulfilments {
		if f.Type != order.FulfilmentTransfer || f.ExpectedAt == nil {
			continue
		}
		switch f.Status {
		case order.FulfilmentReceived, order.FulfilmentCancelled:
			continue
		}
		if f.ExpectedAt.After(last) {
			last = *f.ExpectedAt
		}
	}
	return last
}

// transferOverdue tells the stores and the contact centre, once, that a
// transfer has not arrived by the date the customer was given.
func (r *orderRun) transferOverdue(ctx workflow.Context) error {
	r.transferLate = true
	for _, f := range r.o.Fulfilments {
		if f.Type == order.FulfilmentTransfer && f.Status != order.FulfilmentReceived && f.Status != order.FulfilmentCancelled {
			r.event(ctx, system, EventTransferOverdue, map[string]any{"fulfilment_id": f.ID, "from_location_id": f.LocationID,
				"store_id": f.ToLocationID, "status": f.Status, "expected_at": f.ExpectedAt})
		}
	}
	return r.project(ctx)
}
