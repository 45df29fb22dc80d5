import { Command, Encoder, type RedisArg } from './command.js'
import { RedisError, RedisErrorCodes, ReplyError } from './errors.js'
import { TapeReader, type RedisReply } from './tape.js'
import { NativeTransport, NodeTransport, type Transport, type TransportSink } from './transport.js'

/** Where a server listens: TCP host and port, or a Unix socket path. */
export interface Endpoint {
  host?: string
  port?: number
  path?: string
}

/** TLS settings (the connection uses TLS when this is given). */
export interface RedisTlsOptions {
  /** Trusted CAs (PEM); default: the system roots. */
  ca?: string | Buffer | Array<string | Buffer>
  /** Client certificate chain (PEM), for servers that require one. */
  cert?: string | Buffer
  /** Client private key (PEM). */
  key?: string | Buffer
  /** Name to verify the certificate against (default: the host). */
  servername?: string
  /** `false` accepts any certificate. Default `true`. */
  rejectUnauthorized?: boolean
}

/** Settings of one connection. @internal */
export interface ConnectionOptions {
  endpoint: Endpoint
  tls?: RedisTlsOptions | undefined
  username?: string | undefined
  password?: string | undefined
  db: number
  clientName?: string | undefined
  protocol: 2 | 3 | 'auto'
  connectTimeout: number
  commandTimeout: number
  keepAlive: number
  noDelay: boolean
  maxBulk?: number | undefined
  /** A pub/sub connection: RESP2 arrays of message kinds are messages. */
  subscriber?: boolean
  /** Keeps the process alive while open (default true). */
  ref?: boolean
  /** Who does the socket I/O (see transport.ts); default `'node'`. */
  transport?: 'node' | 'native' | undefined
}

const SUB_KINDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe'])
const MSG_KINDS = new Set(['message', 'pmessage', 'smessage'])

/**
 * One connection to one server: commands are written in order (everything issued in
 * the same tick in one write) and answered in order from the replies the addon decodes.
 * @internal
 */
export class RedisConnection implements TransportSink {
  readonly options: ConnectionOptions
  /** The protocol the handshake settled on. */
  resp: 2 | 3 = 2
  closed = false
  /** Messages and other out-of-band pushes (pub/sub, invalidation), as Buffers. */
  onPush: ((msg: RedisReply[]) => void) | undefined
  /** The connection is gone; `err` when it was not closed on purpose. */
  onClose: ((err: Error | undefined) => void) | undefined
  #t: Transport
  #queue: Command[] = []
  #head = 0
  #enc = new Encoder()
  #scheduled = false
  #error: Error | undefined
  #connected: { resolve: () => void; reject: (e: Error) => void } | undefined
  #timer: NodeJS.Timeout | undefined
  #closing: (() => void) | undefined
  #flushFn = (): void => this.#flush()

  private constructor(o: ConnectionOptions) {
    this.options = o
    // TLS always runs in the addon (rustls); plain TCP and Unix sockets where asked.
    this.#t = o.transport !== 'native' && o.tls === undefined ? new NodeTransport(o, this) : new NativeTransport(o, this)
  }

