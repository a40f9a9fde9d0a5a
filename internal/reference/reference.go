// Package reference is the reference server: an independent implementation
// of the whole wire contract of ADAPTERS.md (inventory, store tasks,
// payments, prices, carrier) serving Omni's built-in ledgers
// (internal/postgres) kept in a database of its own. A retailer runs it
// (`omni reference`) as a stand-in for its systems while integrating, and
// Omni's tests run it in-process (New) behind httptest.
//
// The common rules are those of the contract: every request needs
// `Authorization: Bearer <token>`, every POST an `Idempotency-Key` (400
// without one), and a POST repeated with the same key and body answers the
// same and moves nothing twice: the key, namespaced per endpoint, is the
// built-in ledger's step key. Business refusals are 409 (or 422 for a
// request that breaks the contract's rules) with application/problem+json.
//
// With FailFirst, the first attempt of every step (each distinct method,
// path and Idempotency-Key; each distinct GET path and query) is answered
// 503 with Retry-After: 0, and every later attempt is served: a client that
// does not retry as the contract says never gets through.
//
// Not part of the contract, for tests and demos (never failed first):
//
//	PUT /admin/stock/{location}/{sku}       {"on_hand"}                      set a location's stock
//	PUT /admin/prices/{sku}                 {"currency", "unit_price"}       set a list price
//	PUT /admin/authorizations/{reference}   {"order_id", "amount", "currency"} an authorisation the checkout took
//	PUT /admin/shipments/{id}/status        {"status"}                       where the carrier has the parcel
//	GET /books?order_id=…                   the order's rows in every ledger (Books)
//
// Payments: a reference with an authorisation set through the admin
// endpoint is held to it (a capture or void above what is still authorised
// is refused, 409 payment_exceeds_authorisation). A reference the server was
// never told of (a counter tender, or a checkout that authorised elsewhere)
// is authorised on the fly for exactly what each capture or void asks, so
// the stand-in works without seeding. Refunds are never above what the order
// has captured and not yet refunded (409 refund_exceeds_captured).
package reference

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// Options configure the reference server.
type Options struct {
	// Token is the bearer token every request must carry.
	Token string
	// FailFirst answers the first attempt of every step with a 503.
	FailFirst bool
	// Log receives one line per request (nil: discarded).
	Log *slog.Logger
}

// New is the reference server on db (a database of its own, migrated with
// postgres.Migrate; New adds its own tables on first use, or call Migrate).
func New(db *postgres.DB, token string, failFirst bool) http.Handler {
	return NewWithOptions(db, Options{Token: token, FailFirst: failFirst})
}

// NewWithOptions is New with a logger.
func NewWithOptions(db *postgres.DB, o Options) http.Handler {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{db: db, token: o.Token, failFirst: o.FailFirst, log: log, seen: map[string]bool{},
		carrier: postgres.NewBuiltinCarrier(db, "")}
	mux := http.NewServeMux()
	// Inventory.
	mux.HandleFunc("POST /reservations", s.reserve)
	mux.HandleFunc("POST /reservations/{id}/release", s.settle(false))
	mux.HandleFunc("POST /reservations/{id}/commit", s.settle(true))
	mux.HandleFunc("POST /locations/{id}/adjustments", s.adjust)
	mux.HandleFunc("GET /availability", s.availability)
	// Store tasks.
	mux.HandleFunc("POST /pick-tasks", s.openTask)
	mux.HandleFunc("POST /pick-tasks/{order_id}/cancel", s.cancelTask)
	// Payments.
	mux.HandleFunc("POST /payments/{reference}/capture", s.payment("capture"))
	mux.HandleFunc("POST /payments/{reference}/void", s.payment("void"))
	mux.HandleFunc("POST /payments/{reference}/refunds", s.payment("refund"))
	// Prices.
	mux.HandleFunc("GET /prices/{sku}", s.price)
	// Carrier.
	mux.HandleFunc("POST /shipments", s.createShipment)
	mux.HandleFunc("POST /shipments/{id}/cancel", s.cancelShipment)
	// Not part of the contract.
	mux.HandleFunc("PUT /admin/stock/{location}/{sku}", s.adminStock)
	mux.HandleFunc("PUT /admin/prices/{sku}", s.adminPrice)
	mux.HandleFunc("PUT /admin/authorizations/{reference}", s.adminAuthorization)
	mux.HandleFunc("PUT /admin/shipments/{id}/status", s.adminShipmentStatus)
	mux.HandleFunc("GET /books", s.books)
	s.mux = mux
	return s
}

