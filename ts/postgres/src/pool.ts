// The pool. Theory of operation: a slot is one connection (or one being opened, or being
// health-checked: `ready` is then pending). A query takes, in order: a free slot (idle, status
// 'I', nothing in flight), a new slot (fewer than `max`), or — the point of it — a place in the
// pipeline of the shareable slot with the fewest queries in flight. Shareable excludes slots
// reserved (reserve(), begin()), claimed by a waiting reserve, and not idle ('T'/'E'). Only when
// nothing is shareable does the query wait (acquireTimeout). A reserve waits for a free slot;
// while it waits it claims the least loaded shareable slot, so no new query is pipelined onto
// it and it drains. Every change (a query answered, a release, a slot lost) runs `drain()`,
// which serves the waiters. A slot that goes free with nobody waiting arms one timer for its
// idle timeout and its end of life.
import type { Readable, Writable } from 'node:stream'
import { invalidArg } from '@iocrate/core'
import { resolve, type ClientOptions, type SqlQuery } from './client.js'
import { PgConnection, type CursorOptions, type PgConnectionOptions, type PgParam, type QueryOptions, type QueryResult } from './connection.js'
import { PgClientError, PgErrorCodes } from './errors.js'
import { fragment, id, list, PendingQuery, quoteIdent, type DefaultRow, type SqlFragment, type SqlValue } from './sql.js'

/** The pool's error codes (they are also in {@link PgErrorCodes}). */
export const PoolErrorCodes = {
  /** No connection became available within `acquireTimeout`. */
  ACQUIRE_TIMEOUT: PgErrorCodes.ACQUIRE_TIMEOUT,
  /** COMMIT answered ROLLBACK: a statement of the transaction had failed (and its error was caught). */
  TX_ROLLED_BACK: PgErrorCodes.TX_ROLLED_BACK,
} as const

/** Options of {@link createPool}: those of one connection, plus the pool's. */
export interface PoolOptions extends ClientOptions {
  /** Most connections open at once (the LISTEN connection is not counted). Default 10. */
  max?: number
  /** ms a connection may stay idle before it is closed; 0: never. Default 30000. */
  idleTimeout?: number
  /** ms a query, `reserve()` or `begin()` waits for a connection before failing with `ERR_PG_ACQUIRE_TIMEOUT`; 0: forever. Default 10000. */
  acquireTimeout?: number
  /** ms after which a connection is replaced (once idle), ± 10% so they do not all go at once; 0: never. Default 1800000 (30 min). */
  maxLifetime?: number
  /** A connection idle longer than this many ms is checked with an empty query before use; 0: never. Default 30000. */
  healthCheck?: number
}

/** What the pool, a transaction and a reserved connection have in common. */
export interface SqlTag {
  /**
   * Runs a query when awaited: `` await sql`select * from users where id = ${id}` ``. Every
   * `${value}` is sent as a parameter; fragments ({@link SqlTag.id}, {@link SqlTag.list}, other
   * templates) are expanded. Resolves to the rows, which also carry `count`, `command` and `columns`.
   */
  <Row = DefaultRow>(strings: TemplateStringsArray, ...values: SqlValue[]): PendingQuery<Row>
  /** `query('select $1::int as n', [1], { timeout: 1000 })`. */
  query<Row = DefaultRow>(text: string, params?: readonly PgParam[], opts?: QueryOptions): Promise<QueryResult<Row>>
  /** A quoted identifier fragment: `id('users')` → `"users"`, `id(['app', 'users'])` → `"app"."users"`. */
  id(name: string | readonly string[]): SqlFragment
  /** A parameter list fragment: `list([1, 2])` → `($1, $2)`; an empty list gives `(NULL)`. */
  list(values: readonly SqlValue[]): SqlFragment
}

