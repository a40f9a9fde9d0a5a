// Package stripetest is a small stateful fake of the part of Stripe's API
// that Omni's Stripe adapter uses, for tests: PaymentIntents created with
// capture_method=manual (requires_capture → succeeded | canceled), one capture
// per PaymentIntent, refunds never above what was captured, metadata, and
// idempotency keys that replay the first answer (another request under the
// same key is refused with an idempotency_error, as Stripe does).
//
//	srv := stripetest.NewServer()
//	defer srv.Close()
//	pi := srv.CreatePaymentIntent(5000, "eur") // pi_…, requires_capture
//	p := stripe.New("sk_test_x", srv.URL, nil, nil)
//	… srv.PaymentIntent(pi).AmountReceived, srv.Refunds(pi), srv.Requests()
//
// Calls:
//
//	POST /v1/payment_intents                 amount, currency (capture_method manual, authorised at once)
//	GET  /v1/payment_intents/{id}
//	POST /v1/payment_intents/{id}            metadata[k]=v
//	POST /v1/payment_intents/{id}/capture    amount_to_capture (default: amount_capturable)
//	POST /v1/payment_intents/{id}/cancel
//	POST /v1/refunds                         payment_intent, amount (default: what is left)
//	GET  /v1/refunds/{id}
package stripetest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PaymentIntent statuses the fake uses.
const (
	StatusRequiresCapture = "requires_capture"
	StatusSucceeded       = "succeeded"
	StatusCanceled        = "canceled"
)

// PaymentIntent is the fake's state of one PaymentIntent.
type PaymentIntent struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Amount           int64             `json:"amount"`
	AmountCapturable int64             `json:"amount_capturable"`
	AmountReceived   int64             `json:"amount_received"`
	Currency         string            `json:"currency"`
	CaptureMethod    string            `json:"capture_method"`
	Status           string            `json:"status"`
	Metadata         map[string]string `json:"metadata"`
	Created          int64             `json:"created"`
	// Refunded is the sum of the refunds taken (not in Stripe's object).
	Refunded int64 `json:"-"`
	// Captures counts the captures applied (at most 1) and Cancels the
	// cancellations (at most 1): not in Stripe's object.
	Captures int `json:"-"`
	Cancels  int `json:"-"`
}

// Refund is one refund of a PaymentIntent.
type Refund struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	PaymentIntent string            `json:"payment_intent"`
	Status        string            `json:"status"`
	Metadata      map[string]string `json:"metadata"`
	Created       int64             `json:"created"`
}

// Request is one request the fake answered.
type Request struct {
	Method         string
	Path           string
	IdempotencyKey string
	Form           url.Values
	Status         int
	// Replayed: answered from the idempotency cache.
	Replayed bool
}

type answer struct {
	fingerprint string
	status      int
	body        []byte
}

// Server is the fake Stripe. Its URL is the API base to configure
// (payments.stripe.api_base).
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	intents map[string]*PaymentIntent
	refunds map[string]*Refund
	order   []string // refund ids in creation order
	idem    map[string]answer
	reqs    []Request
	seq     int
	// failures to inject: answer 500 to the next n requests, before
	// (lost=false) or after (lost=true: the effect happens, the answer is lost)
	// applying them.
	failNext int
	failLost bool
	// pendingRefunds: refunds are created pending.
	pendingRefunds bool
}

