// Package metrics is Omni's Prometheus instrumentation: one registry per
// process, served by the API at GET /metrics in the Prometheus text exposition
// format. It holds
//
//   - the Temporal Go SDK's client and worker metrics (temporal_request_total,
//     temporal_workflow_task_execution_latency_seconds, temporal_activity_*,
//     temporal_worker_task_slots_available, …), reported through the SDK's
//     tally integration into the same registry: set TemporalHandler as
//     client.Options.MetricsHandler when dialling Temporal. Counters and
//     timers follow OpenMetrics naming (_total, _seconds; timers are
//     histograms), counters and gauges reach the registry once a second, and
//     label values are sanitized to [A-Za-z0-9_] as the SDK's Prometheus
//     options do (task queue omni-orders is exported as omni_orders);
//   - omni_orders{status}: the orders in the read model by status, counted in
//     PostgreSQL with one query at each scrape (CountOrders), with a zero for
//     every contract status that has no orders;
//   - omni_order_transition_seconds{to}: a histogram of the time from an
//     order's creation to its reaching the status `to`, observed once per
//     status change by the Projector wrapper the worker installs in front of
//     the read model's projection (the store reports the status before, in
//     the statement that writes the snapshot);
//   - omni_notification_failures_total{channel}: customer notifications that
//     could not be sent (NotificationFailed);
//   - omni_webhook_failures_total: webhook deliveries that failed (WebhookFailed);
//   - omni_webhook_backlog: webhook deliveries waiting to be made, read at each
//     scrape from the function given to SetWebhookBacklog;
//   - the Go runtime's and the process's standard go_* and process_* metrics.
//
// # Wiring
//
// internal/app builds one Metrics per process with New, passes
// TemporalHandler to the Temporal client, wraps the PostgreSQL projector with
// NewProjector in the worker, calls CountOrders once the database is open, and
// gives Handler to the API (api.Options.Metrics), which serves it at
// GET /metrics. Close stops the SDK metrics' reporting loop.
//
// Only a process that runs the API serves /metrics. `omni dev` runs the API and
// the worker in one process, so everything above is exposed; `omni serve`
// exposes the API process's own metrics (orders by status, the SDK's client
// metrics); a process started as `omni worker` collects its SDK worker metrics,
// transition latencies and failure counters but serves no HTTP, so they are not
// exposed.
//
// # For notification and webhook code
//
// A *Metrics is safe for concurrent use, and every method is a no-op on a nil
// *Metrics, so code may hold an optional one and call it without checks:
//
//	// after a notification could not be sent (each failed attempt counts):
//	m.NotificationFailed(n.Channel) // "email", "sms", …
//
//	// after a webhook delivery attempt failed:
//	m.WebhookFailed()
//
//	// once, at wiring time: how many deliveries are waiting, read at scrape time
//	m.SetWebhookBacklog(func(ctx context.Context) (int64, error) {
//		return db.WebhookBacklog(ctx) // e.g. select count(*) of undelivered outbox rows
//	})
//
// Label values should come from a small fixed set (channel names), never from
// order ids or error text, to keep the number of series bounded.
package metrics
