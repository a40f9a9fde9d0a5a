-- The customer in the read model (issue 14), kept by the projection from the
-- orders: never a second source of truth. An order's customer is its
-- customer.id when the checkout gave one; a guest order (no id) joins the
-- customer with the same normalised email, else becomes a guest customer
-- "guest-" + the first 16 hex digits of sha256(email) (or of the phone when
-- there is no email).

-- Which customer each order is of, with the contact details the order gave.
create table customer_orders (
    order_id    text primary key references orders (id),
    customer_id text not null,
    placed_by   text not null default '',
    email       text not null default '', -- lower-cased, trimmed
    phone       text not null default '', -- E.164, as orders store it
    name        text not null default '',
    created_at  timestamptz not null
);
create index customer_orders_customer on customer_orders (customer_id, created_at desc);
create index customer_orders_email on customer_orders (email) where email <> '';
create index customer_orders_phone on customer_orders (phone) where phone <> '';

-- The customer: details of the latest order, and counts over all of them.
-- Open orders are those not yet handed over and not ended.
create table customers (
    id               text primary key,
    email            text not null default '',
    phone            text not null default '',
    name             text not null default '',
    first_order_at   timestamptz not null,
    last_order_at    timestamptz not null,
    order_count      int not null default 0,
    open_order_count int not null default 0,
    updated_at       timestamptz not null default now()
);
create index customers_email on customers (email) where email <> '';
create index customers_phone on customers (phone) where phone <> '';
create index customers_name_prefix on customers (lower(name) text_pattern_ops);

-- Substring search on names, where pg_trgm can be had.
do $$
begin
    if exists (select 1 from pg_available_extensions where name = 'pg_trgm') then
        begin
            create extension if not exists pg_trgm;
            execute 'create index customers_name_trgm on customers using gin (lower(name) gin_trgm_ops)';
        exception when insufficient_privilege then
            raise notice 'pg_trgm not installed (insufficient privilege): name search uses the prefix index';
        end;
    end if;
end
$$;

-- Calls, chats, emails, social messages and store visits, logged by the
-- contact centre (or a store) against the customer, optionally about one order.
create table customer_interactions (
    id            text primary key,
    customer_id   text not null references customers (id),
    order_id      text references orders (id),
    channel       text not null check (channel in ('phone', 'chat', 'email', 'social', 'store')),
    summary       text not null,
    outcome       text not null default '',
    actor         text not null,
    actor_channel text not null,
    at            timestamptz not null default now()
);
create index customer_interactions_customer on customer_interactions (customer_id, at desc, id desc);

-- Backfill from the orders already stored, oldest first so that a guest order
-- joins a customer with the same email who ordered before it.
insert into customer_orders (order_id, customer_id, placed_by, email, phone, name, created_at)
select o.id,
    coalesce(nullif(o.doc->'customer'->>'id', ''),
        (select nullif(o2.doc->'customer'->>'id', '') from orders o2
            where lower(btrim(o2.doc->'customer'->>'email')) = lower(btrim(o.doc->'customer'->>'email'))
                and lower(btrim(o.doc->'customer'->>'email')) <> ''
                and nullif(o2.doc->'customer'->>'id', '') is not null
            order by o2.created_at limit 1),
        'guest-' || left(encode(sha256(convert_to(coalesce(nullif(lower(btrim(o.doc->'customer'->>'email')), ''),
            o.doc->'customer'->>'phone', ''), 'UTF8')), 'hex'), 16)),
    o.placed_by, coalesce(lower(btrim(o.doc->'customer'->>'email')), ''), coalesce(o.doc->'customer'->>'phone', ''),
    coalesce(btrim(o.doc->'customer'->>'name'), ''), o.created_at
from orders o
where coalesce(o.doc->'customer'->>'id', '') <> '' or coalesce(o.doc->'customer'->>'email', '') <> ''
    or coalesce(o.doc->'customer'->>'phone', '') <> '';

-- customers_rebuild fills customers from customer_orders (the backfill here,
-- and the seeding of `omni bench -seed-orders`).
create or replace function customers_rebuild() returns void language sql as $$
insert into customers (id, email, phone, name, first_order_at, last_order_at, order_count, open_order_count)
select co.customer_id,
    coalesce((array_agg(co.email order by co.created_at desc) filter (where co.email <> ''))[1], ''),
    coalesce((array_agg(co.phone order by co.created_at desc) filter (where co.phone <> ''))[1], ''),
    coalesce((array_agg(co.name order by co.created_at desc) filter (where co.name <> ''))[1], ''),
    min(co.created_at), max(co.created_at), count(*),
    count(*) filter (where o.status not in ('collected', 'partially_returned', 'returned', 'cancelled', 'expired',
        'rejected', 'delivered', 'returned_to_sender'))
from customer_orders co join orders o on o.id = co.order_id
group by co.customer_id
$$;
select customers_rebuild();
