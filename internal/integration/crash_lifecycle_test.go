package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/postgres"
)

// A process killed with SIGKILL while it cancels an order finishes the
// cancellation after a restart, with no client retrying it: the stock goes
// back exactly once and the authorisation is voided exactly once.
func TestCrashDuringCancel(t *testing.T) {
	t.Parallel()
	cc := newCrashChild(t)
	c := cc.api
	sku := unique("SKU")
	c.setStock(store, sku, 10)

	// Another order holds stock at the store throughout, so "back to what it
	// was" is not merely "back to zero".
	other := c.place(orderBody("", store, line(sku, 1, 500)))
	c.waitStatus(other, "awaiting_pick")
	before := c.stock(store, sku)
	require.Equal(t, stock{OnHand: 10, Reserved: 1, Available: 9}, before)

	id := c.place(orderBody("", store, line(sku, 3, 1000)))
	c.waitStatus(id, "awaiting_pick")
	require.Equal(t, stock{OnHand: 10, Reserved: 4, Available: 6}, c.stock(store, sku))

	// The void will hang inside PostgreSQL; the cancel request hangs with it.
	b := cc.blockVoids()
	body, _ := json.Marshal(map[string]any{"reason": "changed my mind"})
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		cl := &http.Client{Timeout: 2 * time.Minute}
		req, _ := http.NewRequest(http.MethodPost, c.base+"/v1/orders/"+id+"/cancel", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+checkoutKey)
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	b.waitBlocked()
	// The kill lands half-way through the saga: the pick task is withdrawn and
	// the stock released, the void not yet done.
	require.Equal(t, "cancelled", cc.queryString("select status from pick_tasks where order_id = $1", id))
	require.Equal(t, "3", cc.queryString("select released::text from reservations where order_id = $1", id))
	require.Equal(t, "0", cc.queryString("select count(*)::text from payments where order_id = $1 and kind = 'void'", id))
	cc.kill()
	<-cancelled
	b.release()

	start := time.Now()
	cc.restart()
	o := c.waitStatusWithin(id, "cancelled", 60*time.Second)
	t.Logf("cancel finished %s after restart", time.Since(start).Round(time.Millisecond))

	require.Equal(t, before, c.stock(store, sku), "on hand unchanged, reserved back to before the order")
	require.EqualValues(t, 3000, o.Payments[0].Voided)
	require.Zero(t, o.Payments[0].Captured)
	require.Equal(t, []string{"authorization 3000", "void 3000"}, cc.ledger(id), "the authorisation is voided exactly once")
	require.Equal(t, "cancelled", cc.queryString("select status from pick_tasks where order_id = $1", id))
	types := c.eventTypes(id)
	for _, e := range []string{"pick_task_withdrawn", "stock_released", "payment_voided", "cancelled"} {
		require.Equal(t, 1, count(types, e), "%s once in %v", e, types)
	}
	require.Equal(t, "cancelled", types[len(types)-1])
	require.Equal(t, "order_closed", problem(t, c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{}), http.StatusConflict))
	require.Equal(t, "awaiting_pick", c.order(other).Status, "the other order is untouched")
}

// A process killed with SIGKILL while it expires an uncollected order finishes
// the expiry after a restart: the picked stock goes back on sale and the
// authorisation is voided exactly once.
func TestCrashDuringExpiry(t *testing.T) {
	t.Parallel()
	cc := newCrashChild(t, "OMNI_IT_PICKUP_HOLD=4s", "OMNI_IT_PICKUP_REMINDER=2s")
	c := cc.api
	sku := unique("SKU")
	c.setStock(store, sku, 6)

	other := c.place(orderBody("", store, line(sku, 1, 500)))
	c.waitStatus(other, "awaiting_pick")
	before := c.stock(store, sku)
	require.Equal(t, stock{OnHand: 6, Reserved: 1, Available: 5}, before)

	// Block voids before the order is ready, so the expiry cannot slip past.
	b := cc.blockVoids()
	id := c.place(orderBody("", store, line(sku, 2, 1250)))
	c.waitStatus(id, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 2}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	require.Equal(t, stock{OnHand: 6, Reserved: 3, Available: 3}, c.stock(store, sku))

	b.waitBlocked()
	require.Equal(t, "2", cc.queryString("select released::text from reservations where order_id = $1", id))
	require.Equal(t, "0", cc.queryString("select count(*)::text from payments where order_id = $1 and kind = 'void'", id))
	cc.kill()
	b.release()

	start := time.Now()
	cc.restart()
	o := c.waitStatusWithin(id, "expired", 60*time.Second)
	t.Logf("expiry finished %s after restart", time.Since(start).Round(time.Millisecond))

	require.Equal(t, before, c.stock(store, sku), "on hand unchanged, reserved back to before the order")
	require.EqualValues(t, 2500, o.Payments[0].Voided)
	require.Zero(t, o.Payments[0].Captured)
	require.Equal(t, []string{"authorization 2500", "void 2500"}, cc.ledger(id), "the authorisation is voided exactly once")
	types := c.eventTypes(id)
	for _, e := range []string{"pickup_reminder_sent", "stock_released", "payment_voided", "expired"} {
		require.Equal(t, 1, count(types, e), "%s once in %v", e, types)
	}
	require.Equal(t, "expired", types[len(types)-1])
	require.Equal(t, "awaiting_pick", c.order(other).Status, "the other order is untouched")
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// crashChild is a child Omni on its own database, data dir and ports.
type crashChild struct {
	t    *testing.T
	db   string
	env  []string
	proc *child
	api  *api
}

func newCrashChild(t *testing.T, extraEnv ...string) *crashChild {
	t.Helper()
	db := withDatabase(dbURL, "omni_crash_"+strings.ReplaceAll(unique("x"), "-", "_"))
	httpAddr := freeAddr(t)
	env := append([]string{
		childEnv + "=1",
		"OMNI_DATABASE_URL=" + db,
		"OMNI_DATA_DIR=" + t.TempDir(),
		"OMNI_HTTP_ADDR=" + httpAddr,
		"OMNI_TEMPORAL_EMBEDDED_ADDR=" + freeAddr(t),
	}, extraEnv...)
	cc := &crashChild{t: t, db: db, env: env, api: &api{t: t, base: "http://" + httpAddr}}
	// Registered first, so it runs last: after the child is gone.
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), db) })
	cc.proc = startChild(t, env)
	t.Cleanup(func() {
		if cc.proc != nil {
			cc.proc.kill()
		}
	})
	return cc
}

