package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
)

func TestNotifyDefaults(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	require.Equal(t, config.Notify{PublicURL: "http://127.0.0.1:8080", GiveUpAfter: 24 * time.Hour}, c.Notify,
		"omni dev needs no mail server or provider: email goes to the log")
}

func TestNotifyEnvironmentOverrides(t *testing.T) {
	t.Setenv("OMNI_NOTIFY_PUBLIC_URL", "https://shop.example")
	t.Setenv("OMNI_NOTIFY_SMTP_ADDR", "mail.example:587")
	t.Setenv("OMNI_NOTIFY_SMTP_USERNAME", "omni")
	t.Setenv("OMNI_NOTIFY_SMTP_PASSWORD", "s3cret")
	t.Setenv("OMNI_NOTIFY_SMTP_FROM", "Shop <no-reply@shop.example>")
	t.Setenv("OMNI_NOTIFY_SMS_WEBHOOK_URL", "https://sms.example/hook")
	t.Setenv("OMNI_NOTIFY_SMS_SECRET", "sms-signing-secret-0123")
	t.Setenv("OMNI_NOTIFY_PUSH_WEBHOOK_URL", "https://push.example/hook")
	t.Setenv("OMNI_NOTIFY_GIVE_UP_AFTER", "6h")
	c, err := config.Load("")
	require.NoError(t, err)
	require.Equal(t, config.Notify{
		PublicURL:   "https://shop.example",
		SMTP:        config.SMTP{Addr: "mail.example:587", Username: "omni", Password: "s3cret", From: "Shop <no-reply@shop.example>"},
		SMS:         config.Webhook{WebhookURL: "https://sms.example/hook", Secret: "sms-signing-secret-0123"},
		Push:        config.Webhook{WebhookURL: "https://push.example/hook"},
		GiveUpAfter: 6 * time.Hour,
	}, c.Notify)
}

func TestNotifyInvalidValuesNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"public url not http", map[string]string{"OMNI_NOTIFY_PUBLIC_URL": "shop.example"},
			"notify.public_url (OMNI_NOTIFY_PUBLIC_URL)"},
		{"smtp addr without port", map[string]string{"OMNI_NOTIFY_SMTP_ADDR": "mail.example", "OMNI_NOTIFY_SMTP_FROM": "a@b.example"},
			"notify.smtp.addr (OMNI_NOTIFY_SMTP_ADDR)"},
		{"smtp without from", map[string]string{"OMNI_NOTIFY_SMTP_ADDR": "mail.example:25"},
			"notify.smtp.from (OMNI_NOTIFY_SMTP_FROM)"},
		{"username without password", map[string]string{"OMNI_NOTIFY_SMTP_USERNAME": "omni"},
			"notify.smtp.username (OMNI_NOTIFY_SMTP_USERNAME)"},
		{"sms webhook not a url", map[string]string{"OMNI_NOTIFY_SMS_WEBHOOK_URL": "ftp://x"},
			"notify.sms.webhook_url (OMNI_NOTIFY_SMS_WEBHOOK_URL)"},
		{"short push secret", map[string]string{"OMNI_NOTIFY_PUSH_SECRET": "short"},
			"notify.push.secret (OMNI_NOTIFY_PUSH_SECRET)"},
		{"give up too soon", map[string]string{"OMNI_NOTIFY_GIVE_UP_AFTER": "10s"},
			"notify.give_up_after (OMNI_NOTIFY_GIVE_UP_AFTER)"},
		{"history budget too small", map[string]string{"OMNI_TEMPORAL_HISTORY_BUDGET": "10"},
			"temporal.history_budget (OMNI_TEMPORAL_HISTORY_BUDGET)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := config.Load("")
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
