package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"github.com/omni-retail/omni/internal/order"
)

// Omni's metric names.
const (
	OrdersName               = "omni_orders"
	TransitionName           = "omni_order_transition_seconds"
	NotificationFailuresName = "omni_notification_failures_total"
	WebhookFailuresName      = "omni_webhook_failures_total"
	WebhookBacklogName       = "omni_webhook_backlog"
	// CurbsideWaitName is the time a curbside customer waited at the car,
	// from "I'm here" to the handover.
	CurbsideWaitName = "omni_curbside_wait_seconds"
	// AdapterRequestsName counts calls to a retailer's systems by system,
	// operation and outcome (ok, accepted, refused, not_found, retry, error);
	// AdapterSecondsName is their latency.
	AdapterRequestsName = "omni_adapter_requests_total"
	AdapterSecondsName  = "omni_adapter_request_seconds"
)

// ScrapeTimeout bounds each PostgreSQL read made while serving a scrape.
const ScrapeTimeout = 5 * time.Second

// reportInterval is how often tally copies the SDK's counters and gauges into
// the registry; timers are recorded as they happen.
const reportInterval = time.Second

// TransitionBuckets are the upper bounds, in seconds, of
// omni_order_transition_seconds: from sub-second automatic steps (stock
// reserved) to the days an order can wait for collection.
var TransitionBuckets = []float64{
	0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
	86400, 2 * 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
}

// OrderCounter counts the orders in the read model by status
// (postgres.DB implements it).
type OrderCounter interface {
	OrderCounts(ctx context.Context) (map[string]int64, error)
}

// Metrics is a process's Prometheus registry and Omni's instruments in it.
// It is safe for concurrent use; its methods do nothing on a nil *Metrics.
type Metrics struct {
	registry *prometheus.Registry
	temporal client.MetricsHandler
	scope    io.Closer
	closeMu  sync.Once

	transitions          *prometheus.HistogramVec
	curbsideWait         *prometheus.HistogramVec
	adapterRequests      *prometheus.CounterVec
	adapterSeconds       *prometheus.HistogramVec
	notificationFailures *prometheus.CounterVec
	webhookFailures      prometheus.Counter
	orders               *funcCollector[OrderCounter]
	backlog              *funcCollector[func(context.Context) (int64, error)]
	stores               *storeCollectors // registered by SetStoreFigures (stores.go)
	storesOnce           sync.Once
	log                  *slog.Logger
}

// New builds a registry with the Go runtime and process collectors, the
// Temporal SDK's metrics handler and Omni's instruments. Errors the SDK
// metrics reporter meets are logged to log (nil discards them). Call Close
// when the process stops.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		log:      log,
		transitions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    TransitionName,
			Help:    "Time from an order's creation to its reaching the status `to`, observed once per status change.",
			Buckets: TransitionBuckets,
		}, []string{"to"}),
		curbsideWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    CurbsideWaitName,
			Help:    "Time a curbside customer waited from arrival (\"I'm here\") to the handover at the car, per store.",
			Buckets: []float64{30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800},
		}, []string{"store_id"}),
		adapterRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: AdapterRequestsName,
			Help: "Calls to the retailer's systems (inventory, store_tasks, payments, catalog, carrier) by operation and outcome.",
		}, []string{"system", "operation", "outcome"}),
		adapterSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    AdapterSecondsName,
			Help:    "Latency of calls to the retailer's systems, by system and operation.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"system", "operation"}),
		notificationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NotificationFailuresName,
			Help: "Customer notifications that could not be sent, by channel.",
		}, []string{"channel"}),
		webhookFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: WebhookFailuresName,
			Help: "Webhook deliveries that failed.",
		}),
		orders: &funcCollector[OrderCounter]{desc: prometheus.NewDesc(OrdersName,
			"Orders in the read model by status, counted in PostgreSQL at scrape time.", []string{"status"}, nil)},
		backlog: &funcCollector[func(context.Context) (int64, error)]{desc: prometheus.NewDesc(WebhookBacklogName,
			"Webhook deliveries waiting to be made, read at scrape time.", nil, nil)},
	}
	m.orders.collect = collectOrders
	m.backlog.collect = collectBacklog
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.transitions, m.curbsideWait, m.adapterRequests, m.adapterSeconds, m.notificationFailures, m.webhookFailures, m.orders, m.backlog,
	)

	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			log.Warn("temporal sdk metric not registered", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sdktally.PrometheusSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, reportInterval)
	m.scope = closer
	m.temporal = sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope))
	return m
}

