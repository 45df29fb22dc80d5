import { EventEmitter } from 'node:events'
import { Buffer } from 'node:buffer'

import { Kind, getBridge, native, register, unregister } from '@iocrate/core'
import { Server as HttpServer, createServer as createHttpServer } from '@iocrate/http'
import type { IncomingMessage, ServerResponse } from '@iocrate/http'
import { createServer as createHttpsServer } from '@iocrate/https'

import type { NativeWsConn, NativeWsServer, RawWsServerOptions } from './native.js'
import { WebSocket, parseHead, rawDeflate, rawSettings, scheduleFlush } from './socket.js'
import type { ConnectionOptions, PerMessageDeflateOptions, SendOptions, UpgradeRequest, WebSocketData } from './socket.js'

/** What `verifyClient` is given. */
export interface VerifyInfo {
  /** The `Origin` header. */
  origin: string | undefined
  /** Whether the connection is TLS. */
  secure: boolean
  /** The upgrade request. */
  req: UpgradeRequest
}

/** Options of {@link WebSocketServer}. */
export interface WebSocketServerOptions extends ConnectionOptions {
  /** Listen on this port (a standalone server; 0 picks one). */
  port?: number
  /** Host to listen on (with `port`). */
  host?: string
  /** Serve `wss:` on the standalone listener: certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer }
  /** Attach to this `@iocrate/http` or `@iocrate/https` server instead (also `wss:` over its TLS). */
  server?: HttpServer
  /** Only upgrade requests for this path (query ignored). */
  path?: string
  /** Choose the subprotocol from those the client offered; `false` accepts with none. Default: the first offered (as `ws`). */
  handleProtocols?: (protocols: Set<string>, req: UpgradeRequest) => string | false
  /**
   * Decide whether to accept a client (origin check, authentication): return or resolve
   * `false` to refuse it with 401, or call `cb(false, status, message)` style by
   * returning `{ status, message }`.
   */
  verifyClient?: (info: VerifyInfo) => boolean | { status: number; message?: string } | Promise<boolean | { status: number; message?: string }>
  /** Accept permessage-deflate (RFC 7692) from clients that offer it. Default false (as `ws`). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
  /** Track connected sockets in {@link WebSocketServer.clients} (default true). */
  clientTracking?: boolean
  /**
   * A publish skips a subscriber with more than this many bytes waiting (default 1 MiB):
   * a slow reader misses messages instead of growing the server's memory.
   */
  maxBackpressure?: number
}

/**
 * A WebSocket server with the API of `ws`'s `WebSocketServer`: standalone (`{ port }`)
 * or attached to an `@iocrate/http`/`@iocrate/https` server (`{ server, path }`). The
 * handshake, framing and keep-alive run in Rust; JS hears of a connection once it is
 * open (`'connection' (ws, req)`), unless `verifyClient`/`handleProtocols` ask to decide.
 * Topics (`ws.subscribe(topic)`, `wss.publish(topic, data)`) fan out in Rust.
 */
export class WebSocketServer extends EventEmitter {
  /** The connected sockets (with `clientTracking`, the default). */
  readonly clients = new Set<WebSocket>()
  /** The options given. */
  readonly options: WebSocketServerOptions
  #native: NativeWsServer
  #http: HttpServer
  #owned: boolean
  #attachTo: () => void
  #closed = false

