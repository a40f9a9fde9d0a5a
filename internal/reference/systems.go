package reference

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// POST /pick-tasks: 201 {"task_id"}. The task id is derived from the
// Idempotency-Key; an order's open task at the same location is answered
// again rather than doubled.
func (s *server) openTask(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var in struct {
		OrderID     string          `json:"order_id"`
		OrderNumber string          `json:"order_number"`
		LocationID  string          `json:"location_id"`
		Lines       []order.LineQty `json:"lines"`
		DueBy       *time.Time      `json:"due_by"`
	}
	err := decode(r, &in, false)
	if err == nil {
		err = required("order_id", in.OrderID, "location_id", in.LocationID)
	}
	var ls []order.LineQty
	if err == nil {
		ls, err = lines(in.Lines, "lines")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	var taskID string
	err = pgx.BeginFunc(ctx, s.db.Pool(), func(tx pgx.Tx) error {
		// One task per order and location at a time: serialise the order's opens.
		if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock(hashtextextended($1, 13))", in.OrderID); err != nil {
			return err
		}
		var orderID, loc string
		err := tx.QueryRow(ctx, `select task_id, order_id, location_id from reference_pick_tasks where idempotency_key = $1`, key).
			Scan(&taskID, &orderID, &loc)
		if err == nil {
			if orderID != in.OrderID || loc != in.LocationID {
				return order.Errorf(order.KindConflict, "idempotency_key_reused",
					"Idempotency-Key %q opened the task of order %q at %q", key, orderID, loc)
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		err = tx.QueryRow(ctx, `select task_id from reference_pick_tasks where order_id = $1 and location_id = $2 and status = 'open'`,
			in.OrderID, in.LocationID).Scan(&taskID)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		taskID = derive("task_", "pick-tasks", key)
		_, err = tx.Exec(ctx, `insert into reference_pick_tasks (task_id, idempotency_key, order_id, order_number, location_id, lines, due_by, status)
			values ($1, $2, $3, $4, $5, $6, $7, 'open')`, taskID, key, in.OrderID, in.OrderNumber, in.LocationID, linesJSON(ls), in.DueBy)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"task_id": taskID})
}

// POST /pick-tasks/{order_id}/cancel {"reason"}: the order's open tasks are
// cancelled; 200 whether or not any was open.
func (s *server) cancelTask(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in, true); err != nil {
		s.fail(w, r, err)
		return
	}
	orderID := r.PathValue("order_id")
	tag, err := s.db.Pool().Exec(r.Context(), `update reference_pick_tasks set status = 'cancelled', reason = $2, updated_at = now()
		where order_id = $1 and status = 'open'`, orderID, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"order_id": orderID, "status": "cancelled", "cancelled": tag.RowsAffected()})
}

