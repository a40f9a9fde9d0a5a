package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/netguard"
	"github.com/omni-retail/omni/internal/postgres"
)

// Store is where the Dispatcher finds and records deliveries
// (postgres.DB implements it).
type Store interface {
	// FanOutWebhooks turns new outbox rows into deliveries.
	FanOutWebhooks(ctx context.Context) (int64, error)
	// ClaimWebhooks takes up to limit due deliveries for one attempt each,
	// not due again for lease.
	ClaimWebhooks(ctx context.Context, limit int, lease time.Duration) ([]postgres.DueWebhook, error)
	// RecordWebhookAttempt records how a claimed attempt went and returns the
	// delivery's status.
	RecordWebhookAttempt(ctx context.Context, o postgres.WebhookOutcome) (string, error)
}

// FailureCounter counts failed delivery attempts (*metrics.Metrics does).
type FailureCounter interface {
	WebhookFailed()
}

// Dispatcher defaults.
const (
	// DefaultConcurrency bounds the deliveries in flight in one process.
	DefaultConcurrency = 16
	// RequestTimeout bounds one delivery attempt.
	RequestTimeout = 10 * time.Second
	// claimLease is how long a claimed attempt keeps its delivery from other
	// processes: longer than an attempt takes, so only a process that died
	// mid-attempt loses it.
	claimLease = time.Minute
	// maxErrorLength bounds the error recorded for an attempt.
	maxErrorLength = 300
	// maxResponseBytes is how much of a receiver's answer is read.
	maxResponseBytes = 64 << 10
)

// Options configures a Dispatcher; zero durations take the defaults of
// config/omni.yaml.
type Options struct {
	// PollInterval is how often new events and due retries are looked for.
	PollInterval time.Duration
	// InitialBackoff is the wait after a first failed attempt; it doubles
	// with each further failure, up to MaxBackoff.
	InitialBackoff, MaxBackoff time.Duration
	// RetryFor is how long after its first attempt a delivery is given up.
	RetryFor time.Duration
	// Concurrency bounds the deliveries in flight (DefaultConcurrency).
	Concurrency int
	// Client sends the deliveries; nil uses one with RequestTimeout that does
	// not follow redirects (a 3xx answer is a failed attempt) and, unless
	// AllowPrivateNetworks, connects only to public addresses
	// (netguard.NewTransport), checked at each connection.
	Client *http.Client
	// AllowPrivateNetworks lets the default client connect to loopback,
	// private, link-local and other non-public addresses
	// (webhooks.allow_private_networks).
	AllowPrivateNetworks bool
	// Failures counts failed attempts; nil counts nothing.
	Failures FailureCounter
	Logger   *slog.Logger
	// Now is the clock of the webhook-timestamp header (time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	defaultTo := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defaultTo(&o.PollInterval, 500*time.Millisecond)
	defaultTo(&o.InitialBackoff, time.Second)
	defaultTo(&o.MaxBackoff, time.Hour)
	defaultTo(&o.RetryFor, 72*time.Hour)
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout:       RequestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		if !o.AllowPrivateNetworks {
			o.Client.Transport = netguard.NewTransport()
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Dispatcher delivers the outbox's events to the webhook subscriptions until
// it is stopped.
type Dispatcher struct {
	store  Store
	opts   Options
	slots  chan struct{} // one per delivery in flight
	cancel context.CancelFunc
	done   chan struct{}
	flight sync.WaitGroup
}

// Start starts a dispatcher in the background. Stop it with Stop.
func Start(store Store, o Options) *Dispatcher {
	o.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{store: store, opts: o, slots: make(chan struct{}, o.Concurrency), cancel: cancel,
		done: make(chan struct{})}
	go d.run(ctx)
	return d
}

// Stop stops looking for work and waits for the attempts in flight to finish
// (each within RequestTimeout) and be recorded. It is a no-op on nil.
func (d *Dispatcher) Stop() {
	if d == nil {
		return
	}
	d.cancel()
	<-d.done
}

func (d *Dispatcher) run(ctx context.Context) {
	defer close(d.done)
	defer d.flight.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := d.opts.PollInterval
		if d.round(ctx) {
			wait = 0 // more may be due right away
		}
		timer.Reset(wait)
	}
}

// round fans out new events and starts as many due deliveries as there are
// free slots. It reports whether it filled them all.
func (d *Dispatcher) round(ctx context.Context) bool {
	if _, err := d.store.FanOutWebhooks(ctx); err != nil && ctx.Err() == nil {
		d.opts.Logger.Warn("webhook fan-out failed", "error", err)
	}
	free := cap(d.slots) - len(d.slots)
	if free == 0 {
		return false
	}
	due, err := d.store.ClaimWebhooks(ctx, free, claimLease)
	if err != nil {
		if ctx.Err() == nil {
			d.opts.Logger.Warn("webhook claim failed", "error", err)
		}
		return false
	}
	for _, w := range due {
		d.slots <- struct{}{}
		d.flight.Add(1)
		go func() {
			defer func() { <-d.slots; d.flight.Done() }()
			d.deliver(context.WithoutCancel(ctx), w)
		}()
	}
	return len(due) == free
}

// deliver makes one attempt and records it.
func (d *Dispatcher) deliver(ctx context.Context, w postgres.DueWebhook) {
	status, err := d.send(ctx, w)
	delivered := err == nil && status >= 200 && status < 300
	out := postgres.WebhookOutcome{SubscriptionID: w.SubscriptionID, OutboxID: w.OutboxID, Attempt: w.Attempt,
		Delivered: delivered, HTTPStatus: status, RetryFor: d.opts.RetryFor,
		Backoff: Backoff(w.Attempt, d.opts.InitialBackoff, d.opts.MaxBackoff, rand.Float64)}
	switch {
	case errors.Is(err, netguard.ErrNotAllowed):
		// Neutral: the admin API shows it, and must not tell what is there.
		out.Error = netguard.ErrNotAllowed.Error()
	case err != nil:
		out.Error = truncate(err.Error(), maxErrorLength)
	case !delivered:
		out.Error = fmt.Sprintf("the receiver answered %d %s", status, http.StatusText(status))
	}
	log := d.opts.Logger.With("subscription_id", w.SubscriptionID, "event_id", w.EventID, "attempt", w.Attempt)
	if !delivered {
		if d.opts.Failures != nil {
			d.opts.Failures.WebhookFailed()
		}
		log.Info("webhook delivery attempt failed", "error", out.Error)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	result, err := d.store.RecordWebhookAttempt(rctx, out)
	switch {
	case err != nil:
		// The claim's lease runs out and the delivery is attempted again.
		log.Warn("record webhook attempt", "error", err)
	case result == postgres.DeliveryFailed:
		log.Warn("webhook delivery given up", "retried_for", d.opts.RetryFor, "last_error", out.Error)
	}
}

// send POSTs the signed event and returns the receiver's status.
func (d *Dispatcher) send(ctx context.Context, w postgres.DueWebhook) (int, error) {
	id, at := w.EventID, d.opts.Now()
	sig, err := Sign(w.Secret, id, at, w.Body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(w.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Omni-Webhooks/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	return resp.StatusCode, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
