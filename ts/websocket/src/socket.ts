import { EventEmitter } from 'node:events'
import { Buffer } from 'node:buffer'

import { ErrorInfo, HandleRef, IocrateError, Kind, getBridge, isErrorInfo, native, register, unregister } from '@iocrate/core'

import { CloseEvent, ErrorEvent } from './events.js'
import type { NativeWsConn, RawDeflateOptions, RawWsConnectOptions, RawWsSettings } from './native.js'

/** How binary messages are delivered: Buffer (default, as `ws`), ArrayBuffer or Blob. */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'blob'

/** What `send()` takes. Strings go as text frames, everything else as binary. */
export type WebSocketData = string | Buffer | ArrayBuffer | ArrayBufferView

/** A received binary message, per {@link WebSocket.binaryType}. */
export type BinaryData = Buffer | ArrayBuffer | Blob

/** permessage-deflate (RFC 7692) settings. */
export interface PerMessageDeflateOptions {
  /** Messages shorter than this many bytes are sent uncompressed (default 1024). */
  threshold?: number
  /** zlib level 0-9 (default 6, as zlib and `ws`). */
  level?: number
  /** Largest LZ77 window (bits, 8-15) for what the server compresses. */
  serverMaxWindowBits?: number
  /** Largest LZ77 window (bits, 8-15) for what the client compresses. */
  clientMaxWindowBits?: number
}

/** Connection settings shared by clients and servers. */
export interface ConnectionOptions {
  /** Largest message in bytes, after decompression (default 100 MiB, as `ws`); a bigger one closes the connection with 1009. */
  maxPayload?: number
  /** Send a keep-alive ping after this many ms without input (0: off). */
  pingInterval?: number
  /** Terminate the connection when nothing answers a keep-alive ping within this many ms (default 30000). */
  pingTimeout?: number
  /** After a close frame, how long to wait for the peer's (ms, default 10000). */
  closeTimeout?: number
  /** `bufferedAmount` at which a send arms a `'drain'` event (default 64 KiB). */
  highWaterMark?: number
  /**
   * `bufferedAmount` beyond which the connection is cut because the peer stopped reading
   * (default 64 MiB): the hard bound on what one connection may hold. The socket then
   * closes with code 1008 and an `ERR_WEBSOCKET_BUFFER_FULL` error.
   */
  maxBufferedAmount?: number
}

/** Options of the client {@link WebSocket} constructor. */
export interface WebSocketOptions extends ConnectionOptions {
  /** Extra request headers (`Authorization`, `Cookie`, …). */
  headers?: Record<string, string>
  /** The `Origin` header. */
  origin?: string
  /** Offer permessage-deflate (default true, as `ws`). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
  /** Time allowed for connect, TLS and the upgrade together (ms, default 30000). */
  handshakeTimeout?: number
  /** Trusted CAs (PEM) for `wss:`; default: the system roots. */
  ca?: string | Buffer | (string | Buffer)[]
  /** Client certificate (PEM). */
  cert?: string | Buffer
  /** Client key (PEM). */
  key?: string | Buffer
  /** Name verified and sent as SNI instead of the URL's host. */
  servername?: string
  /** Accept any server certificate. Never use this in production. */
  dangerouslyDisableCertificateVerification?: boolean
  /** Aborts the connection (closes it with 1006 if already open). */
  signal?: AbortSignal
}

/** Options of `ping()`/`pong()`-style callbacks and `send()`. */
export interface SendOptions {
  /** Send a Buffer as text (it must be valid UTF-8) with `binary: false`. */
  binary?: boolean
}

/** An error a WebSocket reports: a protocol violation, a failed handshake, an abnormal close. */
export class WebSocketError extends IocrateError {
  /** The close code sent or received, when there is one (1002, 1007, 1009, 1006 …). */
  readonly closeCode?: number

  constructor(code: string, message: string, closeCode?: number) {
    super(code, message)
    this.name = 'WebSocketError'
    if (closeCode !== undefined) this.closeCode = closeCode
  }
}

/** Error codes of WebSocket errors. */
export const WebSocketErrorCodes = {
  /** The peer broke RFC 6455 (close code 1002). */
  PROTOCOL: 'ERR_WEBSOCKET_PROTOCOL',
  /** A text message was not UTF-8, or compressed data was corrupt (1007). */
  INVALID_PAYLOAD: 'ERR_WEBSOCKET_INVALID_PAYLOAD',
  /** A message exceeded `maxPayload` (1009). */
  MESSAGE_TOO_BIG: 'ERR_WEBSOCKET_MESSAGE_TOO_BIG',
  /** The opening handshake failed (status not 101, bad accept key, unrequested extension …). */
  HANDSHAKE: 'ERR_WEBSOCKET_HANDSHAKE',
  /** The opening handshake took longer than `handshakeTimeout`. */
  HANDSHAKE_TIMEOUT: 'ERR_WEBSOCKET_HANDSHAKE_TIMEOUT',
  /** The socket was closed before it opened. */
  ABORTED: 'ERR_WEBSOCKET_ABORTED',
  /** The connection closed without a close handshake, or a send on a closed socket. */
  CLOSED: 'ERR_WEBSOCKET_CLOSED',
  /** A keep-alive ping got no answer in time. */
  PING_TIMEOUT: 'ERR_WEBSOCKET_PING_TIMEOUT',
  /** The peer stopped reading and `maxBufferedAmount` was exceeded (1008). */
  BUFFER_FULL: 'ERR_WEBSOCKET_BUFFER_FULL',
  /** Sending or reading failed at the socket. */
  IO: 'ERR_WEBSOCKET_IO',
} as const

