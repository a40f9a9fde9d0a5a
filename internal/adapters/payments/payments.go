// Package payments is the HTTP adapter of the payments port
// (activities.Payments) for payments.provider http: it captures, voids and
// refunds against an order's authorisation at the retailer's payment
// service over the wire contract of ADAPTERS.md ("Payments"), built on
// httpx. {reference} is the order's payment reference, or a counter
// tender's.
//
// A 200 is settled (succeeded); a 202 is pending, settled later by the
// provider's POST /v1/callbacks/payments. A 409 or 422 is a refusal, an
// *order.Error whose Code is the last segment of the problem's type
// (authorization_expired, amount_too_large); anything else is retried.
package payments

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/order"
)

// System is the adapter's name in metrics, logs and errors.
const System = "payments"

// RefundReason is the reason sent with a refund (goods brought back).
const RefundReason = "return"

// Client is the retailer's payment service.
type Client struct {
	c *httpx.Client
}

var _ activities.Payments = (*Client)(nil)

// New is an adapter of the payment service at o.BaseURL (payments.url,
// payments.token). o.System is set to "payments" when empty.
func New(o httpx.Options) *Client {
	if o.System == "" {
		o.System = System
	}
	return &Client{c: httpx.New(o)}
}

type wireMoney struct {
	OrderID  string `json:"order_id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type wireRefund struct {
	OrderID  string `json:"order_id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Reason   string `json:"reason"`
}

// Capture takes amount of the authorisation: POST
// {url}/payments/{reference}/capture.
func (c *Client) Capture(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	return c.move(ctx, "capture", "capture", key, orderID, reference, wireMoney{orderID, amount, currency})
}

// Charge takes amount from a tender at a store counter: a capture on the
// tender's reference.
func (c *Client) Charge(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	return c.move(ctx, "charge", "capture", key, orderID, reference, wireMoney{orderID, amount, currency})
}

// Refund pays amount back: POST {url}/payments/{reference}/refunds, reason
// return.
func (c *Client) Refund(ctx context.Context, key, orderID string, amount int64, currency, reference string) (activities.PaymentResult, error) {
	return c.move(ctx, "refund", "refunds", key, orderID, reference, wireRefund{orderID, amount, currency, RefundReason})
}

// Void releases amount of the authorisation: POST
// {url}/payments/{reference}/void.
func (c *Client) Void(ctx context.Context, key, orderID string, amount int64, currency, reference string) error {
	if err := needReference(reference); err != nil {
		return err
	}
	_, err := c.c.Do(ctx, httpx.Call{Method: http.MethodPost, Path: "/payments/" + url.PathEscape(reference) + "/void",
		Operation: "void", Key: key, OrderID: orderID, Body: wireMoney{orderID, amount, currency}}, nil)
	if r, ok := httpx.AsRefusal(err); ok {
		return r.Domain()
	}
	return err
}

func (c *Client) move(ctx context.Context, op, path, key, orderID, reference string, body any) (activities.PaymentResult, error) {
	if err := needReference(reference); err != nil {
		return activities.PaymentResult{}, err
	}
	var out activities.PaymentResult
	status, err := c.c.Do(ctx, httpx.Call{Method: http.MethodPost, Path: "/payments/" + url.PathEscape(reference) + "/" + path,
		Operation: op, Key: key, OrderID: orderID, Body: body}, &out)
	if r, ok := httpx.AsRefusal(err); ok {
		return activities.PaymentResult{}, r.Domain()
	}
	if err != nil {
		return activities.PaymentResult{}, err
	}
	switch {
	case status == http.StatusAccepted || out.Status == activities.PaymentPending:
		out.Status = activities.PaymentPending
	case out.Status == "" || out.Status == activities.PaymentSucceeded:
		out.Status = activities.PaymentSucceeded
	case out.Status == "failed":
		return activities.PaymentResult{}, &order.Error{Kind: order.KindConflict, Code: "payment_failed",
			Detail: fmt.Sprintf("payments: %s of %s answered %d with status failed", op, reference, status)}
	default:
		// Outside the contract: retried, harmlessly (the key is the same).
		return activities.PaymentResult{}, fmt.Errorf("payments: %s of %s answered %d with status %q", op, reference, status, out.Status)
	}
	return out, nil
}

// needReference refuses a payment step without a reference: no provider
// call can name it, and retrying will not give it one.
func needReference(reference string) error {
	if reference == "" {
		return &order.Error{Kind: order.KindInvalid, Code: "payment_reference_missing",
			Detail: "payments: the order has no payment reference for the payment service"}
	}
	return nil
}
