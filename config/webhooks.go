package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// MinWebhookRetry is the shortest webhooks.retry_for allowed: a receiver may
// be down for a day without losing an event.
const MinWebhookRetry = 24 * time.Hour

// Webhooks configures the delivery of order events to other systems'
// webhook subscriptions (internal/webhooks).
type Webhooks struct {
	// PollInterval is how often a worker process looks for new events and
	// deliveries due.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// InitialBackoff is the wait after a first failed delivery attempt; it
	// doubles with each further failure up to MaxBackoff (less some jitter).
	InitialBackoff time.Duration `mapstructure:"initial_backoff"`
	MaxBackoff     time.Duration `mapstructure:"max_backoff"`
	// RetryFor is how long after its first attempt a delivery is retried
	// before it is marked failed. At least MinWebhookRetry.
	RetryFor time.Duration `mapstructure:"retry_for"`
	// AllowPrivateNetworks lets subscriptions and deliveries reach loopback,
	// private, link-local, carrier-grade NAT and other non-public addresses
	// (internal/netguard). Off by default; `omni dev` turns it on unless the
	// operator set it (AllowPrivateNetworksUnlessSet).
	AllowPrivateNetworks bool `mapstructure:"allow_private_networks"`
	// allowPrivateSet records that a file or the environment set
	// AllowPrivateNetworks (Load).
	allowPrivateSet bool
}

// allowPrivateNetworksKey is AllowPrivateNetworks's key.
const allowPrivateNetworksKey = "webhooks.allow_private_networks"

// AllowPrivateNetworksUnlessSet turns AllowPrivateNetworks on unless the
// operator set it, in the configuration file or the environment
// (OMNI_WEBHOOKS_ALLOW_PRIVATE_NETWORKS): `omni dev`'s default, where a
// developer's receiver listens on localhost. Production commands never call it.
func (w *Webhooks) AllowPrivateNetworksUnlessSet() {
	if !w.allowPrivateSet {
		w.AllowPrivateNetworks = true
	}
}

// setByOperator reports whether key is set in file or in its OMNI_
// environment variable, rather than left to the embedded defaults.
func setByOperator(file, key string) (bool, error) {
	if _, ok := os.LookupEnv("OMNI_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))); ok {
		return true, nil
	}
	if file == "" {
		return false, nil
	}
	f := viper.New()
	f.SetConfigFile(file)
	if err := f.ReadInConfig(); err != nil {
		return false, fmt.Errorf("config: %s: %w", file, err)
	}
	return f.IsSet(key), nil
}

func (c *Config) validateWebhooks(bad func(key, format string, args ...any)) {
	w := c.Webhooks
	if w.PollInterval <= 0 {
		bad("webhooks.poll_interval", "must be a positive duration, got %s", w.PollInterval)
	}
	if w.InitialBackoff <= 0 {
		bad("webhooks.initial_backoff", "must be a positive duration, got %s", w.InitialBackoff)
	}
	if w.MaxBackoff < w.InitialBackoff {
		bad("webhooks.max_backoff", "must be at least webhooks.initial_backoff (%s), got %s", w.InitialBackoff, w.MaxBackoff)
	}
	if w.RetryFor < MinWebhookRetry {
		bad("webhooks.retry_for", "must be at least %s, so a receiver that is down for a day loses nothing, got %s",
			MinWebhookRetry, w.RetryFor)
	}
}
