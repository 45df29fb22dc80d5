import { invalidArg } from '@iocrate/core'
import type { Readable, Writable } from 'node:stream'
import { fragment, quoteIdent, rowList, type RowList, type SqlValue } from './sql.js'
import { PgConnection, type CursorOptions, type PgConnectionOptions, type PgParam, type QueryOptions, type QueryResult, type SslOptions } from './connection.js'
import type { Int8Mode, PgValue } from './events.js'

/** Options of {@link connect}. */
export interface ClientOptions {
  /** `postgres://user:password@host:port/database?sslmode=require|verify-full|disable` */
  url?: string
  host?: string
  port?: number
  /** Unix socket directory (e.g. `/run/postgresql`). */
  socketDir?: string
  user?: string
  password?: string
  database?: string
  /** TLS: `true` (verify against the system roots), node:tls-like settings, or `false`. */
  ssl?: SslOptions
  applicationName?: string
  /** ms for connect + TLS + authentication. Default 10000. */
  connectTimeout?: number
  /** How int8 values come back. Default `'string'` (exact, like `pg` and postgres.js). */
  int8?: Int8Mode
  /**
   * Prepare each distinct query text once per connection and reuse it (default true).
   * Turn it off behind a transaction-mode pooler (PgBouncer), where a connection's
   * prepared statements may belong to another client.
   */
  prepare?: boolean
  /** Parsers for other types by OID: `{ 600: (text) => parsePoint(text) }`; they get the text PostgreSQL prints. */
  types?: Readonly<Record<number, (text: string) => unknown>>
  /** Extra startup parameters, e.g. `{ search_path: 'app,public', TimeZone: 'UTC' }`. */
  params?: Record<string, string>
  /** Largest message accepted from the server, in bytes (default 1 GiB − 1): a longer one fails with `ERR_PG_LIMIT`. */
  maxMessageSize?: number
  /**
   * Ask for rows in binary format (default true): from the second run of a prepared
   * statement on, every column whose binary form the codec decodes comes in binary, which
   * spares the server printing and the client parsing numbers and dates. Values are the
   * same either way. Needs `prepare`.
   */
  binary?: boolean
}

/** Options with their defaults, for one connection (also used by the pool). @internal */
export function resolve(o: ClientOptions | string): PgConnectionOptions {
  const opts: ClientOptions = typeof o === 'string' ? { url: o } : o
  let fromUrl: ClientOptions = {}
  if (opts.url !== undefined) {
    let u: URL
    try {
      u = new URL(opts.url)
    } catch {
      throw invalidArg('url', opts.url, 'is not a valid URL')
    }
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw invalidArg('url', opts.url, 'must start with postgres://')
    fromUrl = {
      ...(u.hostname ? { host: decodeURIComponent(u.hostname) } : {}),
      ...(u.port ? { port: Number(u.port) } : {}),
      ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(u.pathname.length > 1 ? { database: decodeURIComponent(u.pathname.slice(1)) } : {}),
    }
    const mode = u.searchParams.get('sslmode')
    if (mode === 'disable') fromUrl.ssl = false
    else if (mode === 'require') fromUrl.ssl = { rejectUnauthorized: false }
    else if (mode === 'verify-ca' || mode === 'verify-full') fromUrl.ssl = true
  }
  const m = { ...fromUrl, ...withoutUrl(opts) }
  const user = m.user ?? process.env.PGUSER ?? 'postgres'
  return {
    host: m.host ?? '127.0.0.1',
    port: m.port ?? 5432,
    socketDir: m.socketDir,
    user,
    password: m.password,
    database: m.database ?? user,
    ssl: m.ssl ?? false,
    applicationName: m.applicationName,
    connectTimeout: m.connectTimeout ?? 10_000,
    int8: m.int8 ?? 'string',
    prepare: m.prepare ?? true,
    types: m.types,
    params: m.params,
    maxMessageSize: m.maxMessageSize,
    binary: m.binary ?? true,
  }
}

