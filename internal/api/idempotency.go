package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// Every mutating order and store request takes an Idempotency-Key, scoped to
// the caller: the first request with a key runs, and every retry with it gets
// the first answer and never a second effect. The key becomes the Temporal
// Update ID of the request, so a retry after a timeout attaches to the Update
// the first one started; PostgreSQL keeps each key's request hash, a lease
// while a request runs, and the answer once it is known.
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
	// leaseMargin is how much longer than the request timeout a request holds
	// its key: the reads before the workflow is asked and the writes after.
	leaseMargin = 5 * time.Second
	// recordTimeout bounds the writes of an answer, which run even when the
	// client has gone.
	recordTimeout = 5 * time.Second
)

// idempotencyKey reads the request's Idempotency-Key: "" when there is none
// and required is false.
func idempotencyKey(c echo.Context, required bool) (string, error) {
	key := c.Request().Header.Get(headerIdempotencyKey)
	if key == "" && required {
		return "", newBadRequest("idempotency_key_missing",
			"the Idempotency-Key header is required on "+c.Request().Method+" "+c.Path()+
				": send one key per action and the same key again when you retry it")
	}
	if len(key) > MaxIdempotencyKeyLength {
		return "", newBadRequest("idempotency_key_too_long", "the Idempotency-Key header is at most 200 characters")
	}
	return key, nil
}

// callerScope names whose keys a key is among: each API client's own, and a
// customer token's order's (every customer token has the same client name).
func callerScope(p auth.Principal) string {
	if p.Role == auth.RoleCustomer {
		return string(p.Role) + ":" + p.OrderID
	}
	return string(p.Role) + ":" + p.Name
}

// requestID is the Temporal Update ID of the caller's request with key:
// deterministic, so that a retry reaches the same Update, short, and never the
// raw key (which is the client's).
func requestID(scope, key string) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + key))
	return "req-" + base64.RawURLEncoding.EncodeToString(sum[:])[:22]
}

// newRequestID is the Update ID of a request sent without a key.
func newRequestID() string { return "req-" + rand.Text() }

// requestHash identifies what a request asks: the action, the order, the
// store and the canonical JSON of its decoded body.
func requestHash(action, orderID, storeID string, body any) ([]byte, error) {
	canonical, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(action), []byte(orderID), []byte(storeID)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	h.Write(canonical)
	return h.Sum(nil), nil
}

// mutation is one mutating order or store request.
type mutation struct {
	// action names the request in its hash: "pick", "collect", ...
	action string
	// keyRequired refuses the request without an Idempotency-Key (collect,
	// returns, exchanges: money and stock move).
	keyRequired      bool
	orderID, storeID string
	// body points at the request body that read decodes (nil: none); its
	// canonical JSON is part of the request hash.
	body any
	// read decodes and validates the request: a request Omni cannot accept is
	// refused before its key is claimed, so it leaves no record.
	read func() error
	// check answers from what Omni knows now, before the request runs (a
	// handover lockout, a customer's cancellation after the pick). A retry of
	// a request that already reached the order's workflow skips it: the
	// workflow answers it as it answered first.
	check func() error
	// run does the request under the Update ID it must use and returns the
	// answer's status and body.
	run func(updateID string) (int, any, error)
}

