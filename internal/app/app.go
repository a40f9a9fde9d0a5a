package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/devtemporal"
	"github.com/omni-retail/omni/internal/metrics"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/webhooks"
	"github.com/omni-retail/omni/workflows"
)

// Parts says which parts a process runs.
type Parts struct {
	Embedded bool // a Temporal server in-process
	API      bool
	Worker   bool
}

// App is a running Omni process.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	temporal *devtemporal.Server
	client   client.Client
	db       *postgres.DB
	worker   worker.Worker
	http     *http.Server
	listener net.Listener
	api      *api.Server
	metrics  *metrics.Metrics
	webhooks *webhooks.Dispatcher // delivers the outbox to webhook subscriptions (worker processes)
	cancel   context.CancelFunc
	done     chan struct{}
}

// Start brings the parts up in order: Temporal, PostgreSQL (created and
// migrated), the worker, then the API, so nothing is served before it can work.
func Start(ctx context.Context, cfg *config.Config, parts Parts, log *slog.Logger) (a *App, err error) {
	// The sticky cache is shared by every SDK worker of the process, the
	// embedded server's own system workers included, and sized by the first
	// one: set it before anything starts.
	worker.SetStickyWorkflowCacheSize(cfg.Temporal.WorkflowCacheSize)
	a = &App{cfg: cfg, log: log, done: make(chan struct{})}
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()

	hostPort := cfg.Temporal.Address
	if parts.Embedded {
		a.temporal, err = devtemporal.Start(devtemporal.Options{
			DataDir:      cfg.Data.Dir,
			FrontendAddr: cfg.Temporal.EmbeddedAddr,
			UIAddr:       cfg.Temporal.UIAddr,
			Namespace:    cfg.Temporal.Namespace,
			Logger:       log.With("component", "temporal-server"),
			LogLevel:     slog.LevelWarn,
		})
		if err != nil {
			return a, err
		}
		hostPort = a.temporal.FrontendAddr()
	}
	if hostPort == "" {
		return a, errors.New("temporal.address (OMNI_TEMPORAL_ADDRESS) is required: the Temporal frontend to connect to")
	}
	a.metrics = metrics.New(log.With("component", "metrics"))
	copts := client.Options{
		HostPort:       hostPort,
		Namespace:      cfg.Temporal.Namespace,
		MetricsHandler: a.metrics.TemporalHandler(),
		Logger:         sdklog.NewStructuredLogger(quiet(log).With("component", "temporal-sdk")),
	}
	if cfg.Temporal.TLS.Enabled {
		if copts.ConnectionOptions.TLS, err = tlsConfig(cfg.Temporal.TLS); err != nil {
			return a, err
		}
	}
	if a.client, err = client.DialContext(ctx, copts); err != nil {
		return a, fmt.Errorf("connect to temporal at %s: %w", hostPort, err)
	}

	pool, err := postgres.Open(ctx, cfg.Database.URL, cfg.Database.MaxConns)
	if err != nil {
		return a, err
	}
	a.db = postgres.New(pool)
	a.db.SetLogger(log.With("component", "postgres")) // a ledger's refused step keys are logged here
	if err := postgres.Migrate(ctx, pool); err != nil {
		return a, err
	}
	if err := a.db.UpsertStores(ctx, storesOf(cfg)); err != nil {
		return a, fmt.Errorf("register configured stores: %w", err)
	}
	a.metrics.CountOrders(a.db)
	a.metrics.SetWebhookBacklog(a.db.WebhookBacklog)
	a.metrics.SetStoreFigures(a.db.StoreFigures) // omni_store_* over the last 24 h (internal/metrics/stores.go)

	notifier := NotifierOf(cfg, a.db, a.metrics, log)
	if parts.Worker {
		a.worker = NewWorker(a.client, cfg, a.db, notifier, a.metrics, log)
		if err := a.worker.Start(); err != nil {
			return a, fmt.Errorf("start worker: %w", err)
		}
		a.webhooks = webhooks.Start(a.db, webhooks.Options{PollInterval: cfg.Webhooks.PollInterval,
			InitialBackoff: cfg.Webhooks.InitialBackoff, MaxBackoff: cfg.Webhooks.MaxBackoff, RetryFor: cfg.Webhooks.RetryFor,
			Failures: a.metrics, Logger: log.With("component", "webhooks"), AllowPrivateNetworks: cfg.Webhooks.AllowPrivateNetworks})
	}
	if parts.API {
		events := postgres.NewListener(a.db.Pool(), log)
		var proxies []*net.IPNet
		if proxies, err = cfg.HTTP.TrustedProxyNets(); err != nil {
			return a, fmt.Errorf("http.trusted_proxies: %w", err)
		}
		a.api = api.New(api.Options{
			DB: a.db, Temporal: a.client, TaskQueue: cfg.Temporal.TaskQueue, Policy: PolicyOf(cfg), ReassignOrder: cfg.ReassignOrder,
			RequestTimeout: cfg.HTTP.RequestTimeout, Logger: log, Metrics: a.metrics.Handler(), Events: events,
			Auth: AuthOf(cfg), TrustedProxies: proxies, Lookups: api.LookupLimits{PerAddress: cfg.Auth.LookupsPerMinute,
				PerNumber: cfg.Auth.LookupsPerNumber, PerContact: cfg.Auth.LookupsPerContact, Window: cfg.Auth.LookupWindow},
			Notifier: notifier, AllowPrivateNetworks: cfg.Webhooks.AllowPrivateNetworks,
			Carrier:  carrierAPIOf(cfg),
			Stock:    stockAPIOf(cfg, a.db, a.metrics, log),
			Payments: api.PaymentsOptions{CallbackSecret: cfg.Payments.CallbackSigningSecret()},
		})
		if a.listener, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
			return a, fmt.Errorf("listen on %s (http.addr): %w", cfg.HTTP.Addr, err)
		}
		a.http = &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		a.http.RegisterOnShutdown(a.api.CloseStreams) // event streams never go idle by themselves
		bg, cancel := context.WithCancel(context.Background())
		a.cancel = cancel
		go a.api.Reconcile(bg, 5*time.Second)
		go events.Run(bg)
		go func() {
			defer close(a.done)
			if err := a.http.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server stopped", "error", err)
			}
		}()
	}
	return a, nil
}