// Registry is the Prometheus registry, for tests and for registering further
// collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// Handler serves the registry in the Prometheus exposition format. A
// collector that fails (PostgreSQL unreachable) is logged and left out; the
// other metrics are still served.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return nil
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      errorLog{m.log},
	})
}

// TemporalHandler is the Temporal SDK metrics handler to set as
// client.Options.MetricsHandler; the client's workers inherit it. It is
// client.MetricsNopHandler on a nil *Metrics.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return m.temporal
}

// CountOrders makes omni_orders read the orders by status from src at each
// scrape. Until it is called, or after it is called with nil, the gauge is
// not exported.
func (m *Metrics) CountOrders(src OrderCounter) {
	if m == nil {
		return
	}
	m.orders.set(src, src != nil)
}

// SetWebhookBacklog makes omni_webhook_backlog read the number of webhook
// deliveries waiting from backlog at each scrape (within ScrapeTimeout).
// Until it is called, or after it is called with nil, the gauge is not
// exported.
func (m *Metrics) SetWebhookBacklog(backlog func(ctx context.Context) (int64, error)) {
	if m == nil {
		return
	}
	m.backlog.set(backlog, backlog != nil)
}

// NotificationFailed counts one customer notification on channel ("email",
// "sms", …) that could not be sent.
func (m *Metrics) NotificationFailed(channel string) {
	if m == nil {
		return
	}
	m.notificationFailures.WithLabelValues(channel).Inc()
}

// WebhookFailed counts one failed webhook delivery.
func (m *Metrics) WebhookFailed() {
	if m == nil {
		return
	}
	m.webhookFailures.Inc()
}

// ObserveTransition records that an order reached status to after d since it
// was created. The Projector calls it; a negative d counts as zero.
func (m *Metrics) ObserveTransition(to order.Status, d time.Duration) {
	if m == nil {
		return
	}
	m.transitions.WithLabelValues(string(to)).Observe(max(d, 0).Seconds())
}

// Close flushes the SDK metrics once more and stops their reporting loop.
func (m *Metrics) Close() error {
	if m == nil {
		return nil
	}
	var err error
	m.closeMu.Do(func() { err = m.scope.Close() })
	return err
}

// statuses are the contract's order statuses: omni_orders exports a zero for
// those without orders, so their series do not vanish.
var statuses = []order.Status{
	order.StatusPlaced, order.StatusAwaitingPick, order.StatusReadyForCollection, order.StatusPartiallyCollected,
	order.StatusCollected, order.StatusPartiallyReturned, order.StatusReturned, order.StatusCancelled,
	order.StatusExpired, order.StatusRejected,
}

func collectOrders(ctx context.Context, desc *prometheus.Desc, src OrderCounter, ch chan<- prometheus.Metric) {
	counts, err := src.OrderCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(desc, err)
		return
	}
	for _, s := range statuses {
		if _, ok := counts[string(s)]; !ok {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 0, string(s))
		}
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), s)
	}
}

func collectBacklog(ctx context.Context, desc *prometheus.Desc, backlog func(context.Context) (int64, error),
	ch chan<- prometheus.Metric,
) {
	n, err := backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n))
}

// funcCollector exports one metric family read from a source at scrape time;
// it exports nothing until the source is set.
type funcCollector[S any] struct {
	desc    *prometheus.Desc
	collect func(ctx context.Context, desc *prometheus.Desc, src S, ch chan<- prometheus.Metric)

	mu  sync.Mutex
	src S
	ok  bool
}

func (c *funcCollector[S]) set(src S, ok bool) {
	c.mu.Lock()
	c.src, c.ok = src, ok
	c.mu.Unlock()
}

func (c *funcCollector[S]) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *funcCollector[S]) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	src, ok := c.src, c.ok
	c.mu.Unlock()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	c.collect(ctx, c.desc, src, ch)
}

// errorLog adapts slog to promhttp's error logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	l.log.Warn("metrics scrape", "error", strings.TrimSpace(fmt.Sprintln(v...)))
}

// ObserveCurbsideWait records a curbside handover at store after the
// customer waited d at the car. The Projector calls it.
func (m *Metrics) ObserveCurbsideWait(store string, d time.Duration) {
	if m == nil {
		return
	}
	m.curbsideWait.WithLabelValues(store).Observe(max(d, 0).Seconds())
}

// ObserveAdapterCall counts one call to a retailer's system (httpx.Observer).
func (m *Metrics) ObserveAdapterCall(system, operation, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.adapterRequests.WithLabelValues(system, operation, outcome).Inc()
	m.adapterSeconds.WithLabelValues(system, operation).Observe(d.Seconds())
}