/** What runs on one connection held for the caller: a transaction's or a reserved one. */
export interface SessionSql extends SqlTag {
  /** Yields the rows in batches of `batchSize` (default 1000), fetching each batch on demand. Breaking out ends the query. */
  cursor<Row = DefaultRow>(text: string, params?: readonly PgParam[], opts?: CursorOptions): AsyncIterableIterator<Row[]>
  /** `COPY ... FROM STDIN`: a Writable for the data; `'finish'` once the server completed it. */
  copyFrom(text: string): Promise<Writable>
  /** `COPY ... TO STDOUT`: a Readable of the data. */
  copyTo(text: string): Readable
}

/** The `tx` of {@link Sql.begin}: runs everything on the transaction's connection. */
export interface Transaction extends SessionSql {
  /**
   * Runs `fn` inside `SAVEPOINT`: released when it resolves, rolled back to (and the error
   * rethrown) when it throws, so the transaction stays usable. Nestable; run savepoints of one
   * transaction one after the other, not concurrently.
   */
  savepoint<T>(fn: (tx: Transaction) => T | Promise<T>): Promise<T>
}

/** A connection taken out of the pool by {@link Sql.reserve} until `release()`. */
export interface ReservedSql extends SessionSql {
  /** Gives the connection back (a connection left inside a transaction is closed instead). */
  release(): void
  /** `using conn = await sql.reserve()`. */
  [Symbol.dispose](): void
}

/** Options of {@link Sql.begin}. */
export interface TransactionOptions {
  /** `ISOLATION LEVEL ...`; default: the server's (`default_transaction_isolation`, normally read committed). */
  isolation?: 'read committed' | 'repeatable read' | 'serializable'
  /** `READ ONLY` (true) or `READ WRITE` (false). */
  readOnly?: boolean
  /** With `serializable` and `readOnly`: wait for a snapshot that cannot fail. */
  deferrable?: boolean
}

/** A snapshot of the pool. */
export interface PoolStats {
  /** Connections open or being opened. */
  total: number
  /** Connections open with nothing to do. */
  idle: number
  /** Queries and reservations waiting for a connection. */
  waiting: number
}

/** Gets a channel's notifications (the same shape as `Client.listen`'s): `processId` is the notifying backend's. */
export type NotificationListener = (payload: string, channel: string, processId: number) => void

/** A subscription made by {@link Sql.listen}. */
export interface Listening {
  /** Stops this listener (and `UNLISTEN`s once the channel has no listener left). */
  unlisten(): Promise<void>
}

/** A pool of connections, called as a tagged template. See {@link createPool}. */
export interface Sql extends SqlTag {
  /**
   * Runs `fn(tx)` on one connection inside BEGIN … COMMIT; ROLLBACK (and rethrows) if it throws.
   * Resolves to what `fn` returned. `tx` is unusable afterwards.
   */
  begin<T>(fn: (tx: Transaction) => T | Promise<T>, opts?: TransactionOptions): Promise<T>
  /** Takes a connection for exclusive use (session settings, temp tables, advisory locks, COPY) until `release()`. */
  reserve(): Promise<ReservedSql>
  /**
   * A cursor on a connection reserved for it until the loop ends (or breaks): yields the rows
   * in batches of `batchSize` (default 1000), fetching each batch on demand.
   */
  cursor<Row = DefaultRow>(text: string, params?: readonly PgParam[], opts?: CursorOptions): AsyncIterableIterator<Row[]>
  /**
   * `LISTEN`s on a connection of its own (opened on the first call); resolves once the server
   * listens. If that connection is lost, a new one is opened and every channel `LISTEN`ed again;
   * notifications sent in between are lost. A listener that throws does so asynchronously
   * (an uncaught exception).
   */
  listen(channel: string, fn: NotificationListener): Promise<Listening>
  /** `select pg_notify(channel, payload)` (through the pool, so inside no transaction). */
  notify(channel: string, payload?: string): Promise<void>
  /**
   * Stops taking queries (they fail with `ERR_PG_CLOSED`), waits for the running ones, open
   * transactions and reservations — at most `timeout` ms if given — then closes every connection
   * (those still busy are destroyed: their queries fail with `ERR_PG_CONNECTION_LOST`).
   */
  end(opts?: { timeout?: number }): Promise<void>
  /** Connections and waiters right now. */
  readonly stats: PoolStats
  /** `await using sql = createPool(url)`: `end()`. */
  [Symbol.asyncDispose](): Promise<void>
}

