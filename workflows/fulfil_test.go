package workflows_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// testLocations are the places sourcing chooses from in these tests: a
// warehouse and three stores, the third of which does not ship to customers.
var testLocations = []activities.Location{
	{ID: "wh-1", Ships: true},
	{ID: "store-001", Ships: true},
	{ID: "store-002", Ships: true},
	{ID: "store-003"},
}

// Available says every location has plenty of every SKU, but for the SKUs
// no store has (short) and those a location lacks (shortAt).
func (f *fakes) Available(_ context.Context, locations, skus []string) (map[string]map[string]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]int64{}
	for _, loc := range locations {
		out[loc] = map[string]int64{}
		for _, sku := range skus {
			if !f.short[sku] && !f.shortAt[loc+"/"+sku] {
				out[loc][sku] = 100
			}
		}
	}
	return out, nil
}

// TransferIn commits the lines at from and holds them at to.
func (f *fakes) TransferIn(_ context.Context, _, _, from, to string, lines []order.LineQty) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle(from, lines, f.committed)
	if f.heldAt[to] == nil {
		f.heldAt[to] = map[string]int64{}
	}
	for _, l := range lines {
		f.committed[l.SKU] -= l.Quantity // it is not sold yet: it moved
		f.held[l.SKU] += l.Quantity
		f.heldAt[to][l.SKU] += l.Quantity
	}
	return nil
}

// CreateShipment books a parcel: its shipment id comes from the key, as an
// idempotent carrier's would.
func (f *fakes) CreateShipment(_ context.Context, key string, req activities.ShipmentRequest) (activities.ShipmentLabel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shipments = append(f.shipments, req)
	return activities.ShipmentLabel{ShipmentID: "shp-" + req.FulfilmentID, TrackingNumber: "TRK" + req.FulfilmentID,
		TrackingURL: "https://track.example/" + req.FulfilmentID}, nil
}

func (f *fakes) CancelShipment(_ context.Context, _, shipmentID, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelledShipments = append(f.cancelledShipments, shipmentID)
	return nil
}

func (f *fakes) RecordShipment(context.Context, string, string, activities.ShipmentLabel) error {
	return nil
}

func shipOrder() order.Order {
	o := placedOrder()
	o.Fulfilment = order.Fulfilment{Type: order.FulfilmentShip, Service: order.ServiceStandard,
		Address: &order.Address{Name: "Ada", Line1: "1 Road", City: "London", Postcode: "N1 1AA", Country: "GB"}}
	o.Pickup = order.Pickup{}
	return o
}

func ship(store string) workflows.ShipRequest {
	return workflows.ShipRequest{Actor: workflows.Actor{Channel: "pos", Actor: "store:" + store, Role: "store"}, StoreID: store}
}

func tracking(shipment, status string) workflows.TrackingRequest {
	return workflows.TrackingRequest{Actor: workflows.Actor{Channel: "carrier", Actor: "carrier", Role: "support"},
		ShipmentID: shipment, Status: status}
}

func fulfilmentsOf(o order.Order) map[string]string {
	out := map[string]string{}
	for _, f := range o.Fulfilments {
		out[f.ID] = fmt.Sprintf("%s %s %s", f.Type, f.LocationID, f.Status)
	}
	return out
}

