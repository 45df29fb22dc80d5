import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
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
import { Socket, listenArgs, rawListenOptions, type ListenOptions, type NativeStream } from '@iocrate/net'
import { checkName, pushField, type OutgoingHeaderValue } from './headers.js'
import { IncomingMessage } from './incoming.js'
import type { NativeHttpServer, RawHttpServerOptions, RawRoute } from './native.js'
import { ServerResponse } from './response.js'
import { toFetchHandler, type FetchHandler } from './fetch.js'

/**
 * A Node-style request handler. It may be async (return a promise); a rejection is handled
 * like a throw. The return type is `void`, as in Node, so `(req, res) => res.end()` and
 * async functions both fit.
 */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/** A static response the server answers in Rust, without calling JS. */
export interface StaticRoute {
  /** Method to match (default `GET`). */
  method?: string
  /** Request target to match exactly (`/health`; a query string does not match). */
  path: string
  /** Status code (default 200). */
  status?: number
  /** Header fields (`Content-Length` is added). */
  headers?: Record<string, OutgoingHeaderValue>
  /** The body. */
  body?: string | Uint8Array
  /**
   * A file to serve instead of `body`: read once, when the server starts listening.
   * `Content-Type` is guessed from the extension unless given in `headers`.
   */
  file?: string
}

/** Settings of response compression. */
export interface CompressionOptions {
  /** Codings offered, preferred first (default `['br', 'gzip']`). */
  codings?: ('br' | 'gzip' | 'deflate')[]
  /** Smallest known body length worth compressing, in bytes (default 1024). */
  threshold?: number
  /** gzip/deflate level, 0–9 (default 6). */
  level?: number
  /** Brotli quality, 0–11 (default 4). */
  brotliQuality?: number
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Largest request head in bytes (default 16 KiB); over it: 431. */
  maxHeaderSize?: number
  /** Most header fields in a request (default 100); over it: 431. */
  maxHeadersCount?: number
  /** Longest request line in bytes (default 8 KiB); over it: 414. */
  maxRequestLineSize?: number
  /** Largest request body in bytes (default unlimited); over it: 413 and the connection closes. */
  maxBodySize?: number
  /** Time in ms to receive a request head, from its first byte (default 60000; 0 disables). Slow clients are disconnected. */
  headersTimeout?: number
  /** Time in ms to receive a whole request (default 300000; 0 disables); over it: 408. */
  requestTimeout?: number
  /** How long in ms an idle keep-alive connection stays open (default 5000). */
  keepAliveTimeout?: number
  /**
   * Close a connection whose request is in flight after this many ms without a byte read
   * or written (default 0: never), as Node's `server.timeout`: a client that stops
   * reading, or a handler that never answers. The exchange's response emits `'close'`.
   */
  timeout?: number
  /** `TCP_NODELAY` on connections (default `true`). */
  noDelay?: boolean
  /** Response bytes queued per connection past which `write` returns `false` (default 64 KiB). */
  highWaterMark?: number
  /** Static responses answered in Rust. */
  routes?: StaticRoute[]
  /**
   * Compress responses in Rust for clients that accept it (`true` for the defaults):
   * compressible content types only, bodies of at least `threshold` bytes (default 1024)
   * or of unknown length; adds `Content-Encoding` and `Vary: Accept-Encoding`.
   */
  compression?: boolean | CompressionOptions
  /** Refuse connections beyond this many at once. */
  maxConnections?: number
  /** A fetch-style handler `(request) => Response` instead of `(req, res)`. */
  fetch?: FetchHandler
  /** Called for requests whose handler threw or rejected (default: log to stderr). The response is a 500 if nothing was sent yet. */
  onError?: (err: unknown, req: IncomingMessage) => void
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.xml': 'application/xml',
}

function rawRoute(r: StaticRoute): RawRoute {
  const parts: string[] = []
  let hasType = false
  for (const [n, v] of Object.entries(r.headers ?? {})) {
    checkName(n)
    if (n.toLowerCase() === 'content-type') hasType = true
    pushField(parts, n, v)
  }
  let body: Buffer
  if (r.file !== undefined) {
    body = readFileSync(r.file)
    if (!hasType) parts.push('Content-Type', MIME[extname(r.file).toLowerCase()] ?? 'application/octet-stream')
  } else if (typeof r.body === 'string') body = Buffer.from(r.body)
  else if (r.body instanceof Uint8Array) body = Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength)
  else body = Buffer.alloc(0)
  return { method: r.method ?? 'GET', path: r.path, status: r.status ?? 200, headers: parts.join('\0'), body }
}

interface Open {
  req: IncomingMessage
  res: ServerResponse
  start: number
}

