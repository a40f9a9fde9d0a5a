package workflows

import (
	"time"

	"github.com/omni-retail/omni/activities"
)

// Update names of the fulfilment flows: a store packs and ships a
// fulfilment (shipment.go), the carrier reports tracking (shipment.go), the
// collection store receives a transfer (transfer.go), the curbside customer
// says "I'm here" (curbside.go).
const (
	UpdateShip     = "ship"
	UpdateTracking = "tracking"
	UpdateReceive  = "receive"
	UpdateArrived  = "arrived"
)

// ShipRequest is a store's (or warehouse's) report that its fulfilment of
// the order is packed and handed to the carrier. Parcels, optional, split
// the picked lines into boxes; without them everything goes in one.
type ShipRequest struct {
	Actor
	StoreID string              `json:"store_id"`
	Parcels []activities.Parcel `json:"parcels,omitempty"`
}

// TrackingRequest is a carrier's tracking update of one shipment, as the
// signed shipments callback (or the built-in carrier) delivers it.
type TrackingRequest struct {
	Actor
	ShipmentID     string    `json:"shipment_id"`
	TrackingNumber string    `json:"tracking_number,omitempty"`
	Status         string    `json:"status"`
	At             time.Time `json:"at"`
}

// ReceiveRequest is the collection store's report that a transfer arrived.
type ReceiveRequest struct {
	Actor
	StoreID string `json:"store_id"`
}

// ArrivedRequest is a curbside customer's "I'm here".
type ArrivedRequest struct {
	Actor
	Bay     string `json:"bay,omitempty"`
	Vehicle string `json:"vehicle,omitempty"`
}
