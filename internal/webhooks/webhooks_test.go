package webhooks_test

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/webhooks"
)

// The vectors were computed outside Go, with Python's hmac module:
//
//	key = base64.b64decode(secret.removeprefix("whsec_"))
//	base64.b64encode(hmac.new(key, f"{id}.{ts}.{body}".encode(), hashlib.sha256).digest())
//
// The first is also the example of the Standard Webhooks specification.
func TestSignKnownVectors(t *testing.T) {
	tests := []struct {
		name, secret, id string
		unix             int64
		body, want       string
	}{
		{"standard webhooks example", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"omni event", "whsec_b21uaS13ZWJob29rLXRlc3Qta2V5LTI0", "evt_ord-1_3", 1700000000,
			`{"seq": 3, "type": "picked", "order_id": "ord-1"}`, "v1,hTFod/cKCddnxBYl24bro3MYoBDIP0GliriWv/zdhS4="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := webhooks.Sign(tc.secret, tc.id, time.Unix(tc.unix, 0), []byte(tc.body))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)

			h := http.Header{}
			h.Set(webhooks.HeaderID, tc.id)
			h.Set(webhooks.HeaderTimestamp, strconv.FormatInt(tc.unix, 10))
			h.Set(webhooks.HeaderSignature, "v1,bm90IGl0 "+got) // several signatures: any one may match
			require.NoError(t, webhooks.Verify(tc.secret, h, []byte(tc.body), time.Unix(tc.unix+60, 0), webhooks.DefaultTolerance))
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	secret := webhooks.NewSecret()
	body := []byte(`{"seq":1}`)
	at := time.Unix(1_700_000_000, 0)
	sig, err := webhooks.Sign(secret, "evt_a_1", at, body)
	require.NoError(t, err)
	header := func(id, ts, sig string) http.Header {
		h := http.Header{}
		h.Set(webhooks.HeaderID, id)
		h.Set(webhooks.HeaderTimestamp, ts)
		h.Set(webhooks.HeaderSignature, sig)
		return h
	}
	tests := []struct {
		name   string
		secret string
		h      http.Header
		body   string
		now    time.Time
	}{
		{"tampered body", secret, header("evt_a_1", "1700000000", sig), `{"seq":2}`, at},
		{"other id", secret, header("evt_a_2", "1700000000", sig), string(body), at},
		{"other timestamp", secret, header("evt_a_1", "1700000001", sig), string(body), at},
		{"other secret", webhooks.NewSecret(), header("evt_a_1", "1700000000", sig), string(body), at},
		{"too old", secret, header("evt_a_1", "1700000000", sig), string(body), at.Add(6 * time.Minute)},
		{"from the future", secret, header("evt_a_1", "1700000000", sig), string(body), at.Add(-6 * time.Minute)},
		{"no signature", secret, header("evt_a_1", "1700000000", ""), string(body), at},
		{"other version", secret, header("evt_a_1", "1700000000", "v1a"+sig[2:]), string(body), at},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := webhooks.Verify(tc.secret, tc.h, []byte(tc.body), tc.now, webhooks.DefaultTolerance)
			require.ErrorIs(t, err, webhooks.ErrVerification)
		})
	}
	require.NoError(t, webhooks.Verify(secret, header("evt_a_1", "1700000000", sig), body, at, webhooks.DefaultTolerance))
}

func TestNewSecret(t *testing.T) {
	a, b := webhooks.NewSecret(), webhooks.NewSecret()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"), "got %q", a)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 24)
	require.True(t, strings.HasPrefix(webhooks.NewSubscriptionID(), "wh_"))
}

