import { EventEmitter } from 'node:events'
import {
  HandleRef,
  IocrateError,
  Kind,
  errorFromInfo,
  getBridge,
  invalidArg,
  isErrorInfo,
  native,
  register,
  unregister,
  type ErrorInfo,
} from '@iocrate/core'
import type { AddressInfo, NativeServer, NativeStream } from './handle.js'
import { Socket } from './socket.js'

const kServer = Symbol('server')
type SocketWithServer = Socket & { [kServer]?: Server }

function forgetSocket(this: SocketWithServer): void {
  this[kServer]?._forget(this)
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** When a client ends, keep our side writable (default `false`). */
  allowHalfOpen?: boolean
  /** Start accepted sockets paused (no `'data'` until resumed). */
  pauseOnConnect?: boolean
  /** Disable Nagle's algorithm on accepted sockets (default `true`). */
  noDelay?: boolean
  /** Enable keep-alive on accepted sockets. */
  keepAlive?: boolean
  /** Keep-alive initial delay in ms. */
  keepAliveInitialDelay?: number
  /** Stream high-water mark of accepted sockets. */
  highWaterMark?: number
}

/** Options of {@link Server.listen}. */
export interface ListenOptions {
  /** Port; 0 or absent picks a free one. */
  port?: number
  /** Address to bind; absent: all interfaces (`::` dual stack, or `0.0.0.0`). */
  host?: string
  /** Unix domain socket path instead of host and port. */
  path?: string
  /** Listen backlog (default 511). */
  backlog?: number
  /** Accept only IPv6 on an IPv6 host. */
  ipv6Only?: boolean
  /** Set `SO_REUSEPORT`. */
  reusePort?: boolean
  /** Aborting closes the server. */
  signal?: AbortSignal
}

/** Settings of accepted streams, for the addon. @internal */
export type RawStreamOptions = NonNullable<Parameters<typeof native.tcpListen>[1]['stream']>
/** Listen options, for the addon. @internal */
export type RawListenOptions = Parameters<typeof native.tcpListen>[1]

/**
 * Reads Node's `listen()` argument forms: `(port, [host], [backlog], [cb])`,
 * `(path, [cb])` or `(options, [cb])`. @internal
 */
export function listenArgs(args: unknown[]): [ListenOptions, (() => void) | undefined] {
  const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined
  const a = args[0]
  if (typeof a === 'object' && a !== null) return [a as ListenOptions, cb]
  if (typeof a === 'string' && !/^\d+$/.test(a)) return [{ path: a }, cb]
  const opts: ListenOptions = {}
  if (a !== undefined && a !== null) opts.port = Number(a)
  if (typeof args[1] === 'string') opts.host = args[1]
  if (typeof args[2] === 'number') opts.backlog = args[2]
  return [opts, cb]
}

/** Converts listen options for the addon. @internal */
export function rawListenOptions(o: ListenOptions, s: ServerOptions, maxConnections: number | undefined): RawListenOptions {
  if (o.path === undefined && o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw invalidArg('options.port', o.port, 'must be an integer from 0 to 65535')
  }
  const stream: RawStreamOptions = { noDelay: s.noDelay ?? true }
  if (s.keepAlive) stream.keepAliveMs = Math.max(1000, s.keepAliveInitialDelay ?? 1000)
  const raw: RawListenOptions = { stream }
  if (o.host !== undefined) raw.host = o.host
  if (o.port !== undefined) raw.port = o.port
  if (o.path !== undefined) raw.path = o.path
  if (o.backlog !== undefined) raw.backlog = o.backlog
  if (o.ipv6Only !== undefined) raw.ipv6Only = o.ipv6Only
  if (o.reusePort !== undefined) raw.reusePort = o.reusePort
  if (maxConnections !== undefined) raw.maxConnections = maxConnections
  return raw
}

/**
 * A TCP or Unix domain server, with `net.Server`'s surface: `'listening'`,
 * `'connection'`, `'error'`, `'drop'` (refused beyond `maxConnections`) and `'close'`
 * (after `close()`, once every connection has closed). Accepting happens in Rust; each
 * connection reaches JS as one batched event.
 */
export class Server extends EventEmitter {
  #handle: NativeServer | undefined
  #ref = new HandleRef()
  #max: number | undefined
  #options: ServerOptions
  #closing = false
  #sockets = new Set<Socket>()
  #iterQueue: Socket[] = []
  #iterWaiters: Array<(r: IteratorResult<Socket>) => void> = []

  constructor(options: ServerOptions = {}, connectionListener?: (socket: Socket) => void) {
    super()
    this.#options = options
    if (connectionListener) this.on('connection', connectionListener)
  }

  /** A socket closed. @internal */
  _forget(socket: Socket): void {
    this.#sockets.delete(socket)
  }

  /** Creates the native listener; subclasses (TLS) override. @internal */
  protected _bind(raw: RawListenOptions): NativeServer | ErrorInfo {
    return native.tcpListen(getBridge(), raw)
  }

