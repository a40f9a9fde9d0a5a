package reference

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// reservation is what a reservation id stands for.
type reservation struct {
	ID         string          `json:"reservation_id"`
	OrderID    string          `json:"order_id"`
	LocationID string          `json:"location_id"`
	Lines      []order.LineQty `json:"lines"`
}

// POST /reservations: all lines held (201), or 409 insufficient_stock with
// the short SKUs and nothing held. The reservation id is derived from the
// Idempotency-Key, so a repeated key answers the same reservation.
func (s *server) reserve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OrderID    string          `json:"order_id"`
		LocationID string          `json:"location_id"`
		Lines      []order.LineQty `json:"lines"`
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
	ctx := r.Context()
	key := r.Header.Get("Idempotency-Key")
	short, err := s.db.Reserve(ctx, stepKey("reservations", r), in.OrderID, in.LocationID, ls, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(short) > 0 {
		writeProblem(w, http.StatusConflict, "insufficient_stock", "not every line can be held: nothing is held",
			map[string]any{"short": short})
		return
	}
	res := reservation{ID: derive("res_", "reservations", key), OrderID: in.OrderID, LocationID: in.LocationID, Lines: ls}
	if _, err := s.db.Pool().Exec(ctx, `insert into reference_reservations (reservation_id, idempotency_key, order_id, location_id, lines)
		values ($1, $2, $3, $4, $5) on conflict (reservation_id) do nothing`, res.ID, key, res.OrderID, res.LocationID, res.Lines); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"reservation_id": res.ID, "lines": res.Lines})
}

func (s *server) reservation(ctx context.Context, id string) (reservation, error) {
	res := reservation{ID: id}
	err := s.db.Pool().QueryRow(ctx, `select order_id, location_id, lines from reference_reservations where reservation_id = $1`, id).
		Scan(&res.OrderID, &res.LocationID, &res.Lines)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, order.Errorf(order.KindNotFound, "reservation_not_found", "no reservation %q", id)
	}
	return res, err
}

// POST /reservations/{id}/release and /commit: the lines given (release:
// absent means everything of the reservation still held), capped at what
// is still held. 200 with the reservation's state.
func (s *server) settle(commit bool) http.HandlerFunc {
	endpoint := "release"
	if commit {
		endpoint = "commit"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var in struct {
			Lines []order.LineQty `json:"lines"`
		}
		err := decode(r, &in, !commit)
		var ls []order.LineQty
		if err == nil && (commit || in.Lines != nil) {
			ls, err = lines(in.Lines, "lines")
		}
		var res reservation
		if err == nil {
			res, err = s.reservation(ctx, r.PathValue("id"))
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if ls == nil {
			ls = res.Lines
		}
		if commit {
			err = s.db.Commit(ctx, stepKey(endpoint, r), res.OrderID, res.LocationID, ls)
		} else {
			err = s.db.Release(ctx, stepKey(endpoint, r), res.OrderID, res.LocationID, ls)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		state, err := s.reservationState(ctx, res)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, state)
	}
}

// ReservationLine is one SKU of a reservation in the ledger: Reserved is
// what was held in all, Held what still is, Committed and Released what went.
type ReservationLine struct {
	ReservationID string `json:"reservation_id,omitempty"`
	LocationID    string `json:"location_id"`
	SKU           string `json:"sku"`
	Reserved      int64  `json:"reserved"`
	Held          int64  `json:"held"`
	Committed     int64  `json:"committed"`
	Released      int64  `json:"released"`
}

func (s *server) reservationState(ctx context.Context, res reservation) (map[string]any, error) {
	skus := make([]string, len(res.Lines))
	for i, l := range res.Lines {
		skus[i] = l.SKU
	}
	rows, _ := s.db.Pool().Query(ctx, `select store_id, sku, reserved + committed + released, reserved, committed, released
		from reservations where order_id = $1 and store_id = $2 and sku = any($3) order by sku`, res.OrderID, res.LocationID, skus)
	ls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReservationLine, error) {
		var l ReservationLine
		err := row.Scan(&l.LocationID, &l.SKU, &l.Reserved, &l.Held, &l.Committed, &l.Released)
		return l, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"reservation_id": res.ID, "order_id": res.OrderID, "location_id": res.LocationID, "lines": ls}, nil
}