// POST /payments/{reference}/capture|void|refunds.
func (s *server) payment(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ref := r.PathValue("reference")
		var in struct {
			OrderID  string `json:"order_id"`
			Amount   *int64 `json:"amount"`
			Currency string `json:"currency"`
			Reason   string `json:"reason"`
		}
		err := decode(r, &in, false)
		if err == nil {
			err = required("order_id", in.OrderID, "currency", in.Currency)
		}
		if err == nil && (in.Amount == nil || *in.Amount < 0) {
			err = invalid("amount: zero or more minor units are required")
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		amount := *in.Amount
		key := stepKey(op, r)
		if op != "refund" {
			err = s.authorizeUnknown(r, key, ref, in.OrderID, amount, in.Currency)
		}
		var res activities.PaymentResult
		if err == nil {
			switch op {
			case "capture":
				res, err = s.db.Capture(ctx, key, in.OrderID, amount, in.Currency, ref)
			case "void":
				err = s.db.Void(ctx, key, in.OrderID, amount, in.Currency, ref)
				res = activities.PaymentResult{Status: activities.PaymentSucceeded, PSPReference: key}
			case "refund":
				res, err = s.db.Refund(ctx, key, in.OrderID, amount, in.Currency, ref)
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": res.Status, "psp_reference": res.PSPReference})
	}
}

// authorizeUnknown authorises, for a reference no authorisation was set for
// through the admin endpoint, exactly what the step moves (under a key of
// its own, derived from the step's: a retry authorises nothing more).
func (s *server) authorizeUnknown(r *http.Request, key, ref, orderID string, amount int64, currency string) error {
	ctx := r.Context()
	var seeded bool
	if err := s.db.Pool().QueryRow(ctx, `select exists (select 1 from payments
		where reference = $1 and kind = 'authorization' and step_key like 'reference:admin:%')`, ref).Scan(&seeded); err != nil || seeded {
		return err
	}
	_, err := s.db.Pool().Exec(ctx, `insert into payments (order_id, kind, amount, currency, reference, step_key)
		values ($1, 'authorization', $2, $3, $4, $5) on conflict (step_key) do nothing`, orderID, amount, currency, ref, key+":auto-authorization")
	return err
}

// PUT /admin/authorizations/{reference} {"order_id", "amount", "currency"}
// (not part of the contract): the authorisation a checkout took; setting it
// again replaces its amount.
func (s *server) adminAuthorization(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("reference")
	var in struct {
		OrderID  string `json:"order_id"`
		Amount   *int64 `json:"amount"`
		Currency string `json:"currency"`
	}
	err := decode(r, &in, false)
	if err == nil {
		err = required("order_id", in.OrderID, "currency", in.Currency)
	}
	if err == nil && (in.Amount == nil || *in.Amount < 0) {
		err = invalid("amount: zero or more minor units are required")
	}
	if err == nil {
		_, err = s.db.Pool().Exec(r.Context(), `insert into payments (order_id, kind, amount, currency, reference, step_key)
			values ($1, 'authorization', $2, $3, $4, $5) on conflict (step_key) do update
			set order_id = excluded.order_id, amount = excluded.amount, currency = excluded.currency`,
			in.OrderID, *in.Amount, in.Currency, ref, "reference:admin:authorization:"+ref)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reference": ref, "order_id": in.OrderID, "amount": *in.Amount, "currency": in.Currency})
}

// GET /prices/{sku}?currency=…&location_id=… → 200 or 404 price_not_found.
// The built-in price list has one price per currency, at every location.
func (s *server) price(w http.ResponseWriter, r *http.Request) {
	sku, currency := r.PathValue("sku"), r.URL.Query().Get("currency")
	if err := required("currency", currency); err != nil {
		s.fail(w, r, err)
		return
	}
	prices, err := s.db.UnitPrices(r.Context(), currency, []string{sku})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, ok := prices[sku]
	if !ok {
		writeProblem(w, http.StatusNotFound, "price_not_found", "no price for "+sku+" in "+currency, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sku": sku, "currency": currency, "unit_price": p})
}

// PUT /admin/prices/{sku} {"currency", "unit_price"} (not part of the contract).
func (s *server) adminPrice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Currency  string `json:"currency"`
		UnitPrice *int64 `json:"unit_price"`
	}
	err := decode(r, &in, false)
	if err == nil {
		err = required("currency", in.Currency)
	}
	if err == nil && (in.UnitPrice == nil || *in.UnitPrice < 0) {
		err = invalid("unit_price: zero or more minor units are required")
	}
	var p postgres.Price
	if err == nil {
		p, err = s.db.SetPrice(r.Context(), r.PathValue("sku"), in.Currency, *in.UnitPrice)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// POST /shipments: the built-in carrier books it (201).
func (s *server) createShipment(w http.ResponseWriter, r *http.Request) {
	var req activities.ShipmentRequest
	err := decode(r, &req, false)
	if err == nil {
		err = required("order_id", req.OrderID, "from_location_id", req.FromLocationID)
	}
	if err == nil && len(req.Parcels) == 0 {
		err = invalid("parcels: at least one parcel is required")
	}
	var label activities.ShipmentLabel
	if err == nil {
		label, err = s.carrier.CreateShipment(r.Context(), stepKey("shipments", r), req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, label)
}

// POST /shipments/{id}/cancel {"reason"}: 200, or 409 once the carrier has the parcel.
func (s *server) cancelShipment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reason string `json:"reason"`
	}
	err := decode(r, &in, true)
	if err == nil {
		err = s.carrier.CancelShipment(r.Context(), stepKey("shipments-cancel", r), r.PathValue("id"), in.Reason)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"shipment_id": r.PathValue("id"), "status": "cancelled"})
}

// PUT /admin/shipments/{id}/status {"status"} (not part of the contract):
// where the parcel is (in_transit, out_for_delivery, delivered, …).
func (s *server) adminShipmentStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status string `json:"status"`
	}
	err := decode(r, &in, false)
	if err == nil {
		err = required("status", in.Status)
	}
	if err == nil && !slices.Contains(postgres.CarrierStatuses, in.Status) {
		err = invalid("status must be one of %v", postgres.CarrierStatuses)
	}
	if err == nil {
		err = s.db.MarkCarrierShipment(r.Context(), r.PathValue("id"), in.Status)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"shipment_id": r.PathValue("id"), "status": in.Status})
}
