-- What each stock step did, next to its idempotency key: a step key seen again
-- with a different effect is refused instead of silently skipped. The
-- fingerprint is canonical JSON of the step's kind, order, store, sorted
-- lines (null: everything the order holds) and a write-off's reason. Steps
-- recorded before this migration have none and match any retry, so orders
-- in flight are not broken.
alter table activity_steps add column fingerprint text;

-- A projection that replaces or removes outbox rows the workflow no longer
-- has looks up their deliveries (and deleting a row checks its foreign key
-- from them): by outbox id, which the primary key does not lead with.
create index webhook_deliveries_outbox on webhook_deliveries (outbox_id);
