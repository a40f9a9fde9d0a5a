package notify_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/notify"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// ledger is an in-memory notifications ledger.
type ledger struct {
	mu       sync.Mutex
	sent     map[string]postgres.Notification
	failures []string
}

func newLedger() *ledger { return &ledger{sent: map[string]postgres.Notification{}} }

func (l *ledger) NotificationSent(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.sent[key]
	return ok, nil
}

func (l *ledger) RecordNotification(_ context.Context, n postgres.Notification, status string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.sent[n.Key]; ok {
		return false, nil
	}
	l.sent[n.Key] = n
	return true, nil
}

func (l *ledger) RecordNotificationFailure(_ context.Context, n postgres.Notification, cause string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, n.Channel+": "+cause)
	return nil
}

// orders serves one customer for every order id but "missing".
type orders struct{ customer order.Customer }

func (o orders) Order(_ context.Context, id string) (order.Order, error) {
	if id == "missing" {
		return order.Order{}, order.Errorf(order.KindNotFound, "order_not_found", "no order %q", id)
	}
	return order.Order{ID: id, Number: "1042", Currency: "EUR", Customer: o.customer}, nil
}

type tokens struct{}

func (tokens) CustomerToken(orderID string, now time.Time) (string, time.Time) {
	return "ct1.token-for-" + orderID, now.Add(time.Hour)
}

// outbox is a Sender that keeps what it sent, or fails.
type outbox struct {
	mu   sync.Mutex
	sent []notify.Message
	err  error
}

func (o *outbox) Send(_ context.Context, m notify.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.sent = append(o.sent, m)
	return nil
}

// counter counts failures by channel.
type counter map[string]int

func (c counter) NotificationFailed(channel string) { c[channel]++ }

func ready(key string) activities.Notification {
	return activities.Notification{Key: key, OrderID: "ord-1", Template: "ready", Channel: "email",
		Recipient: "ada@example.com", Data: map[string]any{
			"order_number": "1042", "pickup_code": "K7P2QX9M", "store_id": "store-001",
			"expires_at": time.Date(2030, 3, 4, 17, 30, 0, 0, time.UTC),
		}}
}

func TestRouting(t *testing.T) {
	ada := order.Customer{Email: "ada@example.com", Phone: "+447700900001", Name: "Ada", PushToken: "device-1"}
	tests := []struct {
		name       string
		notify     string
		clear      func(c *order.Customer)
		sms, push  bool // providers configured
		noEmail    bool // no mail server
		wantSender string
		wantTo     string
		wantRecord string
	}{
		{name: "default is email", wantSender: "email", wantTo: "ada@example.com", wantRecord: "email"},
		{name: "email preference", notify: "email", sms: true, push: true, wantSender: "email", wantTo: "ada@example.com", wantRecord: "email"},
		{name: "sms preference", notify: "sms", sms: true, wantSender: "sms", wantTo: "+447700900001", wantRecord: "sms"},
		{name: "push preference", notify: "push", push: true, wantSender: "push", wantTo: "device-1", wantRecord: "push"},
		{name: "sms without phone falls back to email", notify: "sms", sms: true, clear: func(c *order.Customer) { c.Phone = "" },
			wantSender: "email", wantTo: "ada@example.com", wantRecord: "email"},
		{name: "push without token falls back to email", notify: "push", push: true, clear: func(c *order.Customer) { c.PushToken = "" },
			wantSender: "email", wantTo: "ada@example.com", wantRecord: "email"},
		{name: "sms without provider falls back to email", notify: "sms", push: true,
			wantSender: "email", wantTo: "ada@example.com", wantRecord: "email"},
		{name: "no mail server: email goes to the log", noEmail: true,
			wantSender: "", wantTo: "ada@example.com", wantRecord: "log"},
		{name: "sms without provider nor mail server: the log", notify: "sms", noEmail: true,
			wantSender: "", wantTo: "ada@example.com", wantRecord: "log"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ada
			c.Notify = tc.notify
			if tc.clear != nil {
				tc.clear(&c)
			}
			boxes := map[string]*outbox{"email": {}, "sms": {}, "push": {}}
			opts := notify.Options{Ledger: newLedger(), Orders: orders{c}, Tokens: tokens{}, PublicURL: "https://shop.example/"}
			if !tc.noEmail {
				opts.Email = boxes["email"]
			}
			if tc.sms {
				opts.SMS = boxes["sms"]
			}
			if tc.push {
				opts.Push = boxes["push"]
			}
			l := opts.Ledger.(*ledger)
			require.NoError(t, notify.New(opts).Notify(context.Background(), ready("ord-1/notify-ready3")))

			for name, box := range boxes {
				if name == tc.wantSender {
					require.Len(t, box.sent, 1, "sent by %s", name)
					m := box.sent[0]
					require.Equal(t, tc.wantTo, m.To)
					require.Equal(t, name, m.Channel)
					require.Equal(t, "https://shop.example/o/ct1.token-for-ord-1", m.Link)
					require.Contains(t, m.Body, "K7P2QX9M")
					require.Contains(t, m.Body, m.Link)
				} else {
					require.Empty(t, box.sent, "nothing sent by %s", name)
				}
			}
			rec := l.sent["ord-1/notify-ready3"]
			require.Equal(t, tc.wantRecord, rec.Channel)
			require.Equal(t, tc.wantTo, rec.Recipient)
			require.NotContains(t, rec.Data, "link", "the ledger keeps no customer token")
		})
	}
}

