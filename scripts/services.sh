#!/usr/bin/env bash
# The servers the test suites talk to, started on free ports under .services/ (gitignored):
#   redis     a standalone server (TCP, unix socket, TLS, ACL users), a 3-master cluster and a
#             sentinel set (master, replica, 3 sentinels watching `iocrate-master`).
#   postgres  PostgreSQL 15 (TCP with TLS, unix socket; SCRAM, md5 and trust users), a fresh
#             cluster on every start.
# Usage: scripts/services.sh start|stop|status|env [SERVICE|all]
#   start   idempotent; installs missing Debian packages (as root), writes .services/env.json;
#           the services start in parallel
#   stop    shuts everything down and removes the runtime state; exits 0 when nothing runs
#   status  one line per service; exits 0 when all are running, 3 otherwise
#   env     `export IOCRATE_…` lines for a shell: eval "$(scripts/services.sh env)"
#
# A service NAME is registered in SERVICES and brings these functions:
#   packages_NAME  print the Debian packages whose commands are missing
#   start_NAME     start everything; write .services/NAME/env.json.part (members of env.json)
#                  and .services/NAME/env.sh (export lines); echo one summary line to stderr
#   stop_NAME      stop everything and remove the runtime state; a no-op when nothing runs
#   check_NAME     exit 0 when every process is alive and answers
#   status_NAME    print a one-line description of the running service
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
SVC_DIR="$ROOT/.services"
ENV_JSON="$SVC_DIR/env.json"

SERVICES=(redis postgres) # stopped in reverse order

log() { printf '\033[1m[services]\033[0m %s\n' "$*" >&2; }

# die MESSAGE [LOGFILE...]: print the message and the tail of each log, exit 1 (the EXIT trap
# of `start` then stops whatever this run started).
die() {
  local msg=$1 f
  shift
  printf '\033[1m[services]\033[0m error: %s\n' "$msg" >&2
  for f in "$@"; do
    [ -f "$f" ] || continue
    printf -- '--- last lines of %s\n' "${f#"$ROOT"/}" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

now() { printf '%s' "${EPOCHREALTIME/[.,]/}"; } # microseconds
elapsed() { local us=$(($(now) - $1)); printf '%d.%ds' $((us / 1000000)) $((us / 100000 % 10)); }

hp() { printf '{ "host": "127.0.0.1", "port": %s }' "$1"; } # PORT -> host/port JSON object
export_line() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; } # NAME VALUE, shell-quoted
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

# free_ports N: N distinct TCP ports the kernel hands out for 127.0.0.1 (all bound at once, so no
# two are equal), never a Redis or PostgreSQL default.
free_ports() {
  if command -v node >/dev/null 2>&1; then
    node -e '
      const net = require("net"), want = +process.argv[1], held = [], ports = []
      const next = () => {
        const s = net.createServer()
        s.listen(0, "127.0.0.1", () => {
          held.push(s)
          const p = s.address().port
          if (p !== 6379 && p !== 26379 && p !== 5432) ports.push(p)
          if (ports.length < want) next()
          else { console.log(ports.join(" ")); for (const h of held) h.close() }
        })
      }
      next()' "$1"
  else
    python3 -c '
import socket, sys
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
    p = s.getsockname()[1]
    if p not in (6379, 26379, 5432): ports.append(p)
print(*ports)' "$1"
  fi
}

