package app

import (
	"log/slog"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/metrics"
	"github.com/omni-retail/omni/internal/notify"
	"github.com/omni-retail/omni/internal/postgres"
)

// NotifierOf builds the customer notifier from notify.* in the configuration.
// The worker sends the workflow's notifications with it, the API resends them.
// m (may be nil) counts failed attempts.
func NotifierOf(cfg *config.Config, db *postgres.DB, m *metrics.Metrics, log *slog.Logger) *notify.Notifier {
	o := notify.Options{
		Ledger:     db,
		Orders:     db,
		Tokens:     AuthOf(cfg),
		PublicURL:  cfg.Notify.PublicURL,
		StoreNames: map[string]string{},
		Failures:   m,
		Logger:     log.With("component", "notify"),
	}
	for _, s := range cfg.Stores {
		o.StoreNames[s.ID] = s.Name
	}
	if n := cfg.Notify.SMTP; n.Addr != "" {
		o.Email = notify.SMTP{Addr: n.Addr, Username: n.Username, Password: n.Password, From: n.From}
	}
	if w := cfg.Notify.SMS; w.WebhookURL != "" {
		o.SMS = notify.Webhook{URL: w.WebhookURL, Secret: w.Secret}
	}
	if w := cfg.Notify.Push; w.WebhookURL != "" {
		o.Push = notify.Webhook{URL: w.WebhookURL, Secret: w.Secret}
	}
	return notify.New(o)
}
