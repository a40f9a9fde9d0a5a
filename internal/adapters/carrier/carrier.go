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
// retryable application error whose NextRetryDelay honours it). The common
// rules are internal/adapters/httpx's.
package carrier

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
)

// System names the carrier in metrics and logs.
const System = "carrier"

// DefaultTimeout bounds one call when none is configured (carrier.timeout).
const DefaultTimeout = httpx.DefaultTimeout

// Client speaks the carrier contract to one carrier, by the common rules of
// every adapter (internal/adapters/httpx).
type Client struct {
	http *httpx.Client
}

var _ activities.Carrier = (*Client)(nil)

// New is a client of the carrier at baseURL (carrier.url), authenticating
// with token (carrier.token); each call is bounded by timeout (0:
// DefaultTimeout). hc, if not nil, is the HTTP client to use. Calls are
// counted in observer and logged to log when they are given.
func New(baseURL, token string, timeout time.Duration, hc *http.Client, observer ...Observed) *Client {
	o := httpx.Options{System: System, BaseURL: baseURL, Token: token, Timeout: timeout, HTTP: hc}
	for _, ob := range observer {
		o.Observer, o.Log = ob.Observer, ob.Log
	}
	return &Client{http: httpx.New(o)}
}

// Observed is where a client's calls are counted and logged.
type Observed struct {
	Observer httpx.Observer
	Log      *slog.Logger
}

// CreateShipment books req under key: POST {url}/shipments.
func (c *Client) CreateShipment(ctx context.Context, key string, req activities.ShipmentRequest) (activities.ShipmentLabel, error) {
	var label activities.ShipmentLabel
	if err := c.post(ctx, "/shipments", "create_shipment", key, req.OrderID, shipmentBody(req), &label); err != nil {
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
	return c.post(ctx, "/shipments/"+url.PathEscape(shipmentID)+"/cancel", "cancel_shipment", key, "",
		map[string]string{"reason": reason}, nil)
}

// post sends one POST; a refusal (409/422) is a domain error, which the
// activities make non-retryable; anything else not done is retried.
func (c *Client) post(ctx context.Context, path, operation, key, orderID string, body, out any) error {
	_, err := c.http.Do(ctx, httpx.Call{Method: http.MethodPost, Path: path, Operation: operation, Key: key,
		OrderID: orderID, Body: body}, out)
	if r, ok := httpx.AsRefusal(err); ok && r.Status != http.StatusNotFound {
		return r.Domain()
	}
	return err
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

// IdempotencyKey is key as sent (httpx.IdempotencyKey): at most 64 characters.
func IdempotencyKey(key string) string { return httpx.IdempotencyKey(key) }