interface Slot {
  conn: PgConnection | undefined
  /** Pending while the connection opens or is health-checked. */
  ready: Promise<void> | undefined
  /** Queries given this slot and not yet sent. */
  queued: number
  reserved: boolean
  claimedBy: Waiter | undefined
  expires: number
  lastUsed: number
  timer: NodeJS.Timeout | undefined
}

interface Waiter {
  exclusive: boolean
  resolve: (s: Slot) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout | undefined
  claim: Slot | undefined
}

// A health check failed: the query takes another connection.
const RETRY = { retry: true }

type Runner = <Row>(q: SqlQuery, opts?: QueryOptions) => Promise<QueryResult<Row>>

function makeTag<T extends object>(run: Runner, extra: T): SqlTag & T {
  const tag = <Row = DefaultRow>(strings: TemplateStringsArray, ...values: SqlValue[]): PendingQuery<Row> => new PendingQuery<Row>(fragment(strings, values), (q) => run<Row>(q))
  const base = {
    query<Row = DefaultRow>(text: string, params: readonly PgParam[] = [], opts?: QueryOptions): Promise<QueryResult<Row>> {
      if (typeof text !== 'string') return Promise.reject(invalidArg('text', text, 'must be a string'))
      return run<Row>({ text, params: [...params] }, opts)
    },
    id,
    list,
  }
  Object.defineProperties(tag, Object.getOwnPropertyDescriptors(base))
  Object.defineProperties(tag, Object.getOwnPropertyDescriptors(extra))
  return tag as unknown as SqlTag & T
}

// Cursor and COPY on a held connection, refused once `isOpen()` is false.
function session(conn: PgConnection, isOpen: () => boolean, what: string): Pick<SessionSql, 'cursor' | 'copyFrom' | 'copyTo'> {
  const check = (): void => {
    if (!isOpen()) throw closedError(what)
  }
  return {
    cursor<Row = DefaultRow>(text: string, params?: readonly PgParam[], opts?: CursorOptions): AsyncIterableIterator<Row[]> {
      check()
      return conn.cursor<Row>(text, params, opts)
    },
    async copyFrom(text: string): Promise<Writable> {
      check()
      return conn.copyFrom(text)
    },
    copyTo(text: string): Readable {
      check()
      return conn.copyTo(text)
    },
  }
}

function ms(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidArg(name, v, 'must be a number of milliseconds >= 0')
  return v
}

const ISOLATION = new Set(['read committed', 'repeatable read', 'serializable'])

function beginText(o: TransactionOptions): string {
  const modes: string[] = []
  if (o.isolation !== undefined) {
    if (!ISOLATION.has(o.isolation)) throw invalidArg('isolation', o.isolation, "must be 'read committed', 'repeatable read' or 'serializable'")
    modes.push('isolation level ' + o.isolation)
  }
  if (o.readOnly !== undefined) modes.push(o.readOnly ? 'read only' : 'read write')
  if (o.deferrable !== undefined) modes.push(o.deferrable ? 'deferrable' : 'not deferrable')
  return modes.length === 0 ? 'begin' : 'begin ' + modes.join(', ')
}

const closedError = (what: string): PgClientError => new PgClientError(PgErrorCodes.CLOSED, what)
const lostError = (): PgClientError => new PgClientError(PgErrorCodes.CONNECTION_LOST, 'the connection to PostgreSQL was lost')

class Pool {
  readonly #opts: PgConnectionOptions
  readonly #max: number
  readonly #idleTimeout: number
  readonly #acquireTimeout: number
  readonly #maxLifetime: number
  readonly #healthCheck: number
  readonly #slots = new Set<Slot>()
  readonly #waiters: Waiter[] = []
  readonly #listeners: Listeners
  #draining = false
  #closed = false
  #ended: Promise<void> | undefined
  #quiet: Array<() => void> = []