func (cc *crashChild) kill() {
	cc.proc.kill()
	cc.proc = nil
}

func (cc *crashChild) restart() {
	cc.proc = startChild(cc.t, cc.env)
}

func (cc *crashChild) connect() *pgx.Conn {
	cc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, cc.db)
	require.NoError(cc.t, err)
	return conn
}

func (cc *crashChild) queryString(sql string, args ...any) string {
	cc.t.Helper()
	conn := cc.connect()
	defer conn.Close(context.Background())
	var s string
	require.NoError(cc.t, conn.QueryRow(context.Background(), sql, args...).Scan(&s), "%s", sql)
	return s
}

// ledger is the order's payment ledger, one "kind amount" per row.
func (cc *crashChild) ledger(orderID string) []string {
	cc.t.Helper()
	conn := cc.connect()
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "select kind || ' ' || amount from payments where order_id = $1 order by id", orderID)
	require.NoError(cc.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(cc.t, err)
	return out
}

// voidBlocker makes inserts into a table (every void into the payment
// ledger, for blockVoids) wait on an advisory lock the test holds, so the
// test can kill Omni while the insert is in flight and not yet committed.
type voidBlocker struct {
	cc    *crashChild
	conn  *pgx.Conn
	table string // the table whose inserts wait
}

const voidLockKey = 734_001

func (cc *crashChild) blockVoids() *voidBlocker {
	return cc.blockInserts("payments", "when (new.kind = 'void')")
}

// blockInserts makes the inserts into table (those matching when, a trigger's
// WHEN clause or "") wait on the advisory lock the test holds.
func (cc *crashChild) blockInserts(table, when string) *voidBlocker {
	cc.t.Helper()
	ctx := context.Background()
	conn := cc.connect()
	for _, sql := range []string{
		"select pg_advisory_lock(734001)",
		`create function omni_it_block_void() returns trigger language plpgsql as $$
		begin
			perform pg_advisory_xact_lock(734001);
			return new;
		end $$`,
		`create trigger omni_it_block_void before insert on ` + table + `
			for each row ` + when + ` execute function omni_it_block_void()`,
	} {
		_, err := conn.Exec(ctx, sql)
		require.NoError(cc.t, err, "%s", sql)
	}
	b := &voidBlocker{cc: cc, conn: conn, table: table}
	cc.t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return b
}

// waitBlocked waits until a void is stuck on the lock.
func (b *voidBlocker) waitBlocked() {
	t := b.cc.t
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		require.NoError(t, b.conn.QueryRow(context.Background(), `select count(*) from pg_locks
			where locktype = 'advisory' and not granted and classid = 0 and objid = $1 and objsubid = 1
			and database = (select oid from pg_database where datname = current_database())`, voidLockKey).Scan(&n))
		if n > 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "no void blocked within 30s")
		time.Sleep(20 * time.Millisecond)
	}
}

// release ends the dead process's stuck transactions (PostgreSQL does not
// notice a client that died while its backend waits on a lock), so their
// inserts roll back, then removes the trigger and lets go of the lock.
func (b *voidBlocker) release() {
	t := b.cc.t
	t.Helper()
	ctx := context.Background()
	_, err := b.conn.Exec(ctx, `select pg_terminate_backend(pid) from pg_stat_activity
		where datname = current_database() and pid <> pg_backend_pid()`)
	require.NoError(t, err)
	for _, sql := range []string{
		"drop trigger omni_it_block_void on " + b.table,
		"drop function omni_it_block_void()",
		"select pg_advisory_unlock(734001)",
	} {
		_, err := b.conn.Exec(ctx, sql)
		require.NoError(t, err, "%s", sql)
	}
	require.NoError(t, b.conn.Close(ctx))
}
