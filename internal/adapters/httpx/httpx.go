// Package httpx is what every HTTP adapter of a retailer's system shares: the
// common rules of ADAPTERS.md for one outbound call. Bearer token, JSON,
// an Idempotency-Key of at most 64 characters on every POST, a per-adapter
// timeout; 200/201 done, 202 accepted, 409/422 a business refusal (never
// retried: a *Refusal, which the adapters turn into *order.Error), and 408,
// 429 (honouring Retry-After), 5xx, a timeout or a refused connection a plain
// error the workflow's activity retry policy retries. Every call is counted
// (omni_adapter_requests_total{system,operation,outcome} and a latency
// histogram) and logged with the order id and the idempotency key.
package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/internal/order"
)

// DefaultTimeout bounds one call when none is configured.
const DefaultTimeout = 5 * time.Second

// MaxIdempotencyKeyLength is the longest Idempotency-Key the contract allows.
const MaxIdempotencyKeyLength = 64

// maxRetryAfter caps how long a Retry-After may hold a step back.
const maxRetryAfter = 10 * time.Minute

// maxAnswerBytes bounds what is read of an answer.
const maxAnswerBytes = 1 << 20

// Outcomes of a call, as counted.
const (
	OutcomeOK       = "ok"       // 200/201: done
	OutcomeAccepted = "accepted" // 202: the result comes later (payments)
	OutcomeRefused  = "refused"  // 409/422: a business refusal
	OutcomeNotFound = "not_found"
	OutcomeRetry    = "retry" // 408, 429, 5xx, anything else: retried
	OutcomeError    = "error" // no answer: a timeout, a refused or broken connection
)

// Observer counts calls (metrics.Metrics implements it).
type Observer interface {
	ObserveAdapterCall(system, operation, outcome string, d time.Duration)
}

// Client speaks to one system of the retailer.
type Client struct {
	system  string
	base    string
	token   string
	http    *http.Client
	observe Observer
	log     *slog.Logger
	now     func() time.Time
}

// Options configure a Client.
type Options struct {
	// System names the retailer's system in metrics, logs and errors:
	// inventory, store_tasks, payments, catalog, carrier.
	System  string
	BaseURL string
	Token   string
	// Timeout bounds one call (0: DefaultTimeout).
	Timeout time.Duration
	// HTTP, if not nil, is the HTTP client to use (its Timeout is replaced).
	HTTP     *http.Client
	Observer Observer
	Log      *slog.Logger
}

// New is a client of the system at o.BaseURL.
func New(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	c := &http.Client{}
	if o.HTTP != nil {
		cp := *o.HTTP
		c = &cp
	}
	c.Timeout = o.Timeout
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{system: o.System, base: strings.TrimRight(o.BaseURL, "/"), token: o.Token, http: c,
		observe: o.Observer, log: log, now: time.Now}
}

// Call is one request.
type Call struct {
	Method string
	// Path is appended to the base URL ("/reservations", with any query).
	Path string
	// Operation names the call in metrics and logs ("reserve", "capture").
	Operation string
	// Key is the step's idempotency key (sent shortened to at most 64
	// characters: IdempotencyKey); required for a POST.
	Key     string
	OrderID string
	Body    any
}

// Do sends the call and decodes a 200/201/202 answer into out (nil: not
// read). It reports the answer's status. A 409 or 422 is a *Refusal; a 404
// a *Refusal too (Status 404) for the callers that expect one (prices);
// everything else that is not done is a retryable error.
func (c *Client) Do(ctx context.Context, call Call, out any) (int, error) {
	start := time.Now()
	status, outcome, err := c.do(ctx, call, out)
	d := time.Since(start)
	if c.observe != nil {
		c.observe.ObserveAdapterCall(c.system, call.Operation, outcome, d)
	}
	level := slog.LevelInfo
	if outcome == OutcomeRetry || outcome == OutcomeError {
		level = slog.LevelWarn
	}
	attrs := []any{"system", c.system, "operation", call.Operation, "order_id", call.OrderID,
		"idempotency_key", call.Key, "status", status, "outcome", outcome, "duration", d.Round(time.Millisecond)}
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	c.log.Log(ctx, level, "adapter call", attrs...)
	return status, err
}