  /** Wraps an accepted native stream; subclasses (TLS) override. @internal */
  protected _wrap(handle: NativeStream): Socket {
    const o: { allowHalfOpen?: boolean; highWaterMark?: number } = {}
    if (this.#options.allowHalfOpen !== undefined) o.allowHalfOpen = this.#options.allowHalfOpen
    if (this.#options.highWaterMark !== undefined) o.highWaterMark = this.#options.highWaterMark
    const s = new Socket(o)
    s._attach(handle, true)
    return s
  }

  /** Emits the accepted socket; subclasses (TLS) may wait for the handshake. @internal */
  protected _accept(socket: Socket): void {
    this._deliver(socket, 'connection')
  }

  /** Hands a ready socket to listeners and iterators. @internal */
  protected _deliver(socket: Socket, event: string): void {
    this.#sockets.add(socket)
    // A shared listener (not a closure per socket): idle connections stay small.
    ;(socket as SocketWithServer)[kServer] = this
    socket.on('close', forgetSocket)
    if (this.#options.pauseOnConnect) socket.pause()
    const w = this.#iterWaiters.shift()
    if (w) w({ value: socket, done: false })
    // With no listener, keep it for an iterator that may start later (else it is orphaned).
    else if (this.listenerCount(event) === 0) this.#iterQueue.push(socket)
    this.emit(event, socket)
  }

  /** Handles one native event. @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.CONNECTION:
        this._accept(this._wrap(payload as NativeStream))
        break
      case Kind.DROP: {
        const [address, port] = splitHostPort(payload as string)
        this.emit('drop', { remoteAddress: address, remotePort: port })
        break
      }
      case Kind.ERROR:
        this.emit('error', errorFromInfo(payload as ErrorInfo))
        break
      case Kind.SERVER_CLOSE:
        this.#finishClose()
        break
    }
  }

  /**
   * Starts listening. Like Node: `listen(port, [host], [backlog], [cb])`,
   * `listen(path, [cb])` or `listen(options, [cb])`. Errors (`EADDRINUSE`, `EACCES`) are
   * emitted as `'error'`.
   */
  listen(port?: number, host?: string, backlog?: number, listeningListener?: () => void): this
  listen(port: number, host: string, listeningListener?: () => void): this
  listen(port: number, listeningListener?: () => void): this
  listen(path: string, listeningListener?: () => void): this
  listen(options: ListenOptions, listeningListener?: () => void): this
  listen(...args: unknown[]): this {
    const [opts, cb] = listenArgs(args)
    if (this.#handle) throw new IocrateError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.')
    if (cb) this.once('listening', cb)
    const r = this._bind(rawListenOptions(opts, this.#options, this.#max))
    if (isErrorInfo(r)) {
      const err = errorFromInfo(r)
      process.nextTick(() => this.emit('error', err))
      return this
    }
    this.#handle = r
    this.#closing = false
    register(r.id, this)
    this.#ref.open()
    r.start()
    if (opts.signal) {
      const signal = opts.signal
      if (signal.aborted) this.close()
      else signal.addEventListener('abort', () => this.close(), { once: true })
    }
    process.nextTick(() => this.emit('listening'))
    return this
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#handle !== undefined && !this.#closing
  }

  /** The bound address: `{ address, family, port }`, or the path for Unix sockets; `null` when not listening. */
  address(): AddressInfo | string | null {
    if (!this.#handle) return null
    const a = this.#handle.address()
    return a.family === 'unix' ? a.address : a
  }

  /**
   * Stops accepting. `'close'` is emitted (and `callback` called) once every connection
   * has closed; existing connections are not interrupted.
   */
  close(callback?: (err?: Error) => void): this {
    if (!this.#handle || this.#closing) {
      if (callback) {
        if (this.#closing) this.once('close', () => callback())
        else process.nextTick(callback, new IocrateError('ERR_SERVER_NOT_RUNNING', 'Server is not running.'))
      }
      return this
    }
    this.#closing = true
    if (callback) this.once('close', () => callback())
    this.#handle.close()
    for (const w of this.#iterWaiters.splice(0)) w({ value: undefined, done: true })
    return this
  }

  #finishClose(): void {
    const h = this.#handle
    if (!h) return
    unregister(h.id)
    this.#ref.close()
    this.#handle = undefined
    this.#closing = false
    this.emit('close')
  }

  /** Refuse connections beyond this many at once (they are closed and `'drop'` is emitted). */
  get maxConnections(): number | undefined {
    return this.#max
  }
  set maxConnections(n: number | undefined) {
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw invalidArg('maxConnections', n, 'must be a non-negative integer')
    this.#max = n
    this.#handle?.setMaxConnections(n ?? -1)
  }

  /** Open connections (counted in Rust). */
  get connections(): number {
    return this.#handle?.connections() ?? 0
  }

  /** Node-style callback form of {@link Server.connections}. */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.connections
    process.nextTick(cb, null, n)
    return this
  }

  /** Destroys every open connection (for a fast shutdown after `close()`). */
  closeAllConnections(): void {
    for (const s of this.#sockets) s.destroy()
  }

  /** Keeps the process alive while listening (the default). */
  ref(): this {
    this.#ref.ref()
    return this
  }

  /** Lets the process exit even though the server listens. */
  unref(): this {
    this.#ref.unref()
    return this
  }

  /** Accepted sockets, as an async iterator (ends when the server closes). */
  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return {
      next: () => {
        const s = this.#iterQueue.shift()
        if (s) return Promise.resolve({ value: s, done: false })
        if (!this.#handle || this.#closing) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => this.#iterWaiters.push(resolve))
      },
      return: () => {
        return Promise.resolve({ value: undefined, done: true })
      },
    }
  }

  /** Closes the server and waits for its connections to close. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#handle) return
    await new Promise<void>((resolve) => this.close(() => resolve()))
  }
}

function splitHostPort(s: string): [string, number | undefined] {
  const i = s.lastIndexOf(':')
  if (i < 0) return [s, undefined]
  const host = s.slice(0, i).replace(/^\[|\]$/g, '')
  return [host, Number(s.slice(i + 1))]
}

/** Creates a {@link Server}. */
export function createServer(connectionListener?: (socket: Socket) => void): Server
export function createServer(options?: ServerOptions, connectionListener?: (socket: Socket) => void): Server
export function createServer(
  a?: ServerOptions | ((socket: Socket) => void),
  b?: (socket: Socket) => void,
): Server {
  if (typeof a === 'function') return new Server({}, a)
  return new Server(a ?? {}, b)
}
