package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Names of the store series, read at scrape time over the orders placed in
// the last StoreWindow (the figures of GET /v1/analytics/stores).
const (
	StoreReadySecondsName = "omni_store_ready_seconds"
	StorePickFailuresName = "omni_store_pick_failures"
)

// StoreWindow is the period the store series cover: the orders placed in it.
// The rates that need the pickup hold to end (no-show, collection, return)
// are left to GET /v1/analytics/stores: over a day they are not yet known.
const StoreWindow = 24 * time.Hour

// StoreFigures are one store's and channel's figures over a period.
type StoreFigures struct {
	StoreID, Channel string
	// ReadyP50 and ReadyP90 are the seconds from placing to ready (nil: none
	// became ready).
	ReadyP50, ReadyP90                *float64
	Breaches, Escalations, Reassigned int64
}

// StoreFiguresFunc reads the figures of the orders placed since a time
// (postgres.DB.StoreFigures).
type StoreFiguresFunc func(ctx context.Context, since time.Time) ([]StoreFigures, error)

type storeCollectors struct {
	ready, failures *funcCollector[StoreFiguresFunc]
}

// SetStoreFigures makes omni_store_ready_seconds{store_id,channel,quantile}
// and omni_store_pick_failures{store_id,channel,kind} read the last
// StoreWindow's figures from src at each scrape. Until it is called, or after
// it is called with nil, they are not exported.
func (m *Metrics) SetStoreFigures(src StoreFiguresFunc) {
	if m == nil {
		return
	}
	m.storesOnce.Do(func() {
		m.stores = &storeCollectors{
			ready: &funcCollector[StoreFiguresFunc]{desc: prometheus.NewDesc(StoreReadySecondsName,
				"Time from placing to ready for collection of the orders placed in the last 24 h, by store and channel: "+
					"quantile 0.5 and 0.9, read in PostgreSQL at scrape time.",
				[]string{"store_id", "channel", "quantile"}, nil), collect: collectStoreReady},
			failures: &funcCollector[StoreFiguresFunc]{desc: prometheus.NewDesc(StorePickFailuresName,
				"Pick deadline breaches (kind=breach), escalations and reassignments away from the store of the orders "+
					"placed in the last 24 h, by store and channel, read in PostgreSQL at scrape time.",
				[]string{"store_id", "channel", "kind"}, nil), collect: collectStoreFailures},
		}
		m.registry.MustRegister(m.stores.ready, m.stores.failures)
	})
	m.stores.ready.set(src, src != nil)
	m.stores.failures.set(src, src != nil)
}

func collectStoreReady(ctx context.Context, desc *prometheus.Desc, src StoreFiguresFunc, ch chan<- prometheus.Metric) {
	figures, err := src(ctx, time.Now().Add(-StoreWindow))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(desc, err)
		return
	}
	for _, f := range figures {
		for q, v := range map[float64]*float64{0.5: f.ReadyP50, 0.9: f.ReadyP90} {
			if v != nil {
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, *v, f.StoreID, f.Channel,
					strconv.FormatFloat(q, 'f', -1, 64))
			}
		}
	}
}

func collectStoreFailures(ctx context.Context, desc *prometheus.Desc, src StoreFiguresFunc, ch chan<- prometheus.Metric) {
	figures, err := src(ctx, time.Now().Add(-StoreWindow))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(desc, err)
		return
	}
	for _, f := range figures {
		for kind, n := range map[string]int64{"breach": f.Breaches, "escalation": f.Escalations, "reassignment": f.Reassigned} {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), f.StoreID, f.Channel, kind)
		}
	}
}
