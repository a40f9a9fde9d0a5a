package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
)

// TestAdapterDefaults: with no settings every system is Omni's built-in
// one, and every key has a default the environment can override.
func TestAdapterDefaults(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	for _, s := range []config.System{c.Inventory, c.StoreTasks, c.Catalog} {
		require.Equal(t, config.System{Timeout: 5 * time.Second}, s)
	}
	require.Equal(t, config.Payments{Provider: "builtin", Timeout: 5 * time.Second,
		CallbackSecret: "dev-payments-callback-secret-change-me",
		Stripe:         config.Stripe{APIBase: "https://api.stripe.com"}}, c.Payments)
	require.False(t, c.ExternalInventory())
	require.Contains(t, c.DevCredentials(), "payments.callback_secret")

	env := map[string]string{
		"OMNI_INVENTORY_URL": "https://erp.example/inv", "OMNI_INVENTORY_TOKEN": "inv-token", "OMNI_INVENTORY_TIMEOUT": "2s",
		"OMNI_STORE_TASKS_URL": "http://tasks.example", "OMNI_STORE_TASKS_TOKEN": "tasks-token", "OMNI_STORE_TASKS_TIMEOUT": "3s",
		"OMNI_CATALOG_URL": "https://catalog.example/v2", "OMNI_CATALOG_TOKEN": "cat-token", "OMNI_CATALOG_TIMEOUT": "4s",
		"OMNI_PAYMENTS_PROVIDER": "stripe", "OMNI_PAYMENTS_URL": "https://psp.example", "OMNI_PAYMENTS_TOKEN": "psp-token",
		"OMNI_PAYMENTS_TIMEOUT": "6s", "OMNI_PAYMENTS_CALLBACK_SECRET": "a-production-payments-secret",
		"OMNI_PAYMENTS_STRIPE_SECRET_KEY": "sk_test_123", "OMNI_PAYMENTS_STRIPE_API_BASE": "http://127.0.0.1:12111",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err = config.Load("")
	require.NoError(t, err)
	require.Equal(t, config.System{URL: "https://erp.example/inv", Token: "inv-token", Timeout: 2 * time.Second}, c.Inventory)
	require.Equal(t, config.System{URL: "http://tasks.example", Token: "tasks-token", Timeout: 3 * time.Second}, c.StoreTasks)
	require.Equal(t, config.System{URL: "https://catalog.example/v2", Token: "cat-token", Timeout: 4 * time.Second}, c.Catalog)
	require.Equal(t, config.Payments{Provider: "stripe", URL: "https://psp.example", Token: "psp-token", Timeout: 6 * time.Second,
		CallbackSecret: "a-production-payments-secret",
		Stripe:         config.Stripe{SecretKey: "sk_test_123", APIBase: "http://127.0.0.1:12111"}}, c.Payments)
	require.NotContains(t, c.DevCredentials(), "payments.callback_secret")
	require.Equal(t, config.SigningSecret("a-production-payments-secret"), c.Payments.CallbackSigningSecret())
	require.True(t, c.ExternalInventory())
	require.True(t, c.StockOwnedExternally("store-001"))
	require.True(t, c.StockOwnedExternally("wh-north"))
}

// TestAdapterValidation: every bad setting is refused naming its key and
// environment variable, in the house form.
func TestAdapterValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"http provider without url", map[string]string{"OMNI_PAYMENTS_PROVIDER": "http"},
			"config: payments.url (OMNI_PAYMENTS_URL): required when payments.provider is http"},
		{"stripe provider without key", map[string]string{"OMNI_PAYMENTS_PROVIDER": "stripe"},
			"config: payments.stripe.secret_key (OMNI_PAYMENTS_STRIPE_SECRET_KEY): required when payments.provider is stripe"},
		{"unknown provider", map[string]string{"OMNI_PAYMENTS_PROVIDER": "paypal"},
			`config: payments.provider (OMNI_PAYMENTS_PROVIDER): want builtin, http or stripe, got "paypal"`},
		{"payments url not http", map[string]string{"OMNI_PAYMENTS_PROVIDER": "http", "OMNI_PAYMENTS_URL": "ftp://psp.example"},
			`config: payments.url (OMNI_PAYMENTS_URL): want an http(s) URL (the payment service's API), got "ftp://psp.example"`},
		{"payments timeout", map[string]string{"OMNI_PAYMENTS_TIMEOUT": "0s"},
			"config: payments.timeout (OMNI_PAYMENTS_TIMEOUT): must be a positive duration, got 0s"},
		{"short callback secret", map[string]string{"OMNI_PAYMENTS_CALLBACK_SECRET": "short"},
			"config: payments.callback_secret (OMNI_PAYMENTS_CALLBACK_SECRET): must be at least 16 characters (or a whsec_ secret)"},
		{"bad whsec callback secret", map[string]string{"OMNI_PAYMENTS_CALLBACK_SECRET": "whsec_not base64!"},
			"config: payments.callback_secret (OMNI_PAYMENTS_CALLBACK_SECRET): a whsec_ secret is whsec_ and the base64 of a key of at least 16 bytes"},
		{"stripe api base", map[string]string{"OMNI_PAYMENTS_STRIPE_API_BASE": "api.stripe.com"},
			`config: payments.stripe.api_base (OMNI_PAYMENTS_STRIPE_API_BASE): want an http(s) URL (such as https://api.stripe.com), got "api.stripe.com"`},
		{"empty stripe api base", map[string]string{"OMNI_PAYMENTS_STRIPE_API_BASE": ""},
			"config: payments.stripe.api_base (OMNI_PAYMENTS_STRIPE_API_BASE): must not be empty (Stripe's is https://api.stripe.com)"},
		{"inventory url", map[string]string{"OMNI_INVENTORY_URL": "erp.example"},
			`config: inventory.url (OMNI_INVENTORY_URL): want an http(s) URL (or empty for the built-in one), got "erp.example"`},
		{"inventory url with a query", map[string]string{"OMNI_INVENTORY_URL": "https://erp.example/?a=1"},
			`config: inventory.url (OMNI_INVENTORY_URL): want an http(s) URL`},
		{"inventory timeout", map[string]string{"OMNI_INVENTORY_TIMEOUT": "-1s"},
			"config: inventory.timeout (OMNI_INVENTORY_TIMEOUT): must be a positive duration, got -1s"},
		{"store tasks url", map[string]string{"OMNI_STORE_TASKS_URL": "mailto:tasks@example.com"},
			`config: store_tasks.url (OMNI_STORE_TASKS_URL): want an http(s) URL (or empty for the built-in one), got "mailto:tasks@example.com"`},
		{"store tasks timeout", map[string]string{"OMNI_STORE_TASKS_TIMEOUT": "0s"},
			"config: store_tasks.timeout (OMNI_STORE_TASKS_TIMEOUT): must be a positive duration, got 0s"},
		{"catalog url", map[string]string{"OMNI_CATALOG_URL": "file:///prices"},
			`config: catalog.url (OMNI_CATALOG_URL): want an http(s) URL (or empty for the built-in one), got "file:///prices"`},
		{"catalog timeout", map[string]string{"OMNI_CATALOG_TIMEOUT": "0s"},
			"config: catalog.timeout (OMNI_CATALOG_TIMEOUT): must be a positive duration, got 0s"},
		{"transfers with an external inventory", map[string]string{"OMNI_TRANSFERS_ENABLED": "true", "OMNI_INVENTORY_URL": "https://erp.example"},
			"config: transfers.enabled (OMNI_TRANSFERS_ENABLED): transfers move stock in Omni's built-in ledger: not with an external inventory (inventory.url)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := config.Load("")
			require.ErrorContains(t, err, tc.want)
		})
	}

	// The valid neighbours of those settings load.
	t.Setenv("OMNI_PAYMENTS_PROVIDER", "http")
	t.Setenv("OMNI_PAYMENTS_URL", "https://psp.example/api")
	t.Setenv("OMNI_TRANSFERS_ENABLED", "true")
	_, err := config.Load("")
	require.NoError(t, err, "transfers with the built-in inventory, an http provider with its url")
}

