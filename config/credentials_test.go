package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
)

// TestDevCredentialsAreNamed: every development credential a production
// command must refuse is named by its key — the API keys, the secret that
// signs customer links (used by workers too), and the providers' secrets.
func TestDevCredentialsAreNamed(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	got := c.DevCredentials()
	require.Contains(t, got, "auth.token_secret")
	require.Contains(t, got, "auth.clients[0].key (web-checkout)")
	require.Contains(t, got, "carrier.callback_secret")
	require.Contains(t, got, "payments.callback_secret")
	require.Len(t, got, 3+len(c.Auth.Clients), "the secrets and every key of omni.yaml: %v", got)

	t.Setenv("OMNI_NOTIFY_SMS_WEBHOOK_URL", "https://sms.example/send")
	t.Setenv("OMNI_NOTIFY_SMS_SECRET", "dev-sms-signing-secret")
	t.Setenv("OMNI_NOTIFY_SMTP_ADDR", "mail.example:587")
	t.Setenv("OMNI_NOTIFY_SMTP_FROM", "shop@example.com")
	t.Setenv("OMNI_NOTIFY_SMTP_USERNAME", "shop")
	t.Setenv("OMNI_NOTIFY_SMTP_PASSWORD", "dev-mail-password")
	c, err = config.Load("")
	require.NoError(t, err)
	require.Subset(t, c.DevCredentials(), []string{"notify.sms.secret", "notify.smtp.password"})
}

// TestProductionCredentials: the file `omni credentials` writes loads over the
// defaults, passes validation, holds no development credential, and gives
// every role and every store a key of its own.
func TestProductionCredentials(t *testing.T) {
	defaults, err := config.Load("")
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "credentials.yaml")
	require.NoError(t, os.WriteFile(file, config.ProductionCredentials(defaults.Locations()), 0o600))

	c, err := config.Load(file)
	require.NoError(t, err)
	require.Empty(t, c.DevCredentials())
	roles := map[string]int{}
	keys := map[string]bool{}
	for _, cl := range c.Auth.Clients {
		roles[cl.Role]++
		require.False(t, keys[cl.Key], "keys are unique")
		keys[cl.Key] = true
		require.GreaterOrEqual(t, len(cl.Key), 26+len("omni_"))
	}
	require.Equal(t, map[string]int{"checkout": 1, "store": len(defaults.Locations()), "support": 1, "admin": 1}, roles)
	require.NotEqual(t, string(config.ProductionCredentials(defaults.Locations())), string(config.ProductionCredentials(defaults.Locations())),
		"each file is drawn afresh")
}

// TestOrderIDPrefixes: checkouts' order id namespaces may not meet.
func TestOrderIDPrefixes(t *testing.T) {
	tests := []struct {
		name    string
		clients string
		want    string // "" = valid
	}{
		{"one checkout without a prefix", `[{name: a, role: checkout, key: a-0123456789ab}]`, ""},
		{"prefixed and one without", `[{name: a, role: checkout, key: a-0123456789ab}, {name: b, role: checkout, key: b-0123456789ab, order_id_prefix: app-}]`, ""},
		{"two without", `[{name: a, role: checkout, key: a-0123456789ab}, {name: b, role: checkout, key: b-0123456789ab}]`,
			"auth.clients (OMNI_AUTH_CLIENTS): checkouts a, b have no order_id_prefix"},
		{"nested prefixes", `[{name: a, role: checkout, key: a-0123456789ab, order_id_prefix: app-}, {name: b, role: checkout, key: b-0123456789ab, order_id_prefix: app-ios-}]`,
			`auth.clients[1].order_id_prefix (set in the config file): "app-ios-" overlaps the prefix "app-" of a`},
		{"same prefix", `[{name: a, role: checkout, key: a-0123456789ab, order_id_prefix: app-}, {name: b, role: checkout, key: b-0123456789ab, order_id_prefix: app-}]`,
			`auth.clients[1].order_id_prefix (set in the config file): "app-" overlaps the prefix "app-" of a`},
		{"Omni's own ids", `[{name: a, role: checkout, key: a-0123456789ab, order_id_prefix: ord}]`, `overlaps the ids Omni draws`},
		{"not a checkout", `[{name: a, role: support, key: a-0123456789ab, order_id_prefix: x-}]`, "only checkout keys choose order ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "omni.yaml")
			require.NoError(t, os.WriteFile(file, []byte("auth:\n  clients: "+tc.clients+"\n"), 0o600))
			_, err := config.Load(file)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestComposeStartsWithRealCredentials: the compose file names no development
// credential, and its serve and worker start from the credentials file that
// `omni credentials` draws.
func TestComposeStartsWithRealCredentials(t *testing.T) {
	raw, err := os.ReadFile("../deployments/compose.yaml")
	require.NoError(t, err)
	compose := string(raw)
	require.NotContains(t, compose, config.DevCredentialPrefix)
	require.Contains(t, compose, `command: ["credentials", "/secrets/omni.yaml"]`)
	require.Contains(t, compose, `command: ["-config", "/secrets/omni.yaml", "serve"]`)
	require.Contains(t, compose, `command: ["-config", "/secrets/omni.yaml", "worker"]`)
}
