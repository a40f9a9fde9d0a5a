-- Returns and exchanges taken at store counters, and stock written off.

create table returns (
    id         text primary key,
    order_id   text not null references orders (id),
    store_id   text not null references stores (id),
    kind       text not null check (kind in ('return', 'exchange')),
    lines      jsonb not null,
    new_lines  jsonb not null default '[]',
    refund     bigint not null default 0 check (refund >= 0),
    charge     bigint not null default 0 check (charge >= 0),
    created_at timestamptz not null default now()
);
create index returns_order on returns (order_id);

-- Damaged goods taken back: never sold again, kept for the store's shrinkage report.
create table write_offs (
    id        bigserial primary key,
    store_id  text not null references stores (id),
    sku       text not null,
    quantity  bigint not null check (quantity > 0),
    order_id  text not null,
    reason    text not null,
    step_key  text not null,
    at        timestamptz not null default now(),
    unique (step_key, sku)
);
