#!/usr/bin/env bash
# Makes sure what the tests need is here and running: PostgreSQL at
# 127.0.0.1:5432 (started when stopped) and Debian's chromium for the browser
# tests (installed when missing; a browser is never downloaded). `make test`
# and .ci/run call it.
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 60); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not answering at 127.0.0.1:5432" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (Debian package) for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
command -v node >/dev/null || { echo "the browser tests need Node.js 20+ and npm on PATH" >&2; exit 1; }
