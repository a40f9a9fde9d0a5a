package reference

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/postgres"
)

// schema is the reference server's own tables, beside the built-in ledgers
// of its database: which reservation is which order's lines at which
// location, its store task list, and the adjustments it was asked for.
const schema = `
create table if not exists reference_reservations (
    reservation_id  text primary key,
    idempotency_key text not null unique,
    order_id        text not null,
    location_id     text not null,
    lines           jsonb not null,
    created_at      timestamptz not null default now()
);
create index if not exists reference_reservations_order on reference_reservations (order_id);

create table if not exists reference_pick_tasks (
    task_id         text primary key,
    idempotency_key text not null unique,
    order_id        text not null,
    order_number    text not null default '',
    location_id     text not null,
    lines           jsonb not null,
    due_by          timestamptz,
    status          text not null,
    reason          text not null default '',
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
create index if not exists reference_pick_tasks_order on reference_pick_tasks (order_id);

create table if not exists reference_adjustments (
    idempotency_key text primary key,
    location_id     text not null,
    order_id        text not null,
    sku             text not null,
    quantity        bigint not null,
    reason          text not null,
    at              timestamptz not null default now()
);
create index if not exists reference_adjustments_order on reference_adjustments (order_id);
`

// Migrate creates the reference server's own tables in db (already migrated
// with postgres.Migrate). It is safe to run again and from processes
// starting together.
func Migrate(ctx context.Context, db *postgres.DB) error {
	err := pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock(hashtextextended('omni-reference-schema', 0))"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return fmt.Errorf("reference: create tables: %w", err)
	}
	return nil
}
