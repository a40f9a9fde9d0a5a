package metrics

import (
	"context"
	"time"

	"github.com/omni-retail/omni/internal/order"
)

// ProjectionStore is the read model the Projector writes through
// (postgres.DB implements it).
type ProjectionStore interface {
	// Project writes an order snapshot and its new timeline events. It
	// reports the status the order had before, and whether the snapshot was
	// applied: a snapshot older than the stored one changes nothing.
	Project(ctx context.Context, o order.Order, events []order.Event, seq int64) (previous order.Status, applied bool, err error)
}

// Projector is the worker's projector (activities.Projector): it writes
// through to a ProjectionStore and, when a projection moves an order to a new
// status, observes omni_order_transition_seconds{to} with the time from the
// order's creation to the snapshot's UpdatedAt (the workflow's time of the
// change). The store says what the status was before, in the same statement
// that writes the snapshot, so a retried or stale projection observes nothing.
type Projector struct {
	next    ProjectionStore
	metrics *Metrics
}

// NewProjector wraps next so that status changes are observed in m. With a nil
// m it only writes through.
func NewProjector(next ProjectionStore, m *Metrics) *Projector {
	return &Projector{next: next, metrics: m}
}

// Project writes the snapshot and events through, then observes the transition
// if the order's status changed.
func (p *Projector) Project(ctx context.Context, o order.Order, events []order.Event, seq int64) error {
	previous, applied, err := p.next.Project(ctx, o, events, seq)
	if err != nil {
		return err
	}
	if applied && previous != o.Status && p.metrics != nil {
		p.metrics.ObserveTransition(o.Status, o.UpdatedAt.Sub(o.CreatedAt))
		for _, e := range events {
			if wait, ok := e.Data["wait_seconds"].(float64); ok && e.Type == order.EventCollected {
				p.metrics.ObserveCurbsideWait(o.Fulfilment.StoreID, time.Duration(wait*float64(time.Second)))
			}
		}
	}
	return nil
}
