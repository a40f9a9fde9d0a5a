package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// webhookDB is a fresh, migrated database of its own, dropped when the test ends.
func webhookDB(t *testing.T) *DB {
	t.Helper()
	base := os.Getenv("OMNI_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pu, err := url.Parse(base)
	require.NoError(t, err)
	pu.Path = fmt.Sprintf("/omni_webhooks_%d_%d", os.Getpid(), time.Now().UnixNano())
	dbURL := pu.String()
	ctx := context.Background()
	pool, err := Open(ctx, dbURL, 8)
	require.NoError(t, err, "this test needs PostgreSQL at %s (start it with: "+
		"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", base)
	t.Cleanup(func() {
		pool.Close()
		_ = DropDatabase(context.Background(), dbURL)
	})
	require.NoError(t, Migrate(ctx, pool))
	return New(pool)
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func insertOutbox(t *testing.T, ctx context.Context, q rowQuerier, orderID string, seq int64, typ string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, q.QueryRow(ctx, `insert into outbox (order_id, seq, type, payload) values ($1, $2, $3, $4) returning id`,
		orderID, seq, typ, map[string]any{"seq": seq, "type": typ}).Scan(&id))
	return id
}

// fanOut fans out until want deliveries were made: a write transaction
// elsewhere in the cluster can hold the horizon back for a moment.
func fanOut(t *testing.T, db *DB, want int64) {
	t.Helper()
	var total int64
	deadline := time.Now().Add(10 * time.Second)
	for total < want {
		n, err := db.FanOutWebhooks(context.Background())
		require.NoError(t, err)
		total += n
		require.True(t, time.Now().Before(deadline), "fanned out %d deliveries, want %d", total, want)
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, want, total)
}

func TestWebhookFanOutNeverSkipsALateCommit(t *testing.T) {
	db := webhookDB(t)
	ctx := context.Background()
	pool := db.pool

	insertOutbox(t, ctx, pool, "before", 1, "placed") // written before any subscription
	all, err := db.CreateWebhook(ctx, "wh_all", "http://127.0.0.1:1/all", "whsec_a2V5", nil)
	require.NoError(t, err)
	require.Empty(t, all.EventTypes)
	_, err = db.CreateWebhook(ctx, "wh_collected", "http://127.0.0.1:1/c", "whsec_a2V5", []string{"collected"})
	require.NoError(t, err)

	// A takes the lower outbox id but commits after B.
	txA, err := db.pool.Begin(ctx)
	require.NoError(t, err)
	defer txA.Rollback(ctx) //nolint:errcheck // committed below
	a := insertOutbox(t, ctx, txA, "late", 1, "collected")
	b := insertOutbox(t, ctx, pool, "early", 1, "placed")
	require.Less(t, a, b)

	n, err := db.FanOutWebhooks(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is fanned out past a transaction still running")

	require.NoError(t, txA.Commit(ctx))
	fanOut(t, db, 3) // both rows to wh_all, the collected one to wh_collected
	n, err = db.FanOutWebhooks(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "each row once per subscription")

	ds, err := db.WebhookDeliveries(ctx, "wh_all", "", "", 100)
	require.NoError(t, err)
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.EventID)
		require.Equal(t, DeliveryPending, d.Status)
		require.NotNil(t, d.NextAttemptAt)
	}
	require.Equal(t, []string{"evt_early_1", "evt_late_1"}, ids, "newest first; nothing from before the subscription")
	ds, err = db.WebhookDeliveries(ctx, "wh_collected", "", "", 100)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "evt_late_1", ds[0].EventID)
	backlog, err := db.WebhookBacklog(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, backlog)
}

