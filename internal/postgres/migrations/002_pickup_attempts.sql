-- Wrong pickup codes tried at a counter, per order: five within the lockout
-- window refuse further attempts (a guessable code is theft).
create table pickup_code_failures (
    order_id text not null,
    store_id text not null,
    at       timestamptz not null default now()
);
create index pickup_code_failures_order on pickup_code_failures (order_id, at);