  constructor(o: PoolOptions | string) {
    const p: PoolOptions = typeof o === 'string' ? { url: o } : o
    this.#opts = resolve(p)
    const max = p.max ?? 10
    if (!Number.isInteger(max) || max < 1) throw invalidArg('max', max, 'must be an integer >= 1')
    this.#max = max
    this.#idleTimeout = ms('idleTimeout', p.idleTimeout, 30_000)
    this.#acquireTimeout = ms('acquireTimeout', p.acquireTimeout, 10_000)
    this.#maxLifetime = ms('maxLifetime', p.maxLifetime, 30 * 60_000)
    this.#healthCheck = ms('healthCheck', p.healthCheck, 30_000)
    this.#listeners = new Listeners(() => PgConnection.open(this.#opts))
  }

  get stats(): PoolStats {
    let idle = 0
    for (const s of this.#slots) if (this.#isFree(s)) idle++
    return { total: this.#slots.size, idle, waiting: this.#waiters.length }
  }

  #load(s: Slot): number {
    return s.queued + (s.conn?.pending ?? 0)
  }

  #isFree(s: Slot): boolean {
    return s.conn !== undefined && s.ready === undefined && !s.reserved && s.claimedBy === undefined && this.#load(s) === 0 && s.conn.status === 'I' && !s.conn.closed
  }

