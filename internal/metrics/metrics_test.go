package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/metrics"
	"github.com/omni-retail/omni/internal/order"
)

// family gathers m's registry and returns the named family, or nil.
func family(t *testing.T, m *metrics.Metrics, name string) *dto.MetricFamily {
	t.Helper()
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// labelled returns the series of f whose label key has value, or nil.
func labelled(f *dto.MetricFamily, key, value string) *dto.Metric {
	if f == nil {
		return nil
	}
	for _, s := range f.GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == key && l.GetValue() == value {
				return s
			}
		}
	}
	return nil
}

// scrape GETs the handler as Prometheus would and returns the body.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(body)
}

type counts struct {
	n     map[string]int64
	err   error
	calls int
}

func (c *counts) OrderCounts(context.Context) (map[string]int64, error) {
	c.calls++
	return c.n, c.err
}

func TestOrdersGaugeCountsAtScrapeTime(t *testing.T) {
	m := metrics.New(nil)
	defer m.Close()
	require.Nil(t, family(t, m, metrics.OrdersName), "no source yet: nothing exported")

	src := &counts{n: map[string]int64{"awaiting_pick": 3, "collected": 1}}
	m.CountOrders(src)
	f := family(t, m, metrics.OrdersName)
	require.NotNil(t, f)
	require.Equal(t, dto.MetricType_GAUGE, f.GetType())
	require.Equal(t, 3.0, labelled(f, "status", "awaiting_pick").GetGauge().GetValue())
	require.Equal(t, 1.0, labelled(f, "status", "collected").GetGauge().GetValue())
	require.NotNil(t, labelled(f, "status", "placed"), "statuses without orders are exported as zero")
	require.Equal(t, 0.0, labelled(f, "status", "placed").GetGauge().GetValue())
	require.Len(t, f.GetMetric(), 10, "one series per contract status")
	require.Equal(t, 1, src.calls, "one query per scrape")

	src.n = map[string]int64{"awaiting_pick": 5}
	require.Contains(t, scrape(t, m), `omni_orders{status="awaiting_pick"} 5`)
}

func TestOrdersGaugeFailureKeepsTheRestOfTheScrape(t *testing.T) {
	m := metrics.New(nil)
	defer m.Close()
	m.CountOrders(&counts{err: errors.New("connection refused")})
	m.WebhookFailed()
	body := scrape(t, m)
	require.NotContains(t, body, "omni_orders{")
	require.Contains(t, body, "omni_webhook_failures_total 1")
	require.Contains(t, body, "go_goroutines")
}

func TestFailureCountersAndBacklog(t *testing.T) {
	m := metrics.New(nil)
	defer m.Close()
	m.NotificationFailed("email")
	m.NotificationFailed("email")
	m.NotificationFailed("sms")
	m.WebhookFailed()
	require.Nil(t, family(t, m, metrics.WebhookBacklogName), "no backlog source yet")
	m.SetWebhookBacklog(func(ctx context.Context) (int64, error) {
		_, ok := ctx.Deadline()
		require.True(t, ok, "the backlog read is bounded")
		return 7, nil
	})

	f := family(t, m, metrics.NotificationFailuresName)
	require.Equal(t, dto.MetricType_COUNTER, f.GetType())
	require.Equal(t, 2.0, labelled(f, "channel", "email").GetCounter().GetValue())
	require.Equal(t, 1.0, labelled(f, "channel", "sms").GetCounter().GetValue())
	require.Equal(t, 1.0, family(t, m, metrics.WebhookFailuresName).GetMetric()[0].GetCounter().GetValue())
	require.Equal(t, 7.0, family(t, m, metrics.WebhookBacklogName).GetMetric()[0].GetGauge().GetValue())

	m.SetWebhookBacklog(nil)
	require.Nil(t, family(t, m, metrics.WebhookBacklogName), "a nil source stops the gauge")
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *metrics.Metrics
	m.NotificationFailed("email")
	m.WebhookFailed()
	m.SetWebhookBacklog(func(context.Context) (int64, error) { return 1, nil })
	m.CountOrders(&counts{})
	m.ObserveTransition(order.StatusCollected, time.Second)
	require.NotNil(t, m.TemporalHandler())
	require.Nil(t, m.Handler())
	require.NoError(t, m.Close())
}

func TestTemporalSDKMetricsReachTheRegistry(t *testing.T) {
	m := metrics.New(nil)
	h := m.TemporalHandler().WithTags(map[string]string{"namespace": "default", "operation": "StartWorkflowExecution"})
	h.Counter("temporal_request").Inc(2)
	h.Timer("temporal_request_latency").Record(30 * time.Millisecond)
	h.Gauge("temporal_num_pollers").Update(3)
	require.NoError(t, m.Close(), "close flushes the last report")

	body := scrape(t, m)
	require.Contains(t, body, `temporal_request_total{namespace="default",operation="StartWorkflowExecution"} 2`)
	require.Contains(t, body, "# TYPE temporal_request_latency_seconds histogram")
	require.Contains(t, body, `temporal_num_pollers{namespace="default",operation="StartWorkflowExecution"} 3`)
}

// store is an in-memory read model with PostgreSQL's projection rule: a
// snapshot not newer than the stored one changes nothing.
type store struct {
	mu        sync.Mutex
	orders    map[string]order.Order
	projErr   error
	projected int
}