function defaultOnError(err: unknown): void {
  console.error('iocrate http: request handler failed:', err)
}

/**
 * An HTTP/1.1 server in Node's shape (`listen`, `close`, `address`, `'request'`,
 * `'listening'`, `'close'`, `'error'`, and `'upgrade'`/`'connect'` `(req, socket, head)`
 * over plain TCP when a listener exists at `listen()` time; the socket is an
 * `@iocrate/net` Socket and the application answers on it), whose parsing, framing, keep-alive, pipelining
 * and timeouts run in Rust. Requests reach JS in batches; each answer is one native
 * call. Static routes never enter JS.
 */
export class Server extends EventEmitter {
  /** Time in ms to receive a whole request (0: none). */
  requestTimeout: number
  /** Socket idle timeout in ms while a request is in flight (0: none); read at `listen()`. See {@link ServerOptions.timeout}. */
  timeout: number
  #handle: NativeHttpServer | undefined
  #ref = new HandleRef()
  #opts: ServerOptions
  #open = new Map<number, Open>()
  #flushQueued = false
  // The 'request' listeners, cached (they rarely change; `listeners()` copies).
  #listeners: RequestListener[] | undefined
  #closing = false
  #max: number | undefined
  #hwm: number
  #timer: NodeJS.Timeout | undefined
  #encrypted = false
  #onError: (err: unknown, req: IncomingMessage) => void