func TestBackoff(t *testing.T) {
	const initial, maxBackoff = time.Second, time.Hour
	tests := []struct {
		attempt int
		random  float64
		want    time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0, 4 * time.Second},
		{10, 0, 512 * time.Second},
		{12, 0, 2048 * time.Second},
		{13, 0, time.Hour}, // 4096s capped
		{1000, 0, time.Hour},
		{1, 0.999999, 750*time.Millisecond + 250*time.Nanosecond}, // at most a quarter off
		{3, 0.5, 3500 * time.Millisecond},
		{1000, 0.5, time.Hour - 450*time.Second},
	}
	for _, tc := range tests {
		got := webhooks.Backoff(tc.attempt, initial, maxBackoff, func() float64 { return tc.random })
		require.Equal(t, tc.want, got, "attempt %d, random %v: got %s, want %s", tc.attempt, tc.random, got, tc.want)
	}
	require.Equal(t, 8*time.Second, webhooks.Backoff(4, initial, maxBackoff, nil), "no jitter")
}

// TestBackoffCoversRetryWindow checks the defaults retry for the whole
// window with a bounded number of attempts.
func TestBackoffCoversRetryWindow(t *testing.T) {
	var elapsed time.Duration
	attempts := 0
	for elapsed < 72*time.Hour {
		attempts++
		elapsed += webhooks.Backoff(attempts, time.Second, time.Hour, func() float64 { return 0.999 })
	}
	require.Less(t, attempts, 120, "attempts in 72h with the default back-off")
	require.Greater(t, attempts, 80)
}

// fakeStore hands out the deliveries it is given once and records outcomes.
type fakeStore struct {
	mu       sync.Mutex
	due      []postgres.DueWebhook
	outcomes chan postgres.WebhookOutcome
}

func (s *fakeStore) FanOutWebhooks(context.Context) (int64, error) { return 0, nil }

func (s *fakeStore) ClaimWebhooks(_ context.Context, limit int, _ time.Duration) ([]postgres.DueWebhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(limit, len(s.due))
	out := s.due[:n]
	s.due = s.due[n:]
	return out, nil
}

func (s *fakeStore) RecordWebhookAttempt(_ context.Context, o postgres.WebhookOutcome) (string, error) {
	s.outcomes <- o
	if o.Delivered {
		return postgres.DeliveryDelivered, nil
	}
	return postgres.DeliveryPending, nil
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) WebhookFailed() { c.mu.Lock(); c.n++; c.mu.Unlock() }

func TestDispatcherSignsAndRecords(t *testing.T) {
	secret := webhooks.NewSecret()
	now := time.Unix(1_700_000_000, 0)
	type received struct {
		header http.Header
		body   []byte
	}
	got := make(chan received, 2)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), body}
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer receiver.Close()

	body := []byte(`{"seq": 2, "type": "stock_reserved", "order_id": "o-1"}`)
	store := &fakeStore{outcomes: make(chan postgres.WebhookOutcome, 2), due: []postgres.DueWebhook{
		{SubscriptionID: "wh_a", OutboxID: 7, EventID: "evt_o-1_2", Attempt: 1, URL: receiver.URL + "/up", Secret: secret, Body: body},
		{SubscriptionID: "wh_b", OutboxID: 7, EventID: "evt_o-1_2", Attempt: 3, URL: receiver.URL + "/down", Secret: secret, Body: body},
	}}
	failures := &counter{}
	d := webhooks.Start(store, webhooks.Options{PollInterval: 10 * time.Millisecond, InitialBackoff: time.Second,
		MaxBackoff: time.Minute, RetryFor: 24 * time.Hour, Failures: failures, Now: func() time.Time { return now },
		AllowPrivateNetworks: true}) // the receiver is on loopback
	defer d.Stop()

	for range 2 {
		r := <-got
		require.Equal(t, body, r.body, "the body is the stored event, byte for byte")
		require.Equal(t, "application/json", r.header.Get("Content-Type"))
		require.Equal(t, "evt_o-1_2", r.header.Get("webhook-id"))
		require.Equal(t, "1700000000", r.header.Get("webhook-timestamp"))
		require.NoError(t, webhooks.Verify(secret, r.header, r.body, now, webhooks.DefaultTolerance))
	}
	outcomes := map[string]postgres.WebhookOutcome{}
	for range 2 {
		o := <-store.outcomes
		outcomes[o.SubscriptionID] = o
	}
	require.True(t, outcomes["wh_a"].Delivered)
	require.Equal(t, http.StatusOK, outcomes["wh_a"].HTTPStatus)
	require.Empty(t, outcomes["wh_a"].Error)

	down := outcomes["wh_b"]
	require.False(t, down.Delivered)
	require.Equal(t, 3, down.Attempt)
	require.Equal(t, http.StatusServiceUnavailable, down.HTTPStatus)
	require.Contains(t, down.Error, "503")
	require.Equal(t, 24*time.Hour, down.RetryFor)
	require.True(t, down.Backoff > 3*time.Second && down.Backoff <= 4*time.Second,
		"third failure waits 4s less jitter, got %s", down.Backoff)
	d.Stop()
	require.Equal(t, 1, failures.n, "one failed attempt counted")
}