// APIAddr is where the API listens, or "" when this process serves none.
func (a *App) APIAddr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// TemporalAddr is the Temporal frontend in use.
func (a *App) TemporalAddr() string {
	if a.temporal != nil {
		return a.temporal.FrontendAddr()
	}
	return a.cfg.Temporal.Address
}

// TemporalUIAddr is where the embedded Web UI listens, or "".
func (a *App) TemporalUIAddr() string {
	if a.temporal == nil {
		return ""
	}
	return a.temporal.UIAddr()
}

// DB is the process's store.
func (a *App) DB() *postgres.DB { return a.db }

// Client is the process's Temporal client.
func (a *App) Client() client.Client { return a.client }

// Stop takes the parts down in reverse order: no new requests, in-flight ones
// finish, the worker stops taking tasks, then Temporal and the pool close.
func (a *App) Stop() {
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.http.Shutdown(ctx)
		cancel()
		<-a.done
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.worker != nil {
		a.worker.Stop()
	}
	a.webhooks.Stop() // before the pool closes: attempts in flight are recorded
	if a.client != nil {
		a.client.Close()
	}
	_ = a.metrics.Close()
	if a.db != nil {
		a.db.Pool().Close()
	}
	if a.temporal != nil {
		a.temporal.Stop()
	}
}

