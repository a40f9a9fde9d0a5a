package postgres

import (
	"context"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Shipment is a carrier's shipment as Omni's registry knows it.
type Shipment struct {
	ShipmentID     string `json:"shipment_id"`
	OrderID        string `json:"order_id"`
	FulfilmentID   string `json:"fulfilment_id"`
	TrackingNumber string `json:"tracking_number"`
	TrackingURL    string `json:"tracking_url"`
	LabelURL       string `json:"label_url"`
}

// RecordShipment remembers which order and fulfilment a carrier's shipment
// belongs to (activities.ShipmentRegistry). Idempotent: recording the
// shipment again for the same order and fulfilment keeps the latest label
// (tracking and label URLs); a shipment id already recorded for another
// order or fulfilment is refused (shipment_id_taken), never moved.
func (db *DB) RecordShipment(ctx context.Context, orderID, fulfilmentID string, label activities.ShipmentLabel) error {
	if label.ShipmentID == "" || label.TrackingNumber == "" {
		return order.Errorf(order.KindInvalid, "carrier_bad_answer",
			"the carrier's answer for order %q fulfilment %q has no shipment id or tracking number", orderID, fulfilmentID)
	}
	tag, err := db.pool.Exec(ctx, `insert into shipments (shipment_id, order_id, fulfilment_id, tracking_number, tracking_url, label_url)
		values ($1, $2, $3, $4, $5, $6)
		on conflict (shipment_id) do update set tracking_number = excluded.tracking_number,
			tracking_url = excluded.tracking_url, label_url = excluded.label_url
		where shipments.order_id = excluded.order_id and shipments.fulfilment_id = excluded.fulfilment_id`,
		label.ShipmentID, orderID, fulfilmentID, label.TrackingNumber, label.TrackingURL, label.LabelURL)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return order.Errorf(order.KindConflict, "shipment_id_taken",
			"shipment %q is already recorded for another order or fulfilment", label.ShipmentID)
	}
	return nil
}

// ShipmentByID is the order and fulfilment a shipment belongs to; an
// unknown shipment is KindNotFound shipment_not_found.
func (db *DB) ShipmentByID(ctx context.Context, id string) (orderID, fulfilmentID string, err error) {
	s, err := db.shipment(ctx, "shipment_id", id)
	return s.OrderID, s.FulfilmentID, err
}

// ShipmentByTracking is the shipment with a tracking number; an unknown
// tracking number is KindNotFound shipment_not_found.
func (db *DB) ShipmentByTracking(ctx context.Context, trackingNumber string) (Shipment, error) {
	return db.shipment(ctx, "tracking_number", trackingNumber)
}

// Shipments lists an order's shipments, oldest first.
func (db *DB) Shipments(ctx context.Context, orderID string) ([]Shipment, error) {
	rows, err := db.pool.Query(ctx, `select shipment_id, order_id, fulfilment_id, tracking_number, tracking_url, label_url
		from shipments where order_id = $1 order by created_at, shipment_id`, orderID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []Shipment
	for rows.Next() {
		var s Shipment
		if err := rows.Scan(&s.ShipmentID, &s.OrderID, &s.FulfilmentID, &s.TrackingNumber, &s.TrackingURL, &s.LabelURL); err != nil {
			return nil, translate(err)
		}
		out = append(out, s)
	}
	return out, translate(rows.Err())
}

// shipment reads one shipment by column (a fixed column name, never input).
func (db *DB) shipment(ctx context.Context, column, value string) (Shipment, error) {
	var s Shipment
	err := db.pool.QueryRow(ctx, `select shipment_id, order_id, fulfilment_id, tracking_number, tracking_url, label_url
		from shipments where `+column+` = $1 order by created_at desc limit 1`, value).
		Scan(&s.ShipmentID, &s.OrderID, &s.FulfilmentID, &s.TrackingNumber, &s.TrackingURL, &s.LabelURL)
	if isNoRows(err) {
		return s, order.Errorf(order.KindNotFound, "shipment_not_found", "no shipment %q", value)
	}
	return s, translate(err)
}
