package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
)

// Customer notifications leave the order through its outbox, one at a time,
// off the path of the requests that caused them:
//
//	queued ──send──▶ sent
//	   │  └─temporary failure─▶ back-off ─▶ send again (timeline: 1st, 2nd, 4th… failure)
//	   ├─permanent failure (the provider refused it for good)──▶ dropped (timeline)
//	   └─still failing after Policy.NotifyGiveUp──────────────▶ given up (timeline)
//
// A provider that is down delays the customer's message, never a pick, a
// handover, a return or the order's end beyond the give-up time.

// QueuedNotice is a notification waiting in the order's outbox.
type QueuedNotice struct {
	activities.Notification
	QueuedAt time.Time `json:"queued_at"`
}

// asyncNotifyChange marks the change that sends customer notifications off
// the path of the request that caused them (before it, each handler waited).
const asyncNotifyChange = "async-notify"

// notify sends the customer a message about the order: queued for the
// outbox, or (orders started before the outbox) sent before the handler goes on.
func (r *orderRun) notify(ctx workflow.Context, template string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["order_number"] = r.o.Number
	n := activities.Notification{
		Key: r.key("notify-" + template + fmt.Sprint(r.seq)), OrderID: r.o.ID, Template: template,
		Channel: "email", Recipient: r.o.Customer.Email, Data: data,
	}
	if r.asyncNotify {
		r.queue(ctx, n)
		return nil
	}
	// Orders started before the outbox send from the handler; a message the
	// provider refuses for good must not fail the handler (it used to be
	// retried for ever).
	err := r.exec(ctx, a.Notify, n, nil)
	if permanentNotifyFailure(err) {
		workflow.GetLogger(ctx).Error("notification refused for good", "key", n.Key, "error", err)
		return nil
	}
	return err
}

// permanentNotifyFailure reports a notification the provider will never take.
func permanentNotifyFailure(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// queue puts a notification in the order's outbox.
func (r *orderRun) queue(ctx workflow.Context, n activities.Notification) {
	r.outbox = append(r.outbox, QueuedNotice{Notification: n, QueuedAt: workflow.Now(ctx).UTC()})
}

// notifyOnce tries a notification once: the workflow itself retries, so
// that each failure can be put on the timeline.
var notifyOnce = workflow.LocalActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
}

// Back-off between tries of a notification that failed. Orders started
// before the give-up time retried every 5 minutes at most (about 1,700
// history events a day of outage); now every 30 minutes at most.
const (
	notifyFirstRetry    = time.Second
	notifyMaxRetryOld   = 5 * time.Minute
	notifyMaxRetry      = 30 * time.Minute
	DefaultNotifyGiveUp = 24 * time.Hour
)

// EventNotificationFailed is the timeline event of a notification the
// provider did not take.
const EventNotificationFailed = "notification_failed"

// sendNotifications runs the outbox in a coroutine of its own. The workflow
// ends only once the outbox is empty, which the give-up time bounds.
func (r *orderRun) sendNotifications(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		ctx = workflow.WithLocalActivityOptions(ctx, notifyOnce)
		for {
			if err := workflow.Await(ctx, func() bool { return len(r.outbox) > 0 }); err != nil {
				return
			}
			n := r.outbox[0]
			r.sending = true
			err := workflow.ExecuteLocalActivity(ctx, a.Notify, n.Notification).Get(ctx, nil)
			r.sending = false
			switch {
			case err == nil:
				r.dropNotice()
				continue
			case permanentNotifyFailure(err):
				// The provider will never take it (no address, a number it refuses).
				workflow.GetLogger(ctx).Error("notification refused for good", "key", n.Key, "error", err)
				r.notificationFailed(ctx, n, r.notifyAttempt+1, err, 0, "permanent")
				r.dropNotice()
				continue
			}
			r.notifyAttempt++
			attempt := r.notifyAttempt
			if r.exactlyOnce && workflow.Now(ctx).Sub(n.QueuedAt) >= r.notifyGiveUp() {
				workflow.GetLogger(ctx).Error("notification given up", "key", n.Key, "attempts", attempt, "error", err)
				r.notificationFailed(ctx, n, attempt, err, 0, "gave_up")
				r.dropNotice()
				continue
			}
			maxWait := notifyMaxRetryOld
			if r.exactlyOnce {
				maxWait = notifyMaxRetry
			}
			wait := min(notifyFirstRetry<<min(attempt-1, 20), maxWait)
			if attempt&(attempt-1) == 0 { // a power of two: an outage does not flood the timeline
				r.notificationFailed(ctx, n, attempt, err, wait, "")
			}
			if err := workflow.Sleep(ctx, wait); err != nil {
				return
			}
		}
	})
}

// dropNotice takes the first notification off the outbox.
func (r *orderRun) dropNotice() {
	r.outbox, r.notifyAttempt = r.outbox[1:], 0
}

func (r *orderRun) notifyGiveUp() time.Duration {
	if r.policy.NotifyGiveUp > 0 {
		return r.policy.NotifyGiveUp
	}
	return DefaultNotifyGiveUp
}

// notificationFailed puts a failed notification on the order's timeline;
// outcome is "" (retried in retryIn), "permanent" or "gave_up".
func (r *orderRun) notificationFailed(ctx workflow.Context, n QueuedNotice, attempt int, cause error, retryIn time.Duration, outcome string) {
	var msg string
	for e := cause; e != nil; e = errors.Unwrap(e) {
		msg = e.Error() // the innermost: the provider's words, without the activity's wrapping
	}
	if len(msg) > 300 {
		msg = msg[:300]
	}
	data := map[string]any{"template": n.Template, "attempt": attempt, "error": msg}
	if retryIn > 0 {
		data["retry_in_seconds"] = int(retryIn.Seconds())
	}
	if outcome != "" && r.exactlyOnce {
		data["outcome"] = outcome
	}
	r.recordAside(ctx, system, EventNotificationFailed, data)
}