  #shareable(s: Slot): boolean {
    return !s.reserved && s.claimedBy === undefined && (s.conn === undefined || (s.conn.status === 'I' && !s.conn.closed))
  }

  // The free slot used last (so the others idle out); retires expired ones on the way and
  // health-checks a stale one.
  #takeFree(): Slot | undefined {
    const now = Date.now()
    let best: Slot | undefined
    for (const s of this.#slots) {
      if (!this.#isFree(s)) continue
      if (this.#maxLifetime > 0 && now >= s.expires) {
        this.#retire(s)
        continue
      }
      if (best === undefined || s.lastUsed > best.lastUsed) best = s
    }
    if (best !== undefined) {
      clearTimeout(best.timer)
      best.timer = undefined
      if (this.#healthCheck > 0 && now - best.lastUsed > this.#healthCheck) this.#check(best)
    }
    return best
  }

  #leastLoaded(): Slot | undefined {
    let best: Slot | undefined
    let load = Infinity
    for (const s of this.#slots) {
      if (!this.#shareable(s)) continue
      const l = this.#load(s)
      if (l < load) {
        best = s
        load = l
      }
    }
    return best
  }

  #open(reserved: boolean): Slot {
    const now = Date.now()
    const s: Slot = { conn: undefined, ready: undefined, queued: 0, reserved, claimedBy: undefined, expires: now + this.#maxLifetime * (0.9 + 0.2 * Math.random()), lastUsed: now, timer: undefined }
    const ready = PgConnection.open(this.#opts).then(
      (conn) => {
        s.conn = conn
        s.ready = undefined
        if (!this.#slots.has(s)) {
          // The pool ended (timeout) while this connection was being opened.
          conn.destroy()
          throw lostError()
        }
        conn.onClose = () => this.#lost(s)
        this.#settled(s)
      },
      (err: unknown) => {
        // The queries (or the reserve) waiting on this connection fail with the reason.
        s.ready = undefined
        this.#slots.delete(s)
        this.#drain()
        throw err
      },
    )
    ready.catch(() => {})
    s.ready = ready
    this.#slots.add(s)
    return s
  }

  #check(s: Slot): void {
    const conn = s.conn!
    const ready = conn.simple('').then(
      () => {
        s.ready = undefined
        this.#settled(s)
      },
      () => {
        s.ready = undefined
        conn.destroy()
        this.#lost(s)
        throw RETRY
      },
    )
    ready.catch(() => {})
    s.ready = ready
  }

  #unclaim(s: Slot): void {
    const w = s.claimedBy
    if (w !== undefined) w.claim = undefined
    s.claimedBy = undefined
  }

  #retire(s: Slot): void {
    this.#slots.delete(s)
    clearTimeout(s.timer)
    this.#unclaim(s)
    const conn = s.conn
    if (conn === undefined) return
    conn.onClose = undefined
    void conn.close().catch(() => conn.destroy())
  }

  #lost(s: Slot): void {
    if (!this.#slots.delete(s)) return
    clearTimeout(s.timer)
    this.#unclaim(s)
    this.#drain()
  }

  // After a query on `s` was answered, a release, an open or a check.
  #settled(s: Slot): void {
    s.lastUsed = Date.now()
    if (!this.#slots.has(s) || s.reserved || s.ready !== undefined || this.#load(s) > 0) return this.#checkQuiet()
    if (s.conn!.status !== 'I') {
      // Left inside a transaction by a `begin` of its own: never hand that to anyone.
      this.#retire(s)
    }
    this.#drain()
    if (this.#isFree(s)) this.#arm(s)
  }

  // One timer per free slot: the idle timeout or the end of its life, whichever comes first.
  #arm(s: Slot): void {
    clearTimeout(s.timer)
    s.timer = undefined
    const at = Math.min(this.#idleTimeout > 0 ? s.lastUsed + this.#idleTimeout : Infinity, this.#maxLifetime > 0 ? s.expires : Infinity)
    if (at === Infinity || this.#closed) return
    s.timer = setTimeout(
      () => {
        s.timer = undefined
        if (!this.#isFree(s)) return
        if (Date.now() + 2 >= at) this.#retire(s)
        else this.#arm(s)
      },
      Math.max(0, at - Date.now()),
    )
    s.timer.unref()
  }

  #grant(w: Waiter): Slot | undefined {
    if (!w.exclusive) {
      const s = this.#takeFree() ?? (this.#slots.size < this.#max ? this.#open(false) : this.#leastLoaded())
      if (s !== undefined) s.queued++
      return s
    }
    const c = w.claim
    if (c !== undefined && c.conn !== undefined && c.ready === undefined && this.#load(c) === 0 && c.conn.status === 'I' && !c.conn.closed) {
      this.#unclaim(c)
      clearTimeout(c.timer)
      c.reserved = true
      return c
    }
    const s = this.#takeFree() ?? (this.#slots.size < this.#max ? this.#open(true) : undefined)
    if (s !== undefined) {
      if (c !== undefined) this.#unclaim(c)
      s.reserved = true
      return s
    }
    if (c === undefined) {
      const t = this.#leastLoaded()
      if (t !== undefined) {
        t.claimedBy = w
        w.claim = t
      }
    }
    return undefined
  }

  #drain(): void {
    if (this.#draining) return
    this.#draining = true
    try {
      for (let i = 0; i < this.#waiters.length; ) {
        const w = this.#waiters[i]!
        const s = this.#grant(w)
        if (s === undefined) {
          i++
          continue
        }
        this.#waiters.splice(i, 1)
        clearTimeout(w.timer)
        w.resolve(s)
      }
    } finally {
      this.#draining = false
    }
    this.#checkQuiet()
  }

  #acquire(exclusive: boolean): Slot | Promise<Slot> {
    const w: Waiter = { exclusive, resolve: () => {}, reject: () => {}, timer: undefined, claim: undefined }
    const s = this.#grant(w)
    if (s !== undefined) return s
    return new Promise<Slot>((resolve, reject) => {
      w.resolve = resolve
      w.reject = reject
      if (this.#acquireTimeout > 0) w.timer = setTimeout(() => this.#timedOut(w), this.#acquireTimeout)
      this.#waiters.push(w)
    })
  }

  #timedOut(w: Waiter): void {
    const i = this.#waiters.indexOf(w)
    if (i < 0) return
    this.#waiters.splice(i, 1)
    const c = w.claim
    if (c !== undefined) {
      this.#unclaim(c)
      this.#settled(c)
    }
    w.reject(
      new PgClientError(
        PoolErrorCodes.ACQUIRE_TIMEOUT,
        `no connection became available within ${this.#acquireTimeout} ms (max ${this.#max}, ${this.#slots.size} open, ${this.#waiters.length} other waiters)`,
      ),
    )
  }

  // Waits for `ready` of a granted slot. false: a health check failed, take another.
  async #ready(s: Slot): Promise<boolean> {
    if (s.ready === undefined) return true
    try {
      await s.ready
      return true
    } catch (err) {
      if (err === RETRY) return false
      throw err
    }
  }

  readonly run: Runner = async <Row>(q: SqlQuery, opts?: QueryOptions): Promise<QueryResult<Row>> => {
    for (;;) {
      if (this.#closed) throw closedError('the pool was ended')
      const got = this.#acquire(false)
      const s = got instanceof Promise ? await got : got
      if (s.ready === undefined) {
        s.queued--
        return this.#send<Row>(s, q, opts)
      }
      let ok: boolean
      try {
        ok = await this.#ready(s)
      } finally {
        s.queued--
      }
      if (ok) return this.#send<Row>(s, q, opts)
    }
  }

  #send<Row>(s: Slot, q: SqlQuery, opts?: QueryOptions): Promise<QueryResult<Row>> {
    const conn = s.conn!
    if (conn.closed) return Promise.reject(lostError())
    clearTimeout(s.timer)
    s.timer = undefined
    const p = conn.query<Row>(q.text, q.params, opts)
    const done = (): void => this.#settled(s)
    p.then(done, done)
    return p
  }

  async #reserveSlot(): Promise<Slot> {
    for (;;) {
      if (this.#closed) throw closedError('the pool was ended')
      const got = this.#acquire(true)
      const s = got instanceof Promise ? await got : got
      if (await this.#ready(s)) return s
    }
  }

  #release(s: Slot): void {
    s.reserved = false
    this.#settled(s)
  }

  async begin<T>(fn: (tx: Transaction) => T | Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    const text = beginText(opts)
    const s = await this.#reserveSlot()
    const conn = s.conn!
    const state = { open: true }
    try {
      await conn.simple(text)
      const out = await fn(this.#transaction(s, state))
      state.open = false
      const r = await conn.simple('commit')
      if (r.command === 'ROLLBACK') throw new PgClientError(PoolErrorCodes.TX_ROLLED_BACK, 'the transaction was rolled back at COMMIT: one of its statements had failed')
      return out
    } catch (err) {
      // Also after a failed COMMIT: a no-op (a warning) outside a transaction.
      state.open = false
      if (!conn.closed) await conn.simple('rollback').catch(() => {})
      throw err
    } finally {
      this.#release(s)
    }
  }

  #transaction(s: Slot, state: { open: boolean }): Transaction {
    const conn = s.conn!
    const run: Runner = (q, opts) => (state.open ? this.#send(s, q, opts) : Promise.reject(closedError('the transaction is over')))
    let n = 0
    const tx: Transaction = makeTag(run, {
      ...session(conn, () => state.open, 'the transaction is over'),
      async savepoint<T>(fn: (tx: Transaction) => T | Promise<T>): Promise<T> {
        if (!state.open) throw closedError('the transaction is over')
        const name = `iocrate_sp_${++n}`
        await conn.simple(`savepoint ${name}`)
        try {
          const out = await fn(tx)
          await conn.simple(`release savepoint ${name}`)
          return out
        } catch (err) {
          if (!conn.closed) await conn.simple(`rollback to savepoint ${name}; release savepoint ${name}`).catch(() => {})
          throw err
        }
      },
    })
    return tx
  }

  async reserve(): Promise<ReservedSql> {
    const s = await this.#reserveSlot()
    let open = true
    const run: Runner = (q, opts) => (open ? this.#send(s, q, opts) : Promise.reject(closedError('the reserved connection was released')))
    const release = (): void => {
      if (!open) return
      open = false
      this.#release(s)
    }
    return makeTag(run, { ...session(s.conn!, () => open, 'the reserved connection was released'), release, [Symbol.dispose]: release })
  }

  async *cursor<Row>(text: string, params?: readonly PgParam[], opts?: CursorOptions): AsyncGenerator<Row[], void, undefined> {
    const s = await this.#reserveSlot()
    try {
      yield* s.conn!.cursor<Row>(text, params, opts)
    } finally {
      this.#release(s)
    }
  }

  listen(channel: string, fn: NotificationListener): Promise<Listening> {
    if (this.#closed) return Promise.reject(closedError('the pool was ended'))
    return this.#listeners.listen(channel, fn)
  }

  async notify(channel: string, payload = ''): Promise<void> {
    await this.run({ text: 'select pg_notify($1, $2)', params: [channel, payload] })
  }

  end(opts: { timeout?: number } = {}): Promise<void> {
    if (this.#ended !== undefined) return this.#ended
    const timeout = opts.timeout === undefined ? undefined : ms('timeout', opts.timeout, 0)
    this.#closed = true
    this.#ended = this.#end(timeout)
    return this.#ended
  }

  async #end(timeout: number | undefined): Promise<void> {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer)
      if (w.claim !== undefined) this.#unclaim(w.claim)
      w.reject(closedError('the pool was ended'))
    }
    const listeners = this.#listeners.close()
    const quiet = new Promise<void>((r) => {
      this.#quiet.push(r)
      this.#checkQuiet()
    })
    let timer: NodeJS.Timeout | undefined
    if (timeout === undefined) await quiet
    else await Promise.race([quiet, new Promise<void>((r) => (timer = setTimeout(r, timeout)))])
    clearTimeout(timer)
    const closing: Array<Promise<void>> = [listeners]
    for (const s of [...this.#slots]) {
      this.#slots.delete(s)
      clearTimeout(s.timer)
      const conn = s.conn
      if (conn === undefined) continue // being opened: destroyed when it is (see #open)
      conn.onClose = undefined
      if (s.ready === undefined && !s.reserved && this.#load(s) === 0) closing.push(conn.close().catch(() => conn.destroy()))
      else conn.destroy()
    }
    await Promise.all(closing)
  }

  #checkQuiet(): void {
    if (this.#quiet.length === 0) return
    for (const s of this.#slots) if (s.ready !== undefined || s.reserved || this.#load(s) > 0) return
    for (const r of this.#quiet.splice(0)) r()
  }
}

interface Entry {
  fn: NotificationListener
}

interface ListenConn {
  conn: PgConnection
  listened: Set<string>
}

// LISTEN/NOTIFY on a connection of its own. Every change goes through one chain of
// operations, each making the server's LISTENs match `#channels`, so calls never race.
class Listeners {
  readonly #open: () => Promise<PgConnection>
  readonly #channels = new Map<string, Set<Entry>>()
  #conn: ListenConn | undefined
  #chain: Promise<void> = Promise.resolve()
  #closed = false
  #retry: NodeJS.Timeout | undefined
  #attempt = 0

  constructor(open: () => Promise<PgConnection>) {
    this.#open = open
  }

  async listen(channel: string, fn: NotificationListener): Promise<Listening> {
    if (typeof channel !== 'string' || channel.length === 0) throw invalidArg('channel', channel, 'must be a non-empty string')
    if (typeof fn !== 'function') throw invalidArg('fn', fn, 'must be a function')
    quoteIdent(channel)
    const entry: Entry = { fn }
    let set = this.#channels.get(channel)
    if (set === undefined) this.#channels.set(channel, (set = new Set()))
    set.add(entry)
    const remove = (): void => {
      set.delete(entry)
      if (set.size === 0 && this.#channels.get(channel) === set) this.#channels.delete(channel)
    }
    try {
      await this.#op(() => this.#sync(channel))
    } catch (err) {
      remove()
      throw err
    }
    let done = false
    return {
      unlisten: async () => {
        if (done) return
        done = true
        remove()
        await this.#op(() => this.#sync(channel))
      },
    }
  }

  #op(f: () => Promise<void>): Promise<void> {
    const p = this.#chain.then(f)
    this.#chain = p.catch(() => {})
    return p
  }

  // Makes the server listen on `channel` exactly when someone does here.
  async #sync(channel: string): Promise<void> {
    if (this.#closed) return
    if (this.#channels.has(channel)) {
      const c = await this.#ensure()
      if (c.listened.has(channel)) return
      await c.conn.simple(`listen ${quoteIdent(channel)}`)
      c.listened.add(channel)
      return
    }
    const c = this.#conn
    if (c === undefined) return
    if (this.#channels.size === 0) {
      this.#conn = undefined
      await c.conn.close()
    } else if (c.listened.has(channel)) {
      c.listened.delete(channel)
      await c.conn.simple(`unlisten ${quoteIdent(channel)}`)
    }
  }

  async #ensure(): Promise<ListenConn> {
    if (this.#conn !== undefined && !this.#conn.conn.closed) return this.#conn
    const conn = await this.#open()
    if (this.#closed) {
      conn.destroy()
      throw closedError('the pool was ended')
    }
    const c: ListenConn = { conn, listened: new Set() }
    conn.onNotification = (channel, payload, pid) => this.#dispatch(channel, payload, pid)
    conn.onClose = () => {
      if (this.#conn !== c) return
      this.#conn = undefined
      this.#reconnect()
    }
    this.#conn = c
    return c
  }

  #reconnect(): void {
    if (this.#closed || this.#channels.size === 0 || this.#retry !== undefined) return
    const delay = this.#attempt === 0 ? 0 : Math.min(50 * 2 ** this.#attempt, 5000)
    this.#attempt++
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#op(async () => {
        for (const ch of [...this.#channels.keys()]) await this.#sync(ch)
      }).then(
        () => (this.#attempt = 0),
        () => this.#reconnect(),
      )
    }, delay)
  }

  #dispatch(channel: string, payload: string, processId: number): void {
    const set = this.#channels.get(channel)
    if (set === undefined) return
    for (const e of [...set]) {
      try {
        e.fn(payload, channel, processId)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    this.#channels.clear()
    const c = this.#conn
    this.#conn = undefined
    if (c !== undefined) await c.conn.close().catch(() => c.conn.destroy())
    await this.#chain
  }
}

/**
 * A pool of connections, used as a tagged template:
 *
 * ```ts
 * await using sql = createPool('postgres://app:secret@db/app')
 * const users = await sql<{ id: number; name: string }>`select id, name from ${sql.id('users')} where id in ${sql.list(ids)}`
 * users.count // rows returned
 * await sql.begin(async (tx) => {
 *   await tx`update accounts set balance = balance - ${n} where id = ${from}`
 *   await tx`update accounts set balance = balance + ${n} where id = ${to}`
 * }, { isolation: 'serializable' })
 * ```
 *
 * Queries take an idle connection, or open one (up to `max`), or else are pipelined onto the
 * connection with the fewest queries in flight — never onto one that is reserved or inside a
 * transaction. A lost connection fails its queries with `ERR_PG_CONNECTION_LOST` and is
 * replaced on demand. Queries run when awaited (or on `.execute()`).
 */
export function createPool(options: PoolOptions | string): Sql {
  const p = new Pool(options)
  return makeTag(p.run, {
    begin: <T>(fn: (tx: Transaction) => T | Promise<T>, opts?: TransactionOptions) => p.begin(fn, opts),
    reserve: () => p.reserve(),
    cursor: <Row = DefaultRow>(text: string, params?: readonly PgParam[], opts?: CursorOptions): AsyncIterableIterator<Row[]> => p.cursor<Row>(text, params, opts),
    listen: (channel: string, fn: NotificationListener) => p.listen(channel, fn),
    notify: (channel: string, payload?: string) => p.notify(channel, payload),
    end: (opts?: { timeout?: number }) => p.end(opts),
    get stats(): PoolStats {
      return p.stats
    },
    [Symbol.asyncDispose]: () => p.end(),
  })
}
