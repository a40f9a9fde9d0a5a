#!/usr/bin/env bash
# Runs Omni's benchmark on this machine: a fresh `omni dev` on its own data,
# the load generator against it over HTTP, then pgbench -S for the read
# comparison. Results go to stdout; docs/benchmarks.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."

PGURL_BASE=${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}
DB=omni_bench
DATA=$(mktemp -d)
ADDR=127.0.0.1:${BENCH_PORT:-18080}
ORDERS=${ORDERS:-2000}
CONCURRENCY=${CONCURRENCY:-24}
READERS=${READERS:-8}

psql "$PGURL_BASE/postgres" -qc "drop database if exists $DB with (force)"
OMNI_DATABASE_URL="$PGURL_BASE/$DB?sslmode=disable" OMNI_DATA_DIR="$DATA" OMNI_HTTP_ADDR="$ADDR" \
  OMNI_TEMPORAL_EMBEDDED_ADDR=127.0.0.1:0 OMNI_TEMPORAL_UI_ADDR= OMNI_LOG_LEVEL=warn \
  ./bin/omni dev 2>"${BENCH_LOG:-/tmp/omni-bench.log}" &
PID=$!
trap 'kill -INT $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf "http://$ADDR/readyz" >/dev/null && break; sleep 0.2; done

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3)"
./bin/omni bench -url "http://$ADDR" -orders "$ORDERS" -concurrency "$CONCURRENCY" -readers "$READERS" -pid "$PID"

echo "== pgbench -S -M prepared -c 32 -j 2 -T 15 (same machine, for the read comparison)"
psql "$PGURL_BASE/postgres" -qc "drop database if exists pgbench_omni" -c "create database pgbench_omni"
pgbench -q -i -s 10 "$PGURL_BASE/pgbench_omni" >/dev/null 2>&1
pgbench -S -M prepared -c 32 -j 2 -T 15 "$PGURL_BASE/pgbench_omni" 2>/dev/null | grep -E "^(tps|latency average)"
psql "$PGURL_BASE/postgres" -qc "drop database if exists pgbench_omni" -c "drop database if exists $DB with (force)"
