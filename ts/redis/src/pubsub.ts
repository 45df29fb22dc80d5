import { Command } from './command.js'
import type { RedisConnection } from './connection.js'
import { RedisError, RedisErrorCodes } from './errors.js'
import { backoff, type RetryOptions } from './options.js'
import type { RedisReply } from './tape.js'

/** Gets the messages of a channel: `message` is a string, or a Buffer with `{ buffers: true }`. */
export type MessageListener = (message: string | Buffer, channel: string) => void
/** Gets the messages of a pattern subscription. */
export type PatternListener = (message: string | Buffer, channel: string, pattern: string) => void

/** Options of a subscription. */
export interface SubscribeOptions {
  /** Deliver messages as Buffers. */
  buffers?: boolean
}

/** @internal */
export type SubKind = 'channel' | 'pattern' | 'shard'

const VERB: Record<SubKind, [string, string]> = {
  channel: ['SUBSCRIBE', 'UNSUBSCRIBE'],
  pattern: ['PSUBSCRIBE', 'PUNSUBSCRIBE'],
  shard: ['SSUBSCRIBE', 'SUNSUBSCRIBE'],
}

interface Entry {
  listener: MessageListener
  buffers: boolean
}

/**
 * The subscriptions of a client on a connection of their own, restored after every
 * reconnect. @internal
 */
export class PubSub {
  readonly #open: () => Promise<RedisConnection>
  readonly #retry: Required<RetryOptions> | false
  readonly #onError: (e: Error) => void
  readonly #subs: Record<SubKind, Map<string, Entry[]>> = { channel: new Map(), pattern: new Map(), shard: new Map() }
  #conn: RedisConnection | undefined
  #connecting: Promise<RedisConnection> | undefined
  #closed = false
  #ref = true
  #timer: NodeJS.Timeout | undefined

  constructor(open: () => Promise<RedisConnection>, retry: Required<RetryOptions> | false, onError: (e: Error) => void) {
    this.#open = open
    this.#retry = retry
    this.#onError = onError
  }

  async #connection(): Promise<RedisConnection> {
    if (this.#conn !== undefined && !this.#conn.closed) return this.#conn
    return (this.#connecting ??= this.#connect(true))
  }

  async #connect(initial: boolean): Promise<RedisConnection> {
    let attempt = 0
    for (;;) {
      try {
        if (this.#closed) throw new RedisError(RedisErrorCodes.CLOSED, 'The Redis client is closed')
        const c = await this.#open()
        if (!this.#ref) c.unref()
        c.onPush = (m) => this.#message(m)
        c.onClose = (err) => {
          if (this.#conn === c) this.#conn = undefined
          if (err !== undefined && !this.#closed && this.#hasAny()) {
            this.#connecting ??= this.#connect(false).catch((e: Error) => {
              this.#onError(e)
              return undefined as unknown as RedisConnection
            })
          }
        }
        this.#conn = c
        this.#connecting = undefined
        if (!initial) await this.#resubscribe(c)
        return c
      } catch (err) {
        const e = err as Error
        const delay = initial || this.#closed ? null : backoff(this.#retry, attempt++)
        if (delay === null) {
          this.#connecting = undefined
          throw e
        }
        await new Promise<void>((r) => {
          this.#timer = setTimeout(r, delay)
          if (!this.#ref) this.#timer.unref()
        })
      }
    }
  }

  #hasAny(): boolean {
    return this.#subs.channel.size + this.#subs.pattern.size + this.#subs.shard.size > 0
  }

  async #resubscribe(c: RedisConnection): Promise<void> {
    const waits: Array<Promise<unknown>> = []
    for (const kind of ['channel', 'pattern', 'shard'] as const) {
      const names = [...this.#subs[kind].keys()]
      if (names.length > 0) waits.push(c.call([VERB[kind][0], ...names]))
    }
    await Promise.all(waits)
  }

  async subscribe(kind: SubKind, names: string | string[], listener: MessageListener, opts?: SubscribeOptions): Promise<void> {
    const list = Array.isArray(names) ? names : [names]
    if (list.length === 0) return
    const map = this.#subs[kind]
    const fresh: string[] = []
    for (const n of list) {
      let entries = map.get(n)
      if (entries === undefined) {
        map.set(n, (entries = []))
        fresh.push(n)
      }
      entries.push({ listener, buffers: opts?.buffers ?? false })
    }
    if (fresh.length === 0) return
    try {
      const c = await this.#connection()
      const cmd = new Command([VERB[kind][0], ...fresh])
      c.send(cmd)
      await cmd.promise
    } catch (err) {
      for (const n of fresh) {
        const e = map.get(n)
        if (e !== undefined) {
          const i = e.findIndex((x) => x.listener === listener)
          if (i >= 0) e.splice(i, 1)
          if (e.length === 0) map.delete(n)
        }
      }
      throw err
    }
  }

  async unsubscribe(kind: SubKind, names: string | string[] | undefined, listener: MessageListener | undefined): Promise<void> {
    const map = this.#subs[kind]
    const list = names === undefined ? [...map.keys()] : Array.isArray(names) ? names : [names]
    const gone: string[] = []
    for (const n of list) {
      const e = map.get(n)
      if (e === undefined) continue
      if (listener !== undefined) {
        const i = e.findIndex((x) => x.listener === listener)
        if (i >= 0) e.splice(i, 1)
      } else {
        e.length = 0
      }
      if (e.length === 0) {
        map.delete(n)
        gone.push(n)
      }
    }
    const c = this.#conn
    if (gone.length === 0 || c === undefined || c.closed) return
    const cmd = new Command([VERB[kind][1], ...gone])
    c.send(cmd)
    await cmd.promise
    if (!this.#hasAny()) {
      // Nothing left: give the connection up so it does not hold the process.
      this.#conn = undefined
      await c.close()
    }
  }

  #message(m: RedisReply[]): void {
    const kind = String(m[0])
    let map: Map<string, Entry[]>
    let channel: string
    let payload: Buffer
    let pattern: string | undefined
    if (kind === 'message') {
      map = this.#subs.channel
      channel = String(m[1])
      payload = m[2] as Buffer
    } else if (kind === 'pmessage') {
      map = this.#subs.pattern
      pattern = String(m[1])
      channel = String(m[2])
      payload = m[3] as Buffer
    } else if (kind === 'smessage') {
      map = this.#subs.shard
      channel = String(m[1])
      payload = m[2] as Buffer
    } else {
      return
    }
    const entries = map.get(pattern ?? channel)
    if (entries === undefined) return
    let str: string | undefined
    for (const e of entries.slice()) {
      const msg = e.buffers ? payload : (str ??= Buffer.isBuffer(payload) ? payload.toString() : String(payload))
      try {
        if (pattern !== undefined) (e.listener as unknown as (m: string | Buffer, c: string, p: string) => void)(msg, channel, pattern)
        else e.listener(msg, channel)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
  }

  unref(): void {
    this.#ref = false
    this.#conn?.unref()
  }

  ref(): void {
    this.#ref = true
    this.#conn?.ref()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    const c = this.#conn
    this.#conn = undefined
    if (c !== undefined) await c.close()
  }

  destroy(): void {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#conn?.destroy()
    this.#conn = undefined
  }
}