// POST /locations/{id}/adjustments: return puts resellable units back on
// hand, write_off records damaged ones. One SKU per adjustment.
func (s *server) adjust(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	loc := r.PathValue("id")
	var in struct {
		OrderID  string `json:"order_id"`
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
		Reason   string `json:"reason"`
	}
	err := decode(r, &in, false)
	if err == nil {
		err = required("order_id", in.OrderID, "sku", in.SKU, "reason", in.Reason)
	}
	if err == nil && in.Quantity <= 0 {
		err = invalid("quantity must be positive")
	}
	if err == nil && in.Reason != "return" && in.Reason != "write_off" {
		err = invalid("reason must be return or write_off")
	}
	if err == nil {
		err = s.ensureLocation(ctx, loc)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := stepKey("adjustments", r)
	ls := []order.LineQty{{SKU: in.SKU, Quantity: in.Quantity}}
	if in.Reason == "return" {
		err = s.db.Restock(ctx, key, in.OrderID, loc, ls)
	} else {
		err = s.db.WriteOff(ctx, key, in.OrderID, loc, ls, "write_off")
	}
	if err == nil {
		// The ledger refused a key reused for another adjustment above; this
		// row is the books' record of the one it made.
		_, err = s.db.Pool().Exec(ctx, `insert into reference_adjustments (idempotency_key, location_id, order_id, sku, quantity, reason)
			values ($1, $2, $3, $4, $5, $6) on conflict (idempotency_key) do nothing`, key, loc, in.OrderID, in.SKU, in.Quantity, in.Reason)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.stock(ctx, loc, in.SKU)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"location_id": loc, "order_id": in.OrderID, "sku": in.SKU,
		"quantity": in.Quantity, "reason": in.Reason, "on_hand": st.OnHand})
}

// ensureLocation makes sure the ledger knows the location (its stock rows
// reference it); the reference server takes any location it is told of.
func (s *server) ensureLocation(ctx context.Context, id string) error {
	if id == "" {
		return invalid("a location id is required")
	}
	_, err := s.db.Pool().Exec(ctx, `insert into stores (id, name) values ($1, $1) on conflict (id) do nothing`, id)
	return err
}

// Availability is a location's stock of a SKU.
type Availability struct {
	LocationID string `json:"location_id"`
	SKU        string `json:"sku"`
	OnHand     int64  `json:"on_hand"`
	Reserved   int64  `json:"reserved"`
	Available  int64  `json:"available"`
}

func (s *server) stock(ctx context.Context, loc, sku string) (Availability, error) {
	a := Availability{LocationID: loc, SKU: sku}
	err := s.db.Pool().QueryRow(ctx, `select on_hand, reserved from stock where store_id = $1 and sku = $2`, loc, sku).
		Scan(&a.OnHand, &a.Reserved)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return a, err
	}
	a.Available = a.OnHand - a.Reserved
	return a, nil
}

// GET /availability?location_id=…&sku=…: a SKU or location never stocked
// reads as zero.
func (s *server) availability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := required("location_id", q.Get("location_id"), "sku", q.Get("sku")); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.stock(r.Context(), q.Get("location_id"), q.Get("sku"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// PUT /admin/stock/{location}/{sku} {"on_hand"} (not part of the contract).
func (s *server) adminStock(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	loc, sku := r.PathValue("location"), r.PathValue("sku")
	var in struct {
		OnHand *int64 `json:"on_hand"`
	}
	err := decode(r, &in, false)
	if err == nil && (in.OnHand == nil || *in.OnHand < 0) {
		err = invalid("on_hand: a quantity of zero or more is required")
	}
	if err == nil {
		err = s.ensureLocation(ctx, loc)
	}
	if err == nil {
		_, err = s.db.SetStock(ctx, loc, sku, *in.OnHand)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.stock(ctx, loc, sku)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// linesJSON is lines as stored (jsonb).
func linesJSON(ls []order.LineQty) []byte {
	b, _ := json.Marshal(ls)
	return b
}
