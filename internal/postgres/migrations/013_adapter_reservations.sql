-- The reservations a retailer's inventory service issued for orders
-- (inventory.url set: the HTTP inventory adapter). A release or commit names
-- only the order and the location; this book names the reservations to send
-- it to. lines are what each reservation held when it was made.
create table adapter_reservations (
    seq            bigint generated always as identity,
    order_id       text not null,
    location_id    text not null,
    reservation_id text not null,
    lines          jsonb not null,
    created_at     timestamptz not null default now(),
    -- Two franchise systems may issue the same id: unique per location.
    primary key (location_id, reservation_id)
);
create index adapter_reservations_order on adapter_reservations (order_id, location_id, seq);
