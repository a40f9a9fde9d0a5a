// Package carrier is the HTTP adapter of the carrier port
// (activities.Carrier): it books parcels with the retailer's carrier over
// the wire contract of ADAPTERS.md ("Carrier"), POST {url}/shipments and
// POST {url}/shipments/{id}/cancel.
//
// Answers: 200/201 done; 409 and 422 with a problem document are business
// refusals, returned as *order.Error (conflict or invalid, Code the last
// segment of the problem's type), which the activities make non-retryable;
// 408, 429, 5xx, a timeout or a refused connection are plain errors, retried
// by the workflow's activity retry policy (429 and 503 with Retry-After as a
// retryable application error whose NextRetryDelay honours it).
package carrier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// DefaultTimeout bounds one call when none is configured (carrier.timeout).
const DefaultTimeout = 5 * time.Second

// MaxIdempotencyKeyLength is the longest Idempotency-Key the contract allows.
const MaxIdempotencyKeyLength = 64

// maxRetryAfter caps how long a Retry-After may hold a step back.
const maxRetryAfter = 10 * time.Minute

// maxAnswerBytes bounds what is read of an answer.
const maxAnswerBytes = 1 << 20

// Client speaks the carrier contract to one carrier.
type Client struct {
	base  string
	token string
	http  *http.Client
	now   func() time.Time
}

var _ activities.Carrier = (*Client)(nil)

// New is a client of the carrier at baseURL (carrier.url), authenticating
// with token (carrier.token); each call is bounded by timeout (0:
// DefaultTimeout). hc, if not nil, is the HTTP client to use (its Timeout is
// replaced).
func New(baseURL, token string, timeout time.Duration, hc *http.Client) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &http.Client{}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	c.Timeout = timeout
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: c, now: time.Now}
}

// CreateShipment books req under key: POST {url}/shipments.
func (c *Client) CreateShipment(ctx context.Context, key string, req activities.ShipmentRequest) (activities.ShipmentLabel, error) {
	var label activities.ShipmentLabel
	if err := c.post(ctx, "/shipments", key, shipmentBody(req), &label); err != nil {
		return activities.ShipmentLabel{}, err
	}
	if label.ShipmentID == "" || label.TrackingNumber == "" {
		// A broken answer: retried, harmlessly (the key is the same).
		return activities.ShipmentLabel{}, fmt.Errorf("carrier: POST /shipments answered without shipment_id or tracking_number")
	}
	return label, nil
}

// CancelShipment withdraws a shipment: POST {url}/shipments/{id}/cancel. A
// carrier that already has the parcel answers 409, returned as a conflict.
func (c *Client) CancelShipment(ctx context.Context, key, shipmentID, reason string) error {
	return c.post(ctx, "/shipments/"+url.PathEscape(shipmentID)+"/cancel", key, map[string]string{"reason": reason}, nil)
}

// wireAddress is the address as the contract spells it: no coordinates.
type wireAddress struct {
	Name     string `json:"name"`
	Line1    string `json:"line1"`
	Line2    string `json:"line2"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

type wireShipment struct {
	OrderID        string              `json:"order_id"`
	FulfilmentID   string              `json:"fulfilment_id"`
	FromLocationID string              `json:"from_location_id"`
	Address        wireAddress         `json:"address"`
	Service        string              `json:"service"`
	Parcels        []activities.Parcel `json:"parcels"`
}

func shipmentBody(r activities.ShipmentRequest) wireShipment {
	a := r.Address
	parcels := r.Parcels
	if parcels == nil {
		parcels = []activities.Parcel{}
	}
	return wireShipment{OrderID: r.OrderID, FulfilmentID: r.FulfilmentID, FromLocationID: r.FromLocationID,
		Address: wireAddress{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Postcode: a.Postcode, Country: a.Country},
		Service: r.Service, Parcels: parcels}
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

// problem is the part of an RFC 9457 document the adapter reads.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// post sends body to path under key and decodes a 200/201 answer into out
// (nil: the answer is not read).
func (c *Client) post(ctx context.Context, path, key string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("carrier: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Idempotency-Key", IdempotencyKey(key))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// A timeout, a refused or broken connection: retried.
		return fmt.Errorf("carrier: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("carrier: POST %s: reading the answer: %w", path, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK || code == http.StatusCreated:
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("carrier: POST %s answered %d with a body that is not the expected JSON: %w", path, code, err)
		}
		return nil
	case code == http.StatusConflict || code == http.StatusUnprocessableEntity:
		return refusal(path, code, resp.Header.Get("Content-Type"), answer)
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		msg := fmt.Sprintf("carrier: POST %s answered %d", path, code)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			return temporal.NewApplicationErrorWithOptions(msg, "carrier_unavailable",
				temporal.ApplicationErrorOptions{NextRetryDelay: d})
		}
		return errors.New(msg)
	default:
		// 408, 5xx, and anything outside the contract: retried, so that a
		// carrier or a configuration (a wrong token: 401) fixed later lets
		// the step through.
		return fmt.Errorf("carrier: POST %s answered %d: %s", path, code, snippet(answer))
	}
}

// refusal is the domain error of a 409 or 422 answer.
func refusal(path string, status int, contentType string, answer []byte) error {
	kind := order.KindConflict
	if status == http.StatusUnprocessableEntity {
		kind = order.KindInvalid
	}
	var p problem
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/problem+json" || mt == "application/json" {
		_ = json.Unmarshal(answer, &p)
	}
	code := reason(p.Type)
	if code == "" {
		code = "carrier_refused"
	}
	detail := p.Detail
	if detail == "" {
		detail = p.Title
	}
	if detail == "" {
		detail = snippet(answer)
	}
	return &order.Error{Kind: kind, Code: code, Detail: fmt.Sprintf("the carrier refused POST %s (%d): %s", path, status, detail)}
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
