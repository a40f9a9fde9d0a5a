package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/notify"
	"github.com/omni-retail/omni/internal/notify/smtptest"
)

func message() notify.Message {
	return notify.Message{Key: "ord-1/notify-ready3", OrderID: "ord-1", Template: "ready", Language: "fr", Channel: "email",
		To: "zoe@example.fr", Subject: "Votre commande 1042 est prête\r\nBcc: victim@example.com",
		Body: "Bonjour,\n\nVotre code de retrait : K7P2QX9M\n.\nVoir votre commande : https://shop.example/o/ct1." +
			strings.Repeat("x", 120) + "\n",
		Link: "https://shop.example/o/ct1.x"}
}

func TestSMTPSend(t *testing.T) {
	srv := smtptest.Start(t)
	s := notify.SMTP{Addr: srv.Addr, From: "Shop <no-reply@shop.example>"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := message()
	require.NoError(t, s.Send(ctx, m))
	require.NoError(t, s.Send(ctx, m))

	got := srv.Messages()
	require.Len(t, got, 2)
	require.Equal(t, "no-reply@shop.example", got[0].From)
	require.Equal(t, []string{"zoe@example.fr"}, got[0].To)
	require.Equal(t, "Votre commande 1042 est prête  Bcc: victim@example.com", got[0].Subject, "no header injection")
	require.Empty(t, got[0].Header.Get("Bcc"))
	require.Equal(t, m.Body, got[0].Body, "the body arrives intact: UTF-8, a lone dot, a line past 76 characters")
	require.Equal(t, "fr", got[0].Header.Get("Content-Language"))
	require.NotEmpty(t, got[0].Header.Get("Message-ID"))
	require.Equal(t, got[0].Header.Get("Message-ID"), got[1].Header.Get("Message-ID"),
		"a repeat of a notification carries the same Message-ID")

	srv.RefuseNext(1)
	err := s.Send(ctx, m)
	require.Error(t, err)
	require.Contains(t, err.Error(), "451")
}

func TestSMTPUnreachable(t *testing.T) {
	srv := smtptest.Start(t)
	addr := srv.Addr
	srv.Close()
	err := notify.SMTP{Addr: addr, From: "no-reply@shop.example"}.Send(context.Background(), message())
	require.Error(t, err)
	require.Contains(t, err.Error(), "smtp:")
}

func TestWebhookSend(t *testing.T) {
	var got struct {
		header http.Header
		body   []byte
	}
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.header = r.Header.Clone()
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()

	at := time.Unix(1_900_000_000, 0)
	w := notify.Webhook{URL: srv.URL + "/sms?api_key=hush", Secret: "sms-signing-secret-0123", Now: func() time.Time { return at }}
	m := message()
	m.Channel, m.To = "sms", "+447700900001"
	require.NoError(t, w.Send(context.Background(), m))

	require.Equal(t, "application/json", got.header.Get("Content-Type"))
	require.Equal(t, m.Key, got.header.Get("Idempotency-Key"))
	require.Equal(t, notify.Sign("sms-signing-secret-0123", at, got.body), got.header.Get(notify.SignatureHeader))
	require.True(t, strings.HasPrefix(got.header.Get(notify.SignatureHeader), "t=1900000000,v1="))
	var p notify.WebhookPayload
	require.NoError(t, json.Unmarshal(got.body, &p))
	require.Equal(t, notify.WebhookPayload{Key: m.Key, OrderID: "ord-1", Channel: "sms", Template: "ready", Language: "fr",
		To: "+447700900001", Subject: m.Subject, Body: m.Body, Link: m.Link}, p)

	status = http.StatusServiceUnavailable
	err := w.Send(context.Background(), m)
	require.Error(t, err)
	require.Contains(t, err.Error(), "503")
	require.NotContains(t, err.Error(), "hush", "errors are recorded and shown: no URL credentials in them")

	srv.Close()
	err = w.Send(context.Background(), m)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hush")

	unsigned := notify.Webhook{URL: srv.URL}
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Empty(t, r.Header.Get(notify.SignatureHeader))
	}))
	defer srv2.Close()
	unsigned.URL = srv2.URL
	require.NoError(t, unsigned.Send(context.Background(), m))
}
