-- Home delivery. shipments is the registry that maps a carrier's shipment to
-- Omni's order and fulfilment, whichever carrier issued it: the carrier's
-- tracking callbacks name only the shipment.
create table shipments (
    shipment_id     text primary key,
    order_id        text not null,
    fulfilment_id   text not null,
    tracking_number text not null,
    tracking_url    text not null default '',
    label_url       text not null default '',
    created_at      timestamptz not null default now()
);
create index shipments_order on shipments (order_id, fulfilment_id);
create index shipments_tracking on shipments (tracking_number);

-- The built-in development carrier's own books (carrier.url empty): one row
-- per idempotency key, so that the same key answers the same shipment.
create table carrier_shipments (
    idempotency_key text primary key,
    shipment_id     text not null unique,
    tracking_number text not null unique,
    request         jsonb not null,
    -- created until the parcel is tracked: in_transit, out_for_delivery,
    -- delivered, failed_attempt, returned_to_sender.
    status          text not null default 'created',
    cancelled       boolean not null default false,
    cancel_reason   text not null default '',
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
