package activities

import (
	"context"
	"slices"

	"github.com/omni-retail/omni/internal/order"
)

// Location is a store or warehouse sourcing may choose (order.Location).
type Location = order.Location

// Carrier books parcels with the carrier: a label and a tracking number for
// each shipment. Tracking comes back later, through the API's signed
// shipments callback. CreateShipment must be idempotent on key: the same key
// answers the same shipment.
type Carrier interface {
	CreateShipment(ctx context.Context, key string, req ShipmentRequest) (ShipmentLabel, error)
	CancelShipment(ctx context.Context, key, shipmentID, reason string) error
}

// Parcel is one box of a shipment.
type Parcel struct {
	Lines []order.LineQty `json:"lines"`
}

// ShipmentRequest is what the carrier is asked to carry (ADAPTERS.md).
type ShipmentRequest struct {
	OrderID        string        `json:"order_id"`
	FulfilmentID   string        `json:"fulfilment_id"`
	FromLocationID string        `json:"from_location_id"`
	Address        order.Address `json:"address"`
	Service        string        `json:"service"`
	Parcels        []Parcel      `json:"parcels"`
}

// ShipmentLabel is the carrier's answer: the shipment and how to follow it.
type ShipmentLabel struct {
	ShipmentID     string `json:"shipment_id"`
	TrackingNumber string `json:"tracking_number"`
	TrackingURL    string `json:"tracking_url"`
	LabelURL       string `json:"label_url"`
}

// ShipmentRegistry remembers which order and fulfilment a carrier's
// shipment belongs to, so that tracking callbacks find their order.
type ShipmentRegistry interface {
	RecordShipment(ctx context.Context, orderID, fulfilmentID string, label ShipmentLabel) error
}

// ShipmentInput books a fulfilment's parcels under Key.
type ShipmentInput struct {
	Key string `json:"key"`
	ShipmentRequest
}

// CreateShipment books the parcels with the carrier and records the
// shipment against the order, so the carrier's tracking finds it.
func (a *Activities) CreateShipment(ctx context.Context, in ShipmentInput) (ShipmentLabel, error) {
	label, err := a.Carrier.CreateShipment(ctx, in.Key, in.ShipmentRequest)
	if err != nil {
		return ShipmentLabel{}, a.step(ctx, "carrier", "create_shipment", in.OrderID, err)
	}
	if err := a.Shipments.RecordShipment(ctx, in.OrderID, in.FulfilmentID, label); err != nil {
		return ShipmentLabel{}, wrap(err)
	}
	a.Logger.InfoContext(ctx, "shipment booked", "order_id", in.OrderID, "fulfilment_id", in.FulfilmentID,
		"shipment_id", label.ShipmentID, "tracking_number", label.TrackingNumber, "idempotency_key", in.Key)
	return label, nil
}

// SourceInput asks where lines can come from. Ship limits the choice to
// locations that may send parcels to customers; Exclude leaves locations
// out (the collection store of a transfer). Near orders the locations
// nearest first; without it they are taken in configuration order.
type SourceInput struct {
	OrderID string          `json:"order_id"`
	Lines   []order.LineQty `json:"lines"`
	Ship    bool            `json:"ship"`
	Exclude []string        `json:"exclude,omitempty"`
	NearLat *float64        `json:"near_lat,omitempty"`
	NearLon *float64        `json:"near_lon,omitempty"`
	// NearLocationID orders the locations nearest first from this one.
	NearLocationID string `json:"near_location_id,omitempty"`
}

// SourceResult is the chosen locations with their lines and the safety
// stock each keeps; empty when nobody can send every line.
type SourceResult struct {
	Plan        []order.Assignment `json:"plan"`
	SafetyStock map[string]int64   `json:"safety_stock,omitempty"`
}

// Source chooses the locations that send an order's lines: the nearest
// that can send everything, else the fewest that together can
// (order.Source), from what each has available less its safety stock.
// The choice is recorded in the workflow's history, so a replay keeps it.
func (a *Activities) Source(ctx context.Context, in SourceInput) (SourceResult, error) {
	lat, lon := in.NearLat, in.NearLon
	for _, l := range a.Locations {
		if l.ID == in.NearLocationID {
			lat, lon = l.Lat, l.Lon
		}
	}
	var cands []Location
	for _, l := range order.ByDistance(a.Locations, lat, lon) {
		if (!in.Ship || l.Ships) && !slices.Contains(in.Exclude, l.ID) {
			cands = append(cands, l)
		}
	}
	if len(cands) == 0 {
		return SourceResult{}, nil
	}
	ids := make([]string, len(cands))
	safety := map[string]int64{}
	for i, l := range cands {
		ids[i] = l.ID
		if l.SafetyStock > 0 {
			safety[l.ID] = l.SafetyStock
		}
	}
	skus := make([]string, len(in.Lines))
	for i, l := range in.Lines {
		skus[i] = l.SKU
	}
	avail, err := a.Inventory.Available(ctx, ids, skus)
	if err != nil {
		return SourceResult{}, a.step(ctx, "inventory", "availability", in.OrderID, err)
	}
	for loc, bySKU := range avail {
		for sku, n := range bySKU {
			bySKU[sku] = n - safety[loc]
		}
	}
	return SourceResult{Plan: order.Source(in.Lines, ids, avail), SafetyStock: safety}, nil
}

// TransferInput moves an order's held lines from one location to another.
type TransferInput struct {
	Key     string          `json:"key"`
	OrderID string          `json:"order_id"`
	FromID  string          `json:"from_id"`
	ToID    string          `json:"to_id"`
	Lines   []order.LineQty `json:"lines"`
}

// TransferIn receives a transfer at the collection store: the goods leave
// the source's stock and are held for the order at the store.
func (a *Activities) TransferIn(ctx context.Context, in TransferInput) error {
	return a.step(ctx, "inventory", "transfer_in", in.OrderID, a.Inventory.TransferIn(ctx, in.Key, in.OrderID, in.FromID, in.ToID, in.Lines))
}

// CancelShipmentInput withdraws a booked shipment under Key.
type CancelShipmentInput struct {
	Key        string `json:"key"`
	ShipmentID string `json:"shipment_id"`
	Reason     string `json:"reason"`
}

// CancelShipment withdraws a shipment the order will not send after all.
func (a *Activities) CancelShipment(ctx context.Context, in CancelShipmentInput) error {
	return wrap(a.Carrier.CancelShipment(ctx, in.Key, in.ShipmentID, in.Reason))
}
