package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SignatureHeader carries a webhook request's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>".
const SignatureHeader = "Omni-Signature"

// defaultWebhookTimeout bounds one request when the context has no deadline.
const defaultWebhookTimeout = 10 * time.Second

// Webhook POSTs messages as JSON to a provider (SMS or push). Any 2xx answer
// is delivery; anything else is a failure to retry. Each request carries the
// notification key as Idempotency-Key, so a provider can drop repeats.
type Webhook struct {
	URL string
	// Secret, if set, signs each request in SignatureHeader.
	Secret string
	// Client defaults to one with a 10 s timeout.
	Client *http.Client
	// Now dates signatures (default time.Now).
	Now func() time.Time
}

// WebhookPayload is the JSON body a provider receives.
type WebhookPayload struct {
	Key      string `json:"key"`
	OrderID  string `json:"order_id"`
	Channel  string `json:"channel"`
	Template string `json:"template"`
	Language string `json:"language"`
	// To is the phone number (sms) or device token (push).
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Link    string `json:"link,omitempty"`
}

// Send POSTs m to the provider.
func (w Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(WebhookPayload{Key: m.Key, OrderID: m.OrderID, Channel: m.Channel, Template: m.Template,
		Language: m.Language, To: m.To, Subject: m.Subject, Body: m.Body, Link: m.Link})
	if err != nil {
		return err
	}
	u, err := url.Parse(w.URL)
	if err != nil {
		return fmt.Errorf("%s webhook: bad url", m.Channel)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s webhook: %v", m.Channel, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.Key)
	if w.Secret != "" {
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		req.Header.Set(SignatureHeader, Sign(w.Secret, now(), body))
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: defaultWebhookTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The url.Error would repeat the whole URL, which may hold a credential.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s webhook at %s: %v", m.Channel, u.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s webhook at %s answered %s", m.Channel, u.Host, resp.Status)
	}
	return nil
}

// Sign is the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
