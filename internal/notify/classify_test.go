package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/notify"
	"github.com/omni-retail/omni/internal/notify/smtptest"
	"github.com/omni-retail/omni/internal/order"
)

// requireRejected checks err refuses the message for good: a domain error the
// activity will not retry, with the provider's words in it.
func requireRejected(t *testing.T, err error, words ...string) {
	t.Helper()
	require.Error(t, err)
	de, ok := order.AsError(err)
	require.True(t, ok, "got %v, want a permanent (domain) error", err)
	require.Equal(t, order.KindInvalid, de.Kind)
	require.Equal(t, "notification_rejected", de.Code)
	for _, w := range words {
		require.Contains(t, de.Detail, w)
	}
}

// requireTemporary checks err is to be retried: no domain error in its chain.
func requireTemporary(t *testing.T, err error, words ...string) {
	t.Helper()
	require.Error(t, err)
	_, ok := order.AsError(err)
	require.False(t, ok, "got %v, want a temporary (plain) error", err)
	for _, w := range words {
		require.Contains(t, err.Error(), w)
	}
}

func TestWebhookAnswersAreClassified(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		permanent bool
	}{
		{http.StatusBadRequest, `{"error": "invalid number",` + "\n" + ` "to": "+4477"}`, true},
		{http.StatusUnauthorized, "bad api key", true},
		{http.StatusNotFound, "", true},
		{http.StatusUnprocessableEntity, "number unreachable", true},
		{http.StatusRequestTimeout, "slow down", false},
		{http.StatusTooManyRequests, "rate limited", false},
		{http.StatusInternalServerError, "oops", false},
		{http.StatusBadGateway, "", false},
		{http.StatusServiceUnavailable, "maintenance", false},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			m := message()
			m.Channel, m.To = "sms", "+447700900001"
			err := notify.Webhook{URL: srv.URL + "/sms?api_key=hush"}.Send(context.Background(), m)
			words := []string{http.StatusText(tc.status)}
			if tc.body != "" {
				words = append(words, strings.Join(strings.Fields(tc.body), " ")) // the provider's words, on one line
			}
			if tc.permanent {
				requireRejected(t, err, words...)
			} else {
				requireTemporary(t, err, words...)
			}
			require.NotContains(t, err.Error(), "hush")
		})
	}
}

func TestWebhookLongAnswerIsCut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Repeat("é", 1000) + "\x00\x1b[31m"))
	}))
	defer srv.Close()
	err := notify.Webhook{URL: srv.URL}.Send(context.Background(), message())
	requireRejected(t, err)
	require.Less(t, len(err.Error()), 400)
	require.True(t, strings.HasSuffix(err.Error(), "é…"), "cut on a character: %q", err.Error())
}

func TestWebhookTimeoutsAndRefusalsAreTemporary(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	w := notify.Webhook{URL: slow.URL, Client: &http.Client{Timeout: 50 * time.Millisecond}}
	requireTemporary(t, w.Send(context.Background(), message()))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	requireTemporary(t, notify.Webhook{URL: slow.URL}.Send(ctx, message()))

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	requireTemporary(t, notify.Webhook{URL: gone.URL}.Send(context.Background(), message()))
}

