import { invalidArg } from '@iocrate/core'
import type { Endpoint, RedisTlsOptions } from './connection.js'

/** How to reconnect after a lost connection. */
export interface RetryOptions {
  /** First delay in ms (doubled per attempt, with ±20% jitter). Default 50. */
  baseDelay?: number
  /** Largest delay in ms. Default 2000. */
  maxDelay?: number
  /** Consecutive failed attempts before giving up (pending commands then fail with `ERR_REDIS_UNAVAILABLE`). Default: no limit. */
  maxAttempts?: number
}

/** Options of a {@link RedisClient}. */
export interface RedisClientOptions {
  /** `redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS, or `unix:///path/to/sock[?db=N]`. */
  url?: string
  /** Default `127.0.0.1`. */
  host?: string
  /** Default 6379. */
  port?: number
  /** Unix socket path (instead of host and port). */
  path?: string
  /** TLS: `true` for the system roots, or settings. */
  tls?: boolean | RedisTlsOptions
  /** ACL user name (default: the `default` user). */
  username?: string
  /** Password (`AUTH`, or `HELLO 3 AUTH`). */
  password?: string
  /**
   * Database to `SELECT` after connecting (and after every reconnect). Default 0. There is
   * no `select()` helper: switching databases on a shared, multiplexed connection would
   * change it under every other caller; use a client per database.
   */
  db?: number
  /** `CLIENT SETNAME` on every connection. */
  name?: string
  /**
   * `3` requires RESP3, `2` speaks RESP2 only; `'auto'` (default) sends `HELLO 3` and falls
   * back to RESP2 when the server or a proxy refuses it.
   */
  protocol?: 2 | 3 | 'auto'
  /** Connecting plus the handshake, in ms. Default 10000. */
  connectTimeout?: number
  /** A command without a reply after this many ms fails with `ERR_REDIS_TIMEOUT` (the connection stays). Default: none. */
  commandTimeout?: number
  /** TCP keep-alive initial delay in ms (0 disables). Default 30000. */
  keepAlive?: number
  /** `TCP_NODELAY`. Default true. */
  noDelay?: boolean
  /** Reconnection with backoff after a lost connection; `false` never reconnects. */
  retry?: RetryOptions | false
  /**
   * Commands issued while (re)connecting wait for the connection (default true); `false`
   * fails them at once with `ERR_REDIS_UNAVAILABLE`.
   */
  enableOfflineQueue?: boolean
  /** Largest bulk string accepted from the server, in bytes. Default 512 MiB. */
  maxBulk?: number
  /** Connections kept for `isolated()` and blocking commands. Default 10. */
  isolationPoolSize?: number
  /**
   * Who does the socket I/O. `'node'` (default for TCP and Unix sockets): Node's own
   * socket on the JS thread, each read decoded by the Rust codec in one call — no thread
   * hop, so the lowest latency, and the best throughput where cores are few. `'native'`:
   * the addon's I/O thread reads and decodes, and replies reach JS in batches — it keeps
   * socket work off a busy JS thread. TLS always uses the addon (rustls).
   */
  transport?: 'node' | 'native'
  /** Sentinel: the sentinels to ask for the master of {@link RedisClientOptions.sentinelName}. */
  sentinels?: Endpoint[]
  /** Sentinel: the monitored master's name. */
  sentinelName?: string
  /** Sentinel: credentials for the sentinels themselves (the data credentials are `username`/`password`). */
  sentinelUsername?: string
  /** Sentinel: password for the sentinels. */
  sentinelPassword?: string
}

/** Options with defaults applied. @internal */
export interface ResolvedOptions {
  endpoint: Endpoint
  tls: RedisTlsOptions | undefined
  username: string | undefined
  password: string | undefined
  db: number
  name: string | undefined
  protocol: 2 | 3 | 'auto'
  connectTimeout: number
  commandTimeout: number
  keepAlive: number
  noDelay: boolean
  retry: Required<RetryOptions> | false
  enableOfflineQueue: boolean
  maxBulk: number | undefined
  isolationPoolSize: number
  transport: 'node' | 'native'
  sentinels: Endpoint[] | undefined
  sentinelName: string | undefined
  sentinelUsername: string | undefined
  sentinelPassword: string | undefined
}