// NewServer starts a fake Stripe; Close it when done.
func NewServer() *Server {
	s := &Server{intents: map[string]*PaymentIntent{}, refunds: map[string]*Refund{}, idem: map[string]answer{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// CreatePaymentIntent creates a PaymentIntent with capture_method manual,
// authorised for amount (status requires_capture), and returns its id.
func (s *Server) CreatePaymentIntent(amount int64, currency string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(amount, currency).ID
}

func (s *Server) create(amount int64, currency string) *PaymentIntent {
	s.seq++
	pi := &PaymentIntent{ID: fmt.Sprintf("pi_fake%06d", s.seq), Object: "payment_intent", Amount: amount,
		AmountCapturable: amount, Currency: strings.ToLower(currency), CaptureMethod: "manual",
		Status: StatusRequiresCapture, Metadata: map[string]string{}, Created: time.Now().Unix()}
	s.intents[pi.ID] = pi
	return pi
}

// PaymentIntent is a copy of the PaymentIntent id (zero if there is none).
func (s *Server) PaymentIntent(id string) PaymentIntent {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.intents[id]
	if !ok {
		return PaymentIntent{}
	}
	cp := *pi
	cp.Metadata = copyMap(pi.Metadata)
	return cp
}

// PaymentIntents are copies of all PaymentIntents, by id.
func (s *Server) PaymentIntents() []PaymentIntent {
	s.mu.Lock()
	ids := make([]string, 0, len(s.intents))
	for id := range s.intents {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	out := make([]PaymentIntent, len(ids))
	for i, id := range ids {
		out[i] = s.PaymentIntent(id)
	}
	return out
}

// Refunds are the refunds of the PaymentIntent id ("" : all), oldest first.
func (s *Server) Refunds(id string) []Refund {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Refund
	for _, rid := range s.order {
		r := s.refunds[rid]
		if id == "" || r.PaymentIntent == id {
			cp := *r
			cp.Metadata = copyMap(r.Metadata)
			out = append(out, cp)
		}
	}
	return out
}

// Requests are the requests answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// FailNext answers the next n POSTs with a 500. With lost, each is applied
// first and only its answer is lost (the client's retry must replay it with
// the same Idempotency-Key); without, nothing happens.
func (s *Server) FailNext(n int, lost bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failLost = n, lost
}

// SetRefundsPending makes new refunds pending instead of succeeded.
func (s *Server) SetRefundsPending(pending bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingRefunds = pending
}

// SettleRefund sets a pending refund's status (succeeded or failed); a
// failed refund gives its amount back to what can be refunded.
func (s *Server) SettleRefund(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[id]
	if !ok || r.Status != "pending" {
		return
	}
	r.Status = status
	if status == "failed" {
		if pi := s.intents[r.PaymentIntent]; pi != nil {
			pi.Refunded -= r.Amount
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form, _ := url.ParseQuery(string(raw))
	if r.URL.RawQuery != "" && r.Method == http.MethodGet {
		form, _ = url.ParseQuery(r.URL.RawQuery)
	}
	key := r.Header.Get("Idempotency-Key")

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: key, Form: form}
	reply := func(status int, body []byte, replayed bool) {
		rec.Status, rec.Replayed = status, replayed
		s.reqs = append(s.reqs, rec)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", fmt.Sprintf("req_fake%d", len(s.reqs)))
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}

	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_") {
		reply(http.StatusUnauthorized, errorBody("invalid_request_error", "", "Invalid API Key provided."), false)
		return
	}
	post := r.Method == http.MethodPost
	fp := fingerprint(r.Method, r.URL.Path, form)
	if post && key != "" {
		if a, ok := s.idem[key]; ok {
			if a.fingerprint != fp {
				reply(http.StatusBadRequest, errorBody("idempotency_error", "",
					"Keys for idempotent requests can only be used with the same parameters they were first used with."), false)
				return
			}
			reply(a.status, a.body, true)
			return
		}
	}
	if post && s.failNext > 0 && !s.failLost {
		s.failNext--
		reply(http.StatusInternalServerError, errorBody("api_error", "", "injected failure"), false)
		return
	}
	status, body := s.handle(r.Method, r.URL.Path, form)
	if post && key != "" && status < 500 {
		s.idem[key] = answer{fingerprint: fp, status: status, body: body}
	}
	if post && s.failNext > 0 && s.failLost {
		s.failNext--
		reply(http.StatusInternalServerError, errorBody("api_error", "", "injected failure after the effect"), false)
		return
	}
	reply(status, body, false)
}

func (s *Server) handle(method, path string, form url.Values) (int, []byte) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "v1" {
		return notFound(path)
	}
	switch {
	case parts[1] == "payment_intents" && len(parts) == 2 && method == http.MethodPost:
		amount, err := strconv.ParseInt(form.Get("amount"), 10, 64)
		if err != nil || amount <= 0 || form.Get("currency") == "" {
			return http.StatusBadRequest, errorBody("invalid_request_error", "parameter_invalid_integer", "amount and currency are required")
		}
		pi := s.create(amount, form.Get("currency"))
		for k, v := range metadata(form) {
			pi.Metadata[k] = v
		}
		return ok(pi)
	case parts[1] == "payment_intents" && len(parts) >= 3:
		pi, found := s.intents[parts[2]]
		if !found {
			return notFoundCode("No such payment_intent: '" + parts[2] + "'")
		}
		switch {
		case len(parts) == 3 && method == http.MethodGet:
			return ok(pi)
		case len(parts) == 3 && method == http.MethodPost:
			for k, v := range metadata(form) {
				if v == "" {
					delete(pi.Metadata, k)
				} else {
					pi.Metadata[k] = v
				}
			}
			return ok(pi)
		case len(parts) == 4 && parts[3] == "capture" && method == http.MethodPost:
			return s.capture(pi, form)
		case len(parts) == 4 && parts[3] == "cancel" && method == http.MethodPost:
			if pi.Status != StatusRequiresCapture {
				return unexpectedState(pi, "cancel")
			}
			pi.Status, pi.AmountCapturable = StatusCanceled, 0
			pi.Cancels++
			return ok(pi)
		}
	case parts[1] == "refunds" && len(parts) == 2 && method == http.MethodPost:
		return s.refund(form)
	case parts[1] == "refunds" && len(parts) == 3 && method == http.MethodGet:
		if r, found := s.refunds[parts[2]]; found {
			return ok(r)
		}
		return notFoundCode("No such refund: '" + parts[2] + "'")
	}
	return notFound(path)
}

func (s *Server) capture(pi *PaymentIntent, form url.Values) (int, []byte) {
	if pi.Status != StatusRequiresCapture {
		return unexpectedState(pi, "capture")
	}
	amount := pi.AmountCapturable
	if v := form.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return http.StatusBadRequest, errorBody("invalid_request_error", "parameter_invalid_integer", "Invalid amount_to_capture.")
		}
		amount = n
	}
	if amount > pi.AmountCapturable {
		return http.StatusBadRequest, errorBody("invalid_request_error", "amount_too_large",
			fmt.Sprintf("The amount to capture (%d) is greater than the amount capturable (%d).", amount, pi.AmountCapturable))
	}
	// One capture: the rest of the authorisation is released.
	pi.AmountReceived, pi.AmountCapturable, pi.Status = amount, 0, StatusSucceeded
	pi.Captures++
	return ok(pi)
}

func (s *Server) refund(form url.Values) (int, []byte) {
	id := form.Get("payment_intent")
	if id == "" {
		return http.StatusBadRequest, errorBody("invalid_request_error", "parameter_missing", "Missing payment_intent (the fake refunds PaymentIntents only).")
	}
	pi, found := s.intents[id]
	if !found {
		return notFoundCode("No such payment_intent: '" + id + "'")
	}
	if pi.Status != StatusSucceeded {
		return unexpectedState(pi, "refund")
	}
	left := pi.AmountReceived - pi.Refunded
	amount := left
	if v := form.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return http.StatusBadRequest, errorBody("invalid_request_error", "parameter_invalid_integer", "Invalid amount.")
		}
		amount = n
	}
	if left <= 0 {
		return http.StatusBadRequest, errorBody("invalid_request_error", "charge_already_refunded",
			"Charge for PaymentIntent "+id+" has already been refunded.")
	}
	if amount > left {
		return http.StatusBadRequest, errorBody("invalid_request_error", "amount_too_large",
			fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", amount, left))
	}
	s.seq++
	status := "succeeded"
	if s.pendingRefunds {
		status = "pending"
	}
	r := &Refund{ID: fmt.Sprintf("re_fake%06d", s.seq), Object: "refund", Amount: amount, Currency: pi.Currency,
		PaymentIntent: id, Status: status, Metadata: metadata(form), Created: time.Now().Unix()}
	s.refunds[r.ID] = r
	s.order = append(s.order, r.ID)
	pi.Refunded += amount
	return ok(r)
}

func metadata(form url.Values) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") && len(v) > 0 {
			out[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	return out
}

func fingerprint(method, path string, form url.Values) string {
	sum := sha256.Sum256([]byte(method + " " + path + "?" + form.Encode()))
	return string(sum[:])
}

func ok(v any) (int, []byte) {
	b, _ := json.Marshal(v)
	return http.StatusOK, b
}

func unexpectedState(pi *PaymentIntent, what string) (int, []byte) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
		"message":        fmt.Sprintf("This PaymentIntent could not be %s because it has a status of %s.", verb(what), pi.Status),
		"payment_intent": pi,
	}})
	return http.StatusBadRequest, body
}

func verb(what string) string {
	switch what {
	case "capture":
		return "captured"
	case "cancel":
		return "canceled"
	}
	return "refunded"
}

func notFound(path string) (int, []byte) {
	return http.StatusNotFound, errorBody("invalid_request_error", "", "Unrecognized request URL ("+path+").")
}

func notFoundCode(msg string) (int, []byte) {
	return http.StatusNotFound, errorBody("invalid_request_error", "resource_missing", msg)
}

func errorBody(typ, code, msg string) []byte {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
