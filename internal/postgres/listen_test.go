package postgres

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pending reports whether s has a wake-up waiting, and consumes it.
func pending(s *Subscription) bool {
	select {
	case <-s.C:
		return true
	default:
		return false
	}
}

func TestHubFansOutByOrderAndCoalesces(t *testing.T) {
	h := &hub{subs: map[string]map[*Subscription]struct{}{}}
	a1, a2, b := h.subscribe("A"), h.subscribe("A"), h.subscribe("B")
	require.Equal(t, 3, h.count())

	h.wake("A")
	h.wake("A") // coalesces with the first: never blocks
	h.wake("nobody-watches")
	require.True(t, pending(a1))
	require.False(t, pending(a1), "two wake-ups before a read are one")
	require.True(t, pending(a2))
	require.False(t, pending(b), "B's subscriber is not woken by A")

	h.wakeAll()
	require.True(t, pending(a1))
	require.True(t, pending(a2))
	require.True(t, pending(b))

	a1.Close()
	a1.Close() // idempotent
	h.wake("A")
	require.False(t, pending(a1), "a closed subscription is not woken")
	require.True(t, pending(a2))
	require.Equal(t, 2, h.count())

	a2.Close()
	b.Close()
	require.Equal(t, 0, h.count())
	require.Empty(t, h.subs, "orders nobody watches are forgotten")
}

// TestListenerWakesAndReconnects needs PostgreSQL (OMNI_DATABASE_URL, or the
// local trust default); it is skipped without one.
func TestListenerWakesAndReconnects(t *testing.T) {
	base := os.Getenv("OMNI_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pu, err := url.Parse(base)
	require.NoError(t, err)
	pu.Path = fmt.Sprintf("/omni_listen_%d_%d", os.Getpid(), time.Now().Unix())
	dbURL := pu.String()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := Open(ctx, dbURL, 4)
	if err != nil {
		t.Skipf("no PostgreSQL: %v", err)
	}
	defer func() {
		pool.Close()
		_ = DropDatabase(context.Background(), dbURL)
	}()

	l := NewListener(pool, nil)
	order := fmt.Sprintf("ord-listen-%d", time.Now().UnixNano())
	sub := l.Subscribe(order)
	defer sub.Close()
	other := l.Subscribe(order + "-other")
	defer other.Close()

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); l.Run(runCtx) }()
	defer func() { stop(); <-done }()

	wait := func(what string) {
		t.Helper()
		select {
		case <-sub.C:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up: %s", what)
		}
	}
	wait("the first LISTEN wakes every subscriber")
	drain := func() { pending(sub); pending(other) } // a buffer of one: one read empties it

	notify := func() {
		t.Helper()
		_, err := pool.Exec(ctx, notifySQL, order)
		require.NoError(t, err)
	}
	// Until LISTEN is in place a notification may be missed; the wake-up on
	// connect already covers that, so retry until one arrives.
	deadline := time.Now().Add(10 * time.Second)
	for {
		notify()
		select {
		case <-sub.C:
		case <-time.After(200 * time.Millisecond):
			require.True(t, time.Now().Before(deadline), "no notification arrives")
			continue
		}
		break
	}
	drain()
	notify()
	wait("a committed notification wakes the order's subscriber")
	require.False(t, pending(other), "another order's subscriber is not woken")

	// A rolled-back transaction notifies nobody.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, notifySQL, order)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	select {
	case <-sub.C:
		t.Fatal("woken by a rolled-back transaction")
	case <-time.After(300 * time.Millisecond):
	}

	// Kill the listening backend: the listener reconnects and wakes everyone,
	// and notifications are heard again.
	var killed int
	require.NoError(t, pool.QueryRow(ctx, `select count(pg_terminate_backend(pid)) from pg_stat_activity
		where datname = current_database() and query = 'listen `+EventsChannel+`'`).Scan(&killed))
	require.Equal(t, 1, killed, "the listener's backend")
	wait("a reconnect wakes every subscriber")
	select {
	case <-other.C:
	case <-time.After(10 * time.Second):
		t.Fatal("a reconnect wakes the other order's subscriber too")
	}
	drain()
	notify()
	wait("notifications are heard after the reconnect")
}
