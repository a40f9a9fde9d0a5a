package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
)

// TestCarrierConfig: the built-in carrier by default, the environment
// overrides every key, and bad values are refused naming the key.
func TestCarrierConfig(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	require.Empty(t, c.Carrier.URL, "the built-in carrier by default")
	require.Equal(t, 5*time.Second, c.Carrier.Timeout)
	require.Equal(t, "dev-carrier-callback-secret-change-me", c.Carrier.CallbackSecret)

	t.Setenv("OMNI_CARRIER_URL", "https://carrier.example/api")
	t.Setenv("OMNI_CARRIER_TOKEN", "carrier-token")
	t.Setenv("OMNI_CARRIER_TIMEOUT", "2s")
	t.Setenv("OMNI_CARRIER_CALLBACK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	c, err = config.Load("")
	require.NoError(t, err)
	require.Equal(t, config.Carrier{URL: "https://carrier.example/api", Token: "carrier-token", Timeout: 2 * time.Second,
		CallbackSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, c.Carrier)
	require.NotContains(t, c.DevCredentials(), "carrier.callback_secret")
	require.Equal(t, c.Carrier.CallbackSecret, c.Carrier.CallbackSigningSecret(), "a whsec_ secret is used as it is")
	require.Equal(t, "whsec_"+"c2hvcnQtYnV0LWxvbmctZW5vdWdo", config.SigningSecret("short-but-long-enough"))

	for _, tc := range []struct{ env, value, want string }{
		{"OMNI_CARRIER_URL", "ftp://carrier.example", "carrier.url (OMNI_CARRIER_URL)"},
		{"OMNI_CARRIER_URL", "carrier.example", "carrier.url (OMNI_CARRIER_URL)"},
		{"OMNI_CARRIER_TIMEOUT", "0s", "carrier.timeout (OMNI_CARRIER_TIMEOUT)"},
		{"OMNI_CARRIER_CALLBACK_SECRET", "short", "carrier.callback_secret (OMNI_CARRIER_CALLBACK_SECRET)"},
		{"OMNI_CARRIER_CALLBACK_SECRET", "whsec_not base64!", "carrier.callback_secret (OMNI_CARRIER_CALLBACK_SECRET)"},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, err := config.Load("")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestProductionCredentialsSignCarrierCallbacks: `omni credentials` draws a
// Standard Webhooks secret for the carrier's callbacks.
func TestProductionCredentialsSignCarrierCallbacks(t *testing.T) {
	defaults, err := config.Load("")
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "credentials.yaml")
	require.NoError(t, os.WriteFile(file, config.ProductionCredentials(defaults.Locations()), 0o600))
	c, err := config.Load(file)
	require.NoError(t, err)
	require.Regexp(t, `^whsec_[A-Za-z0-9+/]{32}$`, c.Carrier.CallbackSecret)
	require.NotContains(t, c.DevCredentials(), "carrier.callback_secret")
}