# wait_for SECONDS COMMAND...: run COMMAND until it succeeds; fail after SECONDS.
wait_for() {
  local deadline=$(($(now) + $1 * 1000000))
  shift
  until "$@"; do
    [ "$(now)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

# A process that exited but is not reaped yet (a daemon's parent is PID 1, which in a container
# may reap late) counts as gone.
pid_alive() {
  local stat
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [ "${stat:0:1}" != Z ]
}

# tls_certs DIR SERVICE: a CA and a server certificate for localhost/127.0.0.1 in DIR (ca.pem,
# server.pem, server.key), kept across runs while valid.
tls_certs() {
  local t=$1
  if [ -f "$t/server.pem" ] && [ -f "$t/server.key" ] && [ -f "$t/ca.pem" ] &&
    openssl x509 -checkend 86400 -noout -in "$t/server.pem" >/dev/null 2>&1; then
    return
  fi
  rm -rf "$t"
  mkdir -p "$t"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/O=iocrate test/CN=iocrate services CA" -keyout "$t/ca.key" -out "$t/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=iocrate test/CN=localhost" \
        -keyout "$t/server.key" -out "$t/server.csr" &&
      printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$t/server.ext" &&
      openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
        -days 825 -extfile "$t/server.ext" -out "$t/server.pem"
  } >"$t/openssl.log" 2>&1 || die "$2: could not generate the TLS certificates" "$t/openssl.log"
  rm -f "$t/server.csr" "$t/server.ext" "$t"/*.srl "$t/openssl.log"
  chmod 600 "$t"/*.key
}

# ---------------------------------------------------------------------------------------------
# redis

REDIS_DIR="$SVC_DIR/redis"
REDIS_MASTER_NAME=iocrate-master
REDIS_CLUSTER_CREATE= # pid of a running `redis-cli --cluster create`

packages_redis() {
  command -v redis-server >/dev/null 2>&1 || echo redis-server
  command -v redis-sentinel >/dev/null 2>&1 || echo redis-sentinel
  { command -v redis-cli && command -v redis-benchmark; } >/dev/null 2>&1 || echo redis-tools
  command -v openssl >/dev/null 2>&1 || echo openssl
}

rcli() { timeout 3 redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; } # PORT ARGS...

# An instance is a folder .services/redis/NAME with redis.conf, port, kind (server|sentinel),
# redis.pid and redis.log; .services/redis/instances lists them in start order.
redis_instance() { # NAME KIND PORT: write the common part of the config
  local d="$REDIS_DIR/$1"
  mkdir -p "$d"
  printf '%s\n' "$2" >"$d/kind"
  printf '%s\n' "$3" >"$d/port"
  printf '%s\n' "$1" >>"$REDIS_DIR/instances"
  cat >"$d/redis.conf" <<EOF
port $3
bind 127.0.0.1
dir "$d"
pidfile "$d/redis.pid"
logfile "$d/redis.log"
EOF
}

redis_launch() { # NAME
  local d="$REDIS_DIR/$1" bin=redis-server
  [ "$(cat "$d/kind")" = sentinel ] && bin=redis-sentinel
  : >"$d/launched"
  # 9>&-: the daemon must not inherit (and so hold forever) the lock of this script.
  "$bin" "$d/redis.conf" --daemonize yes --save '' --appendonly no >>"$d/redis.log" 2>&1 9>&- ||
    die "redis: $1 did not start" "$d/redis.log"
}

redis_pid() { # NAME: the pid from the pid file, if any
  local f="$REDIS_DIR/$1/redis.pid"
  if [ -f "$f" ]; then head -n1 "$f" 2>/dev/null || true; fi
}

redis_answers() { # NAME: alive (our process) and answering PING
  local pid
  pid=$(redis_pid "$1")
  pid_alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis* ]] &&
    [ "$(rcli "$(cat "$REDIS_DIR/$1/port")" PING)" = PONG ]
}

redis_wait_up() { # NAME...
  local n
  for n in "$@"; do
    wait_for 10 redis_answers "$n" || die "redis: $n does not answer PING" "$REDIS_DIR/$n/redis.log"
    rm -f "$REDIS_DIR/$n/launched" # from now on its pid file tells whether it runs
  done
}

# `SENTINEL MASTER` fields as "KEY=VALUE" lines (redis-cli prints one element per line).
sentinel_master_fields() { rcli "$1" SENTINEL MASTER "$REDIS_MASTER_NAME" | awk 'NR % 2 { k = $0; next } { print k "=" $0 }'; }

sentinel_ready() { # PORT MASTER_PORT: knows the master, its replica and the two other sentinels
  local fields addr
  addr=$(rcli "$1" SENTINEL GET-MASTER-ADDR-BY-NAME "$REDIS_MASTER_NAME" | paste -sd:)
  [ "$addr" = "127.0.0.1:$2" ] || return 1
  fields=$(sentinel_master_fields "$1")
  grep -qx 'flags=master' <<<"$fields" && grep -qx 'num-slaves=1' <<<"$fields" &&
    grep -qx 'num-other-sentinels=2' <<<"$fields"
}

cluster_ok() { rcli "$1" CLUSTER INFO | tr -d '\r' | grep -qx 'cluster_state:ok'; }
replica_synced() { rcli "$1" INFO replication | tr -d '\r' | grep -qx 'master_link_status:up'; }

start_redis() {
  local t0 v
  t0=$(now)
  v=$(redis-server --version | sed -n 's/.* v=\([0-9]*\)\..*/\1/p')
  [ "${v:-0}" -ge 7 ] || die "redis: Redis 7.0 or later is needed (found: $(redis-server --version))"
  mkdir -p "$REDIS_DIR"
  : >"$REDIS_DIR/instances"
  tls_certs "$REDIS_DIR/tls" redis

  local p
  read -r -a p <<<"$(free_ports 13)"
  [ "${#p[@]}" = 13 ] || die "redis: could not pick free ports"
  local port=${p[0]} tls_port=${p[1]} cluster=("${p[@]:2:3}") bus=("${p[@]:5:3}")
  local master=${p[8]} replica=${p[9]} sentinels=("${p[@]:10:3}")
  local sock="$REDIS_DIR/redis.sock" tls="$REDIS_DIR/tls"
  [ "${#sock}" -lt 104 ] || die "redis: the unix socket path is too long for the kernel: $sock"

  # a. standalone: TCP, unix socket, TLS and ACL users.
  redis_instance standalone server "$port"
  cat >>"$REDIS_DIR/standalone/redis.conf" <<EOF
unixsocket "$sock"
unixsocketperm 700
tls-port $tls_port
tls-cert-file "$tls/server.pem"
tls-key-file "$tls/server.key"
tls-ca-cert-file "$tls/ca.pem"
tls-auth-clients no
user default on nopass ~* &* +@all
user iocrate on >iocrate-secret ~* &* +@all
user readonly on >readonly-secret ~* +@read +ping +hello +auth
EOF

  # b. cluster: three masters, each with its own nodes.conf and an explicit bus port.
  local i
  for i in 0 1 2; do
    redis_instance "cluster-$((i + 1))" server "${cluster[$i]}"
    cat >>"$REDIS_DIR/cluster-$((i + 1))/redis.conf" <<EOF
cluster-enabled yes
cluster-config-file nodes.conf
cluster-port ${bus[$i]}
cluster-node-timeout 5000
EOF
  done

  # c. sentinel set: master and replica now, sentinels once the replica is in sync (so the
  # sentinels' first INFO of the master already lists it).
  redis_instance master server "$master"
  echo 'repl-diskless-sync-delay 0' >>"$REDIS_DIR/master/redis.conf"
  redis_instance replica server "$replica"
  echo "replicaof 127.0.0.1 $master" >>"$REDIS_DIR/replica/redis.conf"

  local servers=(standalone cluster-1 cluster-2 cluster-3 master replica) n
  for n in "${servers[@]}"; do redis_launch "$n"; done
  redis_wait_up "${servers[@]}"

  # The cluster is created in the background (redis-cli polls the join once a second) while
  # the sentinels find each other (they say hello every 2 s).
  local nodes=()
  for i in 0 1 2; do nodes+=("127.0.0.1:${cluster[$i]}"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$REDIS_DIR/cluster-create.log" 2>&1 9>&- &
  REDIS_CLUSTER_CREATE=$!

  wait_for 30 replica_synced "$replica" ||
    die "redis: the replica did not sync with the master within 30 s" "$REDIS_DIR/replica/redis.log" "$REDIS_DIR/master/redis.log"
  for i in 0 1 2; do
    redis_instance "sentinel-$((i + 1))" sentinel "${sentinels[$i]}"
    cat >>"$REDIS_DIR/sentinel-$((i + 1))/redis.conf" <<EOF
sentinel monitor $REDIS_MASTER_NAME 127.0.0.1 $master 2
sentinel down-after-milliseconds $REDIS_MASTER_NAME 1000
sentinel failover-timeout $REDIS_MASTER_NAME 5000
sentinel parallel-syncs $REDIS_MASTER_NAME 1
EOF
    redis_launch "sentinel-$((i + 1))"
  done
  redis_wait_up sentinel-1 sentinel-2 sentinel-3

  wait "$REDIS_CLUSTER_CREATE" || die "redis: redis-cli --cluster create failed" "$REDIS_DIR/cluster-create.log"
  REDIS_CLUSTER_CREATE=
  for i in 0 1 2; do
    wait_for 30 cluster_ok "${cluster[$i]}" ||
      die "redis: CLUSTER INFO on 127.0.0.1:${cluster[$i]} does not say cluster_state:ok after 30 s" \
        "$REDIS_DIR/cluster-create.log" "$REDIS_DIR/cluster-$((i + 1))/redis.log"
  done
  for i in 0 1 2; do
    wait_for 30 sentinel_ready "${sentinels[$i]}" "$master" ||
      die "redis: sentinel 127.0.0.1:${sentinels[$i]} does not know the master, its replica and 2 other sentinels after 30 s ($(sentinel_master_fields "${sentinels[$i]}" | grep -E '^(flags|num-slaves|num-other-sentinels)=' | paste -sd' '))" \
        "$REDIS_DIR/sentinel-$((i + 1))/redis.log"
  done

  # env.json members and export lines.
  local bin_server bin_cli bin_bench bin_sentinel cl se
  bin_server=$(command -v redis-server) bin_cli=$(command -v redis-cli)
  bin_bench=$(command -v redis-benchmark) bin_sentinel=$(command -v redis-sentinel)
  cl="$(hp "${cluster[0]}"), $(hp "${cluster[1]}"), $(hp "${cluster[2]}")"
  se="$(hp "${sentinels[0]}"), $(hp "${sentinels[1]}"), $(hp "${sentinels[2]}")"
  cat >"$REDIS_DIR/env.json.part" <<EOF
  "redis": {
    "host": "127.0.0.1",
    "port": $port,
    "url": "redis://127.0.0.1:$port",
    "unixPath": $(json_str "$sock"),
    "tls": { "port": $tls_port, "url": "rediss://127.0.0.1:$tls_port", "ca": $(json_str "$tls/ca.pem") },
    "users": { "iocrate": "iocrate-secret", "readonly": "readonly-secret" },
    "bin": { "server": $(json_str "$bin_server"), "cli": $(json_str "$bin_cli"), "benchmark": $(json_str "$bin_bench"), "sentinel": $(json_str "$bin_sentinel") }
  },
  "redisCluster": {
    "nodes": [ $cl ]
  },
  "redisSentinel": {
    "masterName": "$REDIS_MASTER_NAME",
    "sentinels": [ $se ],
    "master": $(hp "$master"),
    "replica": $(hp "$replica")
  }
EOF
  {
    export_line IOCRATE_REDIS_URL "redis://127.0.0.1:$port"
    export_line IOCRATE_REDIS_TLS_URL "rediss://127.0.0.1:$tls_port"
    export_line IOCRATE_REDIS_TLS_CA "$tls/ca.pem"
    export_line IOCRATE_REDIS_UNIX_PATH "$sock"
    export_line IOCRATE_REDIS_CLUSTER_NODES "$(IFS=,; echo "${nodes[*]}")"
    export_line IOCRATE_REDIS_SENTINELS "127.0.0.1:${sentinels[0]},127.0.0.1:${sentinels[1]},127.0.0.1:${sentinels[2]}"
    export_line IOCRATE_REDIS_SENTINEL_MASTER "$REDIS_MASTER_NAME"
  } >"$REDIS_DIR/env.sh"
  printf 'standalone 127.0.0.1:%s (tls %s, unix %s); cluster %s; sentinel %s master %s replica %s, sentinels %s\n' \
    "$port" "$tls_port" "${sock#"$ROOT"/}" "$(IFS=,; echo "${cluster[*]}")" "$REDIS_MASTER_NAME" "$master" "$replica" \
    "$(IFS=,; echo "${sentinels[*]}")" >"$REDIS_DIR/summary"
  log "redis: $(cat "$REDIS_DIR/summary") — ready in $(elapsed "$t0")"
}

# redis_shutdown NAME...: SHUTDOWN NOSAVE to each (in parallel), then TERM/KILL by pid if needed.
redis_shutdown() {
  local n pid pids=() waited
  for n in "$@"; do
    [ -d "$REDIS_DIR/$n" ] || continue
    pid=$(redis_pid "$n")
    if [ -z "$pid" ] && [ -f "$REDIS_DIR/$n/launched" ]; then
      # Launched but no pid file yet: the daemon writes it right after forking.
      wait_for 1 test -s "$REDIS_DIR/$n/redis.pid" || true
      pid=$(redis_pid "$n")
    fi
    if ! pid_alive "$pid" || [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != redis* ]]; then continue; fi
    pids+=("$pid")
    rcli "$(cat "$REDIS_DIR/$n/port")" SHUTDOWN NOSAVE >/dev/null &
  done
  wait
  for pid in ${pids[@]+"${pids[@]}"}; do
    waited=0
    while pid_alive "$pid" && [ $waited -lt 40 ]; do sleep 0.05; waited=$((waited + 1)); done
    pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null && sleep 0.5
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}

stop_redis() {
  if [ -n "$REDIS_CLUSTER_CREATE" ]; then kill "$REDIS_CLUSTER_CREATE" 2>/dev/null || true; fi
  [ -d "$REDIS_DIR" ] || return 0
  # Sentinels first (no failover while the rest goes down), the master after its replica.
  redis_shutdown sentinel-1 sentinel-2 sentinel-3
  redis_shutdown replica standalone cluster-1 cluster-2 cluster-3
  redis_shutdown master
  # Everything but the TLS material (reused while valid) goes: nodes.conf, sentinel configs, logs.
  find "$REDIS_DIR" -mindepth 1 -maxdepth 1 ! -name tls -exec rm -rf {} +
}

check_redis() {
  local n
  [ -s "$REDIS_DIR/instances" ] && [ -f "$REDIS_DIR/env.json.part" ] || return 1
  while read -r n; do redis_answers "$n" || return 1; done <"$REDIS_DIR/instances"
}

status_redis() { cat "$REDIS_DIR/summary"; }

# ---------------------------------------------------------------------------------------------
# postgres
#
# A fresh cluster on every start (initdb takes well under a second with --no-sync, and stop
# removes the data like it does for redis): .services/postgres/data (the data directory, owned
# by the `postgres` OS user when we are root, since PostgreSQL refuses to run as root), run/ (the
# unix socket), postgres.log, and tls/ (CA and server certificate, kept while valid).

PG_BIN=/usr/lib/postgresql/15/bin
# As root the server runs as the `postgres` OS user, which must be able to reach its
# directory. A checkout it cannot reach (e.g. under a `mktemp -d` folder, mode 700) gets
# its postgres directory in the temp folder instead, named after the checkout's path.
PG_DIR="$SVC_DIR/postgres"
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1 &&
  ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
  PG_DIR="${TMPDIR:-/tmp}/iocrate-postgres-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
fi
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
PG_LOG="$PG_DIR/postgres.log"
PG_DB=iocrate
# user:password; iocrate (LOGIN CREATEDB, owns the database) and postgres (superuser) log in
# with SCRAM-SHA-256, md5_user with md5 (its password is stored as an md5 hash).
PG_USERS=(iocrate:iocrate-secret md5_user:md5-secret postgres:postgres-secret)

packages_postgres() {
  { [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/pgbench" ]; } ||
    echo postgresql-15
  { [ -x "$PG_BIN/psql" ] && [ -x "$PG_BIN/pg_isready" ]; } || echo postgresql-client-15
  command -v openssl >/dev/null 2>&1 || echo openssl
}

pg_root() { [ "$(id -u)" = 0 ]; }

# pg_run COMMAND...: run as the owner of the data directory: `postgres` when we are root, else
# ourselves. Never inherits the lock of this script (fd 9).
pg_run() {
  if ! pg_root; then
    "$@" 9>&-
  elif command -v runuser >/dev/null 2>&1; then
    (cd "$PG_DIR" && runuser -u postgres -- "$@" 9>&-)
  else
    (cd "$PG_DIR" && su postgres -s /bin/bash -c "$(printf '%q ' "$@")" 9>&-)
  fi
}

pg_own() { if pg_root; then chown postgres:postgres "$@"; fi; } # PATH...: give to the data owner

pg_pid() { # the postmaster's pid, if it runs
  local pid
  pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 0
  if pid_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then echo "$pid"; fi
}

pg_ready() { # PORT: accepting connections on TCP and on the unix socket
  "$PG_BIN/pg_isready" -q -t 3 -h 127.0.0.1 -p "$1" -U postgres -d postgres &&
    "$PG_BIN/pg_isready" -q -t 3 -h "$PG_RUN" -p "$1" -U postgres -d postgres
}

pg_url() { printf 'postgres://%s:%s@127.0.0.1:%s/%s' "$1" "$2" "$3" "$PG_DB"; } # USER PASSWORD PORT

start_postgres() {
  local t0 port attempt version
  t0=$(now)
  unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSSLMODE PGOPTIONS PGDATA
  if pg_root; then
    id postgres >/dev/null 2>&1 || die "postgres: there is no \`postgres\` OS user to run the server as (the postgresql-15 package creates it)"
  fi
  mkdir -p "$PG_DIR"
  pg_run test -x "$PG_DIR" ||
    die "postgres: the postgres OS user cannot reach $PG_DIR: every parent directory needs o+x (chmod o+x)"
  tls_certs "$PG_DIR/tls" postgres
  version=$("$PG_BIN/postgres" --version | sed -n 's/.* \([0-9][0-9.]*\).*/\1/p')

  # The data directory (initdb refuses a directory that is not empty or not its own).
  mkdir -p "$PG_DATA" "$PG_RUN"
  chmod 700 "$PG_DATA"
  chmod 755 "$PG_DIR" "$PG_RUN" # the tests' user reaches the socket
  : >"$PG_LOG"
  pg_own "$PG_DATA" "$PG_RUN" "$PG_LOG"
  pg_run "$PG_BIN/initdb" -D "$PG_DATA" --no-sync --no-instructions -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
    die "postgres: initdb failed" "$PG_DIR/initdb.log"

  # TLS: the server wants its key readable by itself only.
  install -m 600 "$PG_DIR/tls/server.key" "$PG_DATA/server.key"
  install -m 644 "$PG_DIR/tls/server.pem" "$PG_DATA/server.crt"
  pg_own "$PG_DATA/server.key" "$PG_DATA/server.crt"

  echo "include 'iocrate.conf'" >>"$PG_DATA/postgresql.conf"
  # `host` lines match TLS and plain TCP connections alike; the first matching line wins.
  cat >"$PG_DATA/pg_hba.conf" <<EOF
# TYPE  DATABASE  USER      ADDRESS       METHOD
local   all       all                     trust
host    all       md5_user  127.0.0.1/32  md5
host    all       all       127.0.0.1/32  scram-sha-256
EOF
  pg_own "$PG_DATA/pg_hba.conf"

  # Start on a free port; picked after initdb so that services starting beside this one have bound
  # theirs, and picked again if someone took it meanwhile.
  for attempt in 1 2 3; do
    port=$(free_ports 1)
    [ -n "$port" ] || die "postgres: could not pick a free port"
    [ $((${#PG_RUN} + 13 + ${#port})) -lt 104 ] ||
      die "postgres: the unix socket path is too long for the kernel: $PG_RUN/.s.PGSQL.$port"
    cat >"$PG_DATA/iocrate.conf" <<EOF
# scripts/services.sh: a throwaway server for tests, tuned for speed over durability.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_RUN'
max_connections = 200
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
EOF
    pg_own "$PG_DATA/iocrate.conf"
    printf '%s\n' "$port" >"$PG_DIR/port"
    if pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 20 -s start >>"$PG_LOG" 2>&1; then break; fi
    grep -q 'could not bind' "$PG_LOG" && [ $attempt -lt 3 ] || die "postgres: pg_ctl start failed" "$PG_LOG"
    log "postgres: port $port was taken meanwhile, trying another"
  done
  wait_for 10 pg_ready "$port" || die "postgres: pg_isready says no after 10 s" "$PG_LOG"

  # Roles and the database, as the superuser over the unix socket (trust).
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$port" -U postgres -d postgres \
    >"$PG_DIR/setup.log" 2>&1 <<EOF || die "postgres: creating the roles and the database failed" "$PG_DIR/setup.log" "$PG_LOG"
ALTER ROLE postgres PASSWORD 'postgres-secret';
CREATE ROLE iocrate LOGIN CREATEDB PASSWORD 'iocrate-secret';
SET password_encryption = 'md5';
CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret';
RESET password_encryption;
CREATE DATABASE $PG_DB OWNER iocrate;
EOF

  # env.json members and export lines.
  local u users=() url ca="$PG_DIR/tls/ca.pem"
  for u in "${PG_USERS[@]}"; do users+=("$(json_str "${u%%:*}"): $(json_str "${u#*:}")"); done
  url=$(pg_url iocrate iocrate-secret "$port")
  cat >"$PG_DIR/env.json.part" <<EOF
  "postgres": {
    "host": "127.0.0.1",
    "port": $port,
    "url": $(json_str "$url"),
    "database": "$PG_DB",
    "users": { $(IFS=,; echo "${users[*]}" | sed 's/,"/, "/g') },
    "socketDir": $(json_str "$PG_RUN"),
    "tls": { "ca": $(json_str "$ca") },
    "version": $(json_str "$version"),
    "bin": { "psql": $(json_str "$PG_BIN/psql"), "pg_ctl": $(json_str "$PG_BIN/pg_ctl"), "postgres": $(json_str "$PG_BIN/postgres"), "pgbench": $(json_str "$PG_BIN/pgbench") }
  }
EOF
  {
    export_line IOCRATE_PG_URL "$url"
    export_line IOCRATE_PG_MD5_URL "$(pg_url md5_user md5-secret "$port")"
    export_line IOCRATE_PG_SUPERUSER_URL "$(pg_url postgres postgres-secret "$port")"
    export_line IOCRATE_PG_HOST 127.0.0.1
    export_line IOCRATE_PG_PORT "$port"
    export_line IOCRATE_PG_DATABASE "$PG_DB"
    export_line IOCRATE_PG_SOCKET_DIR "$PG_RUN"
    export_line IOCRATE_PG_TLS_CA "$ca"
  } >"$PG_DIR/env.sh"
  printf 'PostgreSQL %s on 127.0.0.1:%s (TLS on the same port, unix %s), database %s\n' \
    "$version" "$port" "${PG_RUN#"$ROOT"/}" "$PG_DB" >"$PG_DIR/summary"
  log "postgres: $(cat "$PG_DIR/summary") — ready in $(elapsed "$t0")"
}

stop_postgres() {
  local pid waited=0
  [ -d "$PG_DIR" ] || return 0
  pid=$(pg_pid)
  if [ -n "$pid" ]; then
    unset PGDATA
    pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 10 -s stop >/dev/null 2>&1 || true
    # Fallback: SIGQUIT is the immediate shutdown, then KILL.
    pid_alive "$pid" && kill -QUIT "$pid" 2>/dev/null
    while pid_alive "$pid" && [ $waited -lt 40 ]; do sleep 0.05; waited=$((waited + 1)); done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  # Everything but the TLS material (reused while valid) goes: data, socket, logs.
  if [ "${PG_DIR#"$SVC_DIR"/}" = "$PG_DIR" ]; then
    rm -rf "$PG_DIR" # outside the checkout: leave nothing in the temp folder
  else
    find "$PG_DIR" -mindepth 1 -maxdepth 1 ! -name tls -exec rm -rf {} +
  fi
}

check_postgres() {
  [ -f "$PG_DIR/env.json.part" ] && [ -s "$PG_DIR/port" ] && [ -n "$(pg_pid)" ] &&
    pg_ready "$(cat "$PG_DIR/port")"
}

status_postgres() { cat "$PG_DIR/summary"; }

# ---------------------------------------------------------------------------------------------
# generic

is_service() { local s; for s in "${SERVICES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

LIST=()
targets() { # [SERVICE|all] -> LIST
  case "${1:-all}" in
    all) LIST=("${SERVICES[@]}") ;;
    *) is_service "$1" || die "unknown service: $1 (known: ${SERVICES[*]})"; LIST=("$1") ;;
  esac
}

# svc_dir NAME: where a service keeps its files (postgres may live outside .services, above).
svc_dir() { if [ "$1" = postgres ]; then printf '%s' "$PG_DIR"; else printf '%s' "$SVC_DIR/$1"; fi; }

write_env_json() {
  local s parts=() pids=() f tmp list
  for s in "${SERVICES[@]}"; do [ -f "$(svc_dir "$s")/env.json.part" ] && parts+=("$(svc_dir "$s")/env.json.part"); done
  if [ ${#parts[@]} = 0 ]; then rm -f "$ENV_JSON"; return; fi
  while IFS= read -r f; do pids+=("$(head -n1 "$f")"); done < <(find "$SVC_DIR" -name '*.pid' -type f | sort)
  tmp="$ENV_JSON.tmp.$$"
  {
    printf '{\n'
    for f in "${parts[@]}"; do sed '$ s/$/,/' "$f"; done
    list=$(IFS=,; echo "${pids[*]-}")
    printf '  "pids": [%s]\n}\n' "${list//,/, }"
  } >"$tmp"
  mv -f "$tmp" "$ENV_JSON"
}

ensure_packages() { # SERVICE...
  local s p missing=()
  for s in "$@"; do while read -r p; do [ -n "$p" ] && missing+=("$p"); done < <("packages_$s"); done
  [ ${#missing[@]} = 0 ] && return
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  else
    log "missing packages (install them with your package manager): ${missing[*]}"
    exit 1
  fi
}

lock() { mkdir -p "$SVC_DIR"; exec 9>"$SVC_DIR/.lock"; flock -w 120 9 || die "another services.sh holds $SVC_DIR/.lock"; }

STARTING=()  # services this run starts
STARTERS=()  # pids of their start_NAME subshells
on_start_exit() {
  local rc=$? i
  trap '' INT TERM
  if [ $rc != 0 ] && [ ${#STARTING[@]} -gt 0 ]; then
    log "start failed: stopping what this run started"
    for i in ${STARTERS[@]+"${STARTERS[@]}"}; do kill -TERM "$i" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ((i = ${#STARTING[@]} - 1; i >= 0; i--)); do "stop_${STARTING[$i]}" || true; done
    write_env_json || true
  fi
  exit $rc
}

# start_in_background NAME: start_NAME in a subshell that stops NAME itself when it fails or is
# killed (it alone knows what it had under way, e.g. redis' `--cluster create`).
start_in_background() {
  (
    # (NAME expanded now: when the trap runs, $1 is whatever function was running.)
    # shellcheck disable=SC2064
    trap "rc=\$?; trap - EXIT; [ \$rc = 0 ] || stop_$1 >/dev/null 2>&1 || true; exit \$rc" EXIT
    trap 'exit 143' INT TERM
    "start_$1"
  ) &
  STARTERS+=($!)
}

cmd_start() {
  local s t0 i failed=0
  t0=$(now)
  targets "${1:-all}"
  ensure_packages "${LIST[@]}"
  lock
  trap on_start_exit EXIT
  trap 'exit 130' INT TERM
  for s in "${LIST[@]}"; do
    if "check_$s"; then
      log "$s: already running"
      continue
    fi
    STARTING+=("$s")
    "stop_$s" # leftovers of a crashed or half-stopped run
  done
  # The services do not depend on each other: start them side by side.
  for s in ${STARTING[@]+"${STARTING[@]}"}; do start_in_background "$s"; done
  for ((i = 0; i < ${#STARTERS[@]}; i++)); do
    wait "${STARTERS[$i]}" || failed=1
  done
  STARTERS=()
  [ $failed = 0 ] || exit 1
  write_env_json
  [ ${#STARTING[@]} = 0 ] || log "started in $(elapsed "$t0"); settings in ${ENV_JSON#"$ROOT"/}"
  STARTING=()
}

cmd_stop() {
  local s i
  targets "${1:-all}"
  lock
  for ((i = ${#LIST[@]} - 1; i >= 0; i--)); do
    s=${LIST[$i]}
    if [ -d "$(svc_dir "$s")" ]; then "stop_$s"; log "$s: stopped"; fi
  done
  write_env_json
}

cmd_status() {
  local s rc=0
  targets "${1:-all}"
  for s in "${LIST[@]}"; do
    if "check_$s" 2>/dev/null; then
      echo "$s: running: $("status_$s")"
    elif [ -f "$(svc_dir "$s")/env.json.part" ] || [ -f "$(svc_dir "$s")/instances" ]; then
      echo "$s: not healthy (some processes are gone or do not answer): scripts/services.sh start $s restarts it"
      rc=3
    else
      echo "$s: stopped"
      rc=3
    fi
  done
  return $rc
}

cmd_env() {
  local s
  targets "${1:-all}"
  for s in "${LIST[@]}"; do
    "check_$s" 2>/dev/null || die "$s is not running: scripts/services.sh start"
  done
  for s in "${LIST[@]}"; do cat "$(svc_dir "$s")/env.sh"; done
  export_line IOCRATE_SERVICES_ENV "$ENV_JSON"
}

case "${1:-}" in
  start | stop | status | env) cmd=$1; shift; "cmd_$cmd" "$@" ;;
  *)
    echo "usage: scripts/services.sh start|stop|status|env [$(IFS='|'; echo "${SERVICES[*]}")|all]" >&2
    exit 2
    ;;
esac
