#!/usr/bin/env bash
# Everything a fresh clone needs before the demo or the tests, idempotent and quick when
# nothing changed: system packages (Debian, when missing), npm dependencies, the native
# addon (cargo, dev profile) and the TypeScript packages.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Real peers the tests talk to (openssl s_server/s_client, curl, nginx); `npm start` adds nc, the
# benches a C compiler and taskset: pass their package names in IOCRATE_EXTRA_APT.
need_apt=()
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# nginx: the HTTP client is tested against it (started by the test on a free port).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
# python3-websockets: the WebSocket interop tests run python's `websockets` both ways.
{ python3 -c 'import websockets' || /usr/bin/python3 -c 'import websockets'; } >/dev/null 2>&1 || need_apt+=(python3-websockets)
# Redis 7 (standalone, cluster and sentinel): scripts/services.sh starts them for the tests.
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need_apt+=(redis-sentinel)
{ command -v redis-cli && command -v redis-benchmark; } >/dev/null 2>&1 || need_apt+=(redis-tools)
# PostgreSQL 15 (server, initdb, pg_ctl, pgbench; psql, pg_isready): scripts/services.sh again.
pg_bin=/usr/lib/postgresql/15/bin
{ [ -x $pg_bin/postgres ] && [ -x $pg_bin/initdb ] && [ -x $pg_bin/pg_ctl ] && [ -x $pg_bin/pgbench ]; } || need_apt+=(postgresql-15)
{ [ -x $pg_bin/psql ] && [ -x $pg_bin/pg_isready ]; } || need_apt+=(postgresql-client-15)
for pkg in ${IOCRATE_EXTRA_APT:-}; do need_apt+=("$pkg"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing Debian packages: ${need_apt[*]}"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    log "missing tools (install them with your package manager): ${need_apt[*]}"
  fi
fi

command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust with rustup (rust-toolchain.toml names the version)" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

log "building the native addon (cargo, dev profile)"
bash scripts/build-native.sh >/dev/null 2>scripts/.build-native.log || { cat scripts/.build-native.log >&2; exit 1; }
rm -f scripts/.build-native.log

log "building TypeScript packages"
npx --no-install tsc -b ts/tsconfig.json