func TestShipFromOneLocation(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("wh-1", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	shipped := h.update(time.Hour, workflows.UpdateShip, ship("wh-1"))
	h.update(2*time.Hour, workflows.UpdateTracking, tracking("shp-f1", "in_transit"))
	h.update(3*time.Hour, workflows.UpdateTracking, tracking("shp-f1", "delivered"))
	late := h.update(4*time.Hour, workflows.UpdateTracking, tracking("shp-f1", "in_transit"))
	h.run(shipOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	require.NoError(t, shipped.err)
	require.Equal(t, "TRKf1", shipped.result.Fulfilments[0].Shipment.TrackingNumber, "the store's answer carries the tracking")
	require.NoError(t, late.err, "late news is accepted and changes nothing")
	got := h.f.last()
	require.Equal(t, map[string]string{"f1": "ship wh-1 delivered"}, fulfilmentsOf(got), "the warehouse, first in preference, has everything")
	require.EqualValues(t, 2500, h.f.captured, "captured as it shipped")
	require.Zero(t, h.f.voided)
	require.Equal(t, map[string]int64{"A": 2, "B": 1}, h.f.committed)
	require.EqualValues(t, 2, got.Line("A").Delivered)
	require.Equal(t, []string{"stock_reserved", "fulfilment_created", "pick_requested", "picked", "shipped", "payment_captured",
		"tracking_updated", "delivered", "return_window_closed"}, h.f.eventTypes())
	require.Equal(t, []string{"shipped", "delivered"}, h.f.notified)
	require.Equal(t, order.StatusDelivered, got.Status)
	checkProjection(t, h.f)
}

func TestShipSplitAcrossTwoStores(t *testing.T) {
	h := newHarness(t)
	// Nobody has both: the warehouse has neither, store-001 only A, store-002 only B.
	h.f.shortAt["wh-1/A"], h.f.shortAt["wh-1/B"] = true, true
	h.f.shortAt["store-001/B"], h.f.shortAt["store-002/A"] = true, true
	var placed order.Order
	h.env.RegisterDelayedCallback(func() { placed = h.f.last() }, time.Second)
	wrongLine := h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "B", Quantity: 1}))
	h.update(2*time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}))
	tooEarly := h.update(3*time.Minute, workflows.UpdateShip, ship("store-002"))
	cancelLate := h.update(2*time.Hour, workflows.UpdateCancel, cancelReq("changed my mind"))
	h.update(time.Hour, workflows.UpdateShip, ship("store-001"))
	h.update(90*time.Minute, workflows.UpdatePick, pick("store-002", order.LineQty{SKU: "B", Quantity: 1}))
	h.update(3*time.Hour, workflows.UpdateShip, ship("store-002"))
	h.update(24*time.Hour, workflows.UpdateTracking, tracking("shp-f1", "delivered"))
	var between order.Order
	h.env.RegisterDelayedCallback(func() { between = h.f.last() }, 25*time.Hour)
	h.update(48*time.Hour, workflows.UpdateTracking, tracking("shp-f2", "failed_attempt"))
	h.update(72*time.Hour, workflows.UpdateTracking, tracking("shp-f2", "delivered"))
	h.run(shipOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, map[string]string{"f1": "ship store-001 awaiting_pick", "f2": "ship store-002 awaiting_pick"}, fulfilmentsOf(placed),
		"one shipment per store")
	require.Equal(t, order.StatusAwaitingPick, placed.Status)
	require.Equal(t, "invalid/unknown_line", rejectionType(t, wrongLine.rejected), "a store picks only its own lines")
	require.Equal(t, "conflict/not_picked", rejectionType(t, tooEarly.rejected))
	require.Equal(t, "conflict/already_shipped", rejectionType(t, cancelLate.rejected))
	require.Equal(t, order.StatusShipped, between.Status, "one delivered, one on its way")
	got := h.f.last()
	require.Equal(t, order.StatusDelivered, got.Status)
	require.Equal(t, map[string]string{"f1": "ship store-001 delivered", "f2": "ship store-002 delivered"}, fulfilmentsOf(got))
	require.EqualValues(t, 2500, h.f.captured)
	require.Equal(t, []string{"shipped", "shipped", "delivered", "delivery_failed", "delivered"}, h.f.notified)
	require.Len(t, h.f.shipments, 2)
	checkProjection(t, h.f)
}

func TestShipShortAndNothingFound(t *testing.T) {
	h := newHarness(t)
	// The warehouse has everything but finds nothing on the shelf; store-001 then sends it, one A short.
	h.update(time.Minute, workflows.UpdatePick, pick("wh-1", order.LineQty{SKU: "A", Quantity: 0}))
	h.update(time.Hour, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 1}, order.LineQty{SKU: "B", Quantity: 1}))
	h.update(2*time.Hour, workflows.UpdateShip, ship("store-001"))
	h.update(3*time.Hour, workflows.UpdateTracking, tracking("shp-f2", "returned_to_sender"))
	h.run(shipOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	got := h.f.last()
	require.Equal(t, map[string]string{"f1": "ship wh-1 cancelled", "f2": "ship store-001 returned_to_sender"}, fulfilmentsOf(got))
	require.Equal(t, order.StatusReturnedToSender, got.Status)
	require.EqualValues(t, 1500, h.f.captured, "what shipped was captured")
	require.EqualValues(t, 1000, h.f.voided, "the unit not found was voided")
	require.EqualValues(t, 1500, h.f.refunded, "the parcel came back: refunded")
	require.Equal(t, map[string]int64{"store-001/A": 1, "store-001/B": 1}, h.f.restocked)
	require.Equal(t, []string{"short_picked", "shipped", "returned_to_sender"}, h.f.notified)
	checkProjection(t, h.f)
}

