-- The Idempotency-Key of each mutating order and store request (pick, collect,
-- returns, exchanges, reject, cancel, extend-pickup, notifications/resend),
-- scoped to the caller that sent it: what the request was, and what it was
-- answered once that is known, so a retry gets the first answer and never a
-- second effect.
create table request_keys (
    caller       text not null, -- the API client (a customer token: its order)
    key          text not null,
    request_hash bytea not null, -- sha256 of the action, order, store and body
    order_id     text not null,
    -- The answer, once known: served again byte for byte.
    status_code  int,
    content_type text,
    response     bytea,
    -- While a request holds the key: which one, and until when (its timeout
    -- and a margin). A lapsed lease without an answer is taken by the next retry.
    lease_token  text,
    leased_until timestamptz,
    -- The request reached the order's workflow as a Temporal Update: a retry
    -- goes straight to that Update again, which answers what it answered first.
    sent         boolean not null default false,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (caller, key),
    check ((status_code is null) = (response is null))
);
