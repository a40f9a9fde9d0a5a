-- Seeds a month of a 500-store retailer for the store analytics query (docs/benchmarks.md,
-- "Store analytics query"): 20,000 collect orders a day for 30 days with their timeline events,
-- into a throwaway database migrated up to (not including) 015_analytics.sql; applying that
-- migration afterwards backfills order_analytics as its trigger would have kept it.
insert into stores (id, name) select format('store-%s', lpad(i::text, 3, '0')), format('Store %s', i) from generate_series(1, 500) i;
create temp table s as
select i,
  format('ord-%s', i) as id,
  format('store-%s', lpad((1 + i % 500)::text, 3, '0')) as store_id,
  (array['web','app','store','contact_centre'])[1 + (i / 7) % 4] as channel,
  timestamptz '2026-11-01 00:00:00+00' + (i * interval '4.32 seconds') as at,  -- 600,000 over 30 days (20,000 a day)
  (hashint4(i) & 2147483647) % 1000 as r
from generate_series(0, 599999) i;
insert into orders (id, number, status, store_id, customer_email, doc, version, workflow_started, created_at, updated_at, locations)
select id, (100001 + i)::text, 'collected', store_id, format('c%s@example.com', i % 200000),
  json_build_object('id', id, 'pad', repeat('x', 900)), 10, true, at, at, array[store_id] from s;
insert into order_events (order_id, seq, type, at, channel, actor, data)
select id, 1, 'placed', at, channel, 'checkout', jsonb_build_object('total', 4999, 'currency', 'GBP', 'fulfilment', 'collect', 'store_id', store_id) from s
union all select id, 2, 'stock_reserved', at + interval '1 s', 'system', 'omni', jsonb_build_object('store_id', store_id) from s
union all select id, 3, 'pick_requested', at + interval '2 s', 'system', 'omni', jsonb_build_object('store_id', store_id) from s
union all select id, 4, 'customer_notified', at + interval '3 s', 'system', 'omni', '{"template":"placed"}' from s
union all select id, 5, 'pick_overdue', at + interval '2 h', 'system', 'omni', jsonb_build_object('store_id', store_id) from s where r < 30
union all select id, 6, 'pick_escalated', at + interval '3 h', 'system', 'omni', jsonb_build_object('store_id', store_id) from s where r < 10
union all select id, 7, 'reassigned', at + interval '3 h', 'system', 'omni', jsonb_build_object('from_store_id', store_id, 'store_id', store_id) from s where r < 5
union all select id, 8, 'picked', at + (r % 300) * interval '1 min', 'store_console', 'staff', '{}' from s where r < 950
union all select id, 9, 'ready_for_collection', at + (r % 300) * interval '1 min' + interval '5 s', 'store_console', 'staff', jsonb_build_object('store_id', store_id) from s where r < 950
union all select id, 10, 'customer_notified', at + (r % 300) * interval '1 min' + interval '6 s', 'system', 'omni', '{"template":"ready"}' from s where r < 950
union all select id, 11, 'expired', at + interval '7 days', 'system', 'omni', '{}' from s where r >= 870 and r < 950
union all select id, 11, 'collected', at + interval '1 day', 'store_console', 'staff', jsonb_build_object('store_id', store_id, 'complete', true) from s where r < 860
union all select id, 12, 'payment_captured', at + interval '1 day', 'store_console', 'staff', '{"amount":4999}' from s where r < 860
union all select id, 13, 'returned', at + interval '5 days', 'store_console', 'staff', jsonb_build_object('store_id', store_id, 'refund', 4999) from s where r < 43
union all select id, 14, 'payment_refunded', at + interval '5 days', 'system', 'omni', '{"amount":4999,"currency":"GBP"}' from s where r < 43
union all select id, 13, 'exchanged', at + interval '5 days', 'store_console', 'staff', jsonb_build_object('store_id', store_id) from s where r >= 43 and r < 52;
vacuum analyze orders;
vacuum analyze order_events;
select count(*) as orders from orders;
select count(*) as events from order_events;