func TestCancelShipBeforeItShips(t *testing.T) {
	h := newHarness(t)
	h.f.shortAt["wh-1/A"], h.f.shortAt["store-002/A"], h.f.shortAt["store-001/B"] = true, true, true
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}))
	h.update(time.Hour, workflows.UpdateCancel, cancelReq("changed my mind"))
	h.run(shipOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	got := h.f.last()
	require.Equal(t, order.StatusCancelled, got.Status)
	require.Equal(t, map[string]string{"f1": "ship wh-1 cancelled", "f2": "ship store-001 cancelled"}, fulfilmentsOf(got))
	require.Zero(t, h.f.heldAtStore("store-001"))
	require.Zero(t, h.f.heldAtStore("wh-1"))
	require.EqualValues(t, 2500, h.f.voided)
	require.Zero(t, h.f.captured)
}

func TestTransferForCollection(t *testing.T) {
	h := newHarness(t)
	h.policy.Transfers, h.policy.TransferLeadTime = true, 48*time.Hour
	h.f.shortAt["store-001/B"] = true // the collection store lacks B; the warehouse sends it
	var placed order.Order
	h.env.RegisterDelayedCallback(func() { placed = h.f.last() }, time.Second)
	early := h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}))
	h.update(2*time.Minute, workflows.UpdatePick, pick("wh-1", order.LineQty{SKU: "B", Quantity: 1}))
	h.update(time.Hour, workflows.UpdateShip, ship("wh-1"))
	h.update(30*time.Hour, workflows.UpdateReceive, workflows.ReceiveRequest{
		Actor: workflows.Actor{Channel: "pos", Actor: "store:store-001", Role: "store"}, StoreID: "store-001"})
	h.update(31*time.Hour, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	h.env.RegisterDelayedCallback(func() {
		h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code))
	}, 32*time.Hour)
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, order.StatusAwaitingTransfer, placed.Status)
	require.Equal(t, "store-001", placed.Fulfilment.StoreID, "the order keeps its store")
	require.Equal(t, testStart.Add(48*time.Hour), *placed.FulfilmentByID("f2").ExpectedAt)
	require.Equal(t, "conflict/not_awaiting_pick", rejectionType(t, early.rejected), "the store waits for the transfer")
	got := h.f.last()
	require.Equal(t, order.StatusCollected, got.Status)
	require.Equal(t, map[string]string{"f1": "collect store-001 collected", "f2": "transfer wh-1 received"}, fulfilmentsOf(got))
	require.Equal(t, map[string]int64{"A": 2, "B": 1}, h.f.committed, "sold once, at the collection store")
	require.Zero(t, h.f.heldAtStore("wh-1"))
	require.Zero(t, h.f.heldAtStore("store-001"))
	require.EqualValues(t, 2500, h.f.captured)
	require.Equal(t, []string{"transfer_scheduled", "ready", "collected"}, h.f.notified)
	checkProjection(t, h.f)
}

