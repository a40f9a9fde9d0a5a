package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// PaymentsOptions configures the payment provider's side of the API.
type PaymentsOptions struct {
	// CallbackSecret verifies the provider's settlement callbacks, in the
	// whsec_ form (config.Payments.CallbackSigningSecret); empty refuses
	// every callback.
	CallbackSecret string
}

// Limits of what a payment provider sends.
const (
	// maxPSPReferenceLength bounds the provider's reference of a payment.
	maxPSPReferenceLength = 200
	// maxCallbackAmount bounds a settled amount, in minor units.
	maxCallbackAmount = 1_000_000_000_000
)

// paymentCallbackBody is the provider's later answer to a capture or refund
// it accepted with 202 (ADAPTERS.md, "Payments").
type paymentCallbackBody struct {
	PSPReference string `json:"psp_reference"`
	OrderID      string `json:"order_id"`
	Operation    string `json:"operation"`
	Status       string `json:"status"`
	Amount       *int64 `json:"amount"`
	Currency     string `json:"currency"`
}

// Validate checks the callback's fields, every offending one at once.
func (b *paymentCallbackBody) Validate() error {
	var f fieldErrors
	f.text("psp_reference", b.PSPReference, true, maxPSPReferenceLength)
	f.text("order_id", b.OrderID, true, maxOrderIDLength)
	if b.Operation != "capture" && b.Operation != "refund" {
		f.add("operation", "want capture or refund")
	}
	if b.Status != "succeeded" && b.Status != "failed" {
		f.add("status", "want succeeded or failed")
	}
	switch {
	case b.Amount == nil:
		f.add("amount", "is required: the amount settled, in minor units")
	case *b.Amount < 0 || *b.Amount > maxCallbackAmount:
		f.add("amount", "must be between 0 and %d minor units", maxCallbackAmount)
	}
	if !currencyPattern.MatchString(b.Currency) {
		f.add("currency", currencyRule)
	}
	return validation("the payment callback is not valid", f)
}

// paymentCallback takes a payment provider's settlement callback (POST
// /v1/callbacks/payments): no API key, but a Standard Webhooks signature
// under payments.callback_secret, checked before the body is read as JSON
// (verifyCallback, as the carrier's). The settlement goes to the order's
// workflow as the payment_settled signal, which records it once however
// often it is delivered.
func (s *Server) paymentCallback(c echo.Context) error {
	if err := verifyCallback(c, s.payments.CallbackSecret, "payment", "payments.callback_secret"); err != nil {
		return err
	}
	var body paymentCallbackBody
	if err := bind(c, &body); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.db.Access(ctx, body.OrderID); err != nil {
		return err // 404 order_not_found
	}
	settled := workflows.PaymentSettled{PSPReference: body.PSPReference, Operation: body.Operation, Status: body.Status,
		Amount: *body.Amount, Currency: body.Currency}
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.temporal.SignalWorkflow(sctx, workflows.WorkflowID(body.OrderID), "", workflows.SignalPaymentSettled, settled)
	var gone *serviceerror.NotFound
	if errors.As(err, &gone) {
		stored, lookupErr := s.db.Order(ctx, body.OrderID)
		if lookupErr == nil && stored.Status == order.StatusPlaced {
			return order.Errorf(order.KindUnavailable, "not_started", "the order is still being set up; try again in a few seconds")
		}
		if lookupErr == nil {
			return order.Errorf(order.KindConflict, "order_closed", "the order is %s; it takes no more payment news", stored.Status)
		}
	}
	if err != nil {
		return err
	}
	s.log.Info("payment callback", "order_id", body.OrderID, "psp_reference", body.PSPReference,
		"operation", body.Operation, "status", body.Status)
	return c.JSON(http.StatusOK, map[string]string{"status": "accepted"})
}
