-- Failed notification attempts: each provider refusal or outage, kept so the
-- contact centre can see why a customer was not reached. Successful sends stay
-- in notifications, which is also the idempotency ledger (one row per key).
create table notification_failures (
    id         bigserial primary key,
    order_id   text not null,
    step_key   text not null,
    template   text not null,
    channel    text not null,
    recipient  text not null,
    data       jsonb not null,
    error      text not null,
    created_at timestamptz not null default now()
);
create index notification_failures_order on notification_failures (order_id);
