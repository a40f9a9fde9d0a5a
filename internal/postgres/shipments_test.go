package postgres

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

func requireDomainError(t *testing.T, err error, kind order.Kind, code string) {
	t.Helper()
	de, ok := order.AsError(err)
	require.True(t, ok, "want a domain error %s/%s, got %v", kind, code, err)
	require.Equal(t, kind, de.Kind, "%v", err)
	require.Equal(t, code, de.Code, "%v", err)
}

// TestShipmentRegistry: a shipment is recorded once per order and
// fulfilment, found by id and tracking number, and never moved to another
// order.
func TestShipmentRegistry(t *testing.T) {
	db := freshDB(t, "shipments")
	ctx := context.Background()
	label := activities.ShipmentLabel{ShipmentID: "shp_1", TrackingNumber: "TN1", TrackingURL: "https://t/1", LabelURL: "https://l/1"}

	_, _, err := db.ShipmentByID(ctx, "shp_1")
	requireDomainError(t, err, order.KindNotFound, "shipment_not_found")

	require.NoError(t, db.RecordShipment(ctx, "ord-1", "f1", label))
	require.NoError(t, db.RecordShipment(ctx, "ord-1", "f1", label), "recording again is a retry")
	label.LabelURL = "https://l/1-reprinted"
	require.NoError(t, db.RecordShipment(ctx, "ord-1", "f1", label), "a new label for the same shipment")

	orderID, fulfilmentID, err := db.ShipmentByID(ctx, "shp_1")
	require.NoError(t, err)
	require.Equal(t, "ord-1", orderID)
	require.Equal(t, "f1", fulfilmentID)

	s, err := db.ShipmentByTracking(ctx, "TN1")
	require.NoError(t, err)
	require.Equal(t, Shipment{ShipmentID: "shp_1", OrderID: "ord-1", FulfilmentID: "f1", TrackingNumber: "TN1",
		TrackingURL: "https://t/1", LabelURL: "https://l/1-reprinted"}, s)
	_, err = db.ShipmentByTracking(ctx, "TN-unknown")
	requireDomainError(t, err, order.KindNotFound, "shipment_not_found")

	requireDomainError(t, db.RecordShipment(ctx, "ord-2", "f1", label), order.KindConflict, "shipment_id_taken")
	requireDomainError(t, db.RecordShipment(ctx, "ord-1", "f2", label), order.KindConflict, "shipment_id_taken")
	orderID, _, err = db.ShipmentByID(ctx, "shp_1")
	require.NoError(t, err)
	require.Equal(t, "ord-1", orderID, "the shipment stays with its order")

	requireDomainError(t, db.RecordShipment(ctx, "ord-1", "f1", activities.ShipmentLabel{TrackingNumber: "x"}),
		order.KindInvalid, "carrier_bad_answer")

	require.NoError(t, db.RecordShipment(ctx, "ord-1", "f2", activities.ShipmentLabel{ShipmentID: "shp_2", TrackingNumber: "TN2"}))
	all, err := db.Shipments(ctx, "ord-1")
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.ElementsMatch(t, []string{"shp_1", "shp_2"}, []string{all[0].ShipmentID, all[1].ShipmentID})
}

func shipmentRequest(orderID string) activities.ShipmentRequest {
	return activities.ShipmentRequest{OrderID: orderID, FulfilmentID: "f1", FromLocationID: "store-001",
		Address: order.Address{Name: "Ada", Line1: "1 Road", City: "London", Postcode: "N1 1AA", Country: "GB"},
		Service: "standard",
		Parcels: []activities.Parcel{{Lines: []order.LineQty{{SKU: "SKU-1", Quantity: 2}}}}}
}

// TestBuiltinCarrier: the built-in carrier answers the same shipment for the
// same key, a new one for another key, refuses a key reused for another
// request, and lets a shipment be cancelled only until the parcel is
// tracked.
func TestBuiltinCarrier(t *testing.T) {
	db := freshDB(t, "carrier")
	ctx := context.Background()
	capture(db)
	c := NewBuiltinCarrier(db, "https://shop.example/")

	first, err := c.CreateShipment(ctx, "ord-1/ship/f1", shipmentRequest("ord-1"))
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^shp_[a-z2-7]{26}$`), first.ShipmentID)
	require.Regexp(t, regexp.MustCompile(`^OMNI[A-Z2-7]{12}$`), first.TrackingNumber)
	require.Equal(t, "https://shop.example/track/"+first.TrackingNumber, first.TrackingURL)
	require.Empty(t, first.LabelURL, "the development carrier prints no labels")

	again, err := c.CreateShipment(ctx, "ord-1/ship/f1", shipmentRequest("ord-1"))
	require.NoError(t, err)
	require.Equal(t, first, again, "the same key answers the same shipment")

	other, err := c.CreateShipment(ctx, "ord-2/ship/f1", shipmentRequest("ord-2"))
	require.NoError(t, err)
	require.NotEqual(t, first.ShipmentID, other.ShipmentID)
	require.NotEqual(t, first.TrackingNumber, other.TrackingNumber)

	_, err = c.CreateShipment(ctx, "ord-1/ship/f1", shipmentRequest("ord-3"))
	requireDomainError(t, err, order.KindConflict, "step_key_mismatch")

	// Cancel before the carrier has it: done, and done again.
	require.NoError(t, c.CancelShipment(ctx, "ord-2/cancel", other.ShipmentID, "order cancelled"))
	require.NoError(t, c.CancelShipment(ctx, "ord-2/cancel", other.ShipmentID, "order cancelled"))
	status, cancelled, err := db.CarrierShipmentStatus(ctx, other.ShipmentID)
	require.NoError(t, err)
	require.Equal(t, "created", status)
	require.True(t, cancelled)
	requireDomainError(t, db.MarkCarrierShipment(ctx, other.ShipmentID, "in_transit"), order.KindConflict, "shipment_cancelled")

	// Once tracked, the parcel is the carrier's.
	require.NoError(t, db.MarkCarrierShipment(ctx, first.ShipmentID, "in_transit"))
	requireDomainError(t, c.CancelShipment(ctx, "ord-1/cancel", first.ShipmentID, "too late"),
		order.KindConflict, "already_collected_by_carrier")
	require.NoError(t, db.MarkCarrierShipment(ctx, first.ShipmentID, "delivered"))
	status, cancelled, err = db.CarrierShipmentStatus(ctx, first.ShipmentID)
	require.NoError(t, err)
	require.Equal(t, "delivered", status)
	require.False(t, cancelled)

	requireDomainError(t, c.CancelShipment(ctx, "k", "shp_unknown", "x"), order.KindNotFound, "shipment_not_found")
	requireDomainError(t, db.MarkCarrierShipment(ctx, "shp_unknown", "delivered"), order.KindNotFound, "shipment_not_found")

	// Relative URLs without a public URL.
	rel, err := NewBuiltinCarrier(db, "").CreateShipment(ctx, "ord-4/ship/f1", shipmentRequest("ord-4"))
	require.NoError(t, err)
	require.Equal(t, "/track/"+rel.TrackingNumber, rel.TrackingURL)
}