// mutate runs m once per caller and Idempotency-Key: every mutating order and
// store request goes through it. Without a key (where one is optional) m runs
// as it is, under a fresh Update ID. With one, the key is claimed: the same key
// with another request is refused (422 idempotency_key_reused); a stored answer
// is served again byte for byte (Idempotent-Replayed: true); a key held by a
// request still running is refused (409 request_in_progress, Retry-After: 1).
// Otherwise m runs under the key's Update ID and its answer is stored, unless
// it is one to retry (5xx, a timeout, 429): then the key is let go without an
// answer, and the next retry asks the workflow again, which answers it as the
// first time.
func (s *Server) mutate(c echo.Context, m mutation) error {
	key, err := idempotencyKey(c, m.keyRequired)
	if err != nil {
		return err
	}
	if m.read != nil {
		if err := m.read(); err != nil {
			return err
		}
	}
	if key == "" {
		if m.check != nil {
			if err := m.check(); err != nil {
				return err
			}
		}
		status, body, err := m.run(newRequestID())
		if err != nil {
			return err
		}
		return c.JSON(status, body)
	}

	hash, err := requestHash(m.action, m.orderID, m.storeID, m.body)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	scope := callerScope(principal(c))
	claim, err := s.db.ClaimRequest(ctx, scope, key, hash, m.orderID, s.timeout+leaseMargin)
	if err != nil {
		if de, ok := order.AsError(err); ok && de.Code == "request_in_progress" {
			c.Response().Header().Set("Retry-After", "1")
		}
		return err
	}
	if out := claim.Outcome; out != nil {
		c.Response().Header().Set(headerReplayed, "true")
		return c.Blob(out.StatusCode, out.ContentType, out.Body)
	}

	// The key is held: every way on stores an answer or lets go of the key,
	// also when the client has gone.
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	status, body, err := s.runClaimed(c, m, scope, key, claim)
	out, final, encErr := outcomeOf(status, body, err)
	if encErr != nil {
		err = encErr
	}
	if !final || encErr != nil {
		if relErr := s.db.ReleaseRequest(record, scope, key, claim.Lease); relErr != nil {
			s.log.Warn("let go of an idempotency key", "order_id", m.orderID, "action", m.action, "error", relErr)
		}
		return err
	}
	if recErr := s.db.FinishRequest(record, scope, key, out); recErr != nil {
		// The answer stands: a retry reaches the same Update and gets it again.
		s.log.Warn("store the answer of an idempotency key", "order_id", m.orderID, "action", m.action, "error", recErr)
	}
	return c.Blob(out.StatusCode, out.ContentType, out.Body)
}

// runClaimed runs m under the key's Update ID, its checks first unless an
// earlier request with the key already reached the workflow.
func (s *Server) runClaimed(c echo.Context, m mutation, scope, key string, claim postgres.RequestClaim) (int, any, error) {
	if !claim.Sent {
		if m.check != nil {
			if err := m.check(); err != nil {
				return 0, nil, err
			}
		}
		if err := s.db.MarkRequestSent(c.Request().Context(), scope, key, claim.Lease); err != nil {
			return 0, nil, err
		}
	}
	return m.run(requestID(scope, key))
}

// outcomeOf encodes a request's answer as it is sent, and says whether it is
// final: the one every retry with the key gets. Successes and refusals on the
// request's merits are; server errors, timeouts and rate limits (5xx, 429)
// are answered but not kept, so a retry asks again.
func outcomeOf(status int, body any, err error) (postgres.RequestOutcome, bool, error) {
	var buf bytes.Buffer
	if err == nil {
		if encErr := jsonEncode(&buf, body); encErr != nil {
			return postgres.RequestOutcome{}, false, encErr
		}
		return postgres.RequestOutcome{StatusCode: status, ContentType: echo.MIMEApplicationJSON, Body: buf.Bytes()}, true, nil
	}
	p := problemFor(err)
	if p.Status >= 500 || p.Status == http.StatusTooManyRequests {
		return postgres.RequestOutcome{}, false, nil
	}
	if encErr := jsonEncode(&buf, p); encErr != nil {
		return postgres.RequestOutcome{}, false, encErr
	}
	return postgres.RequestOutcome{StatusCode: p.Status, ContentType: "application/problem+json", Body: buf.Bytes()}, true, nil
}

// unlessAnsweredBefore returns an order check's refusal, unless the caller's
// Idempotency-Key already stands for a request about the order that was
// answered or reached its workflow (see answeredBefore). The key is looked up
// only when the check refuses: a request the check lets through pays nothing.
// Errors that are not refusals (the database is down) stand as they are.
func (s *Server) unlessAnsweredBefore(c echo.Context, orderID string, refusal error) error {
	if _, ok := order.AsError(refusal); !ok {
		return refusal
	}
	again, err := s.answeredBefore(c, orderID)
	if err != nil {
		return err
	}
	if again {
		return nil
	}
	return refusal
}

// answeredBefore reports whether the caller's Idempotency-Key already stands
// for a request about this order that was answered or reached its workflow.
// The order checks that run before a request's body is read (its store, its
// return window) then let it through to mutate, which answers it as the first
// time: the first request may itself have moved the order on (a reject, a
// full return), and its retry must not be refused for that.
func (s *Server) answeredBefore(c echo.Context, orderID string) (bool, error) {
	key := c.Request().Header.Get(headerIdempotencyKey)
	if key == "" || len(key) > MaxIdempotencyKeyLength {
		return false, nil
	}
	return s.db.RequestRecorded(c.Request().Context(), callerScope(principal(c)), key, orderID)
}
