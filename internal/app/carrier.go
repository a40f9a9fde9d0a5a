package app

import (
	"log/slog"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/adapters/carrier"
	"github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/metrics"
	"github.com/omni-retail/omni/internal/postgres"
)

// CarrierOf is the carrier home delivery books parcels with: the HTTP
// adapter of carrier.url (its calls counted in m and logged to log), or
// without one the built-in development carrier, whose tracking URLs start
// with notify.public_url.
func CarrierOf(cfg *config.Config, db *postgres.DB, m *metrics.Metrics, log *slog.Logger) activities.Carrier {
	if cfg.Carrier.URL != "" {
		return carrier.New(cfg.Carrier.URL, cfg.Carrier.Token, cfg.Carrier.Timeout, nil,
			carrier.Observed{Observer: m, Log: log})
	}
	return postgres.NewBuiltinCarrier(db, cfg.Notify.PublicURL)
}

// carrierAPIOf is the carrier's side of the API: callbacks verified with
// carrier.callback_secret, and the built-in carrier's events route unless a
// carrier is configured.
func carrierAPIOf(cfg *config.Config) api.CarrierOptions {
	return api.CarrierOptions{External: cfg.Carrier.URL != "", CallbackSecret: cfg.Carrier.CallbackSigningSecret()}
}
