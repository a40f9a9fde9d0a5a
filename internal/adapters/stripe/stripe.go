// Package stripe is the Stripe implementation of activities.Payments
// (ADAPTERS.md "Payments", provider stripe), built on stripe-go.
//
// An order's payment reference is a PaymentIntent (pi_…) created by the
// checkout with capture_method=manual. Stripe captures a PaymentIntent once
// and releases what was not captured, so:
//
//   - Capture captures the handed-over amount (amount_to_capture) with the
//     step's Idempotency-Key. The workflow calls it once per PaymentIntent. A
//     PaymentIntent already captured for the same amount (a retry after a lost
//     answer, or under another key) answers succeeded; for another amount it
//     is refused (conflict "already_captured").
//   - Void before the capture releases money only when it releases all that
//     is still authorised: partial voids are noted on the PaymentIntent's
//     metadata (one entry per step, so a retry does not count twice) and the
//     PaymentIntent is cancelled once the voids add up to amount_capturable.
//     Otherwise the later capture takes only what was handed over and Stripe
//     releases the rest. After the capture, or on a cancelled PaymentIntent,
//     a void has nothing to do.
//   - Refund creates a refund of the PaymentIntent; Stripe's pending refund is
//     a pending result.
//   - Charge (a counter tender) captures the tender's PaymentIntent.
//
// Stripe's refusals (card errors, invalid requests, a PaymentIntent in the
// wrong state) are *order.Error, never retried; 429, 5xx, a timeout or a
// refused connection are plain errors the activity retry policy retries.
package stripe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v85"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/order"
)

// System names Stripe in metrics and logs: it is the payments system.
const System = "payments"

// voidNotePrefix starts the metadata keys that note partial voids.
const voidNotePrefix = "omni_void_"

// maxRetryAfter caps how long a Retry-After may hold a step back.
const maxRetryAfter = 10 * time.Minute

// Payments is activities.Payments on Stripe.
type Payments struct {
	sc      *stripego.Client
	observe httpx.Observer
	log     *slog.Logger
}

var _ activities.Payments = (*Payments)(nil)

type config struct {
	timeout time.Duration
	http    *http.Client
}

// Option tunes New.
type Option func(*config)

// WithTimeout bounds one call to Stripe (default httpx.DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithHTTPClient sets the HTTP client (its Timeout is replaced).
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.http = h } }

