package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// SignalAdapterRetrying tells an order that one of its steps keeps failing
// at a retailer's system: the workflow puts it on the timeline
// (adapter_retrying) on the first, second, fourth, eighth… failure, as it
// does for notifications, while the step goes on being retried.
const SignalAdapterRetrying = "adapter_retrying"

// AdapterRetrying is the signal's payload.
type AdapterRetrying struct {
	System    string `json:"system"`
	Operation string `json:"operation"`
	Attempt   int32  `json:"attempt"`
	Error     string `json:"error"`
}

// step finishes an activity that called a retailer's system: a domain error
// becomes non-retryable (wrap); a failure that will be retried tells the
// order on attempts 1, 2, 4, 8… (Signal, when the worker sets it).
func (a *Activities) step(ctx context.Context, system, operation, orderID string, err error) error {
	err = wrap(err)
	if err == nil || a.Signal == nil || orderID == "" {
		return err
	}
	var appErr *temporal.ApplicationError
	if asApp(err, &appErr) && appErr.NonRetryable() {
		return err
	}
	n := activity.GetInfo(ctx).Attempt
	if n&(n-1) != 0 {
		return err
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if sigErr := a.Signal(ctx, orderID, AdapterRetrying{System: system, Operation: operation, Attempt: n, Error: msg}); sigErr != nil && a.Logger != nil {
		a.Logger.WarnContext(ctx, "tell the order of a failing step", "order_id", orderID, "system", system, "error", sigErr)
	}
	return err
}
