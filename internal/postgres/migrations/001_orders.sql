-- Omni's first schema: the order read model, the idempotency record of the
-- checkout's POSTs, and the built-in store, inventory, payment and notification
-- ledgers behind the activities.

create table stores (
    id         text primary key,
    name       text not null,
    created_at timestamptz not null default now()
);

create sequence order_number_seq start 100001;

-- The order as every channel sees it: the workflow's latest snapshot.
create table orders (
    id               text primary key,
    number           text not null unique,
    status           text not null,
    store_id         text not null references stores (id),
    customer_email   text not null,
    doc              json not null, -- served to clients byte for byte
    version          bigint not null,
    workflow_started boolean not null default false,
    created_at       timestamptz not null,
    updated_at       timestamptz not null
);
create index orders_store_queue on orders (store_id, status, created_at);
create index orders_unstarted on orders (created_at) where not workflow_started;

-- The timeline.
create table order_events (
    order_id text not null references orders (id),
    seq      bigint not null,
    type     text not null,
    at       timestamptz not null,
    channel  text not null,
    actor    text not null,
    data     jsonb not null,
    primary key (order_id, seq)
);

-- Events waiting to be delivered to other systems, written in the same
-- transaction as the projection that produced them.
create table outbox (
    id         bigserial primary key,
    order_id   text not null,
    seq        bigint not null,
    type       text not null,
    payload    jsonb not null,
    created_at timestamptz not null default now(),
    unique (order_id, seq)
);

-- What POST /v1/orders answered for each Idempotency-Key.
create table idempotency_keys (
    key          text primary key,
    request_hash bytea not null,
    order_id     text not null,
    status_code  int not null,
    response     jsonb not null,
    created_at   timestamptz not null default now()
);

-- Inventory ledger: one row per store and SKU.
create table stock (
    store_id   text not null references stores (id),
    sku        text not null,
    on_hand    bigint not null default 0 check (on_hand >= 0),
    reserved   bigint not null default 0 check (reserved >= 0),
    updated_at timestamptz not null default now(),
    primary key (store_id, sku),
    check (reserved <= on_hand)
);

-- What each order holds of a store's stock.
create table reservations (
    order_id  text not null,
    store_id  text not null,
    sku       text not null,
    reserved  bigint not null check (reserved >= 0),
    committed bigint not null default 0 check (committed >= 0),
    released  bigint not null default 0 check (released >= 0),
    primary key (order_id, store_id, sku)
);

-- Every side-effecting activity step records its idempotency key here in the
-- same transaction as its effect, so a retried step does nothing twice.
create table activity_steps (
    key text primary key,
    at  timestamptz not null default now()
);

-- The built-in store pick queue.
create table pick_tasks (
    order_id   text primary key,
    store_id   text not null references stores (id),
    status     text not null,
    lines      jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index pick_tasks_open on pick_tasks (store_id, created_at) where status = 'open';

-- The built-in payment ledger.
create table payments (
    id        bigserial primary key,
    order_id  text not null,
    kind      text not null check (kind in ('authorization', 'capture', 'void', 'refund')),
    amount    bigint not null check (amount >= 0),
    currency  text not null,
    reference text not null,
    step_key  text not null unique,
    at        timestamptz not null default now()
);
create index payments_order on payments (order_id);

-- Customer notifications, as sent.
create table notifications (
    id         bigserial primary key,
    order_id   text not null,
    step_key   text not null unique,
    template   text not null,
    channel    text not null,
    recipient  text not null,
    data       jsonb not null,
    status     text not null,
    created_at timestamptz not null default now()
);
create index notifications_order on notifications (order_id);