function wsError(info: ErrorInfo): Error {
  if (info.code.startsWith('ERR_WEBSOCKET_')) {
    return new WebSocketError(info.code, info.message, info.errno ?? undefined)
  }
  const d: { errno?: number; syscall?: string; address?: string; port?: number } = {}
  if (info.errno != null) d.errno = -Math.abs(info.errno)
  if (info.syscall != null) d.syscall = info.syscall
  if (info.address != null) d.address = info.address
  if (info.port != null) d.port = info.port
  return new IocrateError(info.code, info.message, d)
}

let flushQueued = false

function flushNow(): void {
  flushQueued = false
  native.wsFlush()
}

/**
 * Sends to server connections over plain TCP are staged in the addon and written at the
 * end of the tick, one `writev` per connection: a batch of replies costs one system call
 * per socket and no wake-up of the I/O thread. @internal
 */
export function scheduleFlush(): void {
  if (flushQueued) return
  flushQueued = true
  process.nextTick(flushNow)
}

/** @internal */
export function rawSettings(o: ConnectionOptions): RawWsSettings {
  const s: RawWsSettings = { maxPayload: o.maxPayload ?? 100 * 1024 * 1024 }
  if (o.pingInterval !== undefined) s.pingIntervalMs = nonNegative('pingInterval', o.pingInterval)
  if (o.pingTimeout !== undefined) s.pingTimeoutMs = nonNegative('pingTimeout', o.pingTimeout)
  if (o.closeTimeout !== undefined) s.closeTimeoutMs = nonNegative('closeTimeout', o.closeTimeout)
  if (o.highWaterMark !== undefined) s.highWaterMark = nonNegative('highWaterMark', o.highWaterMark)
  if (o.maxBufferedAmount !== undefined) s.maxBuffered = o.maxBufferedAmount
  return s
}

/** @internal */
export function rawDeflate(o: boolean | PerMessageDeflateOptions | undefined, def: boolean): RawDeflateOptions | undefined {
  if (o === false || (o === undefined && !def)) return undefined
  const d: RawDeflateOptions = {}
  if (typeof o === 'object') {
    if (o.threshold !== undefined) d.threshold = o.threshold
    if (o.level !== undefined) d.level = o.level
    if (o.serverMaxWindowBits !== undefined) d.serverMaxWindowBits = o.serverMaxWindowBits
    if (o.clientMaxWindowBits !== undefined) d.clientMaxWindowBits = o.clientMaxWindowBits
  }
  return d
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`options.${name} must be a non-negative number, received ${v}`)
  return Math.floor(v)
}

function pem(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Close codes an application may send (RFC 6455 §7.4; 1004-1006 and 1015 never travel). */
function sendableCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
}

/** Clean close codes: async iteration ends instead of throwing. */
function normalClose(code: number): boolean {
  return code === 1000 || code === 1001 || code === 1005
}

type Listener = Parameters<EventEmitter['on']>[1]
type WhatwgListener = ((event: Event) => void) | { handleEvent(event: Event): void }
type OnClosed = (ws: WebSocket) => void

const kWhatwg = Symbol('whatwg')

/** The message iterator's state. */
interface Reader {
  queue: (string | Buffer)[]
  bytes: number
  wake: (() => void) | undefined
  paused: boolean
}

/** Messages (bytes) the async iterator holds before it pauses reading. */
const READER_HIGH_WATER = 1024 * 1024

/**
 * What few connections need (client options and headers, the iterator, a close reason),
 * allocated on first use so that an idle server connection does not pay for it.
 */
class Extra {
  onClosed: OnClosed | undefined
  protocol = ''
  extensions = ''
  closeReason = ''
  reader: Reader | undefined = undefined
  signal: AbortSignal | undefined = undefined
  onAbort: (() => void) | undefined = undefined
  upgradeHeaders: Record<string, string> | undefined = undefined

  constructor(onClosed: OnClosed | undefined) {
    this.onClosed = onClosed
  }
}

// A socket's small state, packed in one integer (`#bits`).
/** readyState (0-3). */
const STATE = 0b11
const BINARY_SHIFT = 2
/** binaryType, as an index in BINARY_TYPES. */
const BINARY = 0b11 << BINARY_SHIFT
/** The server side of a connection. */
const SERVER = 1 << 4
/** `unref()` was called. */
const UNREF = 1 << 5
/** The socket holds its share of the keep-alive. */
const HELD = 1 << 6
/** Events arriving now wait for the next turn of the event loop (see `#defer`). */
const DEFER = 1 << 7
/** The close code (16 bits from here). */
const CODE_SHIFT = 8
const BINARY_TYPES: readonly BinaryType[] = ['nodebuffer', 'arraybuffer', 'blob']
/** Sockets opened in the current batch, and their events since (socket, kind, payload). */
let deferred: WebSocket[] = []
let deferredEvents: unknown[] = []