func TestCurbsideArrival(t *testing.T) {
	h := newHarness(t)
	o := placedOrder()
	o.Fulfilment.Curbside = true
	customer := workflows.Actor{Channel: "app", Actor: "customer", Role: "customer"}
	early := h.update(time.Minute, workflows.UpdateArrived, workflows.ArrivedRequest{Actor: customer, Bay: "3"})
	h.update(time.Hour, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	here := h.update(2*time.Hour, workflows.UpdateArrived, workflows.ArrivedRequest{Actor: customer, Bay: "3", Vehicle: "blue Mini"})
	h.env.RegisterDelayedCallback(func() {
		h.update(0, workflows.UpdateCollect, collect("store-001", h.f.last().Pickup.Code))
	}, 2*time.Hour+4*time.Minute)
	h.run(o)

	require.True(t, h.env.IsWorkflowCompleted())
	require.Equal(t, "conflict/not_ready", rejectionType(t, early.rejected))
	require.NoError(t, here.err)
	require.Equal(t, "3", here.result.Arrival.Bay)
	var handover order.Event
	for _, e := range h.f.events {
		if e.Type == order.EventCollected {
			handover = e
		}
	}
	require.Equal(t, true, handover.Data["curbside"])
	require.InDelta(t, 240, handover.Data["wait_seconds"], 1, "four minutes from arrival to handover")
	require.Equal(t, order.StatusCollected, h.f.last().Status)
}

func TestArrivedRefusedForInStoreCollection(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	res := h.update(time.Hour, workflows.UpdateArrived, workflows.ArrivedRequest{Actor: workflows.Actor{Channel: "app", Actor: "c", Role: "customer"}})
	h.update(2*time.Hour, workflows.UpdateCancel, cancelReq("no"))
	h.run(placedOrder())
	require.Equal(t, "conflict/not_curbside", rejectionType(t, res.rejected))
}

func TestTransferOverdue(t *testing.T) {
	h := newHarness(t)
	h.policy.Transfers, h.policy.TransferLeadTime = true, 48*time.Hour
	h.f.shortAt["store-001/B"] = true
	h.update(time.Hour, workflows.UpdatePick, pick("wh-1", order.LineQty{SKU: "B", Quantity: 1}))
	h.update(2*time.Hour, workflows.UpdateShip, ship("wh-1"))
	h.update(60*time.Hour, workflows.UpdateReceive, workflows.ReceiveRequest{
		Actor: workflows.Actor{Channel: "pos", Actor: "store:store-001", Role: "store"}, StoreID: "store-001"})
	h.update(61*time.Hour, workflows.UpdateCancel, cancelReq("too late"))
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	types := h.f.eventTypes()
	n := 0
	for _, e := range types {
		if e == workflows.EventTransferOverdue {
			n++
		}
	}
	require.Equal(t, 1, n, "told once: %v", types)
	require.Less(t, slices.Index(types, workflows.EventTransferOverdue), slices.Index(types, workflows.EventTransferReceived))
	require.Equal(t, order.StatusCancelled, h.f.last().Status)
	require.Zero(t, h.f.heldAtStore("store-001"), "the cancelled order holds nothing where the transfer arrived")
}

func TestOneCapturePartialHandovers(t *testing.T) {
	h := newHarness(t)
	h.policy.OneCapture = true
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var between int64
	h.env.RegisterDelayedCallback(func() {
		c := collect("store-001", h.f.last().Pickup.Code, order.LineQty{SKU: "A", Quantity: 1})
		h.update(0, workflows.UpdateCollect, c)
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() { between = h.f.captured }, 90*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		c := collect("store-001", h.f.last().Pickup.Code)
		c.Refused = []workflows.RefusedLine{{SKU: "B", Quantity: 1, Reason: "changed mind"}}
		h.update(0, workflows.UpdateCollect, c)
	}, 2*time.Hour)
	h.run(placedOrder())

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	require.Zero(t, between, "nothing is captured while goods still wait at the counter")
	require.Len(t, h.f.captureKeys, 1, "the authorisation is captured once")
	require.EqualValues(t, 2000, h.f.captured, "for the two units of A handed over; B's 500 is released")
	require.Equal(t, order.StatusCollected, h.f.last().Status)
}

func TestOneCaptureSplitShipment(t *testing.T) {
	h := newHarness(t)
	h.policy.OneCapture = true
	h.f.shortAt["wh-1/A"], h.f.shortAt["wh-1/B"] = true, true
	h.f.shortAt["store-001/B"], h.f.shortAt["store-002/A"] = true, true
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}))
	h.update(2*time.Minute, workflows.UpdatePick, pick("store-002", order.LineQty{SKU: "B", Quantity: 1}))
	h.update(time.Hour, workflows.UpdateShip, ship("store-001"))
	var between int64
	h.env.RegisterDelayedCallback(func() { between = h.f.captured }, 90*time.Minute)
	h.update(2*time.Hour, workflows.UpdateShip, ship("store-002"))
	h.update(3*time.Hour, workflows.UpdateCancel, cancelReq("too late"))
	h.run(shipOrder())

	require.Zero(t, between, "the first parcel leaves without a capture")
	require.Len(t, h.f.captureKeys, 1)
	require.EqualValues(t, 2500, h.f.captured, "one capture for both parcels")
}

func TestRefusedCaptureRefusesTheHandover(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, workflows.UpdatePick, pick("store-001", order.LineQty{SKU: "A", Quantity: 2}, order.LineQty{SKU: "B", Quantity: 1}))
	var refused *outcome
	var before order.Order
	h.env.RegisterDelayedCallback(func() {
		before = h.f.last()
		h.f.refuseCapture = true
		c := collect("store-001", before.Pickup.Code, order.LineQty{SKU: "A", Quantity: 2})
		c.Refused = []workflows.RefusedLine{{SKU: "B", Quantity: 1}}
		refused = h.update(0, workflows.UpdateCollect, c)
	}, time.Hour)
	var releasedB int64
	var afterRefusal order.Order
	h.env.RegisterDelayedCallback(func() { releasedB, afterRefusal = h.f.released["B"], h.f.last() }, 90*time.Minute)
	h.update(2*time.Hour, workflows.UpdateCancel, cancelReq("give up"))
	h.run(placedOrder())

	require.NotNil(t, refused)
	require.Error(t, refused.err)
	require.Equal(t, "payment/payment_failed", rejectionType(t, refused.err))
	require.Zero(t, releasedB, "the refused line was not released: nothing changed")
	require.Equal(t, before.Version, afterRefusal.Version, "nothing projected")
	require.Empty(t, h.f.committed)
	require.Equal(t, order.StatusCancelled, h.f.last().Status, "the order was still whole for the cancellation")
}
