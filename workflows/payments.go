package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Money and the retailer's payment provider.
//
//	capture ──succeeded──────────────▶ payment_captured
//	   ├──pending (202)──▶ payment_captured (pending) ──callback──▶ payment_settled | payment_failed
//	   └──refused (409/422) at the counter ──▶ 402 payment_failed: the handover does not happen
//
// A provider that captures once per authorisation (Stripe: Policy.OneCapture)
// is asked once, when nothing more can be handed over or shipped, for all
// that was; what is left of the authorisation is released by that capture.

// captureFirstChange marks the change after which a handover takes the money
// before it changes anything else (rules 3 start on it).
const captureFirstChange = "capture-first"

// Timeline events of payments settled later by the provider.
const (
	EventPaymentSettled = "payment_settled"
	EventPaymentFailed  = "payment_failed"
)

// SignalPaymentSettled delivers the provider's later answer to a pending
// capture or refund (POST /v1/callbacks/payments).
const SignalPaymentSettled = "payment_settled"

// PaymentSettled is the payments callback, as the API verified it.
type PaymentSettled struct {
	PSPReference string `json:"psp_reference"`
	Operation    string `json:"operation"` // capture or refund
	Status       string `json:"status"`    // succeeded or failed
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
}

// paymentFailed turns a capture the provider refused (a business answer,
// never retried) into the handover's refusal: 402 payment_failed.
func paymentFailed(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		if _, code, ok := order.ParseType(appErr.Type()); ok {
			return reject(order.KindPayment, "payment_failed", "the payment provider refused the capture (%s): %s",
				code, appErr.Message())
		}
	}
	return err
}

// capturedEvent records money taken, pending when the provider settles later.
func (r *orderRun) capturedEvent(ctx workflow.Context, who Actor, amount int64, res activities.PaymentResult, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["amount"], data["currency"] = amount, r.o.Currency
	if res.Status == activities.PaymentPending {
		data["status"], data["psp_reference"] = res.Status, res.PSPReference
	}
	r.event(ctx, who, order.EventPaymentCaptured, data)
}

// heldAfter is what will still wait at the counter once take is handed over
// and refused turned down.
func (r *orderRun) heldAfter(take, refused []order.LineQty) int64 {
	var n int64
	for _, l := range r.o.Lines {
		n += l.Held()
	}
	for _, l := range take {
		n -= l.Quantity
	}
	for _, l := range refused {
		n -= l.Quantity
	}
	return n
}

// handedOverValue is the value of every unit handed over or shipped so far,
// with take on top.
func (r *orderRun) handedOverValue(take []order.LineQty) int64 {
	var v int64
	for _, l := range r.o.Lines {
		v += (l.Collected + l.Shipped) * l.UnitPrice
	}
	for _, t := range take {
		v += t.Quantity * r.o.Line(t.SKU).UnitPrice
	}
	return v
}

// recordSettlements records the provider's later answers on the timeline,
// in the order's turn.
func (r *orderRun) recordSettlements(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var sig PaymentSettled
			r.settlements.Receive(ctx, &sig)
			release, err := r.take(ctx)
			if err != nil {
				return
			}
			typ := EventPaymentSettled
			if sig.Status != activities.PaymentSucceeded {
				typ = EventPaymentFailed
			}
			who := Actor{Channel: order.ChannelSystem, Actor: "payments"}
			r.recordEvent(ctx, who, typ, map[string]any{"psp_reference": sig.PSPReference, "operation": sig.Operation,
				"status": sig.Status, "amount": sig.Amount, "currency": sig.Currency})
			release()
		}
	})
}

// EventAdapterRetrying is the timeline event of a step that keeps failing at
// a retailer's system: its first, second, fourth… failure.
const EventAdapterRetrying = "adapter_retrying"

// recordRetries records on the timeline each failing step the activities
// report. The step's request holds the order's turn while it is retried, so
// the news is recorded aside while the holder waits for the step (never
// while a projection is in flight), and the holder waits for that record
// before it goes on; with nobody holding the turn it takes the turn.
func (r *orderRun) recordRetries(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var sig activities.AdapterRetrying
			r.retries.Receive(ctx, &sig)
			if err := workflow.Await(ctx, func() bool { return r.idle() || (r.stepping > 0 && !r.projecting) }); err != nil {
				return
			}
			who := Actor{Channel: order.ChannelSystem, Actor: sig.System}
			data := map[string]any{"system": sig.System, "operation": sig.Operation, "attempt": sig.Attempt, "error": sig.Error}
			if r.idle() {
				release, err := r.take(ctx)
				if err != nil {
					return
				}
				r.recordEvent(ctx, who, EventAdapterRetrying, data)
				release()
				continue
			}
			r.asideBusy = true
			r.recordEvent(ctx, who, EventAdapterRetrying, data)
			r.asideBusy = false
		}
	})
}