func TestLanguageOfTheCustomer(t *testing.T) {
	box := &outbox{}
	n := notify.New(notify.Options{Ledger: newLedger(), Orders: orders{order.Customer{Email: "zoe@example.fr", Language: "fr-FR"}},
		Email: box, Tokens: tokens{}, PublicURL: "https://shop.example"})
	require.NoError(t, n.Notify(context.Background(), ready("k1")))
	require.Len(t, box.sent, 1)
	require.Equal(t, "fr", box.sent[0].Language)
	require.Equal(t, "Votre commande 1042 est prête à être retirée", box.sent[0].Subject)
}

func TestOncePerKey(t *testing.T) {
	box := &outbox{}
	n := notify.New(notify.Options{Ledger: newLedger(), Orders: orders{order.Customer{Email: "ada@example.com"}}, Email: box})
	for range 3 {
		require.NoError(t, n.Notify(context.Background(), ready("same-key")))
	}
	require.NoError(t, n.Notify(context.Background(), ready("other-key")))
	require.Len(t, box.sent, 2)
	require.Empty(t, box.sent[0].Link, "no token signer: no link")
}

func TestFailuresAreRecordedAndRetried(t *testing.T) {
	box := &outbox{err: errors.New("451 mailbox busy")}
	l := newLedger()
	failures := counter{}
	n := notify.New(notify.Options{Ledger: l, Orders: orders{order.Customer{Email: "ada@example.com"}}, Email: box,
		Failures: failures})
	err := n.Notify(context.Background(), ready("k"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "451 mailbox busy")
	var de *order.Error
	require.False(t, errors.As(err, &de), "a failure stays retryable: no domain error in the chain")
	require.Equal(t, []string{"email: 451 mailbox busy"}, l.failures)
	require.Empty(t, l.sent, "not recorded as sent")
	require.Equal(t, counter{"email": 1}, failures, "the failure is counted by channel")

	box.err = nil // the retry goes through
	require.NoError(t, n.Notify(context.Background(), ready("k")))
	require.Len(t, box.sent, 1)
	require.Contains(t, l.sent, "k")
	require.Len(t, l.failures, 1)
}

func TestOrderMissingFromTheReadModel(t *testing.T) {
	box := &outbox{}
	n := notify.New(notify.Options{Ledger: newLedger(), Orders: orders{}, Email: box})
	msg := ready("k")
	msg.OrderID = "missing"
	require.NoError(t, n.Notify(context.Background(), msg))
	require.Len(t, box.sent, 1)
	require.Equal(t, "ada@example.com", box.sent[0].To, "the workflow's recipient")
	require.Equal(t, "en", box.sent[0].Language)
}

func TestStoreNamesAndCurrency(t *testing.T) {
	box := &outbox{}
	n := notify.New(notify.Options{Ledger: newLedger(), Orders: orders{order.Customer{Email: "ada@example.com"}}, Email: box,
		StoreNames: map[string]string{"store-001": "London Oxford Street"}})
	require.NoError(t, n.Notify(context.Background(), ready("k1")))
	require.Contains(t, box.sent[0].Body, "at London Oxford Street")
	require.NoError(t, n.Notify(context.Background(), activities.Notification{Key: "k2", OrderID: "ord-1", Template: "collected",
		Recipient: "ada@example.com", Data: map[string]any{"order_number": "1042", "amount": int64(1250)}}))
	require.True(t, strings.Contains(box.sent[1].Body, "You paid EUR 12.50."), "currency from the order: %s", box.sent[1].Body)
}
