import { Command, type CommandOptions, type RedisArg } from './command.js'
import { RedisEmitter } from './emitter.js'
import { RedisCommands } from './commands.js'
import { RedisConnection, type ConnectionOptions, type Endpoint } from './connection.js'
import { RedisError, RedisErrorCodes, type ReplyError } from './errors.js'
import { backoff, resolveOptions, type RedisClientOptions, type ResolvedOptions } from './options.js'
import { Pipeline, Transaction } from './pipeline.js'
import { PubSub, type MessageListener, type PatternListener, type SubscribeOptions } from './pubsub.js'
import { resolveSentinelMaster, watchSentinels, type SentinelWatch } from './sentinel.js'
import type { RedisReply } from './tape.js'

/** Connection settings for one endpoint. @internal */
export function connectionOptions(o: ResolvedOptions, endpoint: Endpoint, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    endpoint,
    tls: o.tls,
    username: o.username,
    password: o.password,
    db: o.db,
    clientName: o.name,
    protocol: o.protocol,
    connectTimeout: o.connectTimeout,
    commandTimeout: o.commandTimeout,
    keepAlive: o.keepAlive,
    noDelay: o.noDelay,
    maxBulk: o.maxBulk,
    transport: o.transport,
    ...extra,
  }
}

/** Events of a {@link RedisClient}. */
export interface RedisClientEvents {
  /** Connected and the handshake is done (also after each reconnect). */
  ready: []
  /** The connection was lost (`error` says why); a reconnect follows unless retries are off. */
  disconnect: [error: Error]
  /** A reconnect attempt is scheduled. */
  reconnecting: [info: { attempt: number; delay: number; error: Error }]
  /** Gave up reconnecting, or a background connection failed. */
  error: [error: Error]
  /** Closed for good (`close()`, `disconnect()`, or retries exhausted). */
  end: []
  /** A RESP3 push that is not pub/sub (e.g. client-side caching invalidations after `CLIENT TRACKING ON`). */
  push: [message: RedisReply[]]
}

/**
 * A Redis client: one multiplexed connection with automatic pipelining (every command
 * issued in the same tick leaves in one write), reconnects with backoff (re-authenticating,
 * re-selecting and re-subscribing), pub/sub and blocking commands on connections of their
 * own, pipelines and transactions.
 *
 * ```ts
 * const redis = createClient('redis://127.0.0.1:6379')
 * await redis.set('greeting', 'hello')
 * console.log(await redis.get('greeting'))
 * await redis.close()
 * ```
 */
export class RedisClient extends RedisEmitter<RedisClientEvents> {
  /** The options, with defaults applied. @internal */
  readonly _options: ResolvedOptions
  #conn: RedisConnection | undefined
  #offline: Command[] = []
  #connecting: Promise<void> | undefined
  #closed = false
  #closing = false
  #everReady = false
  #ref = true
  #pubsub: PubSub | undefined
  #idle: RedisConnection[] = []
  #busy = 0
  #waiters: Array<(c: RedisConnection | Error) => void> = []
  #reconnectTimer: NodeJS.Timeout | undefined
  #sentinelWatch: SentinelWatch | undefined
  #switchedTo: { to: Endpoint; until: number } | undefined
  #readonlyRetried = new WeakSet<Command>()

  constructor(options?: RedisClientOptions | string) {
    super()
    this._options = resolveOptions(options)
  }

  /** Whether the main connection is up. */
  get ready(): boolean {
    return this.#conn !== undefined && !this.#conn.closed
  }

  /** The protocol the server agreed to (2 or 3), once connected. */
  get protocol(): 2 | 3 | undefined {
    return this.#conn?.resp
  }