// TestDispatcherConnectsToNoPrivateAddress: by default the dispatcher does not
// connect to a receiver on loopback, whether the URL names its address or a
// name that resolves to it at delivery (as after DNS rebinding: the
// subscription's check saw another answer), and records a neutral error that
// says nothing of the target.
func TestDispatcherConnectsToNoPrivateAddress(t *testing.T) {
	var hits atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer receiver.Close()
	port := receiver.Listener.Addr().(*net.TCPAddr).Port
	urls := []string{
		receiver.URL + "/hook",
		"http://localhost:" + strconv.Itoa(port) + "/hook",
		"http://[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/hook",
	}
	store := &fakeStore{outcomes: make(chan postgres.WebhookOutcome, len(urls))}
	for i, u := range urls {
		store.due = append(store.due, postgres.DueWebhook{SubscriptionID: "wh_" + strconv.Itoa(i), OutboxID: 1,
			EventID: "evt_o-1_1", Attempt: 1, URL: u, Secret: webhooks.NewSecret(), Body: []byte(`{}`)})
	}
	failures := &counter{}
	d := webhooks.Start(store, webhooks.Options{PollInterval: 10 * time.Millisecond, Failures: failures})
	defer d.Stop()
	for range urls {
		o := <-store.outcomes
		require.False(t, o.Delivered, "%s", o.SubscriptionID)
		require.Zero(t, o.HTTPStatus, "%s", o.SubscriptionID)
		require.Equal(t, "address not allowed", o.Error, "%s: the error names neither address nor port", o.SubscriptionID)
	}
	d.Stop()
	require.Zero(t, hits.Load(), "no delivery reached the receiver")
	require.Equal(t, len(urls), failures.n, "each refused attempt is a failed one")
}

// TestDispatcherFollowsNoRedirect: a receiver's redirect is a failed attempt;
// its target is never asked, not even where private networks are allowed.
func TestDispatcherFollowsNoRedirect(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { targetHits.Add(1) }))
	defer target.Close()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/latest/meta-data", http.StatusTemporaryRedirect)
	}))
	defer receiver.Close()
	store := &fakeStore{outcomes: make(chan postgres.WebhookOutcome, 1), due: []postgres.DueWebhook{{SubscriptionID: "wh_r",
		OutboxID: 1, EventID: "evt_o-1_1", Attempt: 1, URL: receiver.URL, Secret: webhooks.NewSecret(), Body: []byte(`{}`)}}}
	d := webhooks.Start(store, webhooks.Options{PollInterval: 10 * time.Millisecond, AllowPrivateNetworks: true})
	defer d.Stop()
	o := <-store.outcomes
	require.False(t, o.Delivered)
	require.Equal(t, http.StatusTemporaryRedirect, o.HTTPStatus)
	d.Stop()
	require.Zero(t, targetHits.Load(), "the redirect was not followed")
}
