package config

import (
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// Carrier configures home delivery's carrier (ADAPTERS.md, "Carrier").
type Carrier struct {
	// URL is the carrier's API (POST {url}/shipments, …). Empty: the
	// built-in development carrier, which issues tracking numbers and lets
	// the store or support mark a parcel delivered.
	URL string `mapstructure:"url"`
	// Token is sent as Authorization: Bearer to the carrier.
	Token string `mapstructure:"token"`
	// Timeout bounds each call to the carrier.
	Timeout time.Duration `mapstructure:"timeout"`
	// CallbackSecret verifies the carrier's tracking callbacks
	// (POST /v1/callbacks/shipments, Standard Webhooks signatures): a
	// Standard Webhooks secret "whsec_<base64 key>", or any other string
	// of 16+ characters whose bytes are the key.
	CallbackSecret string `mapstructure:"callback_secret"`
}

// CallbackSigningSecret is the callback secret in the whsec_ form the
// Standard Webhooks functions take: itself when it has that form, else
// "whsec_" and the base64 of its bytes.
func (c Carrier) CallbackSigningSecret() string {
	return SigningSecret(c.CallbackSecret)
}

// whsecPrefix starts a Standard Webhooks secret.
const whsecPrefix = "whsec_"

// SigningSecret turns a configured callback secret into the whsec_ form:
// a whsec_ secret stays as it is, any other string's bytes are the key.
func SigningSecret(secret string) string {
	if strings.HasPrefix(secret, whsecPrefix) || secret == "" {
		return secret
	}
	return whsecPrefix + base64.StdEncoding.EncodeToString([]byte(secret))
}

func (c *Config) validateCarrier(bad func(key, format string, args ...any)) {
	k := c.Carrier
	if k.URL != "" {
		if u, err := url.Parse(k.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" {
			bad("carrier.url", "want an http(s) URL such as https://carrier.example/api, or empty for the built-in carrier, got %q", k.URL)
		}
	}
	if k.Timeout <= 0 {
		bad("carrier.timeout", "must be a positive duration, got %s", k.Timeout)
	}
	checkCallbackSecret(bad, "carrier.callback_secret", k.CallbackSecret)
}