// TestStoreSystems: a store may name its own inventory and store task
// system (a franchise); its tokens default to the global ones, other stores
// use the global settings, and transfers are refused with any store's own
// inventory.
func TestStoreSystems(t *testing.T) {
	file := writeConfig(t, `
inventory:
  token: global-inventory-token
store_tasks:
  url: https://tasks.example
  token: global-tasks-token
stores:
  - id: store-001
    name: Oxford Street
    inventory_url: https://franchise.example/inventory
    store_tasks_url: https://franchise.example/tasks
    store_tasks_token: franchise-tasks-token
  - id: store-002
    name: Manchester
auth:
  clients:
    - {name: till-1, role: store, key: dev-store-001-key, stores: [store-001]}
`)
	c, err := config.Load(file)
	require.NoError(t, err)
	require.Equal(t, config.System{URL: "https://franchise.example/inventory", Token: "global-inventory-token", Timeout: 5 * time.Second},
		c.StoreInventory(c.Stores[0]))
	require.Equal(t, config.System{URL: "https://franchise.example/tasks", Token: "franchise-tasks-token", Timeout: 5 * time.Second},
		c.StoreTaskSystem(c.Stores[0]))
	require.Equal(t, config.System{Token: "global-inventory-token", Timeout: 5 * time.Second}, c.StoreInventory(c.Stores[1]))
	require.Equal(t, config.System{URL: "https://tasks.example", Token: "global-tasks-token", Timeout: 5 * time.Second},
		c.StoreTaskSystem(c.Stores[1]))
	require.True(t, c.ExternalInventory())
	require.True(t, c.StockOwnedExternally("store-001"))
	require.False(t, c.StockOwnedExternally("store-002"))
	require.False(t, c.StockOwnedExternally("wh-north"))

	t.Setenv("OMNI_TRANSFERS_ENABLED", "true")
	_, err = config.Load(file)
	require.ErrorContains(t, err, "config: transfers.enabled (OMNI_TRANSFERS_ENABLED): transfers move stock in Omni's "+
		"built-in ledger: not with an external inventory (stores[0].inventory_url of store-001)")

	t.Setenv("OMNI_TRANSFERS_ENABLED", "false")
	bad := writeConfig(t, `
stores:
  - id: store-001
    name: Oxford Street
    inventory_url: franchise.example
    store_tasks_url: ftp://franchise.example
    inventory_token: dev-franchise-token
auth:
  clients:
    - {name: till-1, role: store, key: dev-store-001-key, stores: [store-001]}
`)
	_, err = config.Load(bad)
	require.ErrorContains(t, err, `config: stores[0].inventory_url (set in the config file): want an http(s) URL (or empty for inventory.url), got "franchise.example"`)
	require.ErrorContains(t, err, `config: stores[0].store_tasks_url (set in the config file): want an http(s) URL (or empty for store_tasks.url), got "ftp://franchise.example"`)

	c, err = config.Load(writeConfig(t, `
stores:
  - id: store-001
    name: Oxford Street
    inventory_url: https://franchise.example
    inventory_token: dev-franchise-token
auth:
  clients:
    - {name: till-1, role: store, key: dev-store-001-key, stores: [store-001]}
payments:
  token: dev-psp
`))
	require.NoError(t, err)
	require.Subset(t, c.DevCredentials(), []string{"stores[0].inventory_token", "payments.token", "payments.callback_secret"})
}

// TestProductionCredentialsSignPaymentCallbacks: `omni credentials` draws a
// Standard Webhooks secret for the payment provider's callbacks.
func TestProductionCredentialsSignPaymentCallbacks(t *testing.T) {
	defaults, err := config.Load("")
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "credentials.yaml")
	require.NoError(t, os.WriteFile(file, config.ProductionCredentials(defaults.Locations()), 0o600))
	c, err := config.Load(file)
	require.NoError(t, err)
	require.Regexp(t, `^whsec_[A-Za-z0-9+/]{32}$`, c.Payments.CallbackSecret)
	require.NotEqual(t, c.Carrier.CallbackSecret, c.Payments.CallbackSecret)
	require.NotContains(t, c.DevCredentials(), "payments.callback_secret")
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "omni.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.TrimLeft(yaml, "\n")), 0o600))
	return file
}