/** Parses a `redis://`, `rediss://` or `unix://` URL into options. */
export function parseRedisUrl(url: string): RedisClientOptions {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw invalidArg('url', url, 'is not a valid URL')
  }
  const o: RedisClientOptions = {}
  const proto = u.protocol
  if (proto === 'unix:' || proto === 'redis+unix:') {
    o.path = decodeURIComponent(u.pathname)
  } else if (proto === 'redis:' || proto === 'rediss:') {
    if (u.hostname) o.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
    if (u.port) o.port = Number(u.port)
    if (proto === 'rediss:') o.tls = true
    const db = u.pathname.replace(/^\//, '')
    if (db) {
      if (!/^\d+$/.test(db)) throw invalidArg('url', url, 'has a database that is not a number')
      o.db = Number(db)
    }
  } else {
    throw invalidArg('url', url, 'must start with redis://, rediss:// or unix://')
  }
  if (u.username) o.username = decodeURIComponent(u.username)
  if (u.password) o.password = decodeURIComponent(u.password)
  const q = u.searchParams
  if (q.has('db')) o.db = Number(q.get('db'))
  if (q.has('protocol')) o.protocol = q.get('protocol') === '2' ? 2 : q.get('protocol') === '3' ? 3 : 'auto'
  return o
}

/** Applies defaults. @internal */
export function resolveOptions(input: RedisClientOptions | string | undefined): ResolvedOptions {
  const o: RedisClientOptions = typeof input === 'string' ? parseRedisUrl(input) : input?.url !== undefined ? { ...parseRedisUrl(input.url), ...withoutUrl(input) } : { ...(input ?? {}) }
  const endpoint: Endpoint = o.path !== undefined ? { path: o.path } : { host: o.host ?? '127.0.0.1', port: o.port ?? 6379 }
  if (endpoint.port !== undefined && !(Number.isInteger(endpoint.port) && endpoint.port > 0 && endpoint.port < 65536)) throw invalidArg('port', o.port, 'must be a port number')
  const db = o.db ?? 0
  if (!Number.isInteger(db) || db < 0) throw invalidArg('db', o.db, 'must be a non-negative integer')
  const tls = o.tls === true ? {} : o.tls === false || o.tls === undefined ? undefined : o.tls
  const r = o.retry
  return {
    endpoint,
    tls,
    username: o.username,
    password: o.password,
    db,
    name: o.name,
    protocol: o.protocol ?? 'auto',
    connectTimeout: o.connectTimeout ?? 10_000,
    commandTimeout: o.commandTimeout ?? 0,
    keepAlive: o.keepAlive ?? 30_000,
    noDelay: o.noDelay ?? true,
    retry: r === false ? false : { baseDelay: r?.baseDelay ?? 50, maxDelay: r?.maxDelay ?? 2000, maxAttempts: r?.maxAttempts ?? Infinity },
    enableOfflineQueue: o.enableOfflineQueue ?? true,
    maxBulk: o.maxBulk,
    isolationPoolSize: o.isolationPoolSize ?? 10,
    transport: o.transport ?? 'node',
    sentinels: o.sentinels,
    sentinelName: o.sentinelName,
    sentinelUsername: o.sentinelUsername,
    sentinelPassword: o.sentinelPassword,
  }
}

function withoutUrl(o: RedisClientOptions): RedisClientOptions {
  const { url: _url, ...rest } = o
  return rest
}

/** The delay before reconnect attempt `attempt` (0-based), or `null` to give up. @internal */
export function backoff(retry: Required<RetryOptions> | false, attempt: number): number | null {
  if (retry === false || attempt >= retry.maxAttempts) return null
  const d = Math.min(retry.maxDelay, retry.baseDelay * 2 ** Math.min(attempt, 20))
  return Math.round(d * (0.8 + Math.random() * 0.4))
}