func TestWebhookAttempts(t *testing.T) {
	db := webhookDB(t)
	ctx := context.Background()
	pool := db.pool
	_, err := db.CreateWebhook(ctx, "wh_1", "http://127.0.0.1:1/", "whsec_a2V5", nil)
	require.NoError(t, err)
	outboxID := insertOutbox(t, ctx, pool, "o-1", 4, "picked")
	fanOut(t, db, 1)

	due, err := db.ClaimWebhooks(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, due, 1)
	w := due[0]
	require.Equal(t, DueWebhook{SubscriptionID: "wh_1", OutboxID: outboxID, EventID: "evt_o-1_4", Attempt: 1,
		URL: "http://127.0.0.1:1/", Secret: "whsec_a2V5", Body: w.Body}, w)
	var body map[string]any
	require.NoError(t, json.Unmarshal(w.Body, &body))
	require.Equal(t, map[string]any{"seq": 4.0, "type": "picked", "order_id": "o-1"}, body)

	again, err := db.ClaimWebhooks(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "a claimed delivery is leased")

	fail := WebhookOutcome{SubscriptionID: "wh_1", OutboxID: outboxID, Attempt: 1, HTTPStatus: 503, Error: "down",
		Backoff: 0, RetryFor: 24 * time.Hour}
	status, err := db.RecordWebhookAttempt(ctx, fail)
	require.NoError(t, err)
	require.Equal(t, DeliveryPending, status)

	due, err = db.ClaimWebhooks(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, 2, due[0].Attempt)
	require.Equal(t, w.Body, due[0].Body, "the same bytes on every attempt")

	status, err = db.RecordWebhookAttempt(ctx, fail) // attempt 1 lost its claim
	require.NoError(t, err)
	require.Empty(t, status, "a stale attempt records nothing")

	ok := WebhookOutcome{SubscriptionID: "wh_1", OutboxID: outboxID, Attempt: 2, Delivered: true, HTTPStatus: 200,
		RetryFor: 24 * time.Hour}
	status, err = db.RecordWebhookAttempt(ctx, ok)
	require.NoError(t, err)
	require.Equal(t, DeliveryDelivered, status)
	ds, err := db.WebhookDeliveries(ctx, "wh_1", DeliveryDelivered, "o-1", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, 2, ds[0].Attempts)
	require.Equal(t, 200, *ds[0].LastStatus)
	require.Nil(t, ds[0].LastError)
	require.NotNil(t, ds[0].DeliveredAt)
	require.Nil(t, ds[0].NextAttemptAt)

	// Retries stop once RetryFor has passed since the first attempt; the last
	// one is made when it ends.
	second := insertOutbox(t, ctx, pool, "o-1", 5, "ready_for_collection")
	fanOut(t, db, 1)
	due, err = db.ClaimWebhooks(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, due, 1)
	_, err = db.pool.Exec(ctx, `update webhook_deliveries set first_attempt_at = now() - interval '23 hours 59 minutes'
		where outbox_id = $1`, second)
	require.NoError(t, err)
	late := WebhookOutcome{SubscriptionID: "wh_1", OutboxID: second, Attempt: 1, Error: "connection refused",
		Backoff: time.Hour, RetryFor: 24 * time.Hour}
	status, err = db.RecordWebhookAttempt(ctx, late)
	require.NoError(t, err)
	require.Equal(t, DeliveryPending, status)
	ds, err = db.WebhookDeliveries(ctx, "wh_1", DeliveryPending, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.WithinDuration(t, ds[0].FirstAttemptAt.Add(24*time.Hour), *ds[0].NextAttemptAt, time.Millisecond,
		"the back-off is cut short to make the last attempt at the end of the retry period")
	require.Nil(t, ds[0].LastStatus)
	require.Equal(t, "connection refused", *ds[0].LastError)

	_, err = db.pool.Exec(ctx, `update webhook_deliveries set first_attempt_at = now() - interval '25 hours',
		attempts = 2, next_attempt_at = now() where outbox_id = $1`, second)
	require.NoError(t, err)
	due, err = db.ClaimWebhooks(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, due, 1)
	late.Attempt = 3
	status, err = db.RecordWebhookAttempt(ctx, late)
	require.NoError(t, err)
	require.Equal(t, DeliveryFailed, status, "given up after the retry period")

	// A deleted subscription gets nothing more and its pending deliveries fail.
	insertOutbox(t, ctx, pool, "o-1", 6, "collected")
	fanOut(t, db, 1)
	require.NoError(t, db.DeactivateWebhook(ctx, "wh_1"))
	insertOutbox(t, ctx, pool, "o-1", 7, "payment_captured")
	n, err := db.FanOutWebhooks(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	due, err = db.ClaimWebhooks(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, due)
	backlog, err := db.WebhookBacklog(ctx)
	require.NoError(t, err)
	require.Zero(t, backlog)
	ds, err = db.WebhookDeliveries(ctx, "wh_1", DeliveryFailed, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, "subscription deleted", *ds[0].LastError)
	subs, err := db.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, subs, 1)
	require.False(t, subs[0].Active)
	require.Empty(t, subs[0].Secret, "the list never reads secrets")

	require.ErrorContains(t, db.DeactivateWebhook(ctx, "wh_nope"), "no webhook subscription")
	_, err = db.WebhookDeliveries(ctx, "wh_nope", "", "", 10)
	require.ErrorContains(t, err, "no webhook subscription")
}
