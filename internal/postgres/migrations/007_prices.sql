-- The built-in price list: what Omni trusts an item to cost when it is sold at
-- a counter (the new items of an exchange), fed by the admin like stock. One
-- price per SKU and currency, in the currency's minor units.
create table prices (
    sku        text not null,
    currency   text not null,
    unit_price bigint not null check (unit_price > 0),
    updated_at timestamptz not null default now(),
    primary key (sku, currency)
);