function withoutUrl(o: ClientOptions): ClientOptions {
  const { url: _u, ...rest } = o
  return rest
}

/** A SQL text with its parameters, from the {@link Client.sql} tag. */
export interface SqlQuery {
  text: string
  params: PgParam[]
}


/**
 * One connection to PostgreSQL. Queries issued in the same tick are pipelined into one
 * write; each has its own Sync, so an error fails only that query.
 */
export class Client {
  readonly #conn: PgConnection
  readonly #listeners = new Map<string, Set<(payload: string, channel: string, pid: number) => void>>()

  /** @internal */
  constructor(conn: PgConnection) {
    this.#conn = conn
  }

  /** Server parameters reported at startup (`server_version`, `TimeZone`, ...). */
  get parameters(): ReadonlyMap<string, string> {
    return this.#conn.parameters
  }

  /** `query('select $1::int as n', [1])`. */
  query<Row = Record<string, PgValue>>(text: string, params?: readonly PgParam[], opts?: QueryOptions): Promise<QueryResult<Row>> {
    return this.#conn.query<Row>(text, params, opts)
  }

  /**
   * A tagged template: values are always sent as parameters, never spliced into the text;
   * `sql.id()`, `sql.list()` and nested `sql` fragments are expanded. Resolves with the rows
   * (the array also carries `count`, `command` and `columns`).
   */
  async sql<Row = Record<string, PgValue>>(strings: TemplateStringsArray, ...values: SqlValue[]): Promise<RowList<Row>> {
    const q = fragment(strings, values).toQuery()
    return rowList(await this.#conn.query<Row>(q.text, q.params))
  }

  /**
   * Yields the rows in batches of `batchSize`, fetching the next batch only when the last
   * was taken (bounded memory for any result size).
   */
  cursor<Row = Record<string, PgValue>>(text: string, params?: readonly PgParam[], opts?: CursorOptions): AsyncIterableIterator<Row[]> {
    return this.#conn.cursor<Row>(text, params, opts)
  }

  /** `COPY ... FROM STDIN`: a Writable for the data; `'finish'` once the server completed it. */
  copyFrom(text: string): Promise<Writable> {
    return this.#conn.copyFrom(text)
  }

  /** `COPY ... TO STDOUT`: a Readable of the data. */
  copyTo(text: string): Readable {
    return this.#conn.copyTo(text)
  }

  /**
   * `LISTEN channel`: `fn(payload, channel, pid)` gets its notifications. Resolves once
   * listening; `unlisten()` stops.
   */
  async listen(channel: string, fn: (payload: string, channel: string, pid: number) => void): Promise<{ unlisten: () => Promise<void> }> {
    let set = this.#listeners.get(channel)
    if (set === undefined) {
      this.#listeners.set(channel, (set = new Set()))
      this.#conn.onNotification ??= (ch, payload, pid) => {
        for (const f of this.#listeners.get(ch) ?? []) f(payload, ch, pid)
      }
      await this.#conn.simple(`LISTEN ${quoteIdent(channel)}`)
    }
    set.add(fn)
    return {
      unlisten: async () => {
        const s = this.#listeners.get(channel)
        if (s === undefined || !s.delete(fn) || s.size > 0) return
        this.#listeners.delete(channel)
        await this.#conn.simple(`UNLISTEN ${quoteIdent(channel)}`)
      },
    }
  }

  /** `NOTIFY` through `pg_notify(channel, payload)`. */
  async notify(channel: string, payload = ''): Promise<void> {
    await this.#conn.query('select pg_notify($1, $2)', [channel, payload])
  }

  /** Cancels what the connection is running (CancelRequest). */
  cancel(): Promise<void> {
    return this.#conn.cancel()
  }

  /** Closes after the queries already sent are answered. */
  end(): Promise<void> {
    return this.#conn.close()
  }

  /** `await using client = await connect(url)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.end()
  }
}

/** Connects one client. */
export async function connect(options: ClientOptions | string): Promise<Client> {
  return new Client(await PgConnection.open(resolve(options)))
}
