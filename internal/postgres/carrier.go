package postgres

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// CarrierStatuses are the tracking statuses a carrier reports (ADAPTERS.md),
// after "created" (booked, not yet with the carrier).
var CarrierStatuses = []string{"in_transit", "out_for_delivery", "delivered", "failed_attempt", "returned_to_sender"}

// BuiltinCarrier is the development carrier used when carrier.url is empty
// (activities.Carrier): it books shipments in carrier_shipments, issuing a
// shipment id ("shp_…") and a tracking number ("OMNI" and 12 letters and
// digits), and is told where parcels are by the store or support through
// the API (MarkCarrierShipment). It sends no parcels and prints no labels.
type BuiltinCarrier struct {
	db *DB
	// base starts tracking and label URLs: the public URL, or "" for
	// relative ones.
	base string
}

// NewBuiltinCarrier is the built-in carrier on db. publicURL (notify.public_url,
// may be empty) starts the tracking and label URLs it hands out.
func NewBuiltinCarrier(db *DB, publicURL string) *BuiltinCarrier {
	return &BuiltinCarrier{db: db, base: strings.TrimRight(publicURL, "/")}
}

// CreateShipment books a shipment. Idempotent on key: the same key with the
// same request answers the same shipment; with another request it is
// refused (step_key_mismatch) and logged.
func (b *BuiltinCarrier) CreateShipment(ctx context.Context, key string, req activities.ShipmentRequest) (activities.ShipmentLabel, error) {
	if key == "" {
		return activities.ShipmentLabel{}, order.Errorf(order.KindInvalid, "idempotency_key_required", "a shipment needs an idempotency key")
	}
	want, err := json.Marshal(req)
	if err != nil {
		return activities.ShipmentLabel{}, err
	}
	id := "shp_" + strings.ToLower(rand.Text())
	tracking := "OMNI" + rand.Text()[:12] // base32: A-Z and 2-7
	var label activities.ShipmentLabel
	err = pgx.BeginFunc(ctx, b.db.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `insert into carrier_shipments (idempotency_key, shipment_id, tracking_number, request)
			values ($1, $2, $3, $4) on conflict (idempotency_key) do nothing`, key, id, tracking, want)
		if err != nil {
			return err
		}
		// The row of the key, ours or the one a first try (or a concurrent
		// one) wrote; same reports whether it booked the same request.
		var got []byte
		var same bool
		if err := tx.QueryRow(ctx, `select shipment_id, tracking_number, request, request = $2::jsonb
			from carrier_shipments where idempotency_key = $1`, key, want).
			Scan(&label.ShipmentID, &label.TrackingNumber, &got, &same); err != nil {
			return err
		}
		if !same {
			return b.db.stepKeyMismatch(ctx, key, string(got), string(want))
		}
		return nil
	})
	if err != nil {
		return activities.ShipmentLabel{}, translate(err)
	}
	// Its tracking page is Omni's own (GET /track/{number}); it prints no
	// labels, so it gives no label link rather than a dead one.
	label.TrackingURL = b.base + "/track/" + label.TrackingNumber
	return label, nil
}

// CancelShipment withdraws a booked shipment. Cancelling a cancelled
// shipment changes nothing; once the parcel has any tracking (the carrier
// has it) it is refused with already_collected_by_carrier.
func (b *BuiltinCarrier) CancelShipment(ctx context.Context, key, shipmentID, reason string) error {
	var status string
	var cancelled bool
	err := b.db.pool.QueryRow(ctx, `update carrier_shipments
		set cancel_reason = case when cancelled then cancel_reason else $2 end, cancelled = true, updated_at = now()
		where shipment_id = $1 and (status = 'created' or cancelled)
		returning status, cancelled`, shipmentID, reason).Scan(&status, &cancelled)
	if err == nil {
		return nil
	}
	if !isNoRows(err) {
		return translate(err)
	}
	err = b.db.pool.QueryRow(ctx, "select status from carrier_shipments where shipment_id = $1", shipmentID).Scan(&status)
	if isNoRows(err) {
		return order.Errorf(order.KindNotFound, "shipment_not_found", "the carrier has no shipment %q", shipmentID)
	}
	if err != nil {
		return translate(err)
	}
	return order.Errorf(order.KindConflict, "already_collected_by_carrier",
		"shipment %q is %s: the carrier has the parcel", shipmentID, status)
}

// MarkCarrierShipment records where the built-in carrier's parcel is (one of
// CarrierStatuses), as a real carrier would before calling back. An unknown
// shipment is shipment_not_found; a cancelled one is refused
// (shipment_cancelled).
func (db *DB) MarkCarrierShipment(ctx context.Context, shipmentID, status string) error {
	tag, err := db.pool.Exec(ctx, `update carrier_shipments set status = $2, updated_at = now()
		where shipment_id = $1 and not cancelled`, shipmentID, status)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var cancelled bool
	err = db.pool.QueryRow(ctx, "select cancelled from carrier_shipments where shipment_id = $1", shipmentID).Scan(&cancelled)
	if isNoRows(err) {
		return order.Errorf(order.KindNotFound, "shipment_not_found", "the built-in carrier has no shipment %q", shipmentID)
	}
	if err != nil {
		return translate(err)
	}
	return order.Errorf(order.KindConflict, "shipment_cancelled", "shipment %q was cancelled", shipmentID)
}

// CarrierShipmentStatus is the built-in carrier's status of a shipment and
// whether it was cancelled.
func (db *DB) CarrierShipmentStatus(ctx context.Context, shipmentID string) (status string, cancelled bool, err error) {
	err = db.pool.QueryRow(ctx, "select status, cancelled from carrier_shipments where shipment_id = $1", shipmentID).
		Scan(&status, &cancelled)
	if isNoRows(err) {
		return "", false, order.Errorf(order.KindNotFound, "shipment_not_found", "the built-in carrier has no shipment %q", shipmentID)
	}
	return status, cancelled, translate(err)
}

// CarrierTracking is what the built-in carrier's public tracking page shows
// of a parcel: its status and when it last changed. Nothing about the order
// or the customer.
func (db *DB) CarrierTracking(ctx context.Context, trackingNumber string) (status string, cancelled bool, at time.Time, err error) {
	err = db.pool.QueryRow(ctx, "select status, cancelled, updated_at from carrier_shipments where tracking_number = $1",
		trackingNumber).Scan(&status, &cancelled, &at)
	if isNoRows(err) {
		return "", false, at, order.Errorf(order.KindNotFound, "parcel_not_found", "no parcel %q", trackingNumber)
	}
	return status, cancelled, at, translate(err)
}