type server struct {
	db        *postgres.DB
	token     string
	failFirst bool
	log       *slog.Logger
	carrier   *postgres.BuiltinCarrier
	mux       *http.ServeMux

	mu     sync.Mutex
	seen   map[string]bool // fail-first: the steps already attempted
	schema bool            // its own tables exist
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// maxKey is the longest Idempotency-Key the contract allows.
const maxKey = 64

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.serve(rec, r)
	s.log.Info("reference request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
		"idempotency_key", r.Header.Get("Idempotency-Key"), "status", rec.status)
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || s.token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="omni-reference"`)
		writeProblem(w, http.StatusUnauthorized, "unauthorized", "a valid Authorization: Bearer token is required", nil)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if r.Method == http.MethodPost {
		if key == "" {
			writeProblem(w, http.StatusBadRequest, "idempotency_key_required", "every POST needs an Idempotency-Key", nil)
			return
		}
		if len(key) > maxKey {
			writeProblem(w, http.StatusBadRequest, "idempotency_key_too_long",
				fmt.Sprintf("an Idempotency-Key is at most %d characters", maxKey), nil)
			return
		}
	}
	if err := s.ensureSchema(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	admin := strings.HasPrefix(r.URL.Path, "/admin/") || r.URL.Path == "/books"
	if s.failFirst && !admin && s.firstAttempt(r, key) {
		w.Header().Set("Retry-After", "0")
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "first attempt of this step refused (-fail-first): retry", nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s.mux.ServeHTTP(w, r)
}

// firstAttempt reports whether r is the first attempt of its step, and
// remembers it.
func (s *server) firstAttempt(r *http.Request, key string) bool {
	step := r.Method + " " + r.URL.Path
	if r.Method == http.MethodGet {
		step += "?" + r.URL.RawQuery
	} else {
		step += " " + key
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[step] {
		return false
	}
	s.seen[step] = true
	return true
}

func (s *server) ensureSchema(ctx context.Context) error {
	s.mu.Lock()
	done := s.schema
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := Migrate(ctx, s.db); err != nil {
		return err
	}
	s.mu.Lock()
	s.schema = true
	s.mu.Unlock()
	return nil
}

// recorder keeps the status written, for the request log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// problemPrefix starts every problem type; the reason is its last segment.
const problemPrefix = "https://omni-retail.github.io/omni/reference/problems/"

func writeProblem(w http.ResponseWriter, status int, code, detail string, extra map[string]any) {
	doc := map[string]any{"type": problemPrefix + code, "title": http.StatusText(status), "status": status, "detail": detail}
	for k, v := range extra {
		doc[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers an error: a domain error by its kind, anything else 500 (a
// client retries it).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *order.Error
	if errors.As(err, &de) {
		status := http.StatusInternalServerError
		switch de.Kind {
		case order.KindInvalid:
			status = http.StatusUnprocessableEntity
		case order.KindNotFound:
			status = http.StatusNotFound
		case order.KindConflict:
			status = http.StatusConflict
		case order.KindForbidden:
			status = http.StatusForbidden
		case order.KindUnavailable:
			status = http.StatusServiceUnavailable
		}
		writeProblem(w, status, de.Code, de.Detail, nil)
		return
	}
	s.log.ErrorContext(r.Context(), "reference request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeProblem(w, http.StatusInternalServerError, "internal", "the reference server failed: retry", nil)
}

// invalid is a request that breaks the contract's rules: 422, never retried.
func invalid(format string, args ...any) error {
	return order.Errorf(order.KindInvalid, "invalid_request", format, args...)
}

// decode reads a JSON body into v; an empty body leaves v as it is when
// optional.
func decode(r *http.Request, v any, optional bool) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return invalid("reading the body: %v", err)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		if optional {
			return nil
		}
		return invalid("a JSON body is required")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return invalid("the body is not the expected JSON: %v", err)
	}
	return nil
}

// lines checks and merges lines (one per SKU, quantities summed).
func lines(ls []order.LineQty, field string) ([]order.LineQty, error) {
	if len(ls) == 0 {
		return nil, invalid("%s: at least one line is required", field)
	}
	var out []order.LineQty
	at := map[string]int{}
	for i, l := range ls {
		if l.SKU == "" || l.Quantity <= 0 {
			return nil, invalid("%s[%d]: a sku and a positive quantity are required", field, i)
		}
		if j, ok := at[l.SKU]; ok {
			out[j].Quantity += l.Quantity
			continue
		}
		at[l.SKU] = len(out)
		out = append(out, l)
	}
	return out, nil
}

// derive is a stable id for what a key made: prefix and 24 hex digits of
// the key's SHA-256 within its endpoint.
func derive(prefix, endpoint, key string) string {
	sum := sha256.Sum256([]byte(endpoint + "\x00" + key))
	return prefix + hex.EncodeToString(sum[:])[:24]
}

// stepKey is the ledger step key of a POST: its Idempotency-Key namespaced
// by endpoint.
func stepKey(endpoint string, r *http.Request) string {
	return "reference:" + endpoint + ":" + r.Header.Get("Idempotency-Key")
}

func required(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return invalid("%s is required", fields[i])
		}
	}
	return nil
}
