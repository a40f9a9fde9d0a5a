package config_test

import (
	"os"
	"path/filepath"
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

// TestWebhookPrivateNetworks: private networks are refused unless the
// operator allows them; omni dev allows them unless the operator said
// otherwise, in the environment or a file.
func TestWebhookPrivateNetworks(t *testing.T) {
	load := func(t *testing.T, file string) *config.Config {
		t.Helper()
		c, err := config.Load(file)
		require.NoError(t, err)
		return c
	}
	dev := func(c *config.Config) bool {
		c.Webhooks.AllowPrivateNetworksUnlessSet()
		return c.Webhooks.AllowPrivateNetworks
	}
	fileWith := func(t *testing.T, yaml string) string {
		f := filepath.Join(t.TempDir(), "omni.yaml")
		require.NoError(t, os.WriteFile(f, []byte(yaml), 0o600))
		return f
	}

	t.Run("defaults", func(t *testing.T) {
		require.False(t, load(t, "").Webhooks.AllowPrivateNetworks, "serve and worker refuse private networks")
		require.True(t, dev(load(t, "")), "omni dev allows them")
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("OMNI_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
		require.True(t, load(t, "").Webhooks.AllowPrivateNetworks)
		t.Setenv("OMNI_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "false")
		require.False(t, load(t, "").Webhooks.AllowPrivateNetworks)
		require.False(t, dev(load(t, "")), "omni dev keeps the operator's false")
	})
	t.Run("file", func(t *testing.T) {
		off := fileWith(t, "webhooks:\n  allow_private_networks: false\n")
		require.False(t, dev(load(t, off)), "omni dev keeps the file's false")
		on := fileWith(t, "webhooks:\n  allow_private_networks: true\n")
		require.True(t, load(t, on).Webhooks.AllowPrivateNetworks)
		other := fileWith(t, "webhooks:\n  retry_for: 96h\n")
		require.False(t, load(t, other).Webhooks.AllowPrivateNetworks)
		require.True(t, dev(load(t, other)), "a file that does not set it leaves omni dev's default")
	})
}