/**
 * Keep-alive for all sockets at once: held while any open socket is ref'd (one HandleRef
 * per socket would cost an object per connection).
 */
const keepAlive = new HandleRef()
let held = 0

/**
 * The listener table for `EventEmitter#_events`. Node makes it `{ __proto__: null }`, a
 * dictionary-mode object (~180 bytes with two listeners); this one has no inherited keys
 * either but stays a fast-mode object (~40 bytes).
 */
const ListenerTable = function () {} as unknown as new () => object
ListenerTable.prototype = Object.create(null) as object

/** The URL of the last server-side socket: the sockets of one endpoint share the string. */
let lastUrl = ''

/** The `url` of a server-side socket. */
function serverUrl(req: UpgradeRequest): string {
  const proto = req.headers['x-forwarded-proto'] === 'https' || req.secure ? 'wss' : 'ws'
  const url = `${proto}://${req.headers.host ?? 'localhost'}${req.url}`
  if (url === lastUrl) return lastUrl
  // The template's result is a rope over slices of the whole request head; a property key
  // is a flat string of its own.
  lastUrl = Object.keys({ [url]: 0 })[0] ?? url
  return lastUrl
}

/**
 * A WebSocket connection: the client you construct with a URL, and the server side a
 * {@link WebSocketServer} hands to `'connection'`. The API is that of the `ws` package
 * (EventEmitter events `'open'`, `'message' (data, isBinary)`, `'close' (code, reason)`,
 * `'error'`, `'ping'`, `'pong'`, `'drain'`) and of the browser's `WebSocket`
 * (`onmessage`, `addEventListener`, `binaryType`, `readyState`, `bufferedAmount`), plus
 * async iteration over messages. Framing, masking, UTF-8 validation, compression and
 * ping/pong run in Rust.
 *
 * Differences from `ws`: a text message arrives as a string (ws gives a Buffer); the
 * `send()` callback fires once the message is queued in the native layer, not once it
 * is written; `'error'` is emitted only when something listens for it (a server does
 * not crash because a client misbehaved).
 */
export class WebSocket extends EventEmitter {
  /** The connection is being established. */
  static readonly CONNECTING = 0
  /** The connection is open. */
  static readonly OPEN = 1
  /** The close handshake is in progress. */
  static readonly CLOSING = 2
  /** The connection is closed. */
  static readonly CLOSED = 3
  // The instance constants live on the prototype (as in the WHATWG IDL and `ws`).
  /** {@link WebSocket.CONNECTING} */
  declare readonly CONNECTING: 0
  /** {@link WebSocket.OPEN} */
  declare readonly OPEN: 1
  /** {@link WebSocket.CLOSING} */
  declare readonly CLOSING: 2
  /** {@link WebSocket.CLOSED} */
  declare readonly CLOSED: 3

  // An idle server connection is many per process: its state is kept to four slots
  // (private methods are static so that instances carry no brand slot either).
  #handle: NativeWsConn | undefined
  /** readyState, binaryType, side, keep-alive and close code (see STATE …). */
  #bits = 1006 << CODE_SHIFT
  #url = ''
  /** The server's close hook, or the {@link Extra} state once something needs it. */
  #x: Extra | OnClosed | undefined

