package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
)

func TestWebhookDefaults(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	require.Equal(t, config.Webhooks{PollInterval: 500 * time.Millisecond, InitialBackoff: time.Second,
		MaxBackoff: time.Hour, RetryFor: 72 * time.Hour}, c.Webhooks)
}

func TestWebhookEnvironmentOverrides(t *testing.T) {
	t.Setenv("OMNI_WEBHOOKS_POLL_INTERVAL", "2s")
	t.Setenv("OMNI_WEBHOOKS_INITIAL_BACKOFF", "5s")
	t.Setenv("OMNI_WEBHOOKS_MAX_BACKOFF", "30m")
	t.Setenv("OMNI_WEBHOOKS_RETRY_FOR", "168h")
	c, err := config.Load("")
	require.NoError(t, err)
	require.Equal(t, config.Webhooks{PollInterval: 2 * time.Second, InitialBackoff: 5 * time.Second,
		MaxBackoff: 30 * time.Minute, RetryFor: 168 * time.Hour}, c.Webhooks)
}

func TestWebhookInvalidValuesNameTheKey(t *testing.T) {
	tests := []struct {
		env, value, want string
	}{
		{"OMNI_WEBHOOKS_POLL_INTERVAL", "0s", "webhooks.poll_interval (OMNI_WEBHOOKS_POLL_INTERVAL)"},
		{"OMNI_WEBHOOKS_INITIAL_BACKOFF", "-1s", "webhooks.initial_backoff (OMNI_WEBHOOKS_INITIAL_BACKOFF)"},
		{"OMNI_WEBHOOKS_MAX_BACKOFF", "500ms", "webhooks.max_backoff (OMNI_WEBHOOKS_MAX_BACKOFF)"},
		{"OMNI_WEBHOOKS_RETRY_FOR", "23h59m", "webhooks.retry_for (OMNI_WEBHOOKS_RETRY_FOR)"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, err := config.Load("")
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Setenv("OMNI_WEBHOOKS_RETRY_FOR", "24h")
	_, err := config.Load("")
	require.NoError(t, err, "a day is enough")
}
