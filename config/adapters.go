package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// System configures one of the retailer's systems that Omni calls over the
// wire contract of ADAPTERS.md (inventory, store tasks, catalog).
type System struct {
	// URL is the system's API. Empty: Omni's built-in implementation.
	URL string `mapstructure:"url"`
	// Token is sent as Authorization: Bearer to the system.
	Token string `mapstructure:"token"`
	// Timeout bounds each call to the system.
	Timeout time.Duration `mapstructure:"timeout"`
}

// External reports whether the retailer's system replaces the built-in one.
func (s System) External() bool { return s.URL != "" }

// Payment providers (payments.provider).
const (
	PaymentsBuiltin = "builtin"
	PaymentsHTTP    = "http"
	PaymentsStripe  = "stripe"
)

// Payments configures the payment provider (ADAPTERS.md, "Payments").
type Payments struct {
	// Provider is builtin (Omni's ledger, which moves no money), http (the
	// retailer's payment service at URL) or stripe.
	Provider string `mapstructure:"provider"`
	// URL, Token and Timeout configure the http provider.
	URL     string        `mapstructure:"url"`
	Token   string        `mapstructure:"token"`
	Timeout time.Duration `mapstructure:"timeout"`
	// CallbackSecret verifies the provider's settlement callbacks
	// (POST /v1/callbacks/payments), as carrier.callback_secret does the
	// carrier's.
	CallbackSecret string `mapstructure:"callback_secret"`
	Stripe         Stripe `mapstructure:"stripe"`
}

// CallbackSigningSecret is the callback secret in the whsec_ form.
func (p Payments) CallbackSigningSecret() string { return SigningSecret(p.CallbackSecret) }

// Stripe configures the stripe payment provider.
type Stripe struct {
	// SecretKey is the Stripe API key (sk_…).
	SecretKey string `mapstructure:"secret_key"`
	// APIBase is Stripe's API (a stripe-mock or test server in tests).
	APIBase string `mapstructure:"api_base"`
}

// StoreInventory is where a store's stock lives: the store's own
// inventory_url (and inventory_token, else inventory.token), else the
// global inventory.url. An empty URL is the built-in ledger.
func (c *Config) StoreInventory(s Store) System {
	sys := c.Inventory
	if s.InventoryURL != "" {
		sys.URL = s.InventoryURL
		if s.InventoryToken != "" {
			sys.Token = s.InventoryToken
		}
	}
	return sys
}

// StoreTaskSystem is where a store's pick tasks go, as StoreInventory.
func (c *Config) StoreTaskSystem(s Store) System {
	sys := c.StoreTasks
	if s.StoreTasksURL != "" {
		sys.URL = s.StoreTasksURL
		if s.StoreTasksToken != "" {
			sys.Token = s.StoreTasksToken
		}
	}
	return sys
}

// ExternalInventory reports whether any location's stock is owned by the
// retailer's inventory rather than Omni's ledger.
func (c *Config) ExternalInventory() bool {
	if c.Inventory.External() {
		return true
	}
	for _, s := range c.Stores {
		if s.InventoryURL != "" {
			return true
		}
	}
	return false
}

// StockOwnedExternally reports whether the retailer's inventory owns the
// stock of the location id (a store or a warehouse).
func (c *Config) StockOwnedExternally(id string) bool {
	for _, s := range c.Stores {
		if s.ID == id {
			return c.StoreInventory(s).External()
		}
	}
	return c.Inventory.External()
}

// adapterDevCredentials names the adapters' keys that hold a development
// credential (DevCredentials).
func (c *Config) adapterDevCredentials(check func(key, value string)) {
	check("inventory.token", c.Inventory.Token)
	check("store_tasks.token", c.StoreTasks.Token)
	check("catalog.token", c.Catalog.Token)
	check("payments.token", c.Payments.Token)
	check("payments.callback_secret", c.Payments.CallbackSecret)
	check("payments.stripe.secret_key", c.Payments.Stripe.SecretKey)
	for i, s := range c.Stores {
		check(fmt.Sprintf("stores[%d].inventory_token", i), s.InventoryToken)
		check(fmt.Sprintf("stores[%d].store_tasks_token", i), s.StoreTasksToken)
	}
}

// validateAdapters checks the retailer's systems: URLs, timeouts, the
// payment provider and what it needs, and transfers, which move stock in
// Omni's own ledger.
func (c *Config) validateAdapters(bad func(key, format string, args ...any)) {
	system := func(key string, s System) {
		checkHTTPURL(bad, key+".url", s.URL, "or empty for the built-in one")
		if s.Timeout <= 0 {
			bad(key+".timeout", "must be a positive duration, got %s", s.Timeout)
		}
	}
	system("inventory", c.Inventory)
	system("store_tasks", c.StoreTasks)
	system("catalog", c.Catalog)

	p := c.Payments
	switch p.Provider {
	case PaymentsBuiltin, PaymentsHTTP, PaymentsStripe:
	default:
		bad("payments.provider", "want builtin, http or stripe, got %q", p.Provider)
	}
	if p.Provider == PaymentsHTTP && p.URL == "" {
		bad("payments.url", "required when payments.provider is http")
	}
	checkHTTPURL(bad, "payments.url", p.URL, "the payment service's API")
	if p.Timeout <= 0 {
		bad("payments.timeout", "must be a positive duration, got %s", p.Timeout)
	}
	checkCallbackSecret(bad, "payments.callback_secret", p.CallbackSecret)
	if p.Provider == PaymentsStripe && p.Stripe.SecretKey == "" {
		bad("payments.stripe.secret_key", "required when payments.provider is stripe")
	}
	if p.Stripe.APIBase == "" {
		bad("payments.stripe.api_base", "must not be empty (Stripe's is https://api.stripe.com)")
	}
	checkHTTPURL(bad, "payments.stripe.api_base", p.Stripe.APIBase, "such as https://api.stripe.com")

	for i, s := range c.Stores {
		checkHTTPURL(bad, fmt.Sprintf("stores[%d].inventory_url", i), s.InventoryURL, "or empty for inventory.url")
		checkHTTPURL(bad, fmt.Sprintf("stores[%d].store_tasks_url", i), s.StoreTasksURL, "or empty for store_tasks.url")
	}
	if c.Transfers.Enabled {
		if c.Inventory.External() {
			bad("transfers.enabled", "transfers move stock in Omni's built-in ledger: not with an external inventory (inventory.url)")
		}
		for i, s := range c.Stores {
			if s.InventoryURL != "" {
				bad("transfers.enabled", "transfers move stock in Omni's built-in ledger: not with an external inventory "+
					"(stores[%d].inventory_url of %s)", i, s.ID)
			}
		}
	}
}

// checkHTTPURL refuses a value that is not empty and not an http(s) URL
// without query or fragment; hint says what to give instead.
func checkHTTPURL(bad func(key, format string, args ...any), key, value, hint string) {
	if value == "" {
		return
	}
	if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		bad(key, "want an http(s) URL (%s), got %q", hint, value)
	}
}

// checkCallbackSecret checks a secret that verifies Standard Webhooks
// callbacks: whsec_ and the base64 of 16+ bytes, or 16+ characters.
func checkCallbackSecret(bad func(key, format string, args ...any), key, secret string) {
	if k, ok := strings.CutPrefix(secret, whsecPrefix); ok {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) < 16 {
			bad(key, "a whsec_ secret is whsec_ and the base64 of a key of at least 16 bytes")
		}
	} else if len(secret) < minWebhookSecret {
		bad(key, "must be at least %d characters (or a whsec_ secret)", minWebhookSecret)
	}
}