func (s *store) Project(_ context.Context, o order.Order, _ []order.Event, _ int64) (order.Status, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.projErr != nil {
		return "", false, s.projErr
	}
	s.projected++
	cur, ok := s.orders[o.ID]
	if !ok || cur.Version >= o.Version {
		return "", false, nil
	}
	s.orders[o.ID] = o
	return cur.Status, true, nil
}

// transitions returns the count and sum of omni_order_transition_seconds{to}.
func transitions(t *testing.T, m *metrics.Metrics, to order.Status) (uint64, float64) {
	t.Helper()
	s := labelled(family(t, m, metrics.TransitionName), "to", string(to))
	if s == nil {
		return 0, 0
	}
	return s.GetHistogram().GetSampleCount(), s.GetHistogram().GetSampleSum()
}

func TestProjectorObservesEachStatusChangeOnce(t *testing.T) {
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	placed := order.Order{ID: "o-1", Status: order.StatusPlaced, Version: 1, CreatedAt: created, UpdatedAt: created}
	db := &store{orders: map[string]order.Order{"o-1": placed}}
	m := metrics.New(nil)
	defer m.Close()
	p := metrics.NewProjector(db, m)
	ctx := context.Background()

	snap := func(status order.Status, version int64, after time.Duration) order.Order {
		o := placed
		o.Status, o.Version, o.UpdatedAt = status, version, created.Add(after)
		return o
	}

	// placed → awaiting_pick.
	require.NoError(t, p.Project(ctx, snap(order.StatusAwaitingPick, 2, 2*time.Second), nil, 0))
	n, sum := transitions(t, m, order.StatusAwaitingPick)
	require.Equal(t, uint64(1), n)
	require.InDelta(t, 2.0, sum, 1e-9)

	// A retried projection of the same snapshot observes nothing.
	require.NoError(t, p.Project(ctx, snap(order.StatusAwaitingPick, 2, 2*time.Second), nil, 0))
	n, _ = transitions(t, m, order.StatusAwaitingPick)
	require.Equal(t, uint64(1), n)

	// A projection that keeps the status (a new event only) observes nothing.
	require.NoError(t, p.Project(ctx, snap(order.StatusAwaitingPick, 3, time.Minute), nil, 0))
	n, _ = transitions(t, m, order.StatusAwaitingPick)
	require.Equal(t, uint64(1), n)

	// awaiting_pick → ready_for_collection.
	require.NoError(t, p.Project(ctx, snap(order.StatusReadyForCollection, 4, 10*time.Minute), nil, 0))
	n, sum = transitions(t, m, order.StatusReadyForCollection)
	require.Equal(t, uint64(1), n)
	require.InDelta(t, 600.0, sum, 1e-9)

	// Another worker's projector sees the next change through the store too,
	// and a stale snapshot is no transition.
	other := metrics.NewProjector(db, m)
	require.NoError(t, other.Project(ctx, snap(order.StatusAwaitingPick, 3, time.Minute), nil, 0))
	n, _ = transitions(t, m, order.StatusAwaitingPick)
	require.Equal(t, uint64(1), n, "a stale snapshot is no transition")
	require.NoError(t, other.Project(ctx, snap(order.StatusCollected, 5, time.Hour), nil, 0))
	n, sum = transitions(t, m, order.StatusCollected)
	require.Equal(t, uint64(1), n)
	require.InDelta(t, 3600.0, sum, 1e-9)

	require.Equal(t, order.StatusCollected, db.orders["o-1"].Status, "every projection is written through")
	require.Equal(t, 6, db.projected)
}

func TestProjectorFailuresAndNoMetrics(t *testing.T) {
	created := time.Now().Add(-time.Minute)
	o := order.Order{ID: "o-2", Status: order.StatusPlaced, Version: 1, CreatedAt: created, UpdatedAt: created}
	db := &store{orders: map[string]order.Order{"o-2": o}}
	m := metrics.New(nil)
	defer m.Close()
	p := metrics.NewProjector(db, m)

	db.projErr = errors.New("deadlock detected")
	o.Status, o.Version = order.StatusExpired, 2
	require.ErrorIs(t, p.Project(context.Background(), o, nil, 0), db.projErr)
	n, _ := transitions(t, m, order.StatusExpired)
	require.Zero(t, n, "a failed projection is no transition")

	// Without metrics the projector only writes through.
	db.projErr = nil
	plain := metrics.NewProjector(db, nil)
	require.NoError(t, plain.Project(context.Background(), o, nil, 0))
	require.Equal(t, order.StatusExpired, db.orders["o-2"].Status)
}

func TestExpositionNames(t *testing.T) {
	m := metrics.New(nil)
	defer m.Close()
	m.CountOrders(&counts{n: map[string]int64{}})
	m.ObserveTransition(order.StatusAwaitingPick, 1500*time.Millisecond)
	m.NotificationFailed("email")
	m.WebhookFailed()
	m.SetWebhookBacklog(func(context.Context) (int64, error) { return 0, nil })
	body := scrape(t, m)
	for _, want := range []string{
		"# TYPE omni_orders gauge",
		"# TYPE omni_order_transition_seconds histogram",
		`omni_order_transition_seconds_bucket{to="awaiting_pick",le="5"} 1`,
		"# TYPE omni_notification_failures_total counter",
		"# TYPE omni_webhook_failures_total counter",
		"# TYPE omni_webhook_backlog gauge",
	} {
		require.True(t, strings.Contains(body, want), "missing %q in\n%s", want, body)
	}
}
