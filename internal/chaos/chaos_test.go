package chaos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// runConfig is a chaos run's size, from CHAOS_* variables (make chaos sets
// the short run's defaults, make chaos-long the long one's).
type runConfig struct {
	Seed       uint64
	Orders     int
	Kills      int
	PGRestarts int
	Duration   time.Duration // over which orders start and the kills land
	Clients    int           // orders driven at once
	Hold       time.Duration // OMNI_PICKUP_HOLD: expiry happens during the run
	Budget     time.Duration // how long one action retries for a definite answer
	PGDown     time.Duration // how long PostgreSQL stays down (0: 11–15 s, drawn from the seed)
}

func configFromEnv(t *testing.T) runConfig {
	t.Helper()
	c := runConfig{Seed: rand.Uint64() % 1_000_000_000, Orders: 30, Kills: 3, PGRestarts: 1,
		Duration: 45 * time.Second, Clients: 8, Hold: 20 * time.Second, Budget: 3 * time.Minute}
	num := func(name string, into *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				t.Fatalf("%s=%q: want a whole number", name, v)
			}
			*into = n
		}
	}
	dur := func(name string, into *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				t.Fatalf("%s=%q: want a positive duration such as 45s", name, v)
			}
			*into = d
		}
	}
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: want a whole number", v)
		}
		c.Seed = s
	}
	num("CHAOS_ORDERS", &c.Orders)
	num("CHAOS_KILLS", &c.Kills)
	num("CHAOS_PG_RESTARTS", &c.PGRestarts)
	num("CHAOS_CLIENTS", &c.Clients)
	dur("CHAOS_DURATION", &c.Duration)
	dur("CHAOS_HOLD", &c.Hold)
	dur("CHAOS_BUDGET", &c.Budget)
	dur("CHAOS_PG_DOWN", &c.PGDown)
	c.Clients = max(c.Clients, 1)
	return c
}

// event is one blow of the schedule: a SIGKILL of Omni or a PostgreSQL restart.
type event struct {
	At    time.Duration
	Kind  string // "kill" or "pg-restart"
	Pause time.Duration
	Mode  string // pg_ctl stop mode
	// Jitter is how long after a request is seen in flight a kill lands.
	Jitter time.Duration
}

// schedule draws the run's blows from its seed: kills and restarts land at
// random moments between 10% of the duration and its end.
func schedule(c runConfig) []event {
	rng := rand.New(rand.NewPCG(c.Seed, 0))
	at := func() time.Duration {
		lo := c.Duration / 10
		return lo + time.Duration(rng.Int64N(int64(c.Duration-lo)))
	}
	var out []event
	for range c.Kills {
		out = append(out, event{At: at(), Kind: "kill", Pause: time.Duration(rng.Int64N(int64(1500 * time.Millisecond))),
			Jitter: time.Duration(rng.Int64N(int64(300 * time.Millisecond)))})
	}
	for range c.PGRestarts {
		mode := "immediate"
		if rng.IntN(2) == 0 {
			mode = "fast"
		}
		// Down for longer than a fast-path step once retried (10 s): the
		// outage that failed orders' workflows before their steps waited.
		pause := 11*time.Second + time.Duration(rng.Int64N(int64(4*time.Second)))
		if c.PGDown > 0 {
			pause = c.PGDown
		}
		out = append(out, event{At: at(), Kind: "pg-restart", Pause: pause, Mode: mode})
	}
	slices.SortFunc(out, func(a, b event) int { return int(a.At - b.At) })
	return out
}

