package integration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/internal/postgres"
)

// childEnv makes the test binary act as `omni dev` (see TestCrashRecovery).
const childEnv = "OMNI_IT_CHILD"

var (
	baseURL string
	omni    *app.App
	dbURL   string
	// clocksURL is a second Omni on the same Temporal and database whose
	// business clocks run in seconds, for the timer-driven tests.
	clocksURL string
	// transfersURL is a third Omni whose collect orders take transfers.
	transfersURL string
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		runChild()
		return
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx := context.Background()
	base := os.Getenv("OMNI_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	dbURL = withDatabase(base, fmt.Sprintf("omni_it_%d_%d", os.Getpid(), time.Now().Unix()))
	dataDir, err := os.MkdirTemp("", "omni-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dataDir)

	cfg := testConfig(dataDir, "127.0.0.1:0", "127.0.0.1:0")
	log := testLogger()
	omni, err = app.Start(ctx, cfg, app.Parts{Embedded: true, API: true, Worker: true}, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration tests need PostgreSQL at %s (start it with: "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): %v\n", base, err)
		return 1
	}
	baseURL = "http://" + omni.APIAddr()

	fast := testConfig(dataDir, "127.0.0.1:0", "")
	fast.Temporal.Address = omni.TemporalAddr()
	fast.Temporal.TaskQueue = "omni-it-clocks"
	fast.Pick.Deadline = 2 * time.Second
	fast.Pickup.Hold = 5 * time.Second
	fast.Pickup.Reminder = 2 * time.Second
	fast.Pickup.Extension = 3 * time.Second
	fast.Pick.Escalation = 6 * time.Second
	fast.Pick.ReassignOnEscalation = true
	fast.Returns.Window = 3 * time.Second
	clocks, err := app.Start(ctx, fast, app.Parts{API: true, Worker: true}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start second omni:", err)
		omni.Stop()
		return 1
	}
	clocksURL = "http://" + clocks.APIAddr()

	// A third Omni whose retailer brings a collect store's missing lines by
	// transfer (fulfil_test.go).
	tr := testConfig(dataDir, "127.0.0.1:0", "")
	tr.Temporal.Address = omni.TemporalAddr()
	tr.Temporal.TaskQueue = "omni-it-transfers"
	tr.Transfers.Enabled = true
	transfers, err := app.Start(ctx, tr, app.Parts{API: true, Worker: true}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start third omni:", err)
		clocks.Stop()
		omni.Stop()
		return 1
	}
	transfersURL = "http://" + transfers.APIAddr()

	code := m.Run()
	transfers.Stop()
	clocks.Stop()
	omni.Stop()
	if err := postgres.DropDatabase(ctx, dbURL); err != nil {
		fmt.Fprintln(os.Stderr, "drop test database:", err)
	}
	return code
}

// testConfig is the default configuration pointed at the test database, with
// business clocks short enough for tests.
func testConfig(dataDir, httpAddr, temporalAddr string) *config.Config {
	cfg, err := config.Load("")
	if err != nil {
		panic(err)
	}
	cfg.Database.URL = dbURL
	cfg.Data.Dir = dataDir
	cfg.HTTP.Addr = httpAddr
	cfg.Temporal.EmbeddedAddr = temporalAddr
	cfg.Temporal.UIAddr = ""
	cfg.Temporal.TaskQueue = "omni-it"
	cfg.Pickup.Hold = 10 * time.Minute
	cfg.Pickup.Reminder = 5 * time.Minute
	// Webhook retries within a test's patience (TestWebhooks*).
	cfg.Webhooks.PollInterval = 100 * time.Millisecond
	cfg.Webhooks.InitialBackoff = 200 * time.Millisecond
	cfg.Webhooks.MaxBackoff = time.Second
	// The tests' receivers listen on loopback (ssrf_test.go checks the default refuses them).
	cfg.Webhooks.AllowPrivateNetworks = true
	// Every test order is Ada's and every test request comes from 127.0.0.1:
	// budgets that many tests share. The lookup budgets themselves are tested
	// in lookup_test.go, with addresses and contacts of their own.
	cfg.Auth.LookupsPerMinute = 100
	cfg.Auth.LookupsPerContact = 1000
	// The development keys of omni.yaml, plus store staff working for every store.
	cfg.Auth.Clients = append(cfg.Auth.Clients, config.AuthClient{Name: "it-all-stores", Role: "store", Key: allStoresKey,
		Stores: []string{"store-001", "store-002", "store-003", "wh-north"}})
	cfg.Auth.Clients = append(cfg.Auth.Clients, config.AuthClient{Name: "app-checkout", Role: "checkout", Key: otherCheckoutKey,
		OrderIDPrefix: "app-"})
	return cfg
}

func testLogger() *slog.Logger {
	if os.Getenv("OMNI_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func withDatabase(u, name string) string {
	// postgres://user@host:port/db?params → same with db replaced
	q := ""
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '?' {
			q = u[i:]
			u = u[:i]
			break
		}
	}
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[:i+1] + name + q
		}
	}
	return u + "/" + name + q
}

// runChild runs Omni like `omni dev` from the configuration in the environment
// until it is killed. The crash test starts it, kills it with SIGKILL and
// starts it again on the same data.
func runChild() {
	dbURL = os.Getenv("OMNI_DATABASE_URL")
	cfg := testConfig(os.Getenv("OMNI_DATA_DIR"), os.Getenv("OMNI_HTTP_ADDR"), os.Getenv("OMNI_TEMPORAL_EMBEDDED_ADDR"))
	// Business clocks a crash test wants short (testConfig overrides OMNI_PICKUP_*).
	for env, d := range map[string]*time.Duration{"OMNI_IT_PICKUP_HOLD": &cfg.Pickup.Hold, "OMNI_IT_PICKUP_REMINDER": &cfg.Pickup.Reminder} {
		if v := os.Getenv(env); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil {
				fmt.Fprintln(os.Stderr, "child:", env, err)
				os.Exit(1)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	a, err := app.Start(ctx, cfg, app.Parts{Embedded: true, API: true, Worker: true}, testLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	<-ctx.Done()
	a.Stop()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