  /**
   * Connects (commands also connect on first use). The first connection fails fast: it
   * rejects with the error (`ECONNREFUSED`, `ERR_REDIS_AUTH`, ...) instead of retrying.
   */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError())
    if (this.ready) return Promise.resolve()
    return (this.#connecting ??= this.#establish(!this.#everReady))
  }

  async #open(endpointOverride?: Endpoint, extra: Partial<ConnectionOptions> = {}): Promise<RedisConnection> {
    const o = this._options
    // Just after +switch-master, the other sentinels may still name the old master (which
    // says it is one until a sentinel demotes it): go to the announced one for a while.
    const sw = this.#switchedTo
    const hint = endpointOverride === undefined && sw !== undefined && sw.until > Date.now() ? sw.to : undefined
    const endpoint = endpointOverride ?? hint ?? (o.sentinels !== undefined ? await resolveSentinelMaster(o) : o.endpoint)
    let c: RedisConnection
    try {
      c = await RedisConnection.open(connectionOptions(o, endpoint, { ref: this.#ref, ...extra }))
    } catch (err) {
      if (hint !== undefined) this.#switchedTo = undefined
      throw err
    }
    if (o.sentinels !== undefined && !extra.subscriber) {
      // The sentinels may lag behind a failover: talk to a master only.
      const role = (await c.call(['ROLE'])) as RedisReply[]
      const r = role[0]
      if ((Buffer.isBuffer(r) ? r.toString() : r) !== 'master') {
        if (hint !== undefined) this.#switchedTo = undefined
        c.destroy()
        throw new RedisError(RedisErrorCodes.SENTINEL, `the sentinels named ${endpoint.host}:${endpoint.port} as master of '${o.sentinelName}', but it is a replica`)
      }
    }
    return c
  }

  async #establish(initial: boolean): Promise<void> {
    let attempt = 0
    for (;;) {
      try {
        const c = await this.#open()
        if (this.#closed) {
          c.destroy()
          throw closedError()
        }
        this.#attach(c)
        return
      } catch (err) {
        const e = err as Error
        const fatal = this.#closed || initial || (e instanceof RedisError && e.code === RedisErrorCodes.AUTH)
        const delay = fatal ? null : backoff(this._options.retry, attempt++)
        if (delay === null) {
          this.#connecting = undefined
          const failure = this.#closed ? closedError() : initial ? e : new RedisError(RedisErrorCodes.UNAVAILABLE, `Redis is unavailable: ${e.message}`, { cause: e })
          for (const c of this.#offline.splice(0)) c.fail(failure)
          if (!initial && !this.#closed) {
            this._emit('error', failure)
            this.#shutdown()
          }
          throw failure
        }
        this._emit('reconnecting', { attempt, delay, error: e })
        await new Promise<void>((r) => {
          this.#reconnectTimer = setTimeout(r, delay)
          if (!this.#ref) this.#reconnectTimer.unref()
        })
        this.#reconnectTimer = undefined
      }
    }
  }

  #attach(c: RedisConnection): void {
    this.#conn = c
    c.onPush = (m) => this._emit('push', m)
    this.#connecting = undefined
    this.#everReady = true
    c.onClose = (err) => {
      if (this.#conn === c) this.#conn = undefined
      if (err === undefined || this.#closed) return
      this._emit('disconnect', err)
      if (this._options.retry === false) {
        for (const q of this.#offline.splice(0)) q.fail(err)
        this._emit('error', err)
        this.#shutdown()
        return
      }
      this.#connecting ??= this.#establish(false).catch(() => {})
    }
    const q = this.#offline
    this.#offline = []
    for (const cmd of q) c.send(cmd)
    if (this._options.sentinels !== undefined) this.#sentinelWatch ??= watchSentinels(this._options, (to) => this._failover(to))
    this._emit('ready')
  }

  /**
   * Sentinel: the master moved (`+switch-master`, or a `READONLY` reply from a demoted
   * master). Drops the connections to the old one; the main connection reconnects through
   * the sentinels. @internal
   */
  _failover(to?: Endpoint): void {
    if (to !== undefined) this.#switchedTo = { to, until: Date.now() + 10_000 }
    const c = this.#conn
    const e = c?.options.endpoint
    if (c !== undefined && !c.closed && !(to !== undefined && e?.host === to.host && e?.port === to.port)) {
      const why = to !== undefined ? 'the sentinels reported a failover of the master' : 'the master was demoted to a replica (READONLY)'
      c.destroy(new RedisError(RedisErrorCodes.CONNECTION_LOST, why))
    }
    for (const i of this.#idle.splice(0)) i.destroy()
  }

  // Sentinel: a write reached a demoted master. It did not run: reconnect, then send it again (once).
  #readonly(cmd: Command, e: ReplyError): boolean {
    if (e.prefix !== 'READONLY') return false
    this._failover()
    if (cmd.errorsAsValues || this.#readonlyRetried.has(cmd) || this.#closed) return false
    this.#readonlyRetried.add(cmd)
    this.#offline.push(cmd)
    if (this.#conn === undefined && this.#connecting === undefined) this.connect().catch(() => {})
    return true
  }

  /** Sends commands in order on the main connection (queued while connecting). @internal */
  _send(cmds: Command[]): void {
    if (this.#closed || this.#closing) {
      const e = closedError()
      for (const c of cmds) c.fail(e)
      return
    }
    if (this._options.sentinels !== undefined) for (const cmd of cmds) cmd.onReplyError ??= (e) => this.#readonly(cmd, e)
    const c = this.#conn
    if (c !== undefined && !c.closed) {
      for (const cmd of cmds) c.send(cmd)
      return
    }
    if (!this._options.enableOfflineQueue && this.#everReady) {
      const e = new RedisError(RedisErrorCodes.UNAVAILABLE, 'Redis is not connected and the offline queue is disabled')
      for (const cmd of cmds) cmd.fail(e)
      return
    }
    for (const cmd of cmds) this.#offline.push(cmd)
    if (this.#connecting === undefined) {
      this.connect().catch(() => {})
    }
  }

  /** @internal */
  protected _cmd<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T> {
    const c = new Command(args, transform as ((r: RedisReply) => unknown) | undefined, opts)
    if (c.done) return c.promise as Promise<T>
    // The common case without an array: connected, no sentinel hook.
    const conn = this.#conn
    if (conn !== undefined && !conn.closed && !this.#closing && !this.#closed && this._options.sentinels === undefined) conn.send(c)
    else this._send([c])
    return c.promise as Promise<T>
  }

  /** @internal */
  protected override _blocking<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T> {
    return this.isolated((c) => c._run(args, transform, opts, true))
  }

  /** An explicit pipeline: commands are queued and sent in one write by `exec()`. */
  pipeline(): Pipeline {
    return new Pipeline((cmds) => this._send(cmds))
  }

  /** A transaction: `MULTI`, the queued commands and `EXEC`, sent in one write. */
  multi(): Transaction {
    return new Transaction((cmds) => this._send(cmds))
  }

  // ---- isolated connections (WATCH, blocking commands) -------------------------------------

  async #acquire(): Promise<RedisConnection> {
    for (;;) {
      const c = this.#idle.pop()
      if (c === undefined) break
      if (!c.closed) {
        this.#busy++
        return c
      }
    }
    if (this.#busy < this._options.isolationPoolSize) {
      this.#busy++
      try {
        return await this.#open()
      } catch (err) {
        this.#busy--
        this.#wakeWaiter()
        throw err
      }
    }
    return new Promise<RedisConnection>((resolve, reject) => {
      this.#waiters.push((c) => (c instanceof Error ? reject(c) : resolve(c)))
    })
  }

  #release(c: RedisConnection, reusable: boolean): void {
    const w = this.#waiters.shift()
    if (reusable && !c.closed && !this.#closed) {
      if (w !== undefined) return w(c)
      this.#busy--
      this.#idle.push(c)
      return
    }
    this.#busy--
    c.destroy()
    if (w !== undefined) {
      this.#busy++
      this.#open().then(w, (e: Error) => {
        this.#busy--
        w(e)
      })
    }
  }

  #wakeWaiter(): void {
    const w = this.#waiters.shift()
    if (w === undefined) return
    this.#busy++
    this.#open().then(w, (e: Error) => {
      this.#busy--
      w(e)
    })
  }

  /**
   * Runs `fn` with a connection of its own (from a small pool): for `WATCH`/`MULTI`/`EXEC`
   * and anything that holds connection state. The connection goes back to the pool after.
   */
  async isolated<T>(fn: (conn: IsolatedClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError()
    const c = await this.#acquire()
    const iso = new IsolatedClient(c)
    let ok = false
    try {
      const r = await fn(iso)
      ok = true
      return r
    } finally {
      const clean = ok && !iso._watching && !c.closed
      if (!clean && !c.closed && iso._watching) {
        // Leave no WATCH behind for the next user.
        iso._watching = false
        c.call(['UNWATCH']).then(
          () => this.#release(c, true),
          () => this.#release(c, false),
        )
      } else {
        this.#release(c, clean || (!c.closed && c.pending === 0))
      }
    }
  }

  // ---- pub/sub -----------------------------------------------------------------------------

  #ps(): PubSub {
    return (this.#pubsub ??= new PubSub(
      () => this.#open(undefined, { subscriber: true, commandTimeout: 0 }),
      this._options.retry,
      (e) => this._emit('error', e),
    ))
  }

  /** Subscribes to channels; `listener(message, channel)` gets their messages. Resolves when subscribed. */
  subscribe(channels: string | string[], listener: MessageListener, opts?: SubscribeOptions): Promise<void> {
    return this.#ps().subscribe('channel', channels, listener, opts)
  }

  /** Subscribes to glob patterns; `listener(message, channel, pattern)`. */
  psubscribe(patterns: string | string[], listener: PatternListener, opts?: SubscribeOptions): Promise<void> {
    return this.#ps().subscribe('pattern', patterns, listener as MessageListener, opts)
  }

  /** Subscribes to shard channels (`SSUBSCRIBE`, Redis 7). */
  ssubscribe(channels: string | string[], listener: MessageListener, opts?: SubscribeOptions): Promise<void> {
    return this.#ps().subscribe('shard', channels, listener, opts)
  }

  /** Removes `listener` (or every listener) from channels; unsubscribes channels left without one. */
  unsubscribe(channels?: string | string[], listener?: MessageListener): Promise<void> {
    return this.#pubsub?.unsubscribe('channel', channels, listener) ?? Promise.resolve()
  }

  /** Like {@link RedisClient.unsubscribe} for patterns. */
  punsubscribe(patterns?: string | string[], listener?: PatternListener): Promise<void> {
    return this.#pubsub?.unsubscribe('pattern', patterns, listener as MessageListener | undefined) ?? Promise.resolve()
  }

  /** Like {@link RedisClient.unsubscribe} for shard channels. */
  sunsubscribe(channels?: string | string[], listener?: MessageListener): Promise<void> {
    return this.#pubsub?.unsubscribe('shard', channels, listener) ?? Promise.resolve()
  }

  /** `PUBLISH channel message`: how many subscribers got it. */
  publish(channel: string, message: string | Buffer): Promise<number> {
    return this._cmd(['PUBLISH', channel, message], (r) => r as number)
  }

  /** `SPUBLISH shardchannel message`. */
  spublish(channel: string, message: string | Buffer): Promise<number> {
    return this._cmd(['SPUBLISH', channel, message], (r) => r as number)
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Lets the process exit while this client is open and idle. */
  unref(): this {
    this.#ref = false
    this.#conn?.unref()
    for (const c of this.#idle) c.unref()
    this.#pubsub?.unref()
    return this
  }

  /** Undoes {@link RedisClient.unref}. */
  ref(): this {
    this.#ref = true
    this.#conn?.ref()
    for (const c of this.#idle) c.ref()
    this.#pubsub?.ref()
    return this
  }

  /** Waits for every sent command's reply, then closes all connections. */
  async close(): Promise<void> {
    if (this.#closed || this.#closing) return
    this.#closing = true
    // Commands waiting for the first connection are sent before closing, as if it were up.
    if (this.#offline.length > 0 && this.#connecting !== undefined) await this.#connecting.catch(() => {})
    this.#closed = true
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer)
    this.#sentinelWatch?.close()
    const e = closedError()
    for (const c of this.#offline.splice(0)) c.fail(e)
    for (const w of this.#waiters.splice(0)) w(e)
    const conns = [this.#conn, ...this.#idle].filter((c): c is RedisConnection => c !== undefined)
    this.#idle = []
    await Promise.all([...conns.map((c) => c.close()), this.#pubsub?.close()])
    this.#conn = undefined
    this._emit('end')
  }

  /** Closes every connection now; unanswered commands fail. */
  disconnect(): void {
    if (this.#closed) return
    this.#closed = true
    this.#shutdown()
  }

  #shutdown(): void {
    this.#closed = true
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer)
    this.#sentinelWatch?.close()
    const e = closedError()
    for (const c of this.#offline.splice(0)) c.fail(e)
    for (const w of this.#waiters.splice(0)) w(e)
    this.#conn?.destroy()
    this.#conn = undefined
    for (const c of this.#idle.splice(0)) c.destroy()
    this.#pubsub?.destroy()
    this._emit('end')
  }

  /** `await using redis = createClient()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/** A connection of its own, lent by {@link RedisClient.isolated}. */
export class IsolatedClient extends RedisCommands {
  readonly #c: RedisConnection
  /** @internal */
  _watching = false

  /** @internal */
  constructor(c: RedisConnection) {
    super()
    this.#c = c
  }

  /** @internal */
  _run<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions, blocking = false): Promise<T> {
    const c = new Command(args, transform as ((r: RedisReply) => unknown) | undefined, opts)
    c.blocking = blocking
    this.#c.send(c)
    return c.promise as Promise<T>
  }

  /** @internal */
  protected override _blocking<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T> {
    return this._run(args, transform, opts, true)
  }

  /** @internal */
  protected _cmd<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T> {
    const c = new Command(args, transform as ((r: RedisReply) => unknown) | undefined, opts)
    this.#c.send(c)
    return c.promise as Promise<T>
  }

  /** `WATCH key...`: a later `EXEC` on this connection aborts if one of them changed. */
  watch(keys: string | Buffer | Array<string | Buffer>): Promise<'OK'> {
    this._watching = true
    return this._cmd(['WATCH', ...(Array.isArray(keys) ? keys : [keys])], () => 'OK' as const)
  }

  /** `UNWATCH`. */
  unwatch(): Promise<'OK'> {
    this._watching = false
    return this._cmd(['UNWATCH'], () => 'OK' as const)
  }

  /** A transaction on this connection (`EXEC` ends any `WATCH`). */
  multi(): Transaction {
    return new Transaction((cmds) => {
      this._watching = false
      for (const c of cmds) this.#c.send(c)
    })
  }

  /** A pipeline on this connection. */
  pipeline(): Pipeline {
    return new Pipeline((cmds) => {
      for (const c of cmds) this.#c.send(c)
    })
  }
}

function closedError(): RedisError {
  return new RedisError(RedisErrorCodes.CLOSED, 'The Redis client is closed')
}

/** Creates a {@link RedisClient} from a URL or options (it connects on first use or `connect()`). */
export function createClient(options?: RedisClientOptions | string): RedisClient {
  return new RedisClient(options)
}