// NewWorker builds the order worker with the retailer's systems as
// configured (SystemsOf: the built-in PostgreSQL ones by default) and
// notifier (NotifierOf) for customer notifications; m (may be nil) observes
// the order status transitions it projects and the adapters' calls.
func NewWorker(c client.Client, cfg *config.Config, db *postgres.DB, notifier activities.Notifier, m *metrics.Metrics,
	log *slog.Logger,
) worker.Worker {
	w := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.OrderWorkflow, workflow.RegisterOptions{Name: "OrderWorkflow"})
	w.RegisterWorkflowWithOptions(workflows.ReturnWorkflow, workflow.RegisterOptions{Name: "ReturnWorkflow"})
	sys := SystemsOf(cfg, db, m, log) // built-in, or the retailer's systems (adapters.go)
	w.RegisterActivity(&activities.Activities{
		Inventory: sys.Inventory,
		Stores:    sys.Stores,
		Payments:  sys.Payments,
		Returns:   db,
		Notifier:  notifier,
		Projector: metrics.NewProjector(db, m),
		Prices:    sys.Prices,
		Carrier:   CarrierOf(cfg, db, m, log),
		Shipments: db,
		Locations: locationsOf(cfg),
		Signal: func(ctx context.Context, orderID string, r activities.AdapterRetrying) error {
			return c.SignalWorkflow(ctx, workflows.WorkflowID(orderID), "", activities.SignalAdapterRetrying, r)
		},
		Logger: log,
	})
	return w
}

// AuthOf builds the API's authenticator from the configured keys.
func AuthOf(cfg *config.Config) *auth.Authenticator {
	clients := make([]auth.Client, len(cfg.Auth.Clients))
	for i, c := range cfg.Auth.Clients {
		clients[i] = auth.Client{Name: c.Name, Role: auth.Role(c.Role), Key: c.Key, Stores: c.Stores, OrderIDPrefix: c.OrderIDPrefix}
	}
	return auth.New(clients, cfg.Auth.TokenSecret, cfg.Auth.CustomerTokenTTL)
}

// PolicyOf reads the business clocks from the configuration.
func PolicyOf(cfg *config.Config) workflows.Policy {
	return workflows.Policy{
		PickDeadline:    cfg.Pick.Deadline,
		PickupHold:      cfg.Pickup.Hold,
		PickupReminder:  cfg.Pickup.Reminder,
		PickupExtension: cfg.Pickup.Extension,
		ReturnWindow:    cfg.Returns.Window,
		PickEscalation:  cfg.Pick.Escalation,
		NotifyGiveUp:    cfg.Notify.GiveUpAfter,
		HistoryBudget:   cfg.Temporal.HistoryBudget,

		ReassignOnEscalation: cfg.Pick.ReassignOnEscalation,
		Transfers:            cfg.Transfers.Enabled,
		TransferLeadTime:     cfg.Transfers.LeadTime,
		// Stripe captures a PaymentIntent once: the order asks once, for all
		// that was handed over or shipped.
		OneCapture: cfg.Payments.Provider == "stripe",
	}
}

// locationsOf lists the stores and warehouses sourcing chooses from.
func locationsOf(cfg *config.Config) []order.Location {
	var out []order.Location
	for _, l := range cfg.Locations() {
		out = append(out, order.Location{ID: l.ID, Lat: l.Lat, Lon: l.Lon, Ships: l.Ships, SafetyStock: l.SafetyStock})
	}
	return out
}

func storesOf(cfg *config.Config) []postgres.Store {
	out := make([]postgres.Store, 0, len(cfg.Stores)+len(cfg.Warehouses))
	for _, s := range cfg.Stores {
		out = append(out, postgres.Store{ID: s.ID, Name: s.Name})
	}
	for _, w := range cfg.Warehouses {
		out = append(out, postgres.Store{ID: w.ID, Name: w.Name, Kind: "warehouse"})
	}
	return out
}

// quiet drops the SDK's info chatter (every worker start and stop) but keeps
// its warnings and errors.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{log.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
func (h levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(as), h.min}
}
func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	c := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls.ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal.tls.ca_file: no certificates in %s", t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls.cert_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// Migrate creates the database if needed, applies the migrations and registers
// the configured stores.
func Migrate(ctx context.Context, cfg *config.Config) error {
	pool, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	return postgres.New(pool).UpsertStores(ctx, storesOf(cfg))
}
