#!/usr/bin/env bash
# The customer view at scale (issue 14, docs/benchmarks.md): seeds a THROWAWAY
# database with SEED_ORDERS orders of SEED_CUSTOMERS customers (`omni bench
# -seed-orders`, SQL generation), prints the plans of the real queries
# (-customer-explain), runs a fresh `omni dev` on it (own data dir, ports
# 18080/18233 unless told) and measures the contact centre's reads with
# READERS clients (-customer-reads), GET /v1/analytics/stores for the last
# month, then pgbench -S for the read comparison. Drops its databases after.
set -euo pipefail
cd "$(dirname "$0")/.."

PGURL_BASE=${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}
DB=omni_customers_bench
URL="$PGURL_BASE/$DB?sslmode=disable"
ADDR=127.0.0.1:${BENCH_PORT:-18080}
TEMPORAL=127.0.0.1:${BENCH_TEMPORAL_PORT:-18233}
SEED_ORDERS=${SEED_ORDERS:-1000000}
SEED_CUSTOMERS=${SEED_CUSTOMERS:-200000}
READERS=${READERS:-8}
READ_FOR=${READ_FOR:-15s}
OMNI=${OMNI:-./bin/omni}

PID= DATA=
cleanup() {
  if [ -n "$PID" ]; then kill -INT "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ -n "$DATA" ]; then rm -rf "$DATA"; fi
  psql "$PGURL_BASE/postgres" -qc "drop database if exists $DB with (force)" -c "drop database if exists pgbench_omni"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3), $(psql "$PGURL_BASE/postgres" -Atc 'show server_version')"
if [ "${SKIP_SEED:-}" = "" ]; then
  psql "$PGURL_BASE/postgres" -qc "drop database if exists $DB with (force)"
  time "$OMNI" bench -seed-orders "$SEED_ORDERS" -seed-customers "$SEED_CUSTOMERS" -database "$URL"
fi
psql "$URL" -Atc "select 'sizes: orders ' || pg_size_pretty(pg_total_relation_size('orders')) || ', order_events ' ||
  pg_size_pretty(pg_total_relation_size('order_events')) || ', customer_orders ' ||
  pg_size_pretty(pg_total_relation_size('customer_orders')) || ', customers ' || pg_size_pretty(pg_total_relation_size('customers'))"
"$OMNI" bench -customer-explain -database "$URL"

DATA=$(mktemp -d)
OMNI_DATABASE_URL="$URL" OMNI_DATA_DIR="$DATA" OMNI_HTTP_ADDR="$ADDR" OMNI_TEMPORAL_EMBEDDED_ADDR="$TEMPORAL" \
  OMNI_TEMPORAL_UI_ADDR= OMNI_LOG_LEVEL=warn "$OMNI" dev 2>"${BENCH_LOG:-/tmp/omni-customers-bench}.log" &
PID=$!
for _ in $(seq 300); do curl -sf "http://$ADDR/readyz" >/dev/null && break; sleep 0.2; done
echo "== fresh omni dev (pid $PID) at $ADDR, $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$OMNI" bench -customer-reads "$READ_FOR" -concurrency "$READERS" -url "http://$ADDR" -database "$URL"

from=$(date -u -d "$(date -u +%Y-%m-%d) -1 month" +%Y-%m-%dT00:00:00Z) to=$(date -u +%Y-%m-%dT00:00:00Z)
echo "== GET /v1/analytics/stores?from=$from&to=$to, 5 times"
for _ in 1 2 3 4 5; do
  curl -s -o /dev/null -w '%{http_code} %{size_download} bytes %{time_total} s\n' -H 'Authorization: Bearer dev-support-key' \
    "http://$ADDR/v1/analytics/stores?from=$from&to=$to"
done

echo "== pgbench -S -M prepared -c 32 -j 2 -T 15 (same machine, for the read comparison)"
psql "$PGURL_BASE/postgres" -qc "drop database if exists pgbench_omni" -c "create database pgbench_omni"
pgbench -q -i -s 10 "$PGURL_BASE/pgbench_omni" >/dev/null 2>&1
pgbench -S -M prepared -c 32 -j 2 -T 15 "$PGURL_BASE/pgbench_omni" 2>/dev/null | grep -E "^(tps|latency average)"
