// Redis Cluster client: theory of operation.
//
// The slot map (slot -> master "host:port") comes from `CLUSTER SLOTS`, asked of any open
// node connection, else of the seeds and the known nodes in turn. Each master gets one
// multiplexed RedisConnection, opened on first use; commands wait in the node's queue while
// it connects, and everything issued in one tick to a node leaves in one write.
//
// A command becomes a routed unit (a `Job`, or a `Tx` for MULTI...EXEC) that knows its slot
// (-1: keyless, sent to one sticky node). Its Command's `onReplyError` hook sees -MOVED, -ASK,
// -TRYAGAIN and -CLUSTERDOWN before the caller does and re-routes the unit:
//   MOVED       the slot's owner is updated, the unit re-sent there, and the whole map
//               refreshed in the background (debounced);
//   ASK         the unit is sent once to the named node, preceded by ASKING; the map stays;
//   TRYAGAIN,   the unit is re-sent after a short backoff (CLUSTERDOWN also refreshes).
//   CLUSTERDOWN
// Each redirection counts; past `maxRedirections` the command fails with ERR_REDIS_CLUSTER.
// A lost node connection fails its in-flight commands (ERR_REDIS_CONNECTION_LOST) and
// refreshes the map; the next command reconnects (with backoff when that fails).

import { invalidArg } from '@iocrate/core'
import { connectionOptions } from './client.js'
import { Command, type CommandOptions, type RedisArg } from './command.js'
import { RedisEmitter } from './emitter.js'
import { RedisConnection, type Endpoint } from './connection.js'
import { RedisError, RedisErrorCodes, ReplyError } from './errors.js'
import { backoff, parseRedisUrl, resolveOptions, type RedisClientOptions, type ResolvedOptions } from './options.js'
import { Pipeline, Transaction } from './pipeline.js'
import { PubSub, type MessageListener, type PatternListener, type SubscribeOptions } from './pubsub.js'
import { SLOTS, argText, commandKeys, keySlot, keysInRange, slotOfKeys } from './slot.js'
import type { RedisReply } from './tape.js'

/**
 * Options of a {@link RedisCluster}: the seeds, redirection limits, and the per-connection
 * options of a client (credentials, TLS, protocol, timeouts, retry). There is no
 * `scaleReads`: every command, reads included, goes to the master serving its slot.
 */
export interface RedisClusterOptions
  extends Omit<RedisClientOptions, 'url' | 'host' | 'port' | 'path' | 'db' | 'sentinels' | 'sentinelName' | 'sentinelUsername' | 'sentinelPassword'> {
  /**
   * Seed nodes, as `redis://host:port` (`rediss://` for TLS; credentials in the first URL
   * apply when the options give none) or `{ host, port }`. One reachable seed is enough:
   * the others are found with `CLUSTER SLOTS`.
   */
  nodes: Array<string | Endpoint>
  /** Redirections (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`) one command may follow before failing with `ERR_REDIS_CLUSTER`. Default 16. */
  maxRedirections?: number
  /** Also refresh the slot map every this many ms (it is always refreshed after a `MOVED` or a lost node). Default: off. */
  slotsRefreshInterval?: number
}

/** A range of slots and the master serving it, from {@link RedisCluster.slots}. */
export interface ClusterSlotRange {
  /** First slot of the range. */
  start: number
  /** Last slot of the range (inclusive). */
  end: number
  /** The master's host, as the cluster announces it. */
  host: string
  /** The master's port. */
  port: number
}

/** Events of a {@link RedisCluster}. */
export interface RedisClusterEvents {
  /** The first slot map is loaded. */
  ready: []
  /** The connection to a node was lost (its in-flight commands failed); the map is refreshed. */
  disconnect: [error: Error, node: Endpoint]
  /** A background failure: a map refresh, a node that cannot be reached within the retry budget. */
  error: [error: Error]
  /** Closed for good (`close()` or `disconnect()`). */
  end: []
}

const REDIRECTS = new Set(['MOVED', 'ASK', 'TRYAGAIN', 'CLUSTERDOWN'])
const noop = (): void => {}

// Something routed to a node: one command, or a transaction.
interface Unit {
  readonly slot: number
  redirects: number
  /** Send the next write to this node, after `ASKING`. */
  ask: Endpoint | undefined
  /** The node it was last written to. */
  via: Endpoint | undefined
  readonly done: boolean
  write(conn: RedisConnection): void
  fail(err: Error): void
}

function asking(conn: RedisConnection): void {
  const a = new Command(['ASKING'])
  a.promise!.catch(noop)
  conn.send(a)
}

class Job implements Unit {
  redirects = 0
  ask: Endpoint | undefined
  via: Endpoint | undefined
  constructor(
    readonly cmd: Command,
    readonly slot: number,
    redirect: (u: Unit, e: ReplyError) => boolean,
  ) {
    cmd.onReplyError = (e) => REDIRECTS.has(e.prefix) && redirect(this, e)
  }

  get done(): boolean {
    return this.cmd.done
  }