// New is Stripe with the secret key secretKey at apiBase (empty: Stripe's
// API, https://api.stripe.com; a stripe-mock or a test server in tests).
// Every call is counted through observer (system "payments") and logged
// with the order id and the idempotency key.
func New(secretKey, apiBase string, observer httpx.Observer, log *slog.Logger, opts ...Option) *Payments {
	cfg := config{timeout: httpx.DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timeout <= 0 {
		cfg.timeout = httpx.DefaultTimeout
	}
	hc := &http.Client{}
	if cfg.http != nil {
		cp := *cfg.http
		hc = &cp
	}
	hc.Timeout = cfg.timeout
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	apiBase = strings.TrimRight(strings.TrimSpace(apiBase), "/")
	if apiBase == "" {
		apiBase = stripego.APIURL
	}
	bc := &stripego.BackendConfig{
		HTTPClient: hc,
		URL:        stripego.String(apiBase),
		// Temporal's activity retry policy retries, with the same key: one
		// attempt per call keeps the metrics and logs honest.
		MaxNetworkRetries: stripego.Int64(0),
		EnableTelemetry:   stripego.Bool(false),
		LeveledLogger:     &stripego.LeveledLogger{Level: stripego.LevelNull},
	}
	backends := &stripego.Backends{
		API:         stripego.GetBackendWithConfig(stripego.APIBackend, bc),
		Connect:     stripego.GetBackendWithConfig(stripego.ConnectBackend, bc),
		Uploads:     stripego.GetBackendWithConfig(stripego.UploadsBackend, bc),
		MeterEvents: stripego.GetBackendWithConfig(stripego.MeterEventsBackend, bc),
	}
	return &Payments{sc: stripego.NewClient(secretKey, stripego.WithBackends(backends)), observe: observer, log: log}
}

// Capture captures amount of the PaymentIntent reference.
func (p *Payments) Capture(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	if err := checkReference(reference, "payment_reference_not_stripe"); err != nil {
		return activities.PaymentResult{}, err
	}
	return p.capture(ctx, key, orderID, amount, reference)
}

// Charge takes amount from a counter tender: its reference must be a
// PaymentIntent authorised for it, which is captured.
func (p *Payments) Charge(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	if err := checkReference(reference, "tender_not_stripe"); err != nil {
		return activities.PaymentResult{}, err
	}
	return p.capture(ctx, key, orderID, amount, reference)
}

func (p *Payments) capture(ctx context.Context, key, orderID string, amount int64, id string) (activities.PaymentResult, error) {
	switch {
	case amount < 0:
		return activities.PaymentResult{}, order.Errorf(order.KindInvalid, "amount_invalid", "stripe: cannot capture %d", amount)
	case amount == 0:
		// Nothing handed over: nothing to take, release the authorisation.
		if err := p.release(ctx, key, orderID, id); err != nil {
			return activities.PaymentResult{}, err
		}
		return activities.PaymentResult{Status: activities.PaymentSucceeded, PSPReference: id}, nil
	}
	params := &stripego.PaymentIntentCaptureParams{AmountToCapture: stripego.Int64(amount)}
	params.Context = ctx
	params.SetIdempotencyKey(httpx.IdempotencyKey(key))
	pi, err := observed(p, ctx, "capture", key, orderID, func() (*stripego.PaymentIntent, error) {
		return p.sc.V1PaymentIntents.Capture(ctx, id, params)
	})
	if err != nil {
		if !isStateError(err) {
			return activities.PaymentResult{}, classify(err)
		}
		// Captured already (a retry after a lost answer under another key)
		// or cancelled: the PaymentIntent says which.
		cur, rerr := p.retrieve(ctx, key, orderID, id)
		if rerr != nil {
			return activities.PaymentResult{}, rerr
		}
		switch cur.Status {
		case stripego.PaymentIntentStatusSucceeded:
			if cur.AmountReceived == amount {
				return activities.PaymentResult{Status: activities.PaymentSucceeded, PSPReference: cur.ID}, nil
			}
			return activities.PaymentResult{}, order.Errorf(order.KindConflict, "already_captured",
				"stripe: PaymentIntent %s was already captured for %d, not %d", id, cur.AmountReceived, amount)
		case stripego.PaymentIntentStatusCanceled:
			return activities.PaymentResult{}, order.Errorf(order.KindConflict, "payment_canceled",
				"stripe: PaymentIntent %s is canceled: nothing can be captured", id)
		}
		return activities.PaymentResult{}, classify(err)
	}
	return activities.PaymentResult{Status: intentStatus(pi.Status), PSPReference: pi.ID}, nil
}

// Void gives amount of the authorisation back. See the package comment.
func (p *Payments) Void(ctx context.Context, key, orderID string, amount int64, currency, reference string) error {
	if err := checkReference(reference, "payment_reference_not_stripe"); err != nil {
		return err
	}
	if amount < 0 {
		return order.Errorf(order.KindInvalid, "amount_invalid", "stripe: cannot void %d", amount)
	}
	pi, err := p.retrieve(ctx, key, orderID, reference)
	if err != nil {
		return err
	}
	switch pi.Status {
	case stripego.PaymentIntentStatusSucceeded, stripego.PaymentIntentStatusCanceled:
		// Captured (Stripe released the rest) or cancelled: nothing is held.
		return nil
	case stripego.PaymentIntentStatusProcessing:
		return fmt.Errorf("stripe: PaymentIntent %s is processing; void retried later", reference)
	}
	held := pi.AmountCapturable
	if pi.Status != stripego.PaymentIntentStatusRequiresCapture {
		held = pi.Amount
	}
	note := voidNoteKey(key)
	voided := amount
	for k, v := range pi.Metadata {
		if strings.HasPrefix(k, voidNotePrefix) && k != note {
			n, _ := strconv.ParseInt(v, 10, 64)
			voided += n
		}
	}
	if voided >= held {
		return p.release(ctx, key, orderID, reference)
	}
	if amount == 0 || pi.Metadata[note] == strconv.FormatInt(amount, 10) {
		return nil
	}
	// A partial void: the capture will take only what was handed over.
	// Noted, so that the voids that add up to everything cancel.
	params := &stripego.PaymentIntentUpdateParams{}
	params.Context = ctx
	params.AddMetadata(note, strconv.FormatInt(amount, 10))
	params.SetIdempotencyKey(httpx.IdempotencyKey(key + ":note"))
	_, err = observed(p, ctx, "void_note", key, orderID, func() (*stripego.PaymentIntent, error) {
		return p.sc.V1PaymentIntents.Update(ctx, reference, params)
	})
	if err != nil {
		if isStateError(err) {
			return p.settledSince(ctx, key, orderID, reference, err)
		}
		return classify(err)
	}
	return nil
}

// release cancels the PaymentIntent (everything still held goes back).
func (p *Payments) release(ctx context.Context, key, orderID, id string) error {
	params := &stripego.PaymentIntentCancelParams{}
	params.Context = ctx
	params.SetIdempotencyKey(httpx.IdempotencyKey(key))
	_, err := observed(p, ctx, "void", key, orderID, func() (*stripego.PaymentIntent, error) {
		return p.sc.V1PaymentIntents.Cancel(ctx, id, params)
	})
	if err != nil {
		if isStateError(err) {
			return p.settledSince(ctx, key, orderID, id, err)
		}
		return classify(err)
	}
	return nil
}

// settledSince answers a void refused for the PaymentIntent's state: done
// if it is cancelled or captured by now, else the refusal.
func (p *Payments) settledSince(ctx context.Context, key, orderID, id string, refusal error) error {
	cur, err := p.retrieve(ctx, key, orderID, id)
	if err != nil {
		return err
	}
	if cur.Status == stripego.PaymentIntentStatusCanceled || cur.Status == stripego.PaymentIntentStatusSucceeded {
		return nil
	}
	return classify(refusal)
}

// Refund pays amount of the PaymentIntent reference back.
func (p *Payments) Refund(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	if err := checkReference(reference, "payment_reference_not_stripe"); err != nil {
		return activities.PaymentResult{}, err
	}
	if amount <= 0 {
		return activities.PaymentResult{}, order.Errorf(order.KindInvalid, "amount_invalid", "stripe: cannot refund %d", amount)
	}
	params := &stripego.RefundCreateParams{PaymentIntent: stripego.String(reference), Amount: stripego.Int64(amount)}
	params.Context = ctx
	params.AddMetadata("order_id", orderID)
	params.SetIdempotencyKey(httpx.IdempotencyKey(key))
	r, err := observed(p, ctx, "refund", key, orderID, func() (*stripego.Refund, error) {
		return p.sc.V1Refunds.Create(ctx, params)
	})
	if err != nil {
		return activities.PaymentResult{}, classify(err)
	}
	switch r.Status {
	case stripego.RefundStatusSucceeded:
		return activities.PaymentResult{Status: activities.PaymentSucceeded, PSPReference: r.ID}, nil
	case stripego.RefundStatusFailed, stripego.RefundStatusCanceled:
		return activities.PaymentResult{}, order.Errorf(order.KindConflict, "refund_"+string(r.Status),
			"stripe: refund %s of PaymentIntent %s is %s", r.ID, reference, r.Status)
	}
	return activities.PaymentResult{Status: activities.PaymentPending, PSPReference: r.ID}, nil
}

func (p *Payments) retrieve(ctx context.Context, key, orderID, id string) (*stripego.PaymentIntent, error) {
	params := &stripego.PaymentIntentRetrieveParams{}
	params.Context = ctx
	pi, err := observed(p, ctx, "read", key, orderID, func() (*stripego.PaymentIntent, error) {
		return p.sc.V1PaymentIntents.Retrieve(ctx, id, params)
	})
	if err != nil {
		return nil, classify(err)
	}
	return pi, nil
}

// observed runs one call to Stripe, counted and logged.
func observed[T any](p *Payments, ctx context.Context, op, key, orderID string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	d := time.Since(start)
	outcome, status := outcomeOf(err)
	if p.observe != nil {
		p.observe.ObserveAdapterCall(System, op, outcome, d)
	}
	level := slog.LevelInfo
	if outcome == httpx.OutcomeRetry || outcome == httpx.OutcomeError {
		level = slog.LevelWarn
	}
	attrs := []any{"system", System, "provider", "stripe", "operation", op, "order_id", orderID,
		"idempotency_key", httpx.IdempotencyKey(key), "status", status, "outcome", outcome,
		"duration", d.Round(time.Millisecond)}
	if err != nil {
		attrs = append(attrs, "error", describe(err))
	}
	p.log.Log(ctx, level, "adapter call", attrs...)
	return v, err
}

func outcomeOf(err error) (string, int) {
	if err == nil {
		return httpx.OutcomeOK, http.StatusOK
	}
	se, ok := asStripe(err)
	if !ok {
		return httpx.OutcomeError, 0
	}
	if retryable(se) {
		return httpx.OutcomeRetry, se.HTTPStatusCode
	}
	if se.HTTPStatusCode == http.StatusNotFound {
		return httpx.OutcomeNotFound, se.HTTPStatusCode
	}
	return httpx.OutcomeRefused, se.HTTPStatusCode
}

func asStripe(err error) (*stripego.Error, bool) {
	var se *stripego.Error
	ok := errors.As(err, &se)
	return se, ok
}

// retryable: Stripe down, busy or not reachable, or a configuration that may
// be fixed (a wrong key: 401/403), like httpx.
func retryable(se *stripego.Error) bool {
	switch s := se.HTTPStatusCode; {
	case s == 0, s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500,
		s == http.StatusUnauthorized, s == http.StatusForbidden:
		return true
	case s == http.StatusConflict:
		// Another request with the same key is in flight.
		return true
	}
	return se.Code == stripego.ErrorCodeLockTimeout || se.Code == stripego.ErrorCodeIdempotencyKeyInUse ||
		se.Type == stripego.ErrorTypeAPI
}

// isStateError: Stripe refused for the PaymentIntent's state.
func isStateError(err error) bool {
	se, ok := asStripe(err)
	return ok && se.Code == stripego.ErrorCodePaymentIntentUnexpectedState
}

// classify turns a Stripe error into Omni's: a refusal is an *order.Error
// (never retried), anything else a plain error (retried).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var oe *order.Error
	if errors.As(err, &oe) {
		return err
	}
	se, ok := asStripe(err)
	if !ok {
		return fmt.Errorf("stripe: %w", err)
	}
	if retryable(se) {
		msg := "stripe: " + describe(se)
		if se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == http.StatusServiceUnavailable {
			if d, ok := retryAfter(se); ok {
				return temporal.NewApplicationErrorWithOptions(msg, "payments_unavailable",
					temporal.ApplicationErrorOptions{NextRetryDelay: d})
			}
		}
		return errors.New(msg)
	}
	code := string(se.Code)
	if code == "" {
		code = string(se.DeclineCode)
	}
	kind := order.KindInvalid
	switch {
	case se.HTTPStatusCode == http.StatusNotFound:
		kind = order.KindNotFound
	case se.Type == stripego.ErrorTypeCard, se.HTTPStatusCode == http.StatusPaymentRequired:
		kind = order.KindConflict
		if code == "" {
			code = "card_declined"
		}
	case se.Type == stripego.ErrorTypeIdempotency:
		kind = order.KindConflict
		if code == "" {
			code = "idempotency_error"
		}
	case isStateCode(se.Code):
		kind = order.KindConflict
	}
	if code == "" {
		code = "payment_refused"
	}
	return &order.Error{Kind: kind, Code: code, Detail: "stripe: " + describe(se)}
}