  constructor(options: WebSocketServerOptions, callback?: () => void) {
    super()
    this.options = options
    if ((options.port === undefined) === (options.server === undefined)) {
      throw new TypeError('One and only one of the "port" or "server" options must be specified')
    }
    const raw: RawWsServerOptions = { settings: rawSettings(options) }
    if (options.maxBackpressure !== undefined) raw.settings!.maxBackpressure = options.maxBackpressure
    if (options.path !== undefined) raw.path = options.path
    const deflate = rawDeflate(options.perMessageDeflate, false)
    if (deflate) raw.deflate = deflate
    if (options.verifyClient || options.handleProtocols) raw.verify = true
    this.#native = native.wsServer(getBridge(), raw)
    register(this.#native.id, this)
    if (options.server) {
      this.#http = options.server
      this.#owned = false
    } else {
      const refuse = (_req: IncomingMessage, res: ServerResponse): void => {
        const body = 'Upgrade Required'
        res.writeHead(426, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) })
        res.end(body)
      }
      this.#http = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, refuse) : createHttpServer(refuse)
      this.#owned = true
    }
    this.#attachTo = (): void => {
      this.#http._nativeHandle()?.attachWebSocket(this.#native)
    }
    this.#http.on('listening', this.#attachTo)
    if (this.#http.listening) this.#attachTo()
    if (this.#owned) {
      this.#http.on('error', (err: Error) => this.emit('error', err))
      this.#http.on('listening', () => this.emit('listening'))
      if (callback) this.once('listening', callback)
      this.#http.listen(options.port ?? 0, options.host ?? '::')
    } else if (callback) {
      if (this.#http.listening) process.nextTick(callback)
      else this.#http.once('listening', callback)
    }
  }

  /** The address listened on (standalone), or the attached server's. */
  address(): ReturnType<HttpServer['address']> {
    return this.#http.address()
  }

  /** Open connections. */
  get connections(): number {
    return this.#native.connections()
  }

  /**
   * Sends a message to every socket subscribed to `topic` (see `WebSocket.subscribe`),
   * framed (and compressed) once and fanned out in Rust: one call, whatever the number
   * of subscribers. Returns how many sockets it was queued for; subscribers with more
   * than `maxBackpressure` bytes waiting are skipped.
   */
  publish(topic: string, data: WebSocketData, options?: SendOptions): number {
    const payload = typeof data === 'string' || Buffer.isBuffer(data)
      ? data
      : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    const n = this.#native.publish(String(topic), payload, options?.binary)
    scheduleFlush()
    return n
  }

  /** Subscribers of `topic`. */
  subscribers(topic: string): number {
    return this.#native.subscribers(String(topic))
  }

  /** Whether this server takes a request (its path matches), as in `ws`. */
  shouldHandle(req: { url?: string }): boolean {
    if (this.options.path === undefined) return true
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    return (q === -1 ? url : url.slice(0, q)) === this.options.path
  }

  /**
   * Stops accepting connections and closes the internal HTTP server (standalone). Open
   * connections stay open, as in `ws` 8: close them with `ws.close()` or
   * {@link WebSocketServer.closeAll}. `cb` runs (and `'close'` fires) once the server is closed.
   */
  close(cb?: (err?: Error) => void): void {
    if (this.#closed) {
      if (cb) process.nextTick(cb, new Error('The server is not running'))
      return
    }
    this.#closed = true
    this.#native.close()
    this.#http.removeListener('listening', this.#attachTo)
    this.#http._nativeHandle()?.detachWebSocket(this.#native)
    const done = (): void => {
      unregister(this.#native.id)
      this.emit('close')
      cb?.()
    }
    if (this.#owned && this.#http.listening) this.#http.close(() => done())
    else process.nextTick(done)
  }

  /** Starts the close handshake on every open connection. */
  closeAll(code = 1001, reason = ''): void {
    this.#native.closeAll(code, reason)
  }

  /** Closes (see {@link WebSocketServer.close}) and waits (`await using wss = …`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return
    for (const c of this.clients) c.terminate()
    await new Promise<void>((resolve) => this.close(() => resolve()))
  }

  /** @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    if (kind === Kind.WS_OPEN) {
      // [handle, head, protocol, extensions]: the socket reads the last two from the handle.
      const [h, head] = payload as [NativeWsConn, string]
      const flags = Number(head.split('\0', 2)[1])
      this.#open(h, parseHead(head, flags === 1))
    } else if (kind === Kind.WS_UPGRADE) {
      const [pid, head, protocols, secure] = payload as [number, string, string, boolean]
      void this.#verify(pid, parseHead(head, secure), protocols)
    }
  }

  #open(h: NativeWsConn, req: UpgradeRequest): void {
    const track = this.options.clientTracking !== false
    const ws = WebSocket._accepted(h, req, track ? this.#forget : undefined)
    if (track) this.clients.add(ws)
    this.emit('connection', ws, req)
  }

  #forget = (ws: WebSocket): void => {
    this.clients.delete(ws)
  }

  async #verify(pid: number, req: UpgradeRequest, protocolList: string): Promise<void> {
    try {
      if (this.options.verifyClient) {
        const v = await this.options.verifyClient({ origin: req.headers.origin, secure: req.secure, req })
        if (v !== true) {
          const status = typeof v === 'object' && v !== null ? v.status : 401
          const message = typeof v === 'object' && v !== null ? v.message : undefined
          this.#native.reject(pid, status, message)
          return
        }
      }
      let protocol: string | undefined
      const offered = protocolList === '' ? [] : protocolList.split(',')
      if (offered.length > 0) {
        if (this.options.handleProtocols) {
          const p = this.options.handleProtocols(new Set(offered), req)
          if (p !== false) {
            if (!offered.includes(p)) throw new Error(`handleProtocols chose a subprotocol the client did not offer: ${p}`)
            protocol = p
          }
        } else {
          protocol = offered[0]
        }
      }
      const h = this.#native.accept(pid, protocol)
      if (h) this.#open(h, req)
    } catch (err) {
      this.#native.reject(pid, 500)
      this.emit('error', err)
    }
  }
}