  write(conn: RedisConnection): void {
    this.via = conn.options.endpoint
    if (this.ask !== undefined) {
      this.ask = undefined
      asking(conn)
    }
    conn.send(this.cmd)
  }

  fail(err: Error): void {
    this.cmd.fail(err)
  }
}

// MULTI, the queued commands and EXEC, always together on one node. A redirection shows up
// on EXEC itself, or as EXECABORT after a queued command was redirected; then the whole
// transaction goes again (the server discarded it).
class Tx implements Unit {
  redirects = 0
  ask: Endpoint | undefined
  via: Endpoint | undefined
  #multi: Command
  #queued: Command[]
  readonly #exec: Command
  #seen: ReplyError | undefined

  constructor(
    cmds: Command[],
    readonly slot: number,
    redirect: (u: Unit, e: ReplyError) => boolean,
  ) {
    this.#multi = cmds[0]!
    this.#queued = cmds.slice(1, -1)
    this.#exec = cmds[cmds.length - 1]!
    this.#hook()
    this.#exec.onReplyError = (e) => {
      const r = REDIRECTS.has(e.prefix) ? e : e.prefix === 'EXECABORT' ? this.#seen : undefined
      this.#seen = undefined
      if (r === undefined) return false
      this.#renew()
      return redirect(this, r)
    }
  }

  #hook(): void {
    for (const q of this.#queued) {
      q.onReplyError = (e) => {
        if (REDIRECTS.has(e.prefix)) this.#seen ??= e
        return false
      }
    }
  }

  // The first MULTI and queued commands are answered; the retry needs fresh ones.
  #renew(): void {
    this.#multi = new Command(['MULTI'])
    this.#multi.promise!.catch(noop)
    this.#queued = this.#queued.map((c) => {
      const n = new Command(c.args, undefined, c.buffers ? { buffers: true } : undefined)
      n.errorsAsValues = true
      return n
    })
    this.#hook()
  }

  get done(): boolean {
    return this.#exec.done
  }

  write(conn: RedisConnection): void {
    this.via = conn.options.endpoint
    // ASKING lasts through MULTI until EXEC (the server keeps the flag inside a transaction).
    if (this.ask !== undefined) {
      this.ask = undefined
      asking(conn)
    }
    conn.send(this.#multi)
    for (const q of this.#queued) conn.send(q)
    conn.send(this.#exec)
  }

  fail(err: Error): void {
    this.#multi.fail(err)
    for (const q of this.#queued) q.fail(err)
    this.#exec.fail(err)
  }
}

class ClusterNode {
  readonly key: string
  readonly endpoint: Endpoint
  conn: RedisConnection | undefined
  /** The connection attempt in progress. */
  opening: Promise<void> | undefined
  /** Units waiting for the connection, in order. */
  queue: Unit[] = []
  /** Consecutive failed connection attempts. */
  attempt = 0
  timer: NodeJS.Timeout | undefined
  /** Idle connections for blocking commands. */
  idle: RedisConnection[] = []

  constructor(key: string, endpoint: Endpoint) {
    this.key = key
    this.endpoint = endpoint
  }
}

// A key spec from COMMAND INFO: [first, last, step], 'movable' (ask COMMAND GETKEYS each
// time), or null for a command the server does not know.
type KeySpec = readonly [number, number, number] | 'movable' | null

function nodeKey(e: Endpoint): string {
  return `${e.host ?? '127.0.0.1'}:${e.port ?? 6379}`
}

// "host:port" from MOVED/ASK; an empty host means the node that answered (Redis 7).
function parseAddr(addr: string, via: Endpoint | undefined): Endpoint {
  const i = addr.lastIndexOf(':')
  const host = addr.slice(0, i)
  return { host: host === '' || host === '?' ? (via?.host ?? '127.0.0.1') : host, port: Number(addr.slice(i + 1)) }
}

function parseSeed(s: string | Endpoint): { endpoint: Endpoint; opts: RedisClientOptions } {
  if (typeof s !== 'string') {
    if (s.path !== undefined) throw invalidArg('nodes', s, 'must be TCP endpoints (a cluster has no Unix socket nodes)')
    return { endpoint: { host: s.host ?? '127.0.0.1', port: s.port ?? 6379 }, opts: {} }
  }
  const o = parseRedisUrl(s.includes('://') ? s : `redis://${s}`)
  if (o.path !== undefined) throw invalidArg('nodes', s, 'must be TCP endpoints (a cluster has no Unix socket nodes)')
  return { endpoint: { host: o.host ?? '127.0.0.1', port: o.port ?? 6379 }, opts: o }
}

function str(r: RedisReply | undefined): string {
  return Buffer.isBuffer(r) ? r.toString() : r === undefined || r === null ? '' : String(r)
}

function closedError(): RedisError {
  return new RedisError(RedisErrorCodes.CLOSED, 'The Redis cluster client is closed')
}

function crossSlot(args: readonly RedisArg[]): RedisError {
  return new RedisError(
    RedisErrorCodes.CLUSTER,
    `${argText(args[0]).toUpperCase()}: the keys hash to different slots (CROSSSLOT); give them a common {hash tag} to keep them on one node`,
  )
}

/**
 * A Redis Cluster client. Commands go to the master serving their key's slot (replicas are
 * never read from: every command, reads included, goes to a master); keyless commands go to
 * one node. Redirections (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`) are followed and the
 * slot map kept current. Commands whose keys hash to different slots are refused locally
 * with `ERR_REDIS_CLUSTER`: use `{hash tags}` to keep keys together.
 *
 * Commands that address a node rather than a key (`SCAN`, `KEYS`, `DBSIZE`, `FLUSHALL`,
 * `SCRIPT LOAD`...) run on a single node; `SUBSCRIBE`/`PUBLISH` are cluster-wide anyway,
 * and `SSUBSCRIBE`/`SPUBLISH` go to the shard channel's node. `db` and `isolated()` do not
 * exist on a cluster.
 *
 * ```ts
 * const cluster = createCluster({ nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] })
 * await cluster.set('{user:1}:name', 'Ada')
 * await cluster.close()
 * ```
 */
export class RedisCluster extends RedisEmitter<RedisClusterEvents> {
  /** The per-connection options, with defaults applied. @internal */
  readonly _options: ResolvedOptions
  readonly #seeds: Endpoint[]
  readonly #maxRedirections: number
  #slots: Array<string | undefined> = new Array<string | undefined>(SLOTS)
  #masters: string[] = []
  readonly #nodes = new Map<string, ClusterNode>()
  #mapped = false
  #waiting: Unit[] = []
  #refreshing: Promise<void> | undefined
  #refreshTimer: NodeJS.Timeout | undefined
  #intervalTimer: NodeJS.Timeout | undefined
  #lastRefresh = 0
  #timers = new Set<NodeJS.Timeout>()
  /** `close()` was called: new commands fail. */
  #closing = false
  /** Closed: nothing is routed any more. */
  #closed = false
  #ref = true
  #sticky: string | undefined
  #chain: Promise<void> | undefined
  readonly #specs = new Map<string, Promise<KeySpec>>()
  #pubsub: PubSub | undefined
  readonly #shard = new Map<number, PubSub>()
  readonly #redirect = (u: Unit, e: ReplyError): boolean => this.#redirected(u, e)

  constructor(options: RedisClusterOptions) {
    super()
    const { nodes, maxRedirections, slotsRefreshInterval, ...rest } = options
    if (!Array.isArray(nodes) || nodes.length === 0) throw invalidArg('nodes', nodes, 'must list at least one node')
    const seeds = nodes.map(parseSeed)
    const first = seeds[0]!.opts
    const fromUrl: RedisClientOptions = {}
    if (first.username !== undefined) fromUrl.username = first.username
    if (first.password !== undefined) fromUrl.password = first.password
    if (first.tls !== undefined) fromUrl.tls = first.tls
    if (first.protocol !== undefined) fromUrl.protocol = first.protocol
    this._options = resolveOptions({ ...fromUrl, ...rest })
    this.#seeds = seeds.map((s) => s.endpoint)
    this.#maxRedirections = maxRedirections ?? 16
    if (!(Number.isInteger(this.#maxRedirections) && this.#maxRedirections >= 0)) throw invalidArg('maxRedirections', maxRedirections, 'must be a non-negative integer')
    if (slotsRefreshInterval !== undefined && slotsRefreshInterval > 0) {
      this.#intervalTimer = setInterval(() => this.#refresh().catch((e: Error) => this._emit('error', e)), slotsRefreshInterval)
      this.#intervalTimer.unref()
    }
  }

  /** Whether a slot map is loaded. */
  get ready(): boolean {
    return this.#mapped && !this.#closing
  }

  /**
   * Loads the slot map (commands also do it on first use). Rejects when no seed answers
   * `CLUSTER SLOTS`.
   */
  connect(): Promise<void> {
    if (this.#closing) return Promise.reject(closedError())
    if (this.#mapped) return Promise.resolve()
    return this.#refresh()
  }

  /** The masters in the slot map. */
  nodes(): Endpoint[] {
    return this.#masters.map((k) => ({ ...this.#nodes.get(k)!.endpoint }))
  }

  /** The slot map as ranges, in slot order (empty before it is loaded). */
  slots(): ClusterSlotRange[] {
    const out: ClusterSlotRange[] = []
    let cur: ClusterSlotRange | undefined
    for (let s = 0; s < SLOTS; s++) {
      const k = this.#slots[s]
      if (k === undefined) {
        cur = undefined
        continue
      }
      const e = this.#nodes.get(k)?.endpoint ?? parseAddr(k, undefined)
      if (cur !== undefined && cur.end === s - 1 && nodeKey(cur) === k) {
        cur.end = s
      } else {
        cur = { start: s, end: s, host: e.host ?? '127.0.0.1', port: e.port ?? 6379 }
        out.push(cur)
      }
    }
    return out
  }

  // ---- the slot map ------------------------------------------------------------------------

  #refresh(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError())
    if (this.#refreshing !== undefined) return this.#refreshing
    const p = this.#loadSlots().finally(() => {
      this.#refreshing = undefined
      this.#lastRefresh = Date.now()
    })
    this.#refreshing = p
    p.then(
      () => {
        const first = !this.#everReady
        this.#everReady = true
        for (const u of this.#waiting.splice(0)) this.#route(u)
        if (first) this._emit('ready')
      },
      (err: Error) => {
        if (!this.#mapped) for (const u of this.#waiting.splice(0)) u.fail(err)
      },
    )
    return p
  }

  #everReady = false

  // A refresh soon, at most one per 100 ms.
  #refreshSoon(): void {
    if (this.#refreshTimer !== undefined || this.#closed) return
    const wait = Math.max(0, this.#lastRefresh + 100 - Date.now())
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined
      if (this.#refreshing !== undefined) {
        this.#refreshing.then(() => this.#refreshSoon(), () => this.#refreshSoon())
        return
      }
      this.#refresh().catch((e: Error) => this._emit('error', e))
    }, wait)
    this.#refreshTimer.unref()
  }

  async #loadSlots(): Promise<void> {
    const tried = new Set<string>()
    const errors: Error[] = []
    // Open node connections first, then the seeds, then every node ever known.
    const open = [...this.#nodes.values()].filter((n) => n.conn !== undefined && !n.conn.closed)
    for (const n of open) {
      tried.add(n.key)
      try {
        return this.#applySlots(await this.#ask(n.conn!, ['CLUSTER', 'SLOTS']), n.endpoint)
      } catch (err) {
        errors.push(err as Error)
      }
    }
    const candidates = [...this.#seeds, ...[...this.#nodes.values()].map((n) => n.endpoint)]
    for (const ep of candidates) {
      const key = nodeKey(ep)
      if (tried.has(key)) continue
      tried.add(key)
      if (this.#closed) throw closedError()
      let c: RedisConnection | undefined
      try {
        c = await RedisConnection.open(connectionOptions(this._options, ep, { ref: false, db: 0 }))
        return this.#applySlots(await this.#ask(c, ['CLUSTER', 'SLOTS']), ep)
      } catch (err) {
        errors.push(err as Error)
      } finally {
        c?.destroy()
      }
    }
    if (errors.length === 1) throw errors[0]!
    throw new RedisError(RedisErrorCodes.UNAVAILABLE, `no cluster node answered CLUSTER SLOTS (${errors.map((e) => e.message).join('; ')})`, { cause: errors[0] })
  }

  // One command on a connection, bounded by connectTimeout.
  #ask(conn: RedisConnection, args: RedisArg[]): Promise<RedisReply> {
    const ms = this._options.connectTimeout
    return new Promise<RedisReply>((resolve, reject) => {
      const t = ms > 0 ? setTimeout(() => reject(new RedisError(RedisErrorCodes.TIMEOUT, `${args.join(' ')} got no reply within ${ms} ms`)), ms) : undefined
      conn.call(args).then(
        (v) => {
          if (t) clearTimeout(t)
          resolve(v)
        },
        (e: Error) => {
          if (t) clearTimeout(t)
          reject(e)
        },
      )
    })
  }

  #applySlots(reply: RedisReply, asked: Endpoint): void {
    if (!Array.isArray(reply)) throw new RedisError(RedisErrorCodes.CLUSTER, 'CLUSTER SLOTS did not answer an array')
    const slots = new Array<string | undefined>(SLOTS)
    const masters = new Set<string>()
    for (const r of reply) {
      if (!Array.isArray(r) || !Array.isArray(r[2])) continue
      const m = r[2]
      let host = str(m[0])
      if (host === '' || host === '?') host = asked.host ?? '127.0.0.1'
      const ep: Endpoint = { host, port: Number(m[1]) }
      const key = this.#nodeFor(ep).key
      masters.add(key)
      for (let s = Number(r[0]), end = Number(r[1]); s <= end; s++) slots[s] = key
    }
    if (masters.size === 0) throw new RedisError(RedisErrorCodes.CLUSTER, `${nodeKey(asked)} serves no slots (is it a cluster node?)`)
    this.#slots = slots
    this.#masters = [...masters]
    this.#mapped = true
    if (this.#sticky !== undefined && !masters.has(this.#sticky)) this.#sticky = undefined
    // Nodes that are no longer masters: close them once their replies are in.
    for (const [key, n] of this.#nodes) {
      if (masters.has(key)) continue
      this.#nodes.delete(key)
      if (n.timer) clearTimeout(n.timer)
      n.conn?.close().catch(noop)
      n.conn = undefined
      for (const c of n.idle.splice(0)) c.destroy()
      for (const u of n.queue.splice(0)) this.#route(u)
    }
  }

  #nodeFor(ep: Endpoint): ClusterNode {
    const key = nodeKey(ep)
    let n = this.#nodes.get(key)
    if (n === undefined) this.#nodes.set(key, (n = new ClusterNode(key, { host: ep.host ?? '127.0.0.1', port: ep.port ?? 6379 })))
    return n
  }

  // A node for keyless commands: the same one while it stays a master.
  #anyNode(): ClusterNode | undefined {
    if (this.#sticky === undefined || !this.#nodes.has(this.#sticky)) {
      const open = this.#masters.filter((k) => this.#nodes.get(k)?.conn?.closed === false)
      const pool = open.length > 0 ? open : this.#masters
      this.#sticky = pool[Math.floor(Math.random() * pool.length)]
    }
    return this.#sticky === undefined ? undefined : this.#nodes.get(this.#sticky)
  }

  // ---- routing -------------------------------------------------------------------------------

  #route(u: Unit): void {
    if (u.done) return
    if (this.#closed) return u.fail(closedError())
    if (u.ask !== undefined) return this.#send(this.#nodeFor(u.ask), u)
    if (!this.#mapped) {
      this.#waiting.push(u)
      this.#refresh().catch(noop)
      return
    }
    const key = u.slot < 0 ? this.#anyNode()?.key : this.#slots[u.slot]
    const n = key === undefined ? undefined : this.#nodes.get(key)
    if (n === undefined) {
      // A hole in the map: refresh, then try again (counted as a redirection).
      if (!this.#bump(u, `no node serves slot ${u.slot}`)) return
      this.#refresh().then(
        () => this.#route(u),
        () => this.#route(u),
      )
      return
    }
    this.#send(n, u)
  }

  #send(n: ClusterNode, u: Unit): void {
    const c = n.conn
    if (c !== undefined && !c.closed) return u.write(c)
    n.queue.push(u)
    if (n.opening === undefined && n.timer === undefined) this.#openNode(n)
  }

  #openNode(n: ClusterNode): void {
    const p = this.#connectNode(n).finally(() => {
      if (n.opening === p) n.opening = undefined
    })
    n.opening = p
  }

  async #connectNode(n: ClusterNode): Promise<void> {
    let conn: RedisConnection
    try {
      conn = await RedisConnection.open(connectionOptions(this._options, n.endpoint, { ref: this.#ref, db: 0 }))
    } catch (err) {
      const e = err as Error
      if (this.#closed) {
        for (const u of n.queue.splice(0)) u.fail(closedError())
        return
      }
      const delay = e instanceof RedisError && e.code === RedisErrorCodes.AUTH ? null : backoff(this._options.retry, n.attempt++)
      if (delay === null) {
        const failure = e instanceof RedisError && e.code === RedisErrorCodes.AUTH ? e : new RedisError(RedisErrorCodes.UNAVAILABLE, `cluster node ${n.key} is unavailable: ${e.message}`, { cause: e })
        n.attempt = 0
        for (const u of n.queue.splice(0)) u.fail(failure)
        this._emit('error', failure)
        return
      }
      // The slot may have moved: refresh, then route the waiting units again after the delay.
      this.#refreshSoon()
      n.timer = setTimeout(() => {
        n.timer = undefined
        for (const u of n.queue.splice(0)) this.#route(u)
      }, delay)
      if (!this.#ref) n.timer.unref()
      return
    }
    if (this.#closed || this.#nodes.get(n.key) !== n) {
      conn.close().catch(noop)
      for (const u of n.queue.splice(0)) this.#route(u)
      return
    }
    n.attempt = 0
    n.conn = conn
    conn.onClose = (err) => {
      if (n.conn === conn) n.conn = undefined
      if (err === undefined || this.#closed) return
      this._emit('disconnect', err, { ...n.endpoint })
      this.#refreshSoon()
      // Units queued meanwhile (none normally) get a new connection.
      if (n.queue.length > 0 && n.opening === undefined && n.timer === undefined) this.#openNode(n)
    }
    for (const u of n.queue.splice(0)) u.write(conn)
  }

  // Counts a redirection; false (and the unit failed) past the limit.
  #bump(u: Unit, why: string, cause?: Error): boolean {
    if (++u.redirects <= this.#maxRedirections) return true
    u.fail(new RedisError(RedisErrorCodes.CLUSTER, `gave up after ${this.#maxRedirections} cluster redirections (last: ${why})`, { cause }))
    return false
  }

  #redirected(u: Unit, e: ReplyError): boolean {
    if (this.#closed) {
      u.fail(closedError())
      return true
    }
    if (!this.#bump(u, e.message, e)) return true
    if (e.prefix === 'MOVED' || e.prefix === 'ASK') {
      const parts = e.message.split(' ')
      const slot = Number(parts[1])
      const ep = parseAddr(parts[2] ?? '', u.via)
      if (e.prefix === 'MOVED') {
        const key = this.#nodeFor(ep).key
        if (slot >= 0 && slot < SLOTS) this.#slots[slot] = key
        if (!this.#masters.includes(key)) this.#masters.push(key)
        u.ask = undefined
        this.#refreshSoon()
      } else {
        u.ask = ep
      }
      this.#route(u)
      return true
    }
    // TRYAGAIN (a multi-key command during a migration) or CLUSTERDOWN: wait a little.
    if (e.prefix === 'CLUSTERDOWN') this.#refreshSoon()
    const t = setTimeout(() => {
      this.#timers.delete(t)
      this.#route(u)
    }, Math.min(500, 10 * 2 ** Math.min(u.redirects, 6)))
    if (!this.#ref) t.unref()
    this.#timers.add(t)
    return true
  }

  // ---- which slot --------------------------------------------------------------------------

  // The slot of a command (-1: keyless), or a promise when the server must say which
  // arguments are keys. Throws ERR_REDIS_CLUSTER for keys in different slots.
  #slotOf(args: RedisArg[]): number | Promise<number> {
    const keys = commandKeys(args)
    if (keys !== undefined) return checkedSlot(keys, args)
    return this.#serverKeys(args).then((k) => checkedSlot(k, args))
  }

  async #serverKeys(args: RedisArg[]): Promise<RedisArg[]> {
    const name = argText(args[0]).toLowerCase()
    let spec = this.#specs.get(name)
    if (spec === undefined) {
      spec = this.#internal(['COMMAND', 'INFO', name]).then(parseCommandInfo)
      this.#specs.set(name, spec)
      spec.catch(() => this.#specs.delete(name))
    }
    const s = await spec
    if (s === null) return [] // unknown here too: any node will say so
    if (s !== 'movable') return keysInRange(args, s[0], s[1], s[2])
    try {
      return (await this.#internal(['COMMAND', 'GETKEYS', ...args], true)) as Buffer[]
    } catch (err) {
      if (err instanceof ReplyError) return [] // "no key arguments", or invalid: let the server answer
      throw err
    }
  }

  // A keyless command of our own.
  #internal(args: RedisArg[], buffers = false): Promise<RedisReply> {
    const c = new Command(args, undefined, buffers ? { buffers: true } : undefined)
    this.#route(new Job(c, -1, this.#redirect))
    return c.promise as Promise<RedisReply>
  }

  // Computes the slots of `argsList`, then calls `go` with each (or the error): at once when
  // the static table knows every command and nothing is waiting; else after the commands
  // submitted before, to keep the order.
  #withSlots(argsList: RedisArg[][], go: (slots: Array<number | Error>) => void): void {
    const slots: Array<number | Error | Promise<number>> = argsList.map((a) => {
      try {
        const s = this.#slotOf(a)
        if (typeof s !== 'number') s.catch(noop)
        return s
      } catch (err) {
        return err as Error
      }
    })
    if (this.#chain === undefined && slots.every((s) => !(s instanceof Promise))) return go(slots as Array<number | Error>)
    const p = (this.#chain ?? Promise.resolve()).then(async () => {
      const out: Array<number | Error> = []
      for (const s of slots) {
        try {
          out.push(await s)
        } catch (err) {
          out.push(err as Error)
        }
      }
      go(out)
    })
    this.#chain = p
    p.then(() => {
      if (this.#chain === p) this.#chain = undefined
    }, noop)
  }

  /** Sends commands, each to its slot's node. @internal */
  _send(cmds: Command[]): void {
    if (this.#closing) {
      const e = closedError()
      for (const c of cmds) c.fail(e)
      return
    }
    this.#withSlots(
      cmds.map((c) => c.args),
      (slots) => {
        for (let i = 0; i < cmds.length; i++) {
          const s = slots[i]!
          if (s instanceof Error) cmds[i]!.fail(s)
          else this.#route(new Job(cmds[i]!, s, this.#redirect))
        }
      },
    )
  }

  // MULTI, queued commands, EXEC: all keys in one slot, all to that slot's node.
  #sendTx(cmds: Command[]): void {
    const fail = (e: Error): void => {
      for (const c of cmds) c.fail(e)
    }
    if (this.#closing) return fail(closedError())
    const queued = cmds.slice(1, -1)
    this.#withSlots(
      queued.map((c) => c.args),
      (slots) => {
        let slot = -1
        for (let i = 0; i < slots.length; i++) {
          const s = slots[i]!
          if (s instanceof Error) return fail(s)
          if (s < 0) continue
          if (slot >= 0 && s !== slot) return fail(crossSlot(queued[i]!.args))
          slot = s
        }
        this.#route(new Tx(cmds, slot, this.#redirect))
      },
    )
  }

  /** @internal */
  protected _cmd<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T> {
    const c = new Command(args, transform as ((r: RedisReply) => unknown) | undefined, opts)
    if (!c.done) this._send([c])
    return c.promise as Promise<T>
  }

  /** @internal */
  protected override async _blocking<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T> {
    if (this.#closing) throw closedError()
    const slot = await this.#slotOf(args)
    if (!this.#mapped) await this.#refresh()
    let ask: Endpoint | undefined
    for (let redirects = 0; ; ) {
      const n = ask !== undefined ? this.#nodeFor(ask) : slot < 0 ? this.#anyNode() : this.#nodes.get(this.#slots[slot] ?? '')
      if (n === undefined) throw new RedisError(RedisErrorCodes.CLUSTER, `no node serves slot ${slot}`)
      const conn = await this.#acquire(n)
      const c = new Command(args, transform as ((r: RedisReply) => unknown) | undefined, opts)
      if (ask !== undefined) asking(conn)
      ask = undefined
      conn.send(c)
      try {
        const v = (await c.promise) as T
        this.#release(n, conn)
        return v
      } catch (err) {
        this.#release(n, conn)
        if (!(err instanceof ReplyError) || !REDIRECTS.has(err.prefix)) throw err
        if (++redirects > this.#maxRedirections) throw new RedisError(RedisErrorCodes.CLUSTER, `gave up after ${this.#maxRedirections} cluster redirections (last: ${err.message})`, { cause: err })
        const parts = err.message.split(' ')
        if (err.prefix === 'MOVED') {
          const key = this.#nodeFor(parseAddr(parts[2] ?? '', n.endpoint)).key
          this.#slots[Number(parts[1])] = key
          this.#refreshSoon()
        } else if (err.prefix === 'ASK') {
          ask = parseAddr(parts[2] ?? '', n.endpoint)
        } else {
          await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** Math.min(redirects, 6))))
        }
      }
    }
  }

  async #acquire(n: ClusterNode): Promise<RedisConnection> {
    for (;;) {
      const c = n.idle.pop()
      if (c === undefined) break
      if (!c.closed) return c
    }
    return RedisConnection.open(connectionOptions(this._options, n.endpoint, { ref: this.#ref, db: 0 }))
  }

  #release(n: ClusterNode, c: RedisConnection): void {
    // Still blocked (aborted, timed out) or lost: not reusable.
    if (c.closed || c.pending > 0 || this.#closed || this.#nodes.get(n.key) !== n || n.idle.length >= this._options.isolationPoolSize) {
      if (!c.closed) c.destroy()
      return
    }
    n.idle.push(c)
  }

  /**
   * A pipeline: `exec()` sends each command to its slot's node (one write per node) and
   * resolves with the replies in the original order; redirected commands are retried one
   * by one, so commands of a pipeline may run in a different order on different nodes. A
   * command whose keys span slots rejects `exec()` with `ERR_REDIS_CLUSTER`.
   */
  pipeline(): Pipeline {
    return new Pipeline((cmds) => this._send(cmds))
  }

  /**
   * A transaction: every key of its commands must hash to one slot (else `exec()` rejects
   * with `ERR_REDIS_CLUSTER` before anything is sent); it runs on that slot's node.
   */
  multi(): Transaction {
    return new Transaction((cmds) => this.#sendTx(cmds))
  }

  // ---- pub/sub -----------------------------------------------------------------------------

  #subscriber(slot: number): () => Promise<RedisConnection> {
    return async () => {
      if (this.#closing) throw closedError()
      if (!this.#mapped) await this.#refresh()
      const n = slot < 0 ? this.#anyNode() : this.#nodes.get(this.#slots[slot] ?? '')
      if (n === undefined) {
        this.#refreshSoon()
        throw new RedisError(RedisErrorCodes.CLUSTER, `no node serves slot ${slot}`)
      }
      return RedisConnection.open(connectionOptions(this._options, n.endpoint, { ref: this.#ref, db: 0, subscriber: true, commandTimeout: 0 }))
    }
  }

  #ps(): PubSub {
    return (this.#pubsub ??= new PubSub(this.#subscriber(-1), this._options.retry, (e) => this._emit('error', e)))
  }

  // Shard channels live on their slot's node, and one SSUBSCRIBE must stay in one slot:
  // one subscriber connection per slot subscribed to.
  #shardPs(slot: number): PubSub {
    let p = this.#shard.get(slot)
    if (p === undefined) {
      p = new PubSub(this.#subscriber(slot), this._options.retry, (e) => this._emit('error', e))
      if (!this.#ref) p.unref()
      this.#shard.set(slot, p)
    }
    return p
  }

  /** Subscribes to channels (on one node: classic pub/sub reaches every node); `listener(message, channel)`. */
  subscribe(channels: string | string[], listener: MessageListener, opts?: SubscribeOptions): Promise<void> {
    return this.#ps().subscribe('channel', channels, listener, opts)
  }

  /** Subscribes to glob patterns; `listener(message, channel, pattern)`. */
  psubscribe(patterns: string | string[], listener: PatternListener, opts?: SubscribeOptions): Promise<void> {
    return this.#ps().subscribe('pattern', patterns, listener as MessageListener, opts)
  }

  /** Subscribes to shard channels (`SSUBSCRIBE`) on the nodes serving their slots. */
  async ssubscribe(channels: string | string[], listener: MessageListener, opts?: SubscribeOptions): Promise<void> {
    const bySlot = groupBySlot(channels)
    await Promise.all([...bySlot].map(([slot, names]) => this.#shardPs(slot).subscribe('shard', names, listener, opts)))
  }

  /** Removes `listener` (or every listener) from channels; unsubscribes channels left without one. */
  unsubscribe(channels?: string | string[], listener?: MessageListener): Promise<void> {
    return this.#pubsub?.unsubscribe('channel', channels, listener) ?? Promise.resolve()
  }

  /** Like {@link RedisCluster.unsubscribe} for patterns. */
  punsubscribe(patterns?: string | string[], listener?: PatternListener): Promise<void> {
    return this.#pubsub?.unsubscribe('pattern', patterns, listener as MessageListener | undefined) ?? Promise.resolve()
  }

  /** Like {@link RedisCluster.unsubscribe} for shard channels. */
  async sunsubscribe(channels?: string | string[], listener?: MessageListener): Promise<void> {
    if (channels === undefined) {
      await Promise.all([...this.#shard.values()].map((p) => p.unsubscribe('shard', undefined, listener)))
      return
    }
    await Promise.all([...groupBySlot(channels)].map(([slot, names]) => this.#shard.get(slot)?.unsubscribe('shard', names, listener)))
  }

  /** `PUBLISH channel message` (on one node; the cluster forwards it): subscribers reached on that node. */
  publish(channel: string, message: string | Buffer): Promise<number> {
    return this._cmd(['PUBLISH', channel, message], (r) => r as number)
  }

  /** `SPUBLISH shardchannel message`, on the channel's node. */
  spublish(channel: string, message: string | Buffer): Promise<number> {
    return this._cmd(['SPUBLISH', channel, message], (r) => r as number)
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Lets the process exit while this client is open and idle. */
  unref(): this {
    this.#ref = false
    for (const n of this.#nodes.values()) {
      n.conn?.unref()
      for (const c of n.idle) c.unref()
      n.timer?.unref()
    }
    for (const t of this.#timers) t.unref()
    this.#pubsub?.unref()
    for (const p of this.#shard.values()) p.unref()
    return this
  }

  /** Undoes {@link RedisCluster.unref}. */
  ref(): this {
    this.#ref = true
    for (const n of this.#nodes.values()) {
      n.conn?.ref()
      for (const c of n.idle) c.ref()
    }
    this.#pubsub?.ref()
    for (const p of this.#shard.values()) p.ref()
    return this
  }

  #stop(): void {
    this.#closing = true
    this.#closed = true
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer)
    if (this.#intervalTimer) clearInterval(this.#intervalTimer)
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    const e = closedError()
    for (const u of this.#waiting.splice(0)) u.fail(e)
    for (const n of this.#nodes.values()) {
      if (n.timer) clearTimeout(n.timer)
      for (const u of n.queue.splice(0)) u.fail(e)
    }
  }

  /** Waits for every sent command's reply, then closes all connections. */
  async close(): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    // What was issued before gets sent first: commands waiting for a key lookup, for the
    // slot map, for a node connection.
    await this.#chain?.catch(noop)
    if (this.#waiting.length > 0) await this.#refresh().catch(noop)
    await Promise.all([...this.#nodes.values()].map((n) => n.opening))
    if (this.#closed) return
    this.#stop()
    const waits: Array<Promise<void> | undefined> = [this.#pubsub?.close(), ...[...this.#shard.values()].map((p) => p.close())]
    for (const n of this.#nodes.values()) {
      if (n.conn) waits.push(n.conn.close())
      for (const c of n.idle.splice(0)) waits.push(c.close())
    }
    await Promise.all(waits)
    this._emit('end')
  }

  /** Closes every connection now; unanswered commands fail. */
  disconnect(): void {
    if (this.#closed) return
    this.#stop()
    for (const n of this.#nodes.values()) {
      n.conn?.destroy()
      for (const c of n.idle.splice(0)) c.destroy()
    }
    this.#pubsub?.destroy()
    for (const p of this.#shard.values()) p.destroy()
    this._emit('end')
  }

  /** `await using cluster = createCluster(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

function checkedSlot(keys: RedisArg[], args: RedisArg[]): number {
  const s = slotOfKeys(keys)
  if (s === -2) throw crossSlot(args)
  return s
}

function groupBySlot(channels: string | string[]): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (const ch of Array.isArray(channels) ? channels : [channels]) {
    const s = keySlot(ch)
    const l = out.get(s)
    if (l === undefined) out.set(s, [ch])
    else l.push(ch)
  }
  return out
}

// COMMAND INFO name -> [[name, arity, flags, first, last, step, acl, tips, keyspecs, subcommands]]
function parseCommandInfo(r: RedisReply): KeySpec {
  const e = Array.isArray(r) ? r[0] : undefined
  if (!Array.isArray(e)) return null
  const flags = Array.isArray(e[2]) ? e[2].map((f) => str(f).toLowerCase()) : []
  const first = Number(e[3])
  const subs = e[9]
  if (flags.includes('movablekeys') || (first === 0 && Array.isArray(subs) && subs.length > 0)) return 'movable'
  return [first, Number(e[4]), Number(e[5])]
}

/** Creates a {@link RedisCluster} (it loads the slot map on first use or `connect()`). */
export function createCluster(options: RedisClusterOptions): RedisCluster {
  return new RedisCluster(options)
}
