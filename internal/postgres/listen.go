package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EventsChannel is the PostgreSQL notification channel on which every
// transaction that writes timeline events announces the order's id. NOTIFY is
// transactional: it is delivered only when the events are committed.
const EventsChannel = "order_events"

// notifySQL is the statement queued in the batches that write order events.
const notifySQL = "select pg_notify('" + EventsChannel + "', $1)"

// Listener tells subscribers that an order has new timeline events. It holds
// one connection taken out of the pool, LISTENs on EventsChannel and fans the
// notifications out by order id. A wake-up only says "read again": subscribers
// read the events themselves from the last seq they have, so a coalesced or
// lost wake-up never loses an event. When the connection drops, Run reconnects
// with back-off and then wakes every subscriber, since notifications sent
// meanwhile were lost.
type Listener struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	hub  hub
}

// NewListener builds a Listener on pool; Run makes it listen.
func NewListener(pool *pgxpool.Pool, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Listener{pool: pool, log: log.With("component", "event-listener"), hub: hub{subs: map[string]map[*Subscription]struct{}{}}}
}

// Subscribe watches an order. Subscribe before reading the events, so that a
// commit between the read and the subscription still wakes the subscriber.
func (l *Listener) Subscribe(orderID string) *Subscription { return l.hub.subscribe(orderID) }

// Listener back-off between reconnections.
const (
	listenMinBackoff = 250 * time.Millisecond
	listenMaxBackoff = 30 * time.Second
)

// Run listens until ctx ends, reconnecting whenever the connection is lost.
func (l *Listener) Run(ctx context.Context) {
	backoff := listenMinBackoff
	for {
		listened, err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = listenMinBackoff
		}
		l.log.Warn("listen for order events: connection lost, reconnecting", "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen runs one connection until it fails or ctx ends. listened says whether
// it got as far as LISTEN.
func (l *Listener) listen(ctx context.Context) (listened bool, err error) {
	pc, err := l.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	// The connection leaves the pool for good: it is never returned half-way
	// through a wait, and the pool may open another in its place.
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "listen "+EventsChannel); err != nil {
		return false, err
	}
	// Events committed before LISTEN took effect sent notifications nobody
	// heard: every subscriber reads again.
	l.hub.wakeAll()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		l.hub.wake(n.Payload)
	}
}

// Subscription is one watcher of one order.
type Subscription struct {
	// C receives a value when the order may have new events. It is buffered
	// (1) and never blocks the sender: wake-ups coalesce.
	C       <-chan struct{}
	c       chan struct{}
	orderID string
	hub     *hub
	once    sync.Once
}

// Close stops the subscription. It may be called more than once.
func (s *Subscription) Close() { s.once.Do(func() { s.hub.unsubscribe(s) }) }

// hub maps order ids to their subscriptions.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

func (h *hub) subscribe(orderID string) *Subscription {
	c := make(chan struct{}, 1)
	s := &Subscription{C: c, c: c, orderID: orderID, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[orderID]
	if set == nil {
		set = map[*Subscription]struct{}{}
		h.subs[orderID] = set
	}
	set[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[s.orderID]
	delete(set, s)
	if len(set) == 0 {
		delete(h.subs, s.orderID)
	}
}

// wake signals every subscriber of an order.
func (h *hub) wake(orderID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[orderID] {
		s.signal()
	}
}

// wakeAll signals every subscriber.
func (h *hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			s.signal()
		}
	}
}

// count is the number of subscriptions, for tests.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.subs {
		n += len(set)
	}
	return n
}

func (s *Subscription) signal() {
	select {
	case s.c <- struct{}{}:
	default: // a wake-up is already pending
	}
}
