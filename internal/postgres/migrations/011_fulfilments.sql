-- Every way an order reaches the customer. Locations are stores and
-- warehouses (a warehouse picks and ships through the store API but takes no
-- collect orders). An order involves one or more locations, one per
-- fulfilment: its store's queue is read from order_fulfilments, kept by the
-- projection with the snapshot. A ship order has no collection store.
alter table stores add column kind text not null default 'store' check (kind in ('store', 'warehouse'));

alter table orders alter column store_id drop not null;
alter table orders add column locations text[] not null default '{}';
update orders set locations = array[store_id] where store_id is not null;

create table order_fulfilments (
    order_id      text not null references orders (id),
    fulfilment_id text not null,
    type          text not null,
    location_id   text not null,
    status        text not null,
    created_at    timestamptz not null,
    primary key (order_id, fulfilment_id)
);
create index order_fulfilments_queue on order_fulfilments (location_id, status, created_at);
insert into order_fulfilments (order_id, fulfilment_id, type, location_id, status, created_at)
    select id, 'f1', 'collect', store_id, status, created_at from orders where store_id is not null;

-- A split order has a pick task at each of its locations.
alter table pick_tasks drop constraint pick_tasks_pkey;
alter table pick_tasks add primary key (order_id, store_id);
