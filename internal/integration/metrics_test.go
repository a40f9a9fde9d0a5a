package integration

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMetricsEndpoint places an order and scrapes GET /metrics as Prometheus
// would: Omni's own metrics (orders by status from PostgreSQL, the transition
// the worker projected) and the Temporal SDK's client and worker metrics.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody("", store, line(sku, 1, 1200)))
	c.waitStatus(id, "awaiting_pick")

	// Each metric must have a series of at least min; the SDK's counters and
	// gauges reach the registry once a second.
	wants := []struct {
		name string
		re   *regexp.Regexp
		min  float64
	}{
		{"this order awaiting pick", regexp.MustCompile(`(?m)^omni_orders\{status="awaiting_pick"\} (\S+)$`), 1},
		{"the transition to awaiting_pick", regexp.MustCompile(`(?m)^omni_order_transition_seconds_count\{to="awaiting_pick"\} (\S+)$`), 1},
		{"webhook failures", regexp.MustCompile(`(?m)^omni_webhook_failures_total (\S+)$`), 0},
		{"SDK requests", regexp.MustCompile(`(?m)^temporal_request_total\{[^}]*operation="StartWorkflowExecution"[^}]*\} (\S+)$`), 1},
		{"SDK workflow task latencies", regexp.MustCompile(`(?m)^temporal_workflow_task_execution_latency_seconds_count\{[^}]*\} (\S+)$`), 1},
		{"SDK worker slots", regexp.MustCompile(`(?m)^temporal_worker_task_slots_available\{[^}]*\} (\S+)$`), 1},
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := c.do(http.MethodGet, "/metrics", nil)
		require.Equal(t, http.StatusOK, r.Status, "GET /metrics: %s", r.Body)
		require.Contains(t, r.Header.Get("Content-Type"), "text/plain")
		body := string(r.Body)
		missing := ""
		for _, w := range wants {
			if !hasSeries(body, w.re, w.min) {
				missing = w.name
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /metrics has no series for %s:\n%s", missing, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hasSeries reports whether body has a sample that re matches (its first
// group is the value) of at least min.
func hasSeries(body string, re *regexp.Regexp, min float64) bool {
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil && v >= min {
			return true
		}
	}
	return false
}
