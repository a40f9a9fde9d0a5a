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
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SignatureHeader carries a webhook request's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>".
const SignatureHeader = "Omni-Signature"

// defaultWebhookTimeout bounds one request when the context has no deadline.
const defaultWebhookTimeout = 10 * time.Second

// Webhook POSTs messages as JSON to a provider (SMS or push). Any 2xx answer
// is delivery. A 4xx answer other than 408 and 429 refuses the message for
// good (Rejected); 408, 429, 5xx, timeouts and connection failures are
// temporary, to retry. Each request carries the notification key as
// Idempotency-Key, so a provider can drop repeats.
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
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	code := resp.StatusCode
	switch {
	case code >= 200 && code <= 299:
		return nil
	case code >= 400 && code <= 499 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return Rejected("%s webhook at %s refused the message: %s%s", m.Channel, u.Host, resp.Status, providerWords(answer))
	}
	return fmt.Errorf("%s webhook at %s answered %s%s", m.Channel, u.Host, resp.Status, providerWords(answer))
}

// providerWords is the start of a provider's answer, on one line, to quote
// in an error: ": <words>", or "" when it said nothing.
func providerWords(body []byte) string {
	const max = 200
	printable := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) || unicode.IsSpace(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(string(body), ""))
	words := strings.Join(strings.Fields(printable), " ")
	if words == "" {
		return ""
	}
	if len(words) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(words[cut]) {
			cut--
		}
		words = words[:cut] + "…"
	}
	return ": " + words
}

// Sign is the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
