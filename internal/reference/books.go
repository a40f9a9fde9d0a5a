package reference

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// Books is an order's rows in the reference system's ledgers (GET
// /books?order_id=…, not part of the contract): what tests check to see
// each reservation, commit, capture, refund and adjustment exactly once.
type Books struct {
	OrderID string `json:"order_id"`
	// Reservations are the order's reservations, by location and SKU.
	Reservations []ReservationLine `json:"reservations"`
	// Payments are the payment ledger's rows in the order they were made:
	// authorization (set through the admin endpoint, or on the fly for an
	// unknown reference), capture, void, refund.
	Payments    []PaymentRow    `json:"payments"`
	Adjustments []AdjustmentRow `json:"adjustments"`
	PickTasks   []PickTaskRow   `json:"pick_tasks"`
	Shipments   []ShipmentRow   `json:"shipments"`
}

// PaymentRow is one money movement.
type PaymentRow struct {
	Kind      string    `json:"kind"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	Reference string    `json:"reference"`
	StepKey   string    `json:"step_key"`
	At        time.Time `json:"at"`
}

// AdjustmentRow is one adjustment (reason return or write_off).
type AdjustmentRow struct {
	LocationID string    `json:"location_id"`
	SKU        string    `json:"sku"`
	Quantity   int64     `json:"quantity"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// PickTaskRow is one pick task of the store task list.
type PickTaskRow struct {
	TaskID      string          `json:"task_id"`
	LocationID  string          `json:"location_id"`
	OrderNumber string          `json:"order_number"`
	Lines       []order.LineQty `json:"lines"`
	DueBy       *time.Time      `json:"due_by"`
	Status      string          `json:"status"`
	Reason      string          `json:"reason,omitempty"`
}

// ShipmentRow is one shipment booked with the built-in carrier.
type ShipmentRow struct {
	ShipmentID     string          `json:"shipment_id"`
	TrackingNumber string          `json:"tracking_number"`
	Status         string          `json:"status"`
	Cancelled      bool            `json:"cancelled"`
	Request        json.RawMessage `json:"request"`
}

func (s *server) books(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("order_id")
	if err := required("order_id", id); err != nil {
		s.fail(w, r, err)
		return
	}
	b := Books{OrderID: id}
	pool := s.db.Pool()
	var err error
	rows, _ := pool.Query(ctx, `select coalesce(rr.reservation_id, ''), r.store_id, r.sku, r.reserved + r.committed + r.released,
			r.reserved, r.committed, r.released
		from reservations r left join lateral (select reservation_id from reference_reservations x
			where x.order_id = r.order_id and x.location_id = r.store_id order by created_at limit 1) rr on true
		where r.order_id = $1 order by r.store_id, r.sku`, id)
	b.Reservations, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReservationLine, error) {
		var l ReservationLine
		err := row.Scan(&l.ReservationID, &l.LocationID, &l.SKU, &l.Reserved, &l.Held, &l.Committed, &l.Released)
		return l, err
	})
	if err == nil {
		rows, _ = pool.Query(ctx, `select kind, amount, currency, reference, step_key, at from payments where order_id = $1 order by id`, id)
		b.Payments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (PaymentRow, error) {
			var p PaymentRow
			err := row.Scan(&p.Kind, &p.Amount, &p.Currency, &p.Reference, &p.StepKey, &p.At)
			return p, err
		})
	}
	if err == nil {
		rows, _ = pool.Query(ctx, `select location_id, sku, quantity, reason, at from reference_adjustments where order_id = $1 order by at, sku`, id)
		b.Adjustments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (AdjustmentRow, error) {
			var a AdjustmentRow
			err := row.Scan(&a.LocationID, &a.SKU, &a.Quantity, &a.Reason, &a.At)
			return a, err
		})
	}
	if err == nil {
		rows, _ = pool.Query(ctx, `select task_id, location_id, order_number, lines, due_by, status, reason
			from reference_pick_tasks where order_id = $1 order by created_at`, id)
		b.PickTasks, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (PickTaskRow, error) {
			var t PickTaskRow
			err := row.Scan(&t.TaskID, &t.LocationID, &t.OrderNumber, &t.Lines, &t.DueBy, &t.Status, &t.Reason)
			return t, err
		})
	}
	if err == nil {
		rows, _ = pool.Query(ctx, `select shipment_id, tracking_number, status, cancelled, request
			from carrier_shipments where request->>'order_id' = $1 order by created_at`, id)
		b.Shipments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ShipmentRow, error) {
			var sh ShipmentRow
			err := row.Scan(&sh.ShipmentID, &sh.TrackingNumber, &sh.Status, &sh.Cancelled, &sh.Request)
			return sh, err
		})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}
