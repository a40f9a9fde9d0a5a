package config

import (
	"net"
	"net/mail"
	"net/url"
	"time"
)

// Notify configures how customers are told about their orders.
type Notify struct {
	// PublicURL is where customers reach Omni's customer pages: notification
	// links are PublicURL + "/o/" + a signed customer token.
	PublicURL string `mapstructure:"public_url"`
	// SMTP sends email. With no Addr, email goes to the process log.
	SMTP SMTP `mapstructure:"smtp"`
	// SMS and Push are webhooks at the retailer's providers. With no
	// WebhookURL the channel is off and its customers get email instead.
	SMS  Webhook `mapstructure:"sms"`
	Push Webhook `mapstructure:"push"`
	// GiveUpAfter is how long an order retries a notification the provider
	// did not take (a temporary failure) before giving it up.
	GiveUpAfter time.Duration `mapstructure:"give_up_after"`
}

// SMTP is the mail server notifications are submitted to.
type SMTP struct {
	// Addr is host:port. STARTTLS is used whenever the server offers it.
	Addr string `mapstructure:"addr"`
	// Username and Password, if set, authenticate with PLAIN (only over TLS
	// or to localhost).
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	// From is the sender address, optionally with a name: "Shop <no-reply@shop.example>".
	From string `mapstructure:"from"`
}

// Webhook is a provider endpoint notifications are POSTed to as JSON.
type Webhook struct {
	WebhookURL string `mapstructure:"webhook_url"`
	// Secret, if set, signs each request (HMAC-SHA256) in the Omni-Signature header.
	Secret string `mapstructure:"secret"`
}

// minWebhookSecret is the shortest signing secret accepted.
const minWebhookSecret = 16

func (c *Config) validateNotify(bad func(key, format string, args ...any)) {
	n := c.Notify
	if u, err := url.Parse(n.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		bad("notify.public_url", "want an http(s) URL such as https://shop.example, got %q", n.PublicURL)
	}
	if n.SMTP.Addr != "" {
		if _, _, err := net.SplitHostPort(n.SMTP.Addr); err != nil {
			bad("notify.smtp.addr", "want host:port, got %q", n.SMTP.Addr)
		}
		if _, err := mail.ParseAddress(n.SMTP.From); err != nil {
			bad("notify.smtp.from", "want the sender's email address when notify.smtp.addr is set, got %q", n.SMTP.From)
		}
	}
	if (n.SMTP.Username == "") != (n.SMTP.Password == "") {
		bad("notify.smtp.username", "username and password go together")
	}
	for _, h := range []struct {
		key string
		w   Webhook
	}{{"notify.sms", n.SMS}, {"notify.push", n.Push}} {
		key, w := h.key, h.w
		if w.WebhookURL != "" {
			if u, err := url.Parse(w.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(key+".webhook_url", "want an http(s) URL, got %q", w.WebhookURL)
			}
		}
		if w.Secret != "" && len(w.Secret) < minWebhookSecret {
			bad(key+".secret", "must be at least %d characters when set", minWebhookSecret)
		}
	}
}