func (c *Client) do(ctx context.Context, call Call, out any) (int, string, error) {
	what := c.system + ": " + call.Method + " " + call.Path
	var body io.Reader
	if call.Body != nil {
		raw, err := json.Marshal(call.Body)
		if err != nil {
			return 0, OutcomeError, err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, c.base+call.Path, body)
	if err != nil {
		return 0, OutcomeError, fmt.Errorf("%s: %w", what, err)
	}
	if call.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if call.Key != "" {
		req.Header.Set("Idempotency-Key", IdempotencyKey(call.Key))
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// A timeout, a refused or broken connection: retried.
		return 0, OutcomeError, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return resp.StatusCode, OutcomeError, fmt.Errorf("%s: reading the answer: %w", what, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK || code == http.StatusCreated || code == http.StatusAccepted:
		outcome := OutcomeOK
		if code == http.StatusAccepted {
			outcome = OutcomeAccepted
		}
		if out != nil && len(bytes.TrimSpace(answer)) > 0 {
			if err := json.Unmarshal(answer, out); err != nil {
				// A broken answer: retried, harmlessly (the key is the same).
				return code, OutcomeRetry, fmt.Errorf("%s answered %d with a body that is not the expected JSON: %w", what, code, err)
			}
		}
		return code, outcome, nil
	case code == http.StatusConflict || code == http.StatusUnprocessableEntity || code == http.StatusNotFound:
		outcome := OutcomeRefused
		if code == http.StatusNotFound {
			outcome = OutcomeNotFound
		}
		return code, outcome, refusal(c.system, what, code, resp.Header.Get("Content-Type"), answer)
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		msg := fmt.Sprintf("%s answered %d", what, code)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			return code, OutcomeRetry, temporal.NewApplicationErrorWithOptions(msg, c.system+"_unavailable",
				temporal.ApplicationErrorOptions{NextRetryDelay: d})
		}
		return code, OutcomeRetry, errors.New(msg)
	default:
		// 408, 5xx, and anything outside the contract: retried, so that a
		// system or a configuration (a wrong token: 401) fixed later lets
		// the step through.
		return code, OutcomeRetry, fmt.Errorf("%s answered %d: %s", what, code, snippet(answer))
	}
}

// Refusal is a 409, 422 (or 404) answer: a business outcome, never retried.
type Refusal struct {
	Status int
	// Code is the last segment of the problem's type ("insufficient_stock").
	Code   string
	Detail string
	// Body is the answer, for fields beyond the problem's (an inventory's "short").
	Body []byte
}

func (r *Refusal) Error() string { return r.Detail }

// Domain is the refusal as Omni's domain error: conflict for 409, invalid
// for 422, not found for 404 (non-retryable once the activities wrap it).
func (r *Refusal) Domain() *order.Error {
	kind := order.KindConflict
	switch r.Status {
	case http.StatusUnprocessableEntity:
		kind = order.KindInvalid
	case http.StatusNotFound:
		kind = order.KindNotFound
	}
	return &order.Error{Kind: kind, Code: r.Code, Detail: r.Detail}
}

// AsRefusal finds a *Refusal in err.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

func refusal(system, what string, status int, contentType string, answer []byte) *Refusal {
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/problem+json" || mt == "application/json" {
		_ = json.Unmarshal(answer, &p)
	}
	code := reason(p.Type)
	if code == "" {
		code = system + "_refused"
	}
	detail := p.Detail
	if detail == "" {
		detail = p.Title
	}
	if detail == "" {
		detail = snippet(answer)
	}
	return &Refusal{Status: status, Code: code, Detail: fmt.Sprintf("%s refused (%d): %s", what, status, detail), Body: answer}
}

// IdempotencyKey is key as sent: itself when at most 64 bytes, else its
// first 40 bytes (cut at a character boundary), "-" and the first 23 hex
// digits of its SHA-256: stable, distinct for distinct keys, at most 64.
func IdempotencyKey(key string) string {
	if len(key) <= MaxIdempotencyKeyLength {
		return key
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	sum := sha256.Sum256([]byte(key))
	return key[:cut] + "-" + hex.EncodeToString(sum[:])[:MaxIdempotencyKeyLength-41]
}

// reason is the last segment of a problem type: ".../insufficient_stock" or
// "urn:x:insufficient_stock" → "insufficient_stock".
func reason(typ string) string {
	typ = strings.TrimRight(strings.TrimSpace(typ), "/")
	if i := strings.LastIndexAny(typ, "/:#"); i >= 0 {
		typ = typ[i+1:]
	}
	if typ == "about:blank" || typ == "blank" {
		return ""
	}
	return typ
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, time.Second), maxRetryAfter), true
}

// snippet is the start of an answer, for error messages.
func snippet(b []byte) string {
	const n = 200
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
