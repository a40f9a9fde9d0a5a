package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/metrics"
)

func TestStoreSeriesReadAtScrapeTime(t *testing.T) {
	m := metrics.New(nil)
	defer m.Close()
	require.Nil(t, family(t, m, metrics.StoreReadySecondsName), "no source yet: nothing exported")

	p50, p90 := 600.0, 1500.0
	var since []time.Time
	m.SetStoreFigures(func(_ context.Context, s time.Time) ([]metrics.StoreFigures, error) {
		since = append(since, s)
		return []metrics.StoreFigures{
			{StoreID: "store-001", Channel: "web", ReadyP50: &p50, ReadyP90: &p90, Breaches: 2, Escalations: 1},
			{StoreID: "store-002", Channel: "app", Reassigned: 3}, // none ready: no quantiles
		}, nil
	})
	m.SetStoreFigures(func(_ context.Context, s time.Time) ([]metrics.StoreFigures, error) { // replaced, registered once
		since = append(since, s)
		return []metrics.StoreFigures{
			{StoreID: "store-001", Channel: "web", ReadyP50: &p50, ReadyP90: &p90, Breaches: 2, Escalations: 1},
			{StoreID: "store-002", Channel: "app", Reassigned: 3},
		}, nil
	})
	body := scrape(t, m)
	require.Contains(t, body, `omni_store_ready_seconds{channel="web",quantile="0.5",store_id="store-001"} 600`)
	require.Contains(t, body, `omni_store_ready_seconds{channel="web",quantile="0.9",store_id="store-001"} 1500`)
	require.NotContains(t, body, `omni_store_ready_seconds{channel="app"`)
	require.Contains(t, body, `omni_store_pick_failures{channel="web",kind="breach",store_id="store-001"} 2`)
	require.Contains(t, body, `omni_store_pick_failures{channel="web",kind="escalation",store_id="store-001"} 1`)
	require.Contains(t, body, `omni_store_pick_failures{channel="web",kind="reassignment",store_id="store-001"} 0`)
	require.Contains(t, body, `omni_store_pick_failures{channel="app",kind="reassignment",store_id="store-002"} 3`)
	require.Len(t, since, 2, "one read per family and scrape")
	for _, s := range since {
		require.WithinDuration(t, time.Now().Add(-metrics.StoreWindow), s, time.Minute)
	}

	m.SetStoreFigures(func(context.Context, time.Time) ([]metrics.StoreFigures, error) {
		return nil, errors.New("connection refused")
	})
	body = scrape(t, m)
	require.NotContains(t, body, "omni_store_ready_seconds{")
	require.Contains(t, body, "go_goroutines", "a failed read keeps the rest of the scrape")

	m.SetStoreFigures(nil)
	require.Nil(t, family(t, m, metrics.StorePickFailuresName))
}
