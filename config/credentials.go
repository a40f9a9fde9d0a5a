package config

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// ProductionCredentials is a configuration file (YAML, to be merged over the
// defaults with -config) that gives every role a fresh random key and the
// customer tokens a fresh random secret: what a production deployment starts
// with instead of the development credentials of omni.yaml. Store staff get
// one key per location: each store and each warehouse.
func ProductionCredentials(locations []Location) []byte {
	var b strings.Builder
	b.WriteString("# Omni's credentials, drawn at random by `omni credentials`. Keep this file\n")
	b.WriteString("# secret (mode 0600) and give each key only to the system it names.\n")
	b.WriteString("auth:\n")
	fmt.Fprintf(&b, "  token_secret: %s\n", randomCredential())
	b.WriteString("  clients:\n")
	client := func(name, role, stores string) {
		fmt.Fprintf(&b, "    - name: %s\n      role: %s\n      key: %s\n", name, role, randomCredential())
		if stores != "" {
			fmt.Fprintf(&b, "      stores: [%s]\n", stores)
		}
	}
	client("web-checkout", "checkout", "")
	for _, l := range locations {
		client(l.ID+"-staff", "store", l.ID)
	}
	client("contact-centre", "support", "")
	client("operations", "admin", "")
	// The carrier signs its tracking callbacks with this (Standard Webhooks).
	b.WriteString("carrier:\n")
	fmt.Fprintf(&b, "  callback_secret: %s\n", randomWebhookSecret())
	// The payment provider signs its settlement callbacks with this.
	b.WriteString("payments:\n")
	fmt.Fprintf(&b, "  callback_secret: %s\n", randomWebhookSecret())
	return []byte(b.String())
}

// randomWebhookSecret is a Standard Webhooks secret: whsec_ and the base64
// of 24 random bytes.
func randomWebhookSecret() string {
	k := make([]byte, 24)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return whsecPrefix + base64.StdEncoding.EncodeToString(k)
}

// randomCredential is 128 random bits in base32 (26 characters): never
// "dev-", never guessed.
func randomCredential() string {
	return "omni_" + rand.Text()
}
