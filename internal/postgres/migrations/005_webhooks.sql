-- Webhooks: other systems subscribe to the order events of the outbox, and
-- the webhook dispatcher (internal/webhooks) delivers each event to each
-- subscription until the receiver acknowledges it.

-- The transaction that wrote each outbox row. Outbox ids are handed out when a
-- row is inserted but become visible when its transaction commits, so a row
-- with a lower id can appear after one with a higher id: a cursor on ids would
-- skip it. A cursor on transaction ids cannot: every transaction older than a
-- snapshot's xmin has finished, so once the dispatcher has fanned out the rows
-- of the transactions below some xmin, no row below it can appear any more.
-- Rows written before this migration have none: no subscription predates them.
alter table outbox add column xid xid8;
alter table outbox alter column xid set default pg_current_xact_id();
create index outbox_xid on outbox (xid);

-- Who wants which events. The secret signs every delivery; it is shown to the
-- admin who creates the subscription, once.
create table webhook_subscriptions (
    id          text primary key,
    url         text not null,
    secret      text not null,
    event_types text[] not null default '{}', -- empty: every event
    active      boolean not null default true,
    created_at  timestamptz not null default now(),
    -- Every outbox row of a transaction below this has been turned into a
    -- delivery (or was written before the subscription existed).
    fanned_out_below xid8 not null default pg_snapshot_xmin(pg_current_snapshot())
);

-- One event for one subscription, and how its delivery goes.
create table webhook_deliveries (
    subscription_id  text not null references webhook_subscriptions (id),
    outbox_id        bigint not null references outbox (id),
    event_id         text not null, -- the webhook-id header: evt_<order id>_<seq>
    status           text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts         int not null default 0,
    -- When a pending delivery is next due; while an attempt is in flight, when
    -- it may be taken over should its process have died.
    next_attempt_at  timestamptz not null default now(),
    first_attempt_at timestamptz,
    last_attempt_at  timestamptz,
    last_status      int, -- the receiver's HTTP status, if it answered
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz not null default now(),
    primary key (subscription_id, outbox_id)
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