// TestChaos is `make chaos`: orders through every path while Omni is killed
// and PostgreSQL restarted, then the invariants of Check on what is left.
func TestChaos(t *testing.T) {
	if os.Getenv("OMNI_CHAOS") != "1" {
		t.Skip("the chaos suite runs with `make chaos` (OMNI_CHAOS=1; CHAOS_ORDERS, CHAOS_KILLS, CHAOS_SEED, ... size it)")
	}
	cfg := configFromEnv(t)
	t.Logf("chaos: seed %d (replay with CHAOS_SEED=%d): %d orders over %s, %d clients, %d kills, %d PostgreSQL restarts, pickup hold %s",
		cfg.Seed, cfg.Seed, cfg.Orders, cfg.Duration, cfg.Clients, cfg.Kills, cfg.PGRestarts, cfg.Hold)
	// Every loop below is bounded; this bounds them all together.
	limit := 10*time.Minute + 2*cfg.Duration + 3*cfg.Hold + 2*cfg.Budget
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()

	logs, err := os.MkdirTemp("", fmt.Sprintf("omni-chaos-%d-", cfg.Seed))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chaos: logs and data kept in %s (omni.log, postgres.log, omni_chaos.sql, temporal/: OMNI_DATA_DIR of the run)", logs)
			return
		}
		_ = os.RemoveAll(logs)
	})
	work := t.TempDir()

	start := time.Now()
	bin := os.Getenv("CHAOS_OMNI_BIN") // a binary built before, to run it again
	if bin == "" {
		if bin, err = buildOmni(ctx, "../..", work); err != nil {
			t.Fatal(err)
		}
		t.Logf("chaos: built omni in %s", time.Since(start).Round(time.Second))
	}

	pg, err := startCluster(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			pg.dump(filepath.Join(logs, "omni_chaos.sql"), "omni_chaos")
		}
		pg.destroy(filepath.Join(logs, "postgres.log"))
	}()
	dbURL := pg.url("omni_chaos")

	httpPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	temporalPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", temporalPort)
	proc := &omniProc{bin: bin, logPath: filepath.Join(logs, "omni.log"), base: base, env: []string{
		"OMNI_DATABASE_URL=" + dbURL,
		"OMNI_DATA_DIR=" + filepath.Join(logs, "temporal"),
		"OMNI_HTTP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", httpPort),
		"OMNI_TEMPORAL_EMBEDDED_ADDR=" + temporalAddr,
		"OMNI_TEMPORAL_UI_ADDR=",
		"OMNI_LOG_LEVEL=warn",
		"OMNI_PICKUP_HOLD=" + cfg.Hold.String(),
		"OMNI_PICKUP_REMINDER=" + (cfg.Hold / 2).String(),
		"OMNI_PICKUP_EXTENSION=" + (cfg.Hold / 2).String(),
		"OMNI_PICK_DEADLINE=1h",
		"OMNI_PICK_ESCALATION=2h",
		"OMNI_RETURNS_WINDOW=6h",
		"OMNI_NOTIFY_SMTP_ADDR=",
	}}
	if err := proc.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer proc.stop()
	t.Logf("chaos: omni dev ready at %s (Temporal %s) after %s", base, temporalAddr, time.Since(start).Round(time.Second))

	cl := newAPI(base, cfg.Budget)
	// The admin stocks every store with every SKU and prices the SKUs.
	snap := &Snapshot{Records: map[string]*record{}, InitialStock: map[storeSKU]int64{}}
	perSKU := int64(cfg.Orders*3/len(stores) + 30)
	for _, s := range stores {
		for _, sku := range skuList() {
			a, err := cl.do(ctx, http.MethodPut, "/v1/stores/"+s+"/stock/"+sku, adminKey, "", map[string]any{"on_hand": perSKU})
			if err != nil || a.Status != http.StatusOK {
				t.Fatalf("stock %s/%s: %v %d %s", s, sku, err, a.Status, a.Body)
			}
			snap.InitialStock[storeSKU{s, sku}] = perSKU
		}
	}
	for _, sku := range skuList() {
		a, err := cl.do(ctx, http.MethodPut, "/v1/prices/"+sku, adminKey, "", map[string]any{"currency": "GBP", "unit_price": skuPrices[sku]})
		if err != nil || a.Status != http.StatusOK {
			t.Fatalf("price %s: %v %d %s", sku, err, a.Status, a.Body)
		}
	}

	// The blows, in their own goroutine, one after another.
	events := schedule(cfg)
	runStart := time.Now()
	var monkeyErr error
	var blows []string
	monkeyDone := make(chan struct{})
	go func() {
		defer close(monkeyDone)
		for _, e := range events {
			select {
			case <-ctx.Done():
				monkeyErr = ctx.Err()
				return
			case <-time.After(time.Until(runStart.Add(e.At))):
			}
			t0 := time.Now()
			switch e.Kind {
			case "kill":
				// Aim at a request in flight: wait (up to 2 s) until one is, then the jitter.
				for wait := time.Now().Add(2 * time.Second); cl.inFlight.Load() == 0 && time.Now().Before(wait); {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(e.Jitter)
				inFlight := cl.inFlight.Load()
				proc.kill()
				time.Sleep(e.Pause)
				if err := proc.start(ctx); err != nil {
					monkeyErr = fmt.Errorf("restart after the kill at %s: %w", e.At, err)
					return
				}
				blows = append(blows, fmt.Sprintf("SIGKILL at %s with %d requests in flight, ready again after %s",
					time.Since(runStart).Round(100*time.Millisecond), inFlight, time.Since(t0).Round(100*time.Millisecond)))
			case "pg-restart":
				if err := pg.stop(ctx, e.Mode); err != nil {
					monkeyErr = err
					return
				}
				time.Sleep(e.Pause)
				if err := pg.start(ctx); err != nil {
					monkeyErr = err
					return
				}
				blows = append(blows, fmt.Sprintf("PostgreSQL stop -m %s at %s, up again after %s", e.Mode, e.At.Round(100*time.Millisecond), time.Since(t0).Round(100*time.Millisecond)))
			}
			t.Logf("chaos: %s", blows[len(blows)-1])
		}
	}()

	// The traffic: order i starts at i/N of the duration, at most Clients at once.
	d := &driver{api: cl, unexpected: map[string]int{}}
	recs := make([]*record, cfg.Orders)
	sem := make(chan struct{}, cfg.Clients)
	var wg sync.WaitGroup
	runID := strconv.FormatUint(cfg.Seed, 36)
	for i := range cfg.Orders {
		recs[i] = &record{}
		p := makePlan(cfg.Seed, i, runID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(runStart.Add(cfg.Duration * time.Duration(i) / time.Duration(cfg.Orders)))):
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			d.run(ctx, p, recs[i])
		}()
	}
	wg.Wait()
	<-monkeyDone
	t.Logf("chaos: traffic done after %s: %d requests, %d retries, %d answers replayed from their Idempotency-Key",
		time.Since(runStart).Round(time.Second), cl.requests.Load(), cl.retries.Load(), cl.replayed.Load())
	if monkeyErr != nil {
		t.Fatalf("chaos: the schedule could not be carried out: %v", monkeyErr)
	}
	var ids, flows []string
	for _, r := range recs {
		if r.ID == "" {
			continue
		}
		snap.Records[r.ID] = r
		flows = append(flows, r.Flow)
		if r.Placed {
			ids = append(ids, r.ID)
		}
	}
	t.Logf("chaos: flows: %s", summary(flows))
	if len(d.unexpected) > 0 {
		var parts []string
		for k, n := range d.unexpected {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, n))
		}
		slices.Sort(parts)
		t.Logf("chaos: answers the flows did not plan for (races with the clocks; the checker decides): %v", parts)
	}

	// At rest: every workflow idle and no clock about to move an order.
	tc, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default",
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	rd := &reader{dbURL: dbURL, temporal: tc}
	// Orders that never come to rest are failures; the rest is checked all the same.
	busy := rd.waitAtRest(ctx, ids, 2*cfg.Hold+2*time.Minute, t.Logf)
	for _, id := range sortedKeys(busy) {
		t.Errorf("chaos: [rest] %s: never came to rest: %s", id, busy[id])
	}
	if err := rd.snapshot(ctx, snap, ids); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, id := range ids {
		statuses = append(statuses, string(snap.Workflows[id].View.Order.Status))
	}
	t.Logf("chaos: final statuses: %s", summary(statuses))

	violations := Check(snap)
	for _, v := range violations {
		t.Errorf("chaos: %s", v)
	}
	t.Logf("chaos: seed %d: %d orders, %d blows (%d kills, %d PostgreSQL restarts), %d omni starts, %d requests (%d retries), %d violations, %s in all",
		cfg.Seed, len(ids), len(blows), cfg.Kills, cfg.PGRestarts, proc.starts, cl.requests.Load(), cl.retries.Load(), len(violations),
		time.Since(start).Round(time.Second))
}

// The private cluster starts, survives a crash restart with its data, and
// goes away: as root through runuser, as anyone else directly.
func TestPrivateCluster(t *testing.T) {
	if os.Getenv("OMNI_CHAOS") != "1" {
		t.Skip("runs with `make chaos` (OMNI_CHAOS=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := startCluster(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := pg.dir
	defer pg.destroy("")
	if err := pg.createDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"immediate", "fast"} {
		if err := pg.stop(ctx, mode); err != nil {
			t.Fatal(err)
		}
		if err := pg.start(ctx); err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, pg.url("kept"))
		if err != nil {
			t.Fatalf("after stop -m %s: %v", mode, err)
		}
		_ = conn.Close(ctx)
	}
	pg.destroy("")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s is still there after destroy: %v", dir, err)
	}
}