  /** Connects and runs the handshake (HELLO or AUTH, SETNAME, SELECT). */
  static async open(o: ConnectionOptions): Promise<RedisConnection> {
    const c = new RedisConnection(o)
    let timer: NodeJS.Timeout | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        c.#connected = { resolve, reject }
        if (o.connectTimeout > 0) {
          timer = setTimeout(() => {
            const e = new RedisError('ETIMEDOUT', `connecting to Redis timed out after ${o.connectTimeout} ms`)
            reject(e)
          }, o.connectTimeout)
        }
      })
      const hs = c.#handshake()
      if (timer) {
        clearTimeout(timer)
        timer = setTimeout(() => c.destroy(new RedisError('ETIMEDOUT', `the Redis handshake timed out after ${o.connectTimeout} ms`)), o.connectTimeout)
      }
      await hs
      return c
    } catch (err) {
      c.destroy(err as Error)
      throw err
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  async #handshake(): Promise<void> {
    const o = this.options
    const auth = o.password !== undefined ? ['AUTH', o.username ?? 'default', o.password] : []
    let hello = o.protocol !== 2
    if (hello) {
      const args: RedisArg[] = ['HELLO', '3', ...auth]
      if (o.clientName) args.push('SETNAME', o.clientName)
      try {
        await this.call(args)
        this.resp = 3
      } catch (err) {
        if (!(err instanceof ReplyError)) throw err
        if (isAuthError(err)) throw authError(err)
        // Older servers and proxies refuse HELLO 3 (unknown command, NOPROTO): RESP2.
        if (o.protocol === 3) throw err
        hello = false
      }
    }
    if (!hello) {
      if (o.password !== undefined) {
        try {
          await this.call(o.username !== undefined ? ['AUTH', o.username, o.password] : ['AUTH', o.password])
        } catch (err) {
          throw err instanceof ReplyError ? authError(err) : err
        }
      }
      if (o.clientName) await this.call(['CLIENT', 'SETNAME', o.clientName])
    }
    if (o.db !== 0) await this.call(['SELECT', o.db])
  }

  /** Sends one command and waits for its reply (internal helper). */
  call(args: RedisArg[]): Promise<RedisReply> {
    const c = new Command(args)
    this.send(c)
    return c.promise as Promise<RedisReply>
  }

  /** Commands sent and not yet answered. */
  get pending(): number {
    return this.#queue.length - this.#head
  }

  /** Queues a command for this tick's write. */
  send(cmd: Command): void {
    if (cmd.done) return
    if (this.closed) {
      cmd.fail(this.#error ?? new RedisError(RedisErrorCodes.CONNECTION_LOST, 'The connection to Redis is closed'))
      return
    }
    // (P|S)(UN)SUBSCRIBE get one confirmation per channel (cheap length test first).
    const a0 = cmd.args[0]
    if (typeof a0 === 'string' && a0.length >= 9 && a0.length <= 12 && /^[ps]?(un)?subscribe$/i.test(a0)) {
      cmd.expect = Math.max(1, cmd.args.length - 1)
    }
    this.#enc.add(cmd.args)
    cmd.sent = true
    this.#queue.push(cmd)
    if (this.options.commandTimeout > 0 && !cmd.blocking) {
      cmd.deadline = Date.now() + this.options.commandTimeout
      if (this.#timer === undefined) this.#armTimer(this.options.commandTimeout)
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flushFn)
    }
  }

  #flush(): void {
    this.#scheduled = false
    if (this.closed || this.#enc.empty) return
    const err = this.#t.write(this.#enc.take())
    if (err !== undefined) this.destroy(err)
  }

  #armTimer(ms: number): void {
    this.#timer = setTimeout(() => this.#sweep(), Math.max(1, ms))
    this.#timer.unref()
  }

  // Fails the commands past their deadline (the oldest are at the head); their replies,
  // when they come, are dropped.
  #sweep(): void {
    this.#timer = undefined
    const now = Date.now()
    for (let i = this.#head; i < this.#queue.length; i++) {
      const c = this.#queue[i]!
      if (c.done || c.deadline === 0) continue
      if (c.deadline > now) return this.#armTimer(c.deadline - now)
      c.fail(new RedisError(RedisErrorCodes.TIMEOUT, `${c.name} got no reply within ${this.options.commandTimeout} ms`))
    }
  }

  /** @internal */
  tConnect(): void {
    const w = this.#connected
    this.#connected = undefined
    w?.resolve()
  }

  /** @internal */
  tTape(tape: Buffer): void {
    this.#replies(tape)
  }

  /** @internal */
  tError(err: Error): void {
    this.#error ??= err
  }

  /** @internal */
  tClose(): void {
    this.#closed()
  }

  #replies(tape: Buffer): void {
    const r = new TapeReader(tape)
    const sub = this.options.subscriber === true
    while (!r.done) {
      const head = this.#queue[this.#head]
      const v = r.next(sub || (head !== undefined && head.buffers))
      if (r.push || (sub && Array.isArray(v))) {
        if (this.#pubsub(v as RedisReply[], r.push)) continue
      }
      this.#deliver(v)
    }
  }

  // Pub/sub traffic: messages go to `onPush`; (un)subscribe confirmations answer the
  // command at the head. Returns false for an ordinary reply.
  #pubsub(v: RedisReply[], isPush: boolean): boolean {
    const k0 = v[0]
    const kind = Buffer.isBuffer(k0) ? k0.toString('latin1') : typeof k0 === 'string' ? k0 : ''
    if (MSG_KINDS.has(kind) || (isPush && !SUB_KINDS.has(kind))) {
      this.onPush?.(v)
      return true
    }
    if (SUB_KINDS.has(kind)) {
      this.#deliver(v)
      return true
    }
    // RESP2 PING while subscribed answers ["pong", ""].
    if (kind === 'pong' && this.#queue[this.#head]?.name === 'PING') {
      this.#deliver('PONG')
      return true
    }
    return false
  }

  #deliver(v: RedisReply): void {
    const cmd = this.#queue[this.#head]
    if (cmd === undefined) {
      this.destroy(new RedisError(RedisErrorCodes.PROTOCOL, 'Redis sent a reply that no command asked for'))
      return
    }
    if (cmd.expect > 1) {
      cmd.expect--
      return
    }
    this.#queue[this.#head++] = undefined as unknown as Command
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    } else if (this.#head === this.#queue.length) {
      this.#queue.length = 0
      this.#head = 0
    }
    cmd.answer(v)
    if (this.#closing !== undefined && this.pending === 0) this.#closing()
  }

  #closed(): void {
    if (this.#finalized) return
    this.#finalized = true
    this.closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    const err = this.#error
    const connectWaiter = this.#connected
    this.#connected = undefined
    connectWaiter?.reject(err ?? new RedisError('ECONNRESET', 'The connection closed before it was established'))
    const queue = this.#queue.slice(this.#head)
    this.#queue = []
    this.#head = 0
    for (const c of queue) {
      if (c.done) continue
      if (err !== undefined && err instanceof RedisError && (err.code === RedisErrorCodes.PROTOCOL || err.code === RedisErrorCodes.LIMIT)) {
        c.fail(new RedisError(err.code, err.message, { cause: err }))
      } else {
        c.fail(new RedisError(RedisErrorCodes.CONNECTION_LOST, `The connection to Redis was lost before ${c.name} was answered (it may have run)`, { cause: err }))
      }
    }
    this.#closing?.()
    this.onClose?.(this.#intentional ? undefined : err ?? new RedisError('ECONNRESET', 'The server closed the connection'))
  }

  #intentional = false
  #finalized = false

  /** Stops keeping the process alive for this connection. */
  unref(): void {
    this.#t.unref()
  }

  /** Keeps the process alive while open. */
  ref(): void {
    this.#t.ref()
  }

  /** Waits until every sent command is answered, then closes. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.#intentional = true
    return new Promise<void>((resolve) => {
      let done = false
      this.#closing = () => {
        if (done) return
        if (!this.closed && this.pending > 0) return
        done = true
        if (!this.closed) this.#t.end()
        resolve()
      }
      // Flush what this tick queued first.
      process.nextTick(() => this.#closing?.())
    })
  }

  /** Closes now; unanswered commands fail with `err` (or CONNECTION_LOST). */
  destroy(err?: Error): void {
    if (this.closed) return
    if (err === undefined) this.#intentional = true
    else this.#error ??= err
    this.#t.destroy()
  }
}

function isAuthError(e: ReplyError): boolean {
  return e.prefix === 'WRONGPASS' || e.prefix === 'NOAUTH' || e.prefix === 'NOPERM' || /invalid password|invalid username/i.test(e.message)
}

function authError(e: ReplyError): RedisError {
  return new RedisError(RedisErrorCodes.AUTH, `Redis refused the credentials: ${e.message}`, { cause: e })
}

