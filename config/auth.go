package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Auth configures who may call the API.
type Auth struct {
	// TokenSecret signs customer tokens (HMAC-SHA256).
	TokenSecret string `mapstructure:"token_secret"`
	// CustomerTokenTTL is how long a customer token opens its order.
	CustomerTokenTTL time.Duration `mapstructure:"customer_token_ttl"`
	// LookupsPerMinute bounds order lookups per client address.
	LookupsPerMinute int `mapstructure:"lookups_per_minute"`
	// LookupsPerNumber bounds lookups of one order number per LookupWindow,
	// whoever sends them.
	LookupsPerNumber int `mapstructure:"lookups_per_number"`
	// LookupsPerContact bounds lookups with one email or phone per
	// LookupWindow, whatever the number.
	LookupsPerContact int `mapstructure:"lookups_per_contact"`
	// LookupWindow is the window of LookupsPerNumber and LookupsPerContact.
	LookupWindow time.Duration `mapstructure:"lookup_window"`
	// Clients are the API keys, each with one role.
	Clients []AuthClient `mapstructure:"clients"`
}

// AuthClient is one API key.
type AuthClient struct {
	Name string `mapstructure:"name"`
	// Role is checkout, store, support or admin.
	Role string `mapstructure:"role"`
	Key  string `mapstructure:"key"`
	// Stores are the stores a store-staff key works for.
	Stores []string `mapstructure:"stores"`
	// OrderIDPrefix is a checkout's namespace of order ids: every id it
	// chooses starts with it, and no other checkout's may. At most one
	// checkout may go without one.
	OrderIDPrefix string `mapstructure:"order_id_prefix"`
}

// DevCredentialPrefix marks the development credentials of omni.yaml. They
// are fine for `omni dev` and refused by `omni serve` and `omni worker`.
const DevCredentialPrefix = "dev-"

// DevCredentials names the keys that hold a development credential (a value
// starting "dev-"): API keys, the token secret that signs customer links, the
// notification providers' signing secrets, the mail server's password and
// the carrier's token and callback secret, and the tokens and secrets of
// the retailer's systems (inventory, store tasks, payments, catalog).
// Every production command refuses to start while it names any.
func (c *Config) DevCredentials() []string {
	var keys []string
	check := func(key, value string) {
		if strings.HasPrefix(value, DevCredentialPrefix) {
			keys = append(keys, key)
		}
	}
	check("auth.token_secret", c.Auth.TokenSecret)
	for i, cl := range c.Auth.Clients {
		check(fmt.Sprintf("auth.clients[%d].key (%s)", i, cl.Name), cl.Key)
	}
	check("notify.smtp.password", c.Notify.SMTP.Password)
	check("notify.sms.secret", c.Notify.SMS.Secret)
	check("notify.push.secret", c.Notify.Push.Secret)
	check("carrier.token", c.Carrier.Token)
	check("carrier.callback_secret", c.Carrier.CallbackSecret)
	c.adapterDevCredentials(check)
	return keys
}

func (c *Config) validateAuth(bad func(key, format string, args ...any)) {
	a := c.Auth
	if len(a.TokenSecret) < 16 {
		bad("auth.token_secret", "must be at least 16 characters")
	}
	if a.CustomerTokenTTL <= 0 {
		bad("auth.customer_token_ttl", "must be a positive duration, got %s", a.CustomerTokenTTL)
	}
	if a.LookupsPerMinute < 1 {
		bad("auth.lookups_per_minute", "must be at least 1, got %d", a.LookupsPerMinute)
	}
	if a.LookupsPerNumber < 1 {
		bad("auth.lookups_per_number", "must be at least 1, got %d", a.LookupsPerNumber)
	}
	if a.LookupsPerContact < 1 {
		bad("auth.lookups_per_contact", "must be at least 1, got %d", a.LookupsPerContact)
	}
	if a.LookupWindow < time.Second {
		bad("auth.lookup_window", "must be at least 1s, got %s", a.LookupWindow)
	}
	validateOrderIDPrefixes(a.Clients, bad)
	names, keys := map[string]bool{}, map[string]bool{}
	for i, cl := range a.Clients {
		at := fmt.Sprintf("auth.clients[%d]", i)
		if cl.Name == "" || names[cl.Name] {
			bad(at+".name", "must be set and unique, got %q", cl.Name)
		}
		names[cl.Name] = true
		switch cl.Role {
		case "checkout", "support", "admin":
			if len(cl.Stores) > 0 {
				bad(at+".stores", "only store staff keys name stores")
			}
		case "store":
			if len(cl.Stores) == 0 {
				bad(at+".stores", "a store staff key names the stores it works for")
			}
			for _, s := range cl.Stores {
				if !slices.ContainsFunc(c.Locations(), func(l Location) bool { return l.ID == s }) {
					bad(at+".stores", "unknown store or warehouse %q", s)
				}
			}
		default:
			bad(at+".role", "want checkout, store, support or admin, got %q", cl.Role)
		}
		if cl.OrderIDPrefix != "" && cl.Role != "checkout" {
			bad(at+".order_id_prefix", "only checkout keys choose order ids")
		}
		if len(cl.Key) < 12 || keys[cl.Key] {
			bad(at+".key", "must be unique and at least 12 characters")
		}
		keys[cl.Key] = true
	}
}

// orderIDPrefixPattern is what an order id may start with (order ids are
// letters, digits, '_', '.', ':' and '-').
var orderIDPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$`)

// validateOrderIDPrefixes keeps the checkouts' order id namespaces apart:
// none inside another, none inside the ids Omni draws ("ord_…"), and at most
// one checkout without a prefix (it chooses ids outside all the others').
// Two checkouts sharing a namespace could each learn which ids the other
// used.
func validateOrderIDPrefixes(clients []AuthClient, bad func(key, format string, args ...any)) {
	var unprefixed []string
	for i, cl := range clients {
		if cl.Role != "checkout" {
			continue
		}
		at := fmt.Sprintf("auth.clients[%d].order_id_prefix", i)
		p := cl.OrderIDPrefix
		if p == "" {
			unprefixed = append(unprefixed, cl.Name)
			continue
		}
		if !orderIDPrefixPattern.MatchString(p) {
			bad(at, "want 1-32 letters, digits, '_', '.', ':' or '-', starting with a letter or digit, got %q", p)
		}
		if strings.HasPrefix(p, "ord_") || strings.HasPrefix("ord_", p) {
			bad(at, "%q overlaps the ids Omni draws (ord_…)", p)
		}
		for j, other := range clients {
			if j != i && other.Role == "checkout" && other.OrderIDPrefix != "" && strings.HasPrefix(p, other.OrderIDPrefix) &&
				(p != other.OrderIDPrefix || j < i) {
				bad(at, "%q overlaps the prefix %q of %s", p, other.OrderIDPrefix, other.Name)
			}
		}
	}
	if len(unprefixed) > 1 {
		bad("auth.clients", "checkouts %s have no order_id_prefix: give every checkout but one a prefix of its own, "+
			"so that no checkout can learn which order ids another used", strings.Join(unprefixed, ", "))
	}
}
