-- Store analytics (GET /v1/analytics/stores, internal/postgres/analytics.go).
-- Reading every order and its events for a month takes seconds (13.5 s for a
-- month of a 500-store retailer, docs/benchmarks.md), so each order's figures
-- are kept in one row, recomputed from the order's own events by a trigger in
-- the transaction that writes them (the projection, PlaceOrder): the events
-- stay the truth, and a projection that rewrites or forgets events (a
-- workflow task run again) recomputes the row too.
create table order_analytics (
    order_id      text primary key references orders (id),
    created_at    timestamptz not null,  -- the placed event's time
    -- Grouped by: byte order ("C") sorts several times faster than a language's.
    channel       text collate "C" not null, -- the placed event's channel
    currency      text collate "C" not null,
    store_id      text collate "C" not null,         -- collection store: the last reassignment's, else the placed one ('' for a ship order)
    ready_seconds double precision,      -- from placing to the first ready_for_collection
    expired       boolean not null,
    collected     boolean not null,      -- in full or in part
    returned      boolean not null,
    refunded      bigint not null,       -- sum of payment_refunded amounts
    exchanges     int not null
);
create index order_analytics_created_at on order_analytics (created_at);

-- Pick failures are attributed to the store the event names: read from the
-- (few) events themselves.
create index order_events_pick_failures on order_events (at) include (order_id)
    where type in ('pick_overdue', 'pick_escalated', 'reassigned');

create function order_analytics_refresh(oid text) returns void language sql as $$
    insert into order_analytics as a (order_id, created_at, channel, currency, store_id, ready_seconds,
        expired, collected, returned, refunded, exchanges)
    select oid,
        min(at) filter (where type = 'placed'),
        min(channel) filter (where type = 'placed'),
        coalesce(min(data->>'currency') filter (where type = 'placed'), ''),
        coalesce((array_agg(data->>'store_id' order by seq desc) filter (where type = 'reassigned'))[1],
            min(data->>'store_id') filter (where type = 'placed'), ''),
        extract(epoch from min(at) filter (where type = 'ready_for_collection') - min(at) filter (where type = 'placed')),
        coalesce(bool_or(type = 'expired'), false),
        coalesce(bool_or(type = 'collected'), false),
        coalesce(bool_or(type = 'returned'), false),
        coalesce(sum((data->>'amount')::bigint) filter (where type = 'payment_refunded'), 0),
        count(*) filter (where type = 'exchanged')
    from order_events where order_id = oid
    having count(*) filter (where type = 'placed') > 0
    on conflict (order_id) do update set created_at = excluded.created_at, channel = excluded.channel,
        currency = excluded.currency, store_id = excluded.store_id, ready_seconds = excluded.ready_seconds,
        expired = excluded.expired, collected = excluded.collected, returned = excluded.returned,
        refunded = excluded.refunded, exchanges = excluded.exchanges
$$;

create function order_analytics_event() returns trigger language plpgsql as $$
begin
    perform order_analytics_refresh(case when tg_op = 'DELETE' then old.order_id else new.order_id end);
    return null;
end
$$;

create trigger order_analytics_insert after insert on order_events for each row
    when (new.type in ('placed', 'reassigned', 'ready_for_collection', 'expired', 'collected', 'returned',
        'payment_refunded', 'exchanged'))
    execute function order_analytics_event();
create trigger order_analytics_update after update on order_events for each row
    when (old.type in ('placed', 'reassigned', 'ready_for_collection', 'expired', 'collected', 'returned',
        'payment_refunded', 'exchanged')
        or new.type in ('placed', 'reassigned', 'ready_for_collection', 'expired', 'collected', 'returned',
        'payment_refunded', 'exchanged'))
    execute function order_analytics_event();
create trigger order_analytics_delete after delete on order_events for each row
    when (old.type in ('placed', 'reassigned', 'ready_for_collection', 'expired', 'collected', 'returned',
        'payment_refunded', 'exchanged'))
    execute function order_analytics_event();

-- Orders placed before this migration.
-- order_analytics_rebuild fills order_analytics from the events (the
-- backfill here, and the seeding of `omni bench -seed-orders`).
create or replace function order_analytics_rebuild() returns void language sql as $$
insert into order_analytics (order_id, created_at, channel, currency, store_id, ready_seconds,
    expired, collected, returned, refunded, exchanges)
select order_id,
    min(at) filter (where type = 'placed'),
    min(channel) filter (where type = 'placed'),
    coalesce(min(data->>'currency') filter (where type = 'placed'), ''),
    coalesce((array_agg(data->>'store_id' order by seq desc) filter (where type = 'reassigned'))[1],
        min(data->>'store_id') filter (where type = 'placed'), ''),
    extract(epoch from min(at) filter (where type = 'ready_for_collection') - min(at) filter (where type = 'placed')),
    coalesce(bool_or(type = 'expired'), false),
    coalesce(bool_or(type = 'collected'), false),
    coalesce(bool_or(type = 'returned'), false),
    coalesce(sum((data->>'amount')::bigint) filter (where type = 'payment_refunded'), 0),
    count(*) filter (where type = 'exchanged')
from order_events
group by order_id
having count(*) filter (where type = 'placed') > 0
$$;
select order_analytics_rebuild();
