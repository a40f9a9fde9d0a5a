package config

import (
	"fmt"
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
}

// DevCredentialPrefix marks the development credentials of omni.yaml. They
// are fine for `omni dev` and refused by `omni serve`.
const DevCredentialPrefix = "dev-"

// UsesDevCredentials reports whether any key or the token secret is a
// development credential.
func (a Auth) UsesDevCredentials() bool {
	if strings.HasPrefix(a.TokenSecret, DevCredentialPrefix) {
		return true
	}
	for _, c := range a.Clients {
		if strings.HasPrefix(c.Key, DevCredentialPrefix) {
			return true
		}
	}
	return false
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
				if !slices.ContainsFunc(c.Stores, func(st Store) bool { return st.ID == s }) {
					bad(at+".stores", "unknown store %q", s)
				}
			}
		default:
			bad(at+".role", "want checkout, store, support or admin, got %q", cl.Role)
		}
		if len(cl.Key) < 12 || keys[cl.Key] {
			bad(at+".key", "must be unique and at least 12 characters")
		}
		keys[cl.Key] = true
	}
}