// isStateCode: codes Stripe gives for an object in the wrong state or an
// amount the object cannot take (business refusals: conflict).
func isStateCode(c stripego.ErrorCode) bool {
	switch c {
	case stripego.ErrorCodePaymentIntentUnexpectedState, stripego.ErrorCodeChargeAlreadyCaptured,
		stripego.ErrorCodeChargeAlreadyRefunded, stripego.ErrorCodeChargeExpiredForCapture,
		stripego.ErrorCodeCaptureChargeAuthorizationExpired, stripego.ErrorCodeAmountTooLarge,
		stripego.ErrorCodeChargeNotRefundable, stripego.ErrorCodeChargeDisputed:
		return true
	}
	return false
}

func describe(err error) string {
	se, ok := asStripe(err)
	if !ok {
		return err.Error()
	}
	parts := []string{strconv.Itoa(se.HTTPStatusCode)}
	for _, s := range []string{string(se.Type), string(se.Code), string(se.DeclineCode), se.Msg} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if se.RequestID != "" {
		parts = append(parts, "request "+se.RequestID)
	}
	return strings.Join(parts, ": ")
}

func retryAfter(se *stripego.Error) (time.Duration, bool) {
	if se.LastResponse == nil || se.LastResponse.Header == nil {
		return 0, false
	}
	v := strings.TrimSpace(se.LastResponse.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	} else {
		return 0, false
	}
	return min(max(d, time.Second), maxRetryAfter), true
}

func intentStatus(s stripego.PaymentIntentStatus) string {
	if s == stripego.PaymentIntentStatusSucceeded {
		return activities.PaymentSucceeded
	}
	return activities.PaymentPending
}

// checkReference refuses a reference that is not a PaymentIntent.
func checkReference(reference, code string) error {
	if !strings.HasPrefix(reference, "pi_") || strings.ContainsAny(reference, "/?#") {
		return order.Errorf(order.KindInvalid, code, "stripe: %q is not a Stripe PaymentIntent (pi_…)", reference)
	}
	return nil
}

// voidNoteKey is the metadata key noting one void step (≤ 40 characters).
func voidNoteKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return voidNotePrefix + hex.EncodeToString(sum[:])[:16]
}
