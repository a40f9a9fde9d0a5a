package activities

import (
	"context"
	"log/slog"
)

// NotificationLog is the notification ledger the built-in notifier records sends in.
type NotificationLog interface {
	// Record stores a sent notification; false means it was already recorded.
	Record(ctx context.Context, n Notification, status string) (bool, error)
}

// LogNotifier is the built-in notifier of the embedded default: it records each
// notification in the ledger and writes it to the process log, once per key.
// Email, SMS and push providers plug in behind the same Notifier interface.
type LogNotifier struct {
	Ledger NotificationLog
	Logger *slog.Logger
}

// Notify records and logs n, once.
func (l LogNotifier) Notify(ctx context.Context, n Notification) error {
	fresh, err := l.Ledger.Record(ctx, n, "sent")
	if err != nil {
		return err
	}
	if fresh {
		l.Logger.Info("customer notified", "order_id", n.OrderID, "template", n.Template,
			"channel", n.Channel, "recipient", n.Recipient)
	}
	return nil
}
