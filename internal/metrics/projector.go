package metrics

import (
	"context"
	"sync"

	"github.com/omni-retail/omni/internal/order"
)

// ProjectionStore is the read model the Projector writes through
// (postgres.DB implements it).
type ProjectionStore interface {
	// Project writes an order snapshot and its new timeline events; a snapshot
	// whose version is not newer than the stored one changes nothing.
	Project(ctx context.Context, o order.Order, events []order.Event) error
	// OrderStatus returns the stored status and snapshot version of an order.
	OrderStatus(ctx context.Context, id string) (order.Status, int64, error)
}

// projectorCacheSize bounds the statuses a Projector remembers; past it the
// memory is dropped and the next projection of each order reads the store.
const projectorCacheSize = 10_000

// Projector is the worker's projector (activities.Projector): it writes
// through to a ProjectionStore and, when a projection moves an order to a new
// status, observes omni_order_transition_seconds{to} with the time from the
// order's creation to the snapshot's UpdatedAt (the workflow's time of the
// change).
//
// To know the status before the projection it remembers, per order, the
// status and version it last projected; when that is not the snapshot just
// before this one (first projection in this process, another worker projected
// in between) it reads the stored status first. A retried projection (version
// not newer than the stored one) observes nothing. Failing to read the stored
// status never fails the projection: the transition is then not observed.
type Projector struct {
	next    ProjectionStore
	metrics *Metrics

	mu   sync.Mutex
	last map[string]projected
}

type projected struct {
	status  order.Status
	version int64
}

// NewProjector wraps next so that status changes are observed in m. With a nil
// m it only writes through.
func NewProjector(next ProjectionStore, m *Metrics) *Projector {
	return &Projector{next: next, metrics: m, last: map[string]projected{}}
}

// Project writes the snapshot and events through, then observes the transition
// if the order's status changed.
func (p *Projector) Project(ctx context.Context, o order.Order, events []order.Event) error {
	if p.metrics == nil {
		return p.next.Project(ctx, o, events)
	}
	prev, state := p.previous(ctx, o)
	if err := p.next.Project(ctx, o, events); err != nil {
		return err
	}
	if state == stale {
		return nil
	}
	p.remember(o)
	if state == known && prev != o.Status {
		p.metrics.ObserveTransition(o.Status, o.UpdatedAt.Sub(o.CreatedAt))
	}
	return nil
}

// What the Projector knows of the status before a snapshot.
const (
	known   = iota // the snapshot is new and the status before it is known
	stale          // the store already has this snapshot or a newer one
	unknown        // the stored status could not be read
)

// previous is the status o had before this snapshot, and what is known of it.
func (p *Projector) previous(ctx context.Context, o order.Order) (order.Status, int) {
	p.mu.Lock()
	last, ok := p.last[o.ID]
	p.mu.Unlock()
	switch {
	case ok && last.version == o.Version-1:
		return last.status, known
	case ok && last.version >= o.Version:
		return "", stale // a retry, or a snapshot the store ignores
	}
	status, version, err := p.next.OrderStatus(ctx, o.ID)
	switch {
	case err != nil:
		return "", unknown
	case version >= o.Version:
		return "", stale
	}
	return status, known
}

func (p *Projector) remember(o order.Order) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.last) >= projectorCacheSize {
		clear(p.last)
	}
	p.last[o.ID] = projected{status: o.Status, version: o.Version}
}
