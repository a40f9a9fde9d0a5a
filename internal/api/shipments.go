package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/workflows"
)

// CarrierOptions configures the carrier's side of the API.
type CarrierOptions struct {
	// External is true when carrier.url names a carrier: the built-in
	// carrier's events route then answers 409 carrier_external.
	External bool
	// CallbackSecret verifies the carrier's tracking callbacks, in the
	// whsec_ form (config.Carrier.CallbackSigningSecret); empty refuses
	// every callback.
	CallbackSecret string
}

// Limits of what a carrier, or staff marking a parcel, send.
const (
	// maxShipmentIDLength bounds a carrier's shipment id.
	maxShipmentIDLength = 100
	// maxTrackingNumberLength bounds a tracking number.
	maxTrackingNumberLength = 100
	// maxTimestampLength bounds an RFC 3339 timestamp as sent.
	maxTimestampLength = 40
)

// trackingStatuses are the statuses a carrier reports (ADAPTERS.md).
var trackingStatuses = postgres.CarrierStatuses

// shipmentCallbackBody is the carrier's tracking callback.
type shipmentCallbackBody struct {
	ShipmentID     string `json:"shipment_id"`
	TrackingNumber string `json:"tracking_number"`
	Status         string `json:"status"`
	At             string `json:"at"`

	at time.Time
}

// Validate checks the callback's fields, every offending one at once.
func (b *shipmentCallbackBody) Validate() error {
	var f fieldErrors
	f.text("shipment_id", b.ShipmentID, true, maxShipmentIDLength)
	f.text("tracking_number", b.TrackingNumber, false, maxTrackingNumberLength)
	checkTrackingStatus(&f, b.Status)
	b.at = checkTimestamp(&f, b.At, true)
	return validation("the tracking callback is not valid", f)
}

// shipmentEventBody is the built-in carrier's news of a parcel, as the store
// or support report it.
type shipmentEventBody struct {
	Status string `json:"status"`
	At     string `json:"at,omitempty"`

	at time.Time
}

// Validate checks the event; without at it happened now.
func (b *shipmentEventBody) Validate() error {
	var f fieldErrors
	checkTrackingStatus(&f, b.Status)
	b.at = checkTimestamp(&f, b.At, false)
	return validation("the shipment event is not valid", f)
}

func checkTrackingStatus(f *fieldErrors, status string) {
	if !slices.Contains(trackingStatuses, status) {
		f.add("status", "want in_transit, out_for_delivery, delivered, failed_attempt or returned_to_sender")
	}
}

// checkTimestamp parses an RFC 3339 timestamp; an absent optional one is the
// zero time.
func checkTimestamp(f *fieldErrors, v string, required bool) time.Time {
	switch {
	case v == "" && required:
		f.add("at", "is required: when it happened, RFC 3339 (2025-06-01T14:03:00Z)")
	case v == "":
	case order.TooLong(v, maxTimestampLength):
		f.add("at", "must be at most %d characters", maxTimestampLength)
	default:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			f.add("at", "want an RFC 3339 timestamp such as 2025-06-01T14:03:00Z")
			break
		}
		return t.UTC()
	}
	return time.Time{}
}

// trackingUpdateID is the Update ID of one tracking event: the same for the
// same event however often, and by whichever route, it is delivered.
func trackingUpdateID(shipmentID, status string, at time.Time) string {
	return "tracking:" + shipmentID + ":" + status + ":" + at.UTC().Format(time.RFC3339Nano)
}

// shipmentCallback takes a carrier's tracking callback (POST
// /v1/callbacks/shipments): no API key, but a Standard Webhooks signature
// under carrier.callback_secret, checked before the body is read as JSON.
// The event goes to the order's workflow as an UpdateTracking; a callback
// delivered twice runs the same Update and gets the same answer.
func (s *Server) shipmentCallback(c echo.Context) error {
	if err := verifyCallback(c, s.carrier.CallbackSecret, "carrier", "carrier.callback_secret"); err != nil {
		return err
	}
	req := c.Request()
	var body shipmentCallbackBody
	if err := bind(c, &body); err != nil {
		return err
	}
	orderID, _, err := s.db.ShipmentByID(req.Context(), body.ShipmentID)
	if err != nil {
		return err
	}
	tr := workflows.TrackingRequest{Actor: workflows.Actor{Channel: order.ChannelCarrier, Actor: "carrier"},
		ShipmentID: body.ShipmentID, TrackingNumber: body.TrackingNumber, Status: body.Status, At: body.at}
	if _, err := s.runUpdate(c, orderID, trackingUpdateID(body.ShipmentID, body.Status, body.at), workflows.UpdateTracking, tr); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "accepted"})
}

// shipmentEvent is the built-in carrier's tracking, reported by support or
// by staff of a store the order involves (POST
// /v1/shipments/{shipment_id}/events): the parcel is recorded where it is,
// and the order's workflow told as by a carrier's callback. With an external
// carrier (carrier.url) the carrier reports, not Omni: 409 carrier_external.
func (s *Server) shipmentEvent(c echo.Context) error {
	if s.carrier.External {
		return order.Errorf(order.KindConflict, "carrier_external",
			"parcels are tracked by the carrier at carrier.url, which reports through its callbacks")
	}
	id := c.Param("shipment_id")
	if id == "" || order.TooLong(id, maxShipmentIDLength) {
		return order.Errorf(order.KindNotFound, "shipment_not_found", "no shipment %q", clip(id, 40))
	}
	var body shipmentEventBody
	if err := bind(c, &body); err != nil {
		return err
	}
	ctx := c.Request().Context()
	orderID, _, err := s.db.ShipmentByID(ctx, id)
	if err != nil {
		return err
	}
	a, err := s.db.Access(ctx, orderID)
	if err != nil {
		return err
	}
	p := principal(c)
	if p.Role == auth.RoleStore && !slices.ContainsFunc(a.Locations, p.WorksAt) {
		// Another store's parcel: as unknown as a shipment that is not there.
		return order.Errorf(order.KindNotFound, "shipment_not_found", "no shipment %q", id)
	}
	if body.at.IsZero() {
		body.at = time.Now().UTC()
	}
	if err := s.db.MarkCarrierShipment(ctx, id, body.Status); err != nil {
		return err
	}
	actor := actorFor(c, p)
	actor.Channel = order.ChannelCarrier
	tr := workflows.TrackingRequest{Actor: actor, ShipmentID: id, Status: body.Status, At: body.at}
	code, o, err := s.updateFor(c, orderID, trackingUpdateID(id, body.Status, body.at), a, workflows.UpdateTracking, tr)
	if err != nil {
		return err
	}
	return c.JSON(code, o)
}