  constructor(options: ServerOptions = {}, listener?: RequestListener) {
    super()
    this.#opts = options
    this.#max = options.maxConnections
    this.#hwm = options.highWaterMark ?? 64 * 1024
    this.requestTimeout = options.requestTimeout ?? 300_000
    this.timeout = options.timeout ?? 0
    this.#onError = options.onError ?? defaultOnError
    const invalidate = (event: string | symbol): void => {
      if (event === 'request') this.#listeners = undefined
    }
    this.on('newListener', invalidate)
    this.on('removeListener', invalidate)
    if (options.fetch) this.on('request', toFetchHandler(options.fetch, () => this.#encrypted))
    if (listener) this.on('request', listener)
  }

  /** Creates the native listener; `@iocrate/https` overrides it. @internal */
  protected _bind(raw: RawHttpServerOptions): NativeHttpServer | ErrorInfo {
    return native.httpListen(getBridge(), raw)
  }

  /** The native server while listening (WebSocket servers attach to it). @internal */
  _nativeHandle(): NativeHttpServer | undefined {
    return this.#handle
  }

  /** Marks requests as HTTPS. @internal */
  protected _setEncrypted(): void {
    this.#encrypted = true
  }

  /**
   * Starts listening. Like Node: `listen(port, [host], [cb])`, `listen(path, [cb])` or
   * `listen(options, [cb])`. `EADDRINUSE` and friends are emitted as `'error'`.
   */
  listen(port?: number, host?: string, listeningListener?: () => void): this
  listen(port: number, listeningListener?: () => void): this
  listen(path: string, listeningListener?: () => void): this
  listen(options: ListenOptions, listeningListener?: () => void): this
  listen(...args: unknown[]): this {
    const [opts, cb] = listenArgs(args)
    if (this.#handle) throw new IocrateError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.')
    if (cb) this.once('listening', cb)
    const o = this.#opts
    let raw: RawHttpServerOptions
    try {
      raw = { listen: rawListenOptions(opts, { noDelay: o.noDelay ?? true }, this.#max) }
      if (o.maxHeaderSize !== undefined) raw.maxHeaderSize = positive('maxHeaderSize', o.maxHeaderSize)
      if (o.maxHeadersCount !== undefined) raw.maxHeadersCount = positive('maxHeadersCount', o.maxHeadersCount)
      if (o.maxRequestLineSize !== undefined) raw.maxRequestLine = positive('maxRequestLineSize', o.maxRequestLineSize)
      if (o.maxBodySize !== undefined) raw.maxBodySize = positive('maxBodySize', o.maxBodySize)
      if (o.headersTimeout !== undefined) raw.headersTimeoutMs = nonNegative('headersTimeout', o.headersTimeout)
      if (o.keepAliveTimeout !== undefined) raw.keepAliveTimeoutMs = nonNegative('keepAliveTimeout', o.keepAliveTimeout)
      if (this.timeout > 0) raw.timeoutMs = nonNegative('timeout', this.timeout)
      if (o.noDelay !== undefined) raw.noDelay = o.noDelay
      if (o.routes) raw.routes = o.routes.map(rawRoute)
      raw.highWaterMark = positive('highWaterMark', this.#hwm)
      // As in Node, Upgrade and CONNECT requests leave HTTP only when someone listens for
      // them (decided here, at listen time); otherwise they are ordinary requests.
      if (this.listenerCount('upgrade') > 0) raw.upgrade = true
      if (this.listenerCount('connect') > 0) raw.connect = true
      if (o.compression) {
        const c = o.compression === true ? {} : o.compression
        const rc: NonNullable<RawHttpServerOptions['compression']> = {}
        if (c.codings) rc.codings = [...c.codings]
        if (c.threshold !== undefined) rc.threshold = c.threshold
        if (c.level !== undefined) rc.level = c.level
        if (c.brotliQuality !== undefined) rc.brotliQuality = c.brotliQuality
        raw.compression = rc
      }
    } catch (err) {
      process.nextTick(() => this.emit('error', err))
      return this
    }
    const r = this._bind(raw)
    if (isErrorInfo(r)) {
      const err = errorFromInfo(r)
      process.nextTick(() => this.emit('error', err))
      return this
    }
    this.#handle = r
    this.#closing = false
    register(r.id, this)
    this.#ref.open()
    if (this.requestTimeout > 0) {
      this.#timer = setInterval(() => this.#sweep(), Math.min(1000, Math.max(10, this.requestTimeout / 4)))
      this.#timer.unref()
    }
    if (opts.signal) {
      const signal = opts.signal
      if (signal.aborted) this.close()
      else signal.addEventListener('abort', () => this.close(), { once: true })
    }
    process.nextTick(() => this.emit('listening'))
    return this
  }

  /** Handles one native event. @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.HTTP_REQUEST:
        this.#request(payload as string)
        break
      case Kind.HTTP_BODY: {
        const [id, chunk] = payload as [number, Buffer]
        this.#open.get(id)?.req._onData(chunk)
        break
      }
      case Kind.HTTP_BODY_END: {
        let id: number
        let trailers: string[] | undefined
        if (typeof payload === 'number') id = payload
        else {
          trailers = (payload as string).split('\0')
          id = +(trailers.shift() as string)
        }
        const o = this.#open.get(id)
        if (o) {
          o.req._onEnd(trailers)
          if (o.res.writableEnded) this.#open.delete(id)
        }
        break
      }
      case Kind.HTTP_ABORT: {
        const id = payload as number
        const o = this.#open.get(id)
        if (o) {
          this.#open.delete(id)
          o.req._onAbort()
          o.res._close()
        }
        break
      }
      case Kind.HTTP_UPGRADE: {
        const [head, handle, rest] = payload as [string, NativeStream, Buffer]
        const req = new IncomingMessage(this.#handle as NativeHttpServer, head.split('\0'), this.#encrypted)
        const socket = new Socket()
        socket._attach(handle, true)
        const event = req.method === 'CONNECT' ? 'connect' : 'upgrade'
        if (this.listenerCount(event) === 0) socket.destroy()
        else this.emit(event, req, socket, rest)
        break
      }
      case Kind.HTTP_DRAIN:
        this.#open.get(payload as number)?.res._drain()
        break
      case Kind.ERROR:
        this.emit('error', errorFromInfo(payload as ErrorInfo))
        break
      case Kind.SERVER_CLOSE:
        this.#finishClose()
        break
    }
  }

  #request(head: string): void {
    const h = this.#handle as NativeHttpServer
    const req = new IncomingMessage(h, head.split('\0'), this.#encrypted)
    const res = new ServerResponse(h, req, this.#hwm, this)
    try {
      // `emit` would swallow a returned promise; call the listeners ourselves.
      const listeners = (this.#listeners ??= this.listeners('request') as RequestListener[])
      if (listeners.length === 0) {
        res.statusCode = 404
        res.end()
        return
      }
      for (const l of listeners) {
        const r = l.call(this, req, res) as unknown
        if (r !== undefined && r !== null && typeof (r as Promise<void>).then === 'function') {
          ;(r as Promise<void>).then(undefined, (err: unknown) => this.#fail(err, req, res))
        }
      }
    } catch (err) {
      this.#fail(err, req, res)
    }
    // Only exchanges still open need finding by id later (body, drain and abort events,
    // the request timeout). No native event can arrive while the handler runs, so an
    // exchange the handler finished at once (the common case) is never registered.
    if (!res.writableEnded || !req.complete) {
      this.#open.set(req._id, { req, res, start: this.requestTimeout > 0 ? Date.now() : 0 })
    }
  }

  /**
   * Whole responses wait in the addon until the current batch of requests has been
   * handled, then go to the I/O thread together (one wake-up per batch, not per response).
   * @internal
   */
  _scheduleFlush(): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    process.nextTick(flushServer, this)
  }

  /** @internal */
  _flush(): void {
    this.#flushQueued = false
    this.#handle?.flush()
  }

  /** A response finished: forget the exchange unless its body is still arriving. @internal */
  _responseDone(res: ServerResponse): void {
    const req = res.req
    if (req.complete || req.aborted) this.#open.delete(req._id)
  }

  #fail(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    try {
      this.#onError(err, req)
    } finally {
      try {
        if (!res.headersSent && !res.writableEnded) {
          res.statusCode = 500
          for (const n of res.getHeaderNames()) res.removeHeader(n)
          res.setHeader('Content-Type', 'text/plain; charset=utf-8')
          res.end('Internal Server Error')
        } else if (!res.writableEnded) {
          res.destroy()
        }
      } catch {
        res.destroy()
      }
    }
  }

  #sweep(): void {
    const limit = Date.now() - this.requestTimeout
    for (const o of this.#open.values()) {
      if (o.start > limit || o.req.complete) continue
      if (!o.res.headersSent) {
        o.res.writeHead(408, { Connection: 'close', 'Content-Type': 'text/plain; charset=utf-8' })
        o.res.end('Request Timeout')
      } else {
        o.res.destroy()
      }
      o.start = Number.POSITIVE_INFINITY
    }
  }

  /**
   * Sets {@link Server.timeout} (as Node's `server.setTimeout(ms)`; takes effect at the
   * next `listen()`). There is no `'timeout'` event: a timed-out connection is closed and
   * its response emits `'close'`.
   */
  setTimeout(ms: number): this {
    this.timeout = nonNegative('timeout', ms)
    return this
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#handle !== undefined && !this.#closing
  }

  /** The bound address: `{ address, family, port }`, or the path for Unix sockets; `null` when not listening. */
  address(): { address: string; family: string; port: number } | string | null {
    if (!this.#handle) return null
    const a = this.#handle.address()
    return a.family === 'unix' ? a.address : a
  }

  /** Open connections (counted in Rust). */
  get connections(): number {
    return this.#handle?.connections() ?? 0
  }

  /** Refuse connections beyond this many at once. */
  get maxConnections(): number | undefined {
    return this.#max
  }
  set maxConnections(n: number | undefined) {
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw invalidArg('maxConnections', n, 'must be a non-negative integer')
    this.#max = n
    this.#handle?.setMaxConnections(n ?? -1)
  }

  /**
   * Stops accepting and closes idle connections; requests in flight finish (their
   * responses say `Connection: close`). `'close'` follows (and `callback` is called)
   * once every connection has closed.
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
    return this
  }

  /** Closes every connection now (idle ones too), cutting off requests in flight. */
  closeAllConnections(): void {
    this.#handle?.closeAllConnections()
  }

  /** Node compatibility: idle connections are closed by `close()` already. */
  closeIdleConnections(): void {}

  #finishClose(): void {
    const h = this.#handle
    if (!h) return
    unregister(h.id)
    this.#ref.close()
    if (this.#timer) clearInterval(this.#timer)
    this.#handle = undefined
    this.#closing = false
    this.emit('close')
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

  /** Closes the server and waits for it (`await using server = …`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#handle) return
    await new Promise<void>((resolve) => this.close(() => resolve()))
  }
}

function flushServer(server: Server): void {
  server._flush()
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw invalidArg(`options.${name}`, v, 'must be a positive integer')
  return v
}

function nonNegative(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw invalidArg(`options.${name}`, v, 'must be a non-negative integer')
  return v
}

/**
 * Creates an HTTP/1.1 server: `createServer((req, res) => …)`,
 * `createServer(options, handler)`, or `createServer({ fetch: (request) => response })`.
 */
export function createServer(listener?: RequestListener): Server
export function createServer(options: ServerOptions, listener?: RequestListener): Server
export function createServer(a?: ServerOptions | RequestListener, b?: RequestListener): Server {
  if (typeof a === 'function') return new Server({}, a)
  return new Server(a ?? {}, b)
}

/** Options of {@link serve}: server options plus where to listen. */
export interface ServeOptions extends ServerOptions, ListenOptions {
  /** The fetch-style handler. */
  fetch: FetchHandler
}

/**
 * Starts a fetch-style server (the shape Hono, itty-router and friends export):
 * `await serve({ fetch: app.fetch, port: 3000 })`. Resolves once listening.
 */
export function serve(options: ServeOptions): Promise<Server> {
  const server = new Server(options)
  const listen: ListenOptions = {}
  for (const k of ['port', 'host', 'path', 'backlog', 'ipv6Only', 'reusePort', 'signal'] as const) {
    if (options[k] !== undefined) (listen as Record<string, unknown>)[k] = options[k]
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}
