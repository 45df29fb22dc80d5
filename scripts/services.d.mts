// Types of scripts/services.mjs: the test services started by scripts/services.sh.

export interface HostPort {
  host: string
  port: number
}

/** The standalone server: plain TCP, a unix socket and TLS; ACL users beside `default` (no password). */
export interface RedisEnv {
  host: string
  port: number
  /** `redis://127.0.0.1:PORT` */
  url: string
  /** Absolute path of the unix socket (mode 700). */
  unixPath: string
  /** TLS port; the server certificate is for `localhost` and `127.0.0.1`, signed by `ca` (a PEM file). */
  tls: { port: number; url: string; ca: string }
  /** Passwords by user name: `iocrate` may do anything, `readonly` only `@read`, PING, HELLO and AUTH. */
  users: { iocrate: string; readonly: string }
  /** Absolute paths of the Redis programs. */
  bin: { server: string; cli: string; benchmark: string; sentinel: string }
}

export interface RedisClusterEnv {
  /** Three masters, no replicas, all 16384 slots assigned. */
  nodes: HostPort[]
}

export interface RedisSentinelEnv {
  /** `iocrate-master` (quorum 2, down-after 1000 ms, failover-timeout 5000 ms). */
  masterName: string
  sentinels: HostPort[]
  master: HostPort
  replica: HostPort
}

/**
 * PostgreSQL 15, a fresh cluster on every start: plain TCP and TLS (`ssl = on`) on one port, and a
 * unix socket. TCP logins need a password: SCRAM-SHA-256, except `md5_user` (md5). Over the unix
 * socket every role logs in without one (`trust`).
 */
export interface PostgresEnv {
  host: string
  port: number
  /** `postgres://iocrate:iocrate-secret@127.0.0.1:PORT/iocrate` */
  url: string
  /** `iocrate`, owned by the `iocrate` role. */
  database: string
  /**
   * Passwords by role: `iocrate` (LOGIN CREATEDB, owns `database`; SCRAM), `md5_user` (LOGIN, password
   * stored as md5, so the server asks for md5), `postgres` (superuser; SCRAM).
   */
  users: { iocrate: string; md5_user: string; postgres: string }
  /** Directory of the unix socket `.s.PGSQL.PORT` (what libpq takes as `host`). */
  socketDir: string
  /** The server certificate is for `localhost` and `127.0.0.1`, signed by `ca` (a PEM file): `sslmode=verify-full` works. */
  tls: { ca: string }
  /** Server version, e.g. `15.18`. */
  version: string
  /** Absolute paths of the PostgreSQL 15 programs. */
  bin: { psql: string; pg_ctl: string; postgres: string; pgbench: string }
}

export interface ServicesEnv {
  redis: RedisEnv
  redisCluster: RedisClusterEnv
  redisSentinel: RedisSentinelEnv
  postgres: PostgresEnv
  /** Processes of every running service. */
  pids: number[]
}

/**
 * Addresses of the running test services (`.services/env.json`). Starts them with
 * `bash scripts/services.sh start` when the file is missing or one of its processes is gone.
 */
export function services(): ServicesEnv
