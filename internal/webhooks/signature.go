package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every subscription secret.
const SecretPrefix = "whsec_"

// secretBytes is the length of a subscription's signing key.
const secretBytes = 24

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock before Verify refuses it (a replay).
const DefaultTolerance = 5 * time.Minute

// NewSecret makes a subscription secret: SecretPrefix and the base64 of 24
// random bytes, which are the signing key.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// NewSubscriptionID makes a subscription id.
func NewSubscriptionID() string {
	return "wh_" + strings.ToLower(rand.Text())
}

// key is the signing key of a secret: the base64 after SecretPrefix.
func key(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhooks: the secret is not " + SecretPrefix + " and base64")
	}
	return k, nil
}

// Sign returns the webhook-signature header value of a delivery:
// "v1," + base64(HMAC-SHA256(key, id + "." + unix seconds + "." + body)).
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	k, err := key(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(k, id, at.Unix(), body)), nil
}

func mac(key []byte, id string, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, unix, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrVerification is returned by Verify for a delivery that is not signed
// with the secret, or whose timestamp is outside the tolerance.
var ErrVerification = errors.New("webhooks: signature verification failed")

// Verify checks a received delivery, as a receiver written in Go would: the
// webhook-timestamp is within tolerance of now, and one of the
// space-separated signatures in webhook-signature is the v1 signature of
// webhook-id, webhook-timestamp and body under secret.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	k, err := key(secret)
	if err != nil {
		return err
	}
	id, ts := h.Get(HeaderID), h.Get(HeaderTimestamp)
	if id == "" || ts == "" || h.Get(HeaderSignature) == "" {
		return fmt.Errorf("%w: missing %s, %s or %s", ErrVerification, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s %q", ErrVerification, HeaderTimestamp, ts)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s is too far from now", ErrVerification, ts)
	}
	want := mac(k, id, unix, body)
	for _, sig := range strings.Fields(h.Get(HeaderSignature)) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching v1 signature", ErrVerification)
}