  /**
   * Connects to `url` (`ws:`, `wss:`, or `http:`/`https:` as in browsers).
   * `protocols` are the subprotocols to offer.
   */
  constructor(url: string | URL, protocols?: string | string[] | WebSocketOptions, options?: WebSocketOptions) {
    super()
    ;(this as unknown as { _events: object })._events = new ListenerTable()
    if (url === (kServerSide as unknown)) return
    if (protocols !== undefined && !Array.isArray(protocols) && typeof protocols === 'object') {
      options = protocols
      protocols = undefined
    }
    const opts = options ?? {}
    const u = new URL(String(url))
    if (u.protocol === 'http:') u.protocol = 'ws:'
    else if (u.protocol === 'https:') u.protocol = 'wss:'
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      throw new SyntaxError(`The URL's protocol must be one of "ws:", "wss:", "http:" or "https:", received "${u.protocol}"`)
    }
    if (u.hash !== '') throw new SyntaxError('The URL contains a fragment identifier')
    this.#url = u.href
    const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols
    const seen = new Set<string>()
    for (const p of list) {
      if (typeof p !== 'string' || !TOKEN.test(p) || seen.has(p)) {
        throw new SyntaxError(`An invalid or duplicated subprotocol was specified: ${String(p)}`)
      }
      seen.add(p)
    }
    const secure = u.protocol === 'wss:'
    const headers: string[] = []
    if (opts.origin !== undefined) headers.push('Origin', opts.origin)
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (!TOKEN.test(k) || /[\r\n\0]/.test(String(v))) throw new TypeError(`Invalid header: ${k}`)
      headers.push(k, String(v))
    }
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
    const raw: RawWsConnectOptions = {
      secure,
      host,
      port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
      target: (u.pathname || '/') + u.search,
      protocols: list,
      headers,
      settings: rawSettings(opts),
    }
    const deflate = rawDeflate(opts.perMessageDeflate, true)
    if (deflate) raw.deflate = deflate
    if (opts.handshakeTimeout !== undefined) raw.handshakeTimeoutMs = nonNegative('handshakeTimeout', opts.handshakeTimeout)
    if (opts.ca !== undefined) raw.ca = (Array.isArray(opts.ca) ? opts.ca : [opts.ca]).map(pem)
    if (opts.cert !== undefined) raw.cert = pem(opts.cert)
    if (opts.key !== undefined) raw.key = pem(opts.key)
    if (opts.servername !== undefined) raw.servername = opts.servername
    if (opts.dangerouslyDisableCertificateVerification === true) raw.dangerouslyDisableCertificateVerification = true
    if (opts.signal?.aborted) {
      // Still asynchronous, as a failed connection: 'error' then 'close'.
      WebSocket.#setState(this, WebSocket.CLOSING)
      process.nextTick(() => WebSocket.#fail(this, new WebSocketError(WebSocketErrorCodes.ABORTED, 'The operation was aborted')))
      return
    }
    const h = native.wsConnect(getBridge(), raw)
    if (isErrorInfo(h)) throw wsError(h)
    WebSocket.#attach(this, h)
    if (opts.signal) {
      const x = WebSocket.#extra(this)
      const onAbort = (): void => this.terminate()
      x.signal = opts.signal
      x.onAbort = onAbort
      opts.signal.addEventListener('abort', onAbort, { once: true })
    }
  }

  /**
   * Wraps a server-side connection (its subprotocol and extensions are read from `h`).
   * @internal
   */
  static _accepted(h: NativeWsConn, req: UpgradeRequest, onClosed?: (ws: WebSocket) => void): WebSocket {
    const ws = new WebSocket(kServerSide as unknown as string)
    ws.#bits |= SERVER | WebSocket.OPEN
    ws.#url = serverUrl(req)
    ws.#x = onClosed
    WebSocket.#attach(ws, h)
    WebSocket.#defer(ws)
    return ws
  }

  /** Response headers of the opening handshake (client side), lower-case names. */
  get upgradeHeaders(): Record<string, string> {
    return (WebSocket.#extra(this).upgradeHeaders ??= {})
  }

  static #attach(ws: WebSocket, h: NativeWsConn): void {
    ws.#handle = h
    register(native.wsConnId(h), ws)
    WebSocket.#syncRef(ws)
  }

  /** The {@link Extra} state, created on first use. */
  static #extra(ws: WebSocket): Extra {
    const x = ws.#x
    if (typeof x === 'object') return x
    return (ws.#x = new Extra(x))
  }

  static #setState(ws: WebSocket, state: number): void {
    ws.#bits = (ws.#bits & ~STATE) | state
  }

  /** Holds this socket's share of the keep-alive while it is attached, not closed and not unref'd. */
  static #syncRef(ws: WebSocket): void {
    const b = ws.#bits
    const want = ws.#handle !== undefined && (b & STATE) !== WebSocket.CLOSED && (b & UNREF) === 0
    if (want === ((b & HELD) !== 0)) return
    if (want) {
      ws.#bits = b | HELD
      if (held++ === 0) keepAlive.open()
    } else {
      ws.#bits = b & ~HELD
      if (--held === 0) keepAlive.close()
    }
  }

  /** The URL connected to. */
  get url(): string {
    return this.#url
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    return this.#bits & STATE
  }

  /** The subprotocol the server chose ('' if none). */
  get protocol(): string {
    if ((this.#bits & SERVER) !== 0) return (this.#handle && native.wsConnProtocol(this.#handle)) ?? ''
    const x = this.#x
    return typeof x === 'object' ? x.protocol : ''
  }

  /** The extensions in effect (`permessage-deflate; …` or ''). */
  get extensions(): string {
    if ((this.#bits & SERVER) !== 0) return (this.#handle && native.wsConnExtensions(this.#handle)) ?? ''
    const x = this.#x
    return typeof x === 'object' ? x.extensions : ''
  }

  /** Bytes queued by `send()` and not yet written to the socket. */
  get bufferedAmount(): number {
    return this.#handle === undefined ? 0 : native.wsConnBuffered(this.#handle)
  }

  /** How binary messages are delivered: 'nodebuffer' (default), 'arraybuffer' or 'blob'. */
  get binaryType(): BinaryType {
    return BINARY_TYPES[(this.#bits & BINARY) >> BINARY_SHIFT] as BinaryType
  }

  set binaryType(t: BinaryType) {
    const i = BINARY_TYPES.indexOf(t)
    if (i !== -1) this.#bits = (this.#bits & ~BINARY) | (i << BINARY_SHIFT)
  }

  /** Whether this is the server side of a connection. */
  get isServer(): boolean {
    return (this.#bits & SERVER) !== 0
  }

  /**
   * Sends a message: a string as a text frame, bytes as a binary frame (or as text with
   * `{ binary: false }`). Throws while CONNECTING, as browsers do. On a closing or closed
   * socket the message is dropped and `cb` (if any) gets an error.
   */
  send(data: WebSocketData, cb?: (err?: Error) => void): void
  send(data: WebSocketData, options: SendOptions, cb?: (err?: Error) => void): void
  send(data: WebSocketData, options?: SendOptions | ((err?: Error) => void), cb?: (err?: Error) => void): void {
    if (typeof options === 'function') {
      cb = options
      options = undefined
    }
    const state = this.#bits & STATE
    if (state === WebSocket.CONNECTING) {
      throw new DOMException('WebSocket is not open: readyState 0 (CONNECTING)', 'InvalidStateError')
    }
    const h = this.#handle
    if (state !== WebSocket.OPEN || h === undefined) {
      if (cb) {
        const e = new WebSocketError(WebSocketErrorCodes.CLOSED, `WebSocket is not open: readyState ${state}`)
        process.nextTick(cb, e)
      }
      return
    }
    const r = native.wsConnSend(h, toPayload(data), options?.binary)
    if ((this.#bits & SERVER) !== 0) scheduleFlush()
    if (typeof r !== 'number') {
      const e = wsError(r)
      if (cb) process.nextTick(cb, e)
      else if (r.code !== WebSocketErrorCodes.CLOSED) throw e
      return
    }
    if (cb) process.nextTick(cb)
  }

  /**
   * Starts the close handshake: queued messages go first, then a close frame with `code`
   * (1000, 1001-1003, 1007-1014 or 3000-4999) and `reason` (at most 123 UTF-8 bytes).
   * `'close'` fires once the peer answered and the connection is closed (or after the
   * close timeout). While CONNECTING, the attempt is abandoned.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (code !== undefined && !sendableCode(code)) {
      throw new DOMException(`The close code must be 1000 or in 3000-4999 (or a code RFC 6455 allows an endpoint to send), received ${code}`, 'InvalidAccessError')
    }
    const text = reason === undefined ? '' : String(reason)
    if (Buffer.byteLength(text) > 123) throw new DOMException('The close reason must not be longer than 123 bytes', 'SyntaxError')
    const state = this.#bits & STATE
    if (state === WebSocket.CLOSED || state === WebSocket.CLOSING) return
    WebSocket.#setState(this, WebSocket.CLOSING)
    if (state === WebSocket.CONNECTING) {
      if (this.#handle) native.wsConnTerminate(this.#handle)
      return
    }
    if (this.#handle) native.wsConnClose(this.#handle, code ?? (text === '' ? undefined : 1000), text)
  }

  /** Drops the connection at once, without a close handshake (`'close'` gets 1006). */
  terminate(): void {
    if ((this.#bits & STATE) === WebSocket.CLOSED) return
    WebSocket.#setState(this, WebSocket.CLOSING)
    if (this.#handle) native.wsConnTerminate(this.#handle)
  }

  /** Sends a ping (payload at most 125 bytes). `mask` is accepted for `ws` compatibility and ignored. */
  ping(data?: WebSocketData, mask?: boolean, cb?: (err?: Error) => void): void {
    WebSocket.#control(this, 'ping', data, cb)
    void mask
  }

  /** Sends an unsolicited pong (payload at most 125 bytes). */
  pong(data?: WebSocketData, mask?: boolean, cb?: (err?: Error) => void): void {
    WebSocket.#control(this, 'pong', data, cb)
    void mask
  }

  static #control(ws: WebSocket, kind: 'ping' | 'pong', data: WebSocketData | undefined, cb?: (err?: Error) => void): void {
    const state = ws.#bits & STATE
    if (state === WebSocket.CONNECTING) {
      throw new DOMException('WebSocket is not open: readyState 0 (CONNECTING)', 'InvalidStateError')
    }
    const h = ws.#handle
    const payload = data === undefined ? undefined : toBuffer(data)
    const err = h === undefined || state !== WebSocket.OPEN
      ? { code: WebSocketErrorCodes.CLOSED, message: `WebSocket is not open: readyState ${state}`, isErrorInfo: true }
      : kind === 'ping' ? native.wsConnPing(h, payload) : native.wsConnPong(h, payload)
    if (err) {
      const e = wsError(err)
      if (cb) process.nextTick(cb, e)
      else if (err.code !== WebSocketErrorCodes.CLOSED) throw e
      return
    }
    if (cb) process.nextTick(cb)
  }

  /** Stops reading from the peer (TCP backpressure) until {@link WebSocket.resume}. */
  pause(): void {
    if (this.#handle) native.wsConnPause(this.#handle)
  }

  /** Resumes reading after {@link WebSocket.pause}. */
  resume(): void {
    if (this.#handle) native.wsConnResume(this.#handle)
  }

  /** Subscribes this (server-side) socket to a topic of its server. False if it already was. */
  subscribe(topic: string): boolean {
    return this.#handle ? native.wsConnSubscribe(this.#handle, String(topic)) : false
  }

  /** Unsubscribes from a topic. False if it was not subscribed. */
  unsubscribe(topic: string): boolean {
    return this.#handle ? native.wsConnUnsubscribe(this.#handle, String(topic)) : false
  }

  /** Whether subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.#handle ? native.wsConnIsSubscribed(this.#handle, String(topic)) : false
  }

  /** The topics this socket is subscribed to. */
  get topics(): string[] {
    return this.#handle ? native.wsConnTopics(this.#handle) : []
  }

  /**
   * Sends a message to every subscriber of `topic` except this socket; the fan-out runs
   * in Rust. Returns the number of sockets it was queued for.
   */
  publish(topic: string, data: WebSocketData, options?: SendOptions): number {
    const n = this.#handle ? native.wsConnPublish(this.#handle, String(topic), toPayload(data), options?.binary) : 0
    scheduleFlush()
    return n
  }

  /** Keeps the process alive while open (the default). */
  ref(): this {
    this.#bits &= ~UNREF
    WebSocket.#syncRef(this)
    return this
  }

  /** Lets the process exit even though this socket is open. */
  unref(): this {
    this.#bits |= UNREF
    WebSocket.#syncRef(this)
    return this
  }

  /**
   * The addon delivers a connection's events in batches, so the messages a peer sends right
   * after the handshake can arrive in the same batch as the open (or accept). Delivering
   * them in the same turn would emit them before code awaiting `connect()` or
   * `once(wss, 'connection')` has resumed to listen. As a browser queues each message as its
   * own task, a socket's events after its open wait for the next turn of the event loop:
   * one `setImmediate` for all sockets opened in a batch.
   */
  static #defer(ws: WebSocket): void {
    ws.#bits |= DEFER
    if (deferred.length === 0) setImmediate(WebSocket.#flushDeferred)
    deferred.push(ws)
  }

  static #flushDeferred(this: void): void {
    const socks = deferred
    const events = deferredEvents
    deferred = []
    deferredEvents = []
    for (const ws of socks) ws.#bits &= ~DEFER
    for (let i = 0; i < events.length; i += 3) {
      try {
        ;(events[i] as WebSocket).onNativeEvent(events[i + 1] as number, events[i + 2])
      } catch (err) {
        // As the bridge does: a throwing listener becomes an uncaughtException, and the
        // other sockets' events are still delivered.
        process.nextTick(() => {
          throw err
        })
      }
    }
  }

  /** @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    if ((this.#bits & DEFER) !== 0) {
      deferredEvents.push(this, kind, payload)
      return
    }
    switch (kind) {
      case Kind.WS_TEXT:
        WebSocket.#message(this, payload as string, false)
        break
      case Kind.WS_BINARY:
        WebSocket.#message(this, payload as Buffer, true)
        break
      case Kind.WS_OPEN: {
        const [protocol, extensions, fields] = payload as [string | null, string | null, string]
        const x = WebSocket.#extra(this)
        x.protocol = protocol ?? ''
        x.extensions = extensions ?? ''
        const parts = fields.split('\0')
        const headers: Record<string, string> = {}
        for (let i = 1; i + 1 < parts.length; i += 2) headers[parts[i].toLowerCase()] = parts[i + 1]
        x.upgradeHeaders = headers
        if ((this.#bits & STATE) === WebSocket.CONNECTING) WebSocket.#setState(this, WebSocket.OPEN)
        WebSocket.#defer(this)
        this.emit('open', new Event('open'))
        break
      }
      case Kind.WS_PING:
        this.emit('ping', payload as Buffer)
        break
      case Kind.WS_PONG:
        this.emit('pong', payload as Buffer)
        break
      case Kind.DRAIN:
        this.emit('drain')
        break
      case Kind.ERROR:
        WebSocket.#error(this, wsError(payload as ErrorInfo))
        break
      case Kind.WS_CLOSE: {
        const [code, reason, clean] = payload as [number, string, boolean]
        WebSocket.#closed(this, code, reason, clean)
        break
      }
    }
  }

  static #message(ws: WebSocket, data: string | Buffer, binary: boolean): void {
    const x = ws.#x
    const r = typeof x === 'object' ? x.reader : undefined
    if (r !== undefined) {
      r.queue.push(data)
      r.bytes += data.length
      if (!r.paused && r.bytes > READER_HIGH_WATER) {
        r.paused = true
        if (ws.#handle) native.wsConnPause(ws.#handle)
      }
      const w = r.wake
      r.wake = undefined
      w?.()
    }
    if (ws.listenerCount('message') === 0) return
    let out: string | BinaryData = data
    if (binary) {
      const b = data as Buffer
      const type = BINARY_TYPES[(ws.#bits & BINARY) >> BINARY_SHIFT]
      if (type === 'arraybuffer') out = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
      else if (type === 'blob') out = new Blob([b])
    }
    ws.emit('message', out, binary)
  }

  static #error(ws: WebSocket, err: Error): void {
    if (ws.listenerCount('error') > 0) ws.emit('error', err)
  }

  static #fail(ws: WebSocket, err: Error): void {
    WebSocket.#error(ws, err)
    WebSocket.#closed(ws, 1006, '', false)
  }

  static #closed(ws: WebSocket, code: number, reason: string, clean: boolean): void {
    const b = ws.#bits
    if ((b & STATE) === WebSocket.CLOSED) return
    ws.#bits = (b & ((1 << CODE_SHIFT) - 1) & ~STATE) | WebSocket.CLOSED | ((code & 0xffff) << CODE_SHIFT)
    if (reason !== '') WebSocket.#extra(ws).closeReason = reason
    if (ws.#handle) unregister(native.wsConnId(ws.#handle))
    WebSocket.#syncRef(ws)
    const x = ws.#x
    if (typeof x === 'object') {
      x.onClosed?.(ws)
      if (x.signal && x.onAbort) x.signal.removeEventListener('abort', x.onAbort)
      const r = x.reader
      if (r) {
        const w = r.wake
        r.wake = undefined
        w?.()
      }
    } else {
      x?.(ws)
    }
    ws.emit('close', code, Buffer.from(reason), clean)
  }

  /**
   * Adds a WHATWG-style listener: `'message'` listeners get a `MessageEvent` (`data` is a
   * string for text, per `binaryType` for binary), `'close'` a {@link CloseEvent},
   * `'error'` an {@link ErrorEvent}, `'open'` an `Event`.
   */
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: WhatwgListener, options?: { once?: boolean }): void {
    if (typeof listener !== 'function' && (typeof listener !== 'object' || listener === null)) return
    for (const l of this.listeners(type) as (Listener & { [kWhatwg]?: WhatwgListener })[]) {
      if (l[kWhatwg] === listener) return
    }
    const call = (ev: Event): void => {
      if (typeof listener === 'function') listener.call(this, ev)
      else listener.handleEvent(ev)
    }
    let wrapped: Listener & { [kWhatwg]?: WhatwgListener }
    switch (type) {
      case 'message':
        wrapped = ((data: string | BinaryData, isBinary: boolean) => {
          void isBinary
          call(new MessageEvent('message', { data }))
        }) as Listener
        break
      case 'close':
        wrapped = ((code: number, reason: Buffer, clean: boolean) => {
          call(new CloseEvent('close', { code, reason: reason.toString(), wasClean: clean }))
        }) as Listener
        break
      case 'error':
        wrapped = ((error: Error) => call(new ErrorEvent('error', { error, message: error.message }))) as Listener
        break
      case 'open':
        wrapped = (() => call(new Event('open'))) as Listener
        break
      default:
        return
    }
    wrapped[kWhatwg] = listener
    if (options?.once) this.once(type, wrapped)
    else this.on(type, wrapped)
  }

  /** Removes a listener added with {@link WebSocket.addEventListener}. */
  removeEventListener(type: 'open' | 'message' | 'close' | 'error', listener: WhatwgListener): void {
    for (const l of this.listeners(type) as (Listener & { [kWhatwg]?: WhatwgListener })[]) {
      if (l[kWhatwg] === listener) {
        this.removeListener(type, l)
        return
      }
    }
  }

  static #handler(ws: WebSocket, type: 'open' | 'message' | 'close' | 'error'): WhatwgListener | null {
    for (const l of ws.listeners(type) as (Listener & { [kWhatwg]?: WhatwgListener; [kAttr]?: boolean })[]) {
      if (l[kAttr]) return l[kWhatwg] ?? null
    }
    return null
  }

  static #setHandler(ws: WebSocket, type: 'open' | 'message' | 'close' | 'error', fn: WhatwgListener | null): void {
    for (const l of ws.listeners(type) as (Listener & { [kAttr]?: boolean })[]) {
      if (l[kAttr]) ws.removeListener(type, l)
    }
    if (typeof fn !== 'function') return
    ws.addEventListener(type, fn)
    const ls = ws.listeners(type) as (Listener & { [kWhatwg]?: WhatwgListener; [kAttr]?: boolean })[]
    const added = ls[ls.length - 1]
    if (added) added[kAttr] = true
  }

  /** WHATWG `onopen`. */
  get onopen(): WhatwgListener | null {
    return WebSocket.#handler(this, 'open')
  }
  set onopen(fn: WhatwgListener | null) {
    WebSocket.#setHandler(this, 'open', fn)
  }
  /** WHATWG `onmessage`. */
  get onmessage(): WhatwgListener | null {
    return WebSocket.#handler(this, 'message')
  }
  set onmessage(fn: WhatwgListener | null) {
    WebSocket.#setHandler(this, 'message', fn)
  }
  /** WHATWG `onclose`. */
  get onclose(): WhatwgListener | null {
    return WebSocket.#handler(this, 'close')
  }
  set onclose(fn: WhatwgListener | null) {
    WebSocket.#setHandler(this, 'close', fn)
  }
  /** WHATWG `onerror`. */
  get onerror(): WhatwgListener | null {
    return WebSocket.#handler(this, 'error')
  }
  set onerror(fn: WhatwgListener | null) {
    WebSocket.#setHandler(this, 'error', fn)
  }

  /**
   * Iterates over incoming messages: strings for text, Buffers for binary. Messages are
   * buffered from the first call on (reading pauses beyond 1 MiB unread). The loop ends
   * when the socket closes cleanly (1000, 1001, 1005) and throws a
   * {@link WebSocketError} (`ERR_WEBSOCKET_CLOSED`, with `closeCode`) otherwise.
   * Breaking out of the loop closes the socket.
   */
  messages(): AsyncIterableIterator<string | Buffer> {
    const x = WebSocket.#extra(this)
    const r = (x.reader ??= { queue: [], bytes: 0, wake: undefined, paused: false })
    const next = async (): Promise<IteratorResult<string | Buffer>> => {
      for (;;) {
        const m = r.queue.shift()
        if (m !== undefined) {
          r.bytes -= m.length
          if (r.paused && r.bytes <= READER_HIGH_WATER / 2) {
            r.paused = false
            if (this.#handle) native.wsConnResume(this.#handle)
          }
          return { value: m, done: false }
        }
        const b = this.#bits
        if ((b & STATE) === WebSocket.CLOSED) {
          const code = b >>> CODE_SHIFT
          if (normalClose(code)) return { value: undefined, done: true }
          throw new WebSocketError(
            WebSocketErrorCodes.CLOSED,
            `WebSocket closed abnormally: ${code}${x.closeReason ? ` ${x.closeReason}` : ''}`,
            code,
          )
        }
        await new Promise<void>((resolve) => {
          r.wake = resolve
        })
      }
    }
    const it: AsyncIterableIterator<string | Buffer> = {
      next,
      return: async (): Promise<IteratorResult<string | Buffer>> => {
        if ((this.#bits & STATE) === WebSocket.OPEN) this.close(1000)
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]() {
        return it
      },
    }
    return it
  }

  /** `for await (const msg of ws)`: see {@link WebSocket.messages}. */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer> {
    return this.messages()
  }

  /** Closes (1000) and waits for `'close'` (`await using ws = …`). */
  async [Symbol.asyncDispose](): Promise<void> {
    const state = this.#bits & STATE
    if (state === WebSocket.CLOSED) return
    const closed = new Promise<void>((resolve) => this.once('close', () => resolve()))
    if (state === WebSocket.CONNECTING) this.terminate()
    else this.close(1000)
    await closed
  }
}

// The readyState constants live on the prototype, as in the WHATWG IDL (and `ws`): readable
// on every instance without costing each one four slots.
for (const [value, name] of (['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const).entries()) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true })
}

const kAttr = Symbol('attribute handler')
const kServerSide = Symbol('server side')

function toPayload(data: WebSocketData): string | Buffer {
  if (typeof data === 'string') return data
  return toBuffer(data)
}

function toBuffer(data: WebSocketData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (typeof data === 'string') return Buffer.from(data)
  if (data instanceof ArrayBuffer) return Buffer.from(data)
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (typeof data === 'number') return Buffer.from(String(data))
  throw new TypeError('The data must be a string, Buffer, ArrayBuffer or ArrayBufferView')
}

/** The upgrade request a server-side socket came from. */
export interface UpgradeRequest {
  /** `GET`. */
  method: string
  /** Path and query. */
  url: string
  /** Request headers, lower-case names (repeated ones joined with `, `). */
  headers: Record<string, string>
  /** Whether the connection is TLS. */
  secure: boolean
  /** The client's address. */
  socket: { remoteAddress: string; remotePort: number; encrypted: boolean }
}

/** Parses the addon's request head string. @internal */
export function parseHead(head: string, secure: boolean): UpgradeRequest {
  const p = head.split('\0')
  const headers: Record<string, string> = {}
  for (let i = 6; i + 1 < p.length; i += 2) {
    const k = p[i].toLowerCase()
    headers[k] = headers[k] === undefined ? p[i + 1] : `${headers[k]}, ${p[i + 1]}`
  }
  return {
    method: p[2],
    url: p[3],
    headers,
    secure,
    socket: { remoteAddress: p[4], remotePort: Number(p[5]), encrypted: secure },
  }
}

/**
 * Connects and resolves once the connection is open (rejects with the handshake error
 * otherwise).
 */
export function connect(url: string | URL, protocols?: string | string[] | WebSocketOptions, options?: WebSocketOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket
    try {
      ws = new WebSocket(url, protocols, options)
    } catch (e) {
      reject(e)
      return
    }
    let failure: Error | undefined
    const onError = (e: Error): void => {
      failure = e
    }
    ws.on('error', onError)
    ws.once('open', () => {
      ws.removeListener('error', onError)
      ws.removeListener('close', onClose)
      resolve(ws)
    })
    const onClose = (code: number): void => {
      ws.removeListener('error', onError)
      reject(failure ?? new WebSocketError(WebSocketErrorCodes.CLOSED, `WebSocket closed before it opened (${code})`, code))
    }
    ws.once('close', onClose)
  })
}