func TestSMTPRepliesAreClassified(t *testing.T) {
	srv := smtptest.Start(t)
	s := notify.SMTP{Addr: srv.Addr, From: "Shop <no-reply@shop.example>"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := message()

	srv.RejectRecipient(m.To, "550 5.1.1 mailbox unavailable")
	requireRejected(t, s.Send(ctx, m), "550 5.1.1 mailbox unavailable", "RCPT TO")
	srv.RejectRecipient(m.To, "553 5.1.3 mailbox name not allowed")
	requireRejected(t, s.Send(ctx, m), "553 5.1.3 mailbox name not allowed")
	srv.RejectRecipient(m.To, "450 4.2.1 mailbox busy")
	requireTemporary(t, s.Send(ctx, m), "450 4.2.1 mailbox busy")
	srv.RejectRecipient(m.To, "")

	srv.RefuseNextWith(1, "554 5.7.1 message rejected as spam")
	requireRejected(t, s.Send(ctx, m), "554 5.7.1 message rejected as spam")
	srv.RefuseNext(1)
	requireTemporary(t, s.Send(ctx, m), "451")

	// Omni's own sender refused: the same for every message, mended by
	// configuration, so the messages wait rather than being dropped.
	srv.RejectSender("553 5.7.1 sender not allowed")
	requireTemporary(t, s.Send(ctx, m), "553 5.7.1 sender not allowed")
	srv.RejectSender("")

	bad := m
	bad.To = "not an address"
	requireRejected(t, s.Send(ctx, bad), "not an email address")

	require.Empty(t, srv.Messages())
	require.NoError(t, s.Send(ctx, m))
	require.Len(t, srv.Messages(), 1)

	srv.Close()
	requireTemporary(t, s.Send(ctx, m), "smtp:")
}

func TestRejectedNotificationIsRecordedAndNotRetried(t *testing.T) {
	box := &outbox{err: notify.Rejected("sms webhook at sms.example refused the message: 400 Bad Request: invalid number")}
	l := newLedger()
	failures := counter{}
	n := notify.New(notify.Options{Ledger: l, Orders: orders{order.Customer{Email: "ada@example.com", Phone: "+447700900001",
		Notify: "sms"}}, Email: &outbox{}, SMS: box, Failures: failures})
	err := n.Notify(context.Background(), ready("k"))
	requireRejected(t, err, "notify ready by sms", "400 Bad Request: invalid number")
	require.Equal(t, []string{"sms: sms webhook at sms.example refused the message: 400 Bad Request: invalid number"}, l.failures,
		"the failed attempt is recorded as failures are")
	require.Empty(t, l.sent)
	require.Equal(t, counter{"sms": 1}, failures)

	// The activity hands it to Temporal as a non-retryable application error.
	err = (&activities.Activities{Notifier: n}).Notify(context.Background(), ready("k2"))
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %T %v", err, err)
	require.True(t, appErr.NonRetryable())
	require.Equal(t, "invalid/notification_rejected", appErr.Type())
	require.Contains(t, appErr.Error(), "invalid number")

	// A temporary failure stays retryable.
	box.err = errors.New("sms webhook at sms.example answered 503 Service Unavailable")
	err = (&activities.Activities{Notifier: n}).Notify(context.Background(), ready("k3"))
	require.Error(t, err)
	require.False(t, errors.As(err, &appErr), "a plain error: retried with the activity's policy")
}

func TestUnaddressableRecipientsAreRejected(t *testing.T) {
	tests := []struct {
		name     string
		customer order.Customer
		sms      bool
		words    string
	}{
		{name: "no email", customer: order.Customer{}, words: "no email recipient"},
		{name: "email not an address", customer: order.Customer{Email: "ada at example"}, words: "not an email address"},
		{name: "sms number not international", customer: order.Customer{Email: "ada@example.com", Phone: "07700 900001", Notify: "sms"},
			sms: true, words: "not an international phone number"},
		{name: "sms number too short", customer: order.Customer{Email: "ada@example.com", Phone: "+4412", Notify: "sms"},
			sms: true, words: "not an international phone number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			email, sms := &outbox{}, &outbox{}
			l := newLedger()
			opts := notify.Options{Ledger: l, Orders: orders{tc.customer}, Email: email}
			if tc.sms {
				opts.SMS = sms
			}
			msg := ready("k")
			msg.Recipient = tc.customer.Email
			requireRejected(t, notify.New(opts).Notify(context.Background(), msg), tc.words)
			require.Empty(t, email.sent)
			require.Empty(t, sms.sent)
			require.Len(t, l.failures, 1)
			require.Empty(t, l.sent)
		})
	}
}

func TestSMSGoesToTheNormalNumber(t *testing.T) {
	sms := &outbox{}
	l := newLedger()
	n := notify.New(notify.Options{Ledger: l, Orders: orders{order.Customer{Email: "ada@example.com",
		Phone: "+44 7700 900001", Notify: "sms"}}, Email: &outbox{}, SMS: sms})
	require.NoError(t, n.Notify(context.Background(), ready("k")))
	require.Len(t, sms.sent, 1)
	require.Equal(t, "+447700900001", sms.sent[0].To, "a number stored before placement normalised it")
	require.Equal(t, "+447700900001", l.sent["k"].Recipient)
}
