-- Customer order lookups (POST /v1/orders/lookup) counted per client address,
-- order number and contact (email or phone), so that every API process spends
-- the same budgets. One row per kind and value: a fixed window that starts at
-- its first attempt and ends at resets_at; the next attempt after that starts
-- a new one. Rows whose window has ended are deleted now and then.
create table lookup_attempts (
    kind      text not null, -- address, number, email or phone
    value     text not null, -- normalised: an IPv6 address by its /64, a lower-case email, an E.164 phone
    attempts  int not null,
    resets_at timestamptz not null,
    primary key (kind, value)
);
create index lookup_attempts_resets_at on lookup_attempts (resets_at);
