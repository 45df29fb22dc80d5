import { Duplex } from 'node:stream'
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
import { NATIVE_HWM, type AddressInfo, type NativeStream } from './handle.js'

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Host name or IP address (default `localhost`). */
  host?: string
  /** Port to connect to. */
  port?: number
  /** Unix domain socket path (instead of host and port). */
  path?: string
  /** Local address to bind before connecting. */
  localAddress?: string
  /** Local port to bind before connecting. */
  localPort?: number
  /** Fail with `ETIMEDOUT` when not connected after this many ms. */
  connectTimeout?: number
  /** Idle timeout in ms: emits `'timeout'` (the socket is not closed). */
  timeout?: number
  /** Disable Nagle's algorithm (default `true`, as Node ≥ 20 does for `net.connect`). */
  noDelay?: boolean
  /** Enable TCP keep-alive. */
  keepAlive?: boolean
  /** Keep-alive initial delay in ms. */
  keepAliveInitialDelay?: number
  /** When the peer ends, keep our side writable (default `false`: end it too). */
  allowHalfOpen?: boolean
  /** Aborting destroys the socket with an `AbortError`. */
  signal?: AbortSignal
  /** Readable/writable high-water mark of the JS stream, in bytes. */
  highWaterMark?: number
}

/** Options of a {@link Socket} built directly. */
export interface SocketOptions {
  /** When the peer ends, keep our side writable. */
  allowHalfOpen?: boolean
  /** Stream high-water mark in bytes. */
  highWaterMark?: number
  /** Aborting destroys the socket. */
  signal?: AbortSignal
}

const kHandle = Symbol('handle')

/**
 * A TCP or Unix domain stream socket: a Node `Duplex` with `net.Socket`'s surface
 * (`'connect'`, `'data'`, `'end'`, `'drain'`, `'timeout'`, `'error'`, `'close'`). Writes go
 * straight to the kernel when its buffer has room; reading pauses natively when the
 * stream's buffer is full.
 */
export class Socket extends Duplex {
  /** True until `'connect'`. */
  connecting = false;
  [kHandle]: NativeStream | undefined
  #ref = new HandleRef()
  #pendingWrite: ((err?: Error | null) => void) | undefined
  /** `_final`'s callback, held until the native side has flushed and shut the write side. */
  #pendingFinal: ((err?: Error | null) => void) | undefined
  #nativePaused = false
  #nativeClosed = false
  #bytesRead = 0
  #bytesWritten = 0
  #timeoutMs = 0
  #remote: AddressInfo | undefined
  #local: AddressInfo | undefined
  /** The socket bytes are forwarded to natively (requested or active). */
  #forwardDest: Socket | undefined
  #forwardActive = false

  constructor(options: SocketOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      decodeStrings: true,
      emitClose: true,
      autoDestroy: true,
    })
    if (options.signal) {
      const signal = options.signal
      const onAbort = (): void => {
        this.destroy(new IocrateError('ABORT_ERR', 'The operation was aborted', { cause: signal.reason }))
      }
      if (signal.aborted) process.nextTick(onAbort)
      else {
        signal.addEventListener('abort', onAbort, { once: true })
        this.once('close', () => signal.removeEventListener('abort', onAbort))
      }
    }
    // Shared listener functions (not per-socket closures): idle sockets stay small.
    this.on('end', Socket.#onEndOrFinish)
    this.on('finish', Socket.#onEndOrFinish)
  }

  /** Attaches a native stream; events start flowing to this socket. @internal */
  _attach(handle: NativeStream, connected: boolean): void {
    this[kHandle] = handle
    this.connecting = !connected
    register(handle.id, this)
    this.#ref.open()
    if (this.#timeoutMs > 0) handle.setTimeout(this.#timeoutMs)
  }

  /** The native handle (for subclasses). @internal */
  protected get _handle(): NativeStream | undefined {
    return this[kHandle]
  }

  /** Handles one native event. @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.DATA: {
        const buf = payload as Buffer
        this.#bytesRead += buf.length
        if (!this.push(buf) && !this.#nativePaused) {
          this.#nativePaused = true
          this[kHandle]?.pause()
        }
        break
      }
      case Kind.DRAIN: {
        const cb = this.#pendingWrite
        this.#pendingWrite = undefined
        cb?.()
        break
      }
      case Kind.CONNECT:
        this._onConnect()
        break
      case Kind.END:
        this.push(null)
        break
      case Kind.TIMEOUT:
        this.emit('timeout')
        break
      case Kind.ERROR:
        this.#nativeClosed = true
        this.destroy(errorFromInfo(payload as ErrorInfo))
        break
      case Kind.CLOSE:
        this.#nativeClosed = true
        this.#release()
        this.#maybeFinish()
        break
      case Kind.FORWARD_READY:
        this.#startForwardWhenFlushed()
        break
      case Kind.SHUTDOWN: {
        const cb = this.#pendingFinal
        this.#pendingFinal = undefined
        cb?.()
        break
      }
      default:
        this._onOtherEvent(kind, payload)
    }
  }

  /**
   * Pipes to `destination` like `Readable.pipe`. When both ends are iocrate TCP sockets
   * and the pipe is this socket's only reader, the bytes are moved inside Rust (no
   * `'data'` events, no crossing into JS), with the destination's backpressure pausing
   * reads; `'end'` still propagates. Adding a `'data'` listener or `unpipe()` returns
   * to the JS path. Use it for proxies and echo servers.
   */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    const r = super.pipe(destination, options)
    if (destination instanceof Socket) this.#requestForward(destination)
    return r
  }

  override unpipe(destination?: NodeJS.WritableStream): this {
    if (this.#forwardDest && (destination === undefined || destination === this.#forwardDest)) this.#stopForward()
    return super.unpipe(destination)
  }

  #requestForward(dest: Socket): void {
    const h = this[kHandle]
    const dh = dest[kHandle]
    if (!h || !dh || this.#forwardDest || this.#nativeClosed) return
    if (typeof h.forwardTo !== 'function' || this.listenerCount('data') !== 1) return
    // TCP/Unix on both ends only: the addon says no (and does nothing) otherwise.
    if (!(h.forwardTo as (d: NativeStream) => boolean)(dh)) return
    this.#forwardDest = dest
    this.on('newListener', Socket.#onNewListener)
  }

  static #onNewListener(this: Socket, event: string | symbol): void {
    if (event === 'data' && this.#forwardDest) this.#stopForward()
  }

  static #onEndOrFinish(this: Socket): void {
    this.#maybeFinish()
  }

  // Every chunk read before the request has been pushed into this stream; once the pipe
  // has written them all to the destination, Rust takes over (order is kept).
  #startForwardWhenFlushed(): void {
    if (!this.#forwardDest || this.#forwardActive || this.#nativeClosed) return
    if (this.readableLength > 0 || !this.readableFlowing || this.#forwardDest.writableLength > 0) {
      setImmediate(() => this.#startForwardWhenFlushed())
      return
    }
    this.#forwardActive = true
    this[kHandle]?.startForward?.()
  }

  #stopForward(): void {
    this.#forwardDest = undefined
    this.#forwardActive = false
    this.removeListener('newListener', Socket.#onNewListener)
    if (!this.#nativeClosed) this[kHandle]?.stopForward?.()
  }

  /** Called when the connection is established (TLS: after the handshake). @internal */
  protected _onConnect(): void {
    this.connecting = false
    this.emit('connect')
    this.emit('ready')
  }

  /** Events a subclass understands. @internal */
  protected _onOtherEvent(_kind: number, _payload: unknown): void {}

  #maybeFinish(): void {
    if (!this.#nativeClosed || this.destroyed) return
    const readDone = this.readableEnded || this.readableLength === 0 && !this.readable
    const writeDone = this.writableFinished || !this.writable
    if (readDone && writeDone) this.destroy()
    else if (!this.readableEnded && this.readableLength === 0) {
      // The native side closed without EOF being seen (e.g. it closed after end): end the readable.
      this.push(null)
    }
  }

  #release(): void {
    const h = this[kHandle]
    if (h) unregister(h.id)
    this.#ref.close()
    const cb = this.#pendingWrite
    this.#pendingWrite = undefined
    cb?.(new IocrateError('ERR_SOCKET_CLOSED', 'The socket is closed'))
    // Closed before the shutdown was reported (the peer reset, or both sides ended at
    // once): the write side is done either way.
    const fin = this.#pendingFinal
    this.#pendingFinal = undefined
    if (fin && !this.destroyed) fin()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const h = this[kHandle]
    if (!h) return cb(new IocrateError('ERR_SOCKET_CLOSED', 'The socket is not connected'))
    const r = h.write(chunk)
    if (typeof r !== 'number') return this.#writeFailed(r, cb)
    this.#bytesWritten += chunk.length
    if (r >= NATIVE_HWM) this.#pendingWrite = cb
    else cb()
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    const h = this[kHandle]
    if (!h) return cb(new IocrateError('ERR_SOCKET_CLOSED', 'The socket is not connected'))
    const bufs = chunks.map((c) => c.chunk)
    const r = h.writev(bufs)
    if (typeof r !== 'number') return this.#writeFailed(r, cb)
    for (const b of bufs) this.#bytesWritten += b.length
    if (r >= NATIVE_HWM) this.#pendingWrite = cb
    else cb()
  }

  /**
   * A write the addon refused. When it refused because the connection has closed and the
   * events saying so (with the error that closed it, a TLS alert say) have not arrived
   * yet, the write waits for them: that error, not a generic ERR_SOCKET_CLOSED, is then
   * the one the socket reports.
   */
  #writeFailed(info: ErrorInfo, cb: (err?: Error | null) => void): void {
    if (info.code === 'ERR_SOCKET_CLOSED' && !this.#nativeClosed) {
      this.#pendingWrite = cb
      return
    }
    cb(errorFromInfo(info))
  }

  // As in node:net, 'finish' waits until the queued bytes are written and the FIN is
  // sent: finishing earlier would let autoDestroy (after 'end') drop what is still queued.
  override _final(cb: (err?: Error | null) => void): void {
    const h = this[kHandle]
    if (!h || this.#nativeClosed) return cb()
    this.#pendingFinal = cb
    h.end()
  }

  override _read(): void {
    if (this.#nativePaused) {
      this.#nativePaused = false
      this[kHandle]?.resume()
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const h = this[kHandle]
    if (h && !this.#nativeClosed) h.destroy()
    this.#nativeClosed = true
    this.#release()
    cb(err)
  }

  /** Disables (or enables) Nagle's algorithm. */
  setNoDelay(noDelay = true): this {
    const e = this[kHandle]?.setNoDelay(noDelay)
    if (isErrorInfo(e)) this.destroy(errorFromInfo(e))
    return this
  }

  /** Enables or disables TCP keep-alive, with an initial delay in ms. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const e = this[kHandle]?.setKeepAlive(enable, initialDelay)
    if (isErrorInfo(e)) this.destroy(errorFromInfo(e))
    return this
  }

  /** Emits `'timeout'` after `ms` of inactivity (0 disables). The socket stays open. */
  setTimeout(ms: number, callback?: () => void): this {
    if (!Number.isFinite(ms) || ms < 0) throw invalidArg('msecs', ms, 'must be a non-negative number')
    this.#timeoutMs = Math.floor(ms)
    this[kHandle]?.setTimeout(this.#timeoutMs)
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback)
      else this.once('timeout', callback)
    }
    return this
  }

  /** Keeps the process alive while this socket is open (the default). */
  ref(): this {
    this.#ref.ref()
    return this
  }

  /** Lets the process exit even though this socket is open. */
  unref(): this {
    this.#ref.unref()
    return this
  }

  /** The local address (`{ address, family, port }`). */
  address(): AddressInfo | Record<string, never> {
    this.#local ??= this[kHandle]?.localAddress() ?? undefined
    return this.#local ?? {}
  }

  #remoteInfo(): AddressInfo | undefined {
    this.#remote ??= this[kHandle]?.remoteAddress() ?? undefined
    return this.#remote
  }

  /** The remote IP address. */
  get remoteAddress(): string | undefined {
    return this.#remoteInfo()?.address
  }
  /** The remote port. */
  get remotePort(): number | undefined {
    const r = this.#remoteInfo()
    return r && r.family !== 'unix' ? r.port : undefined
  }
  /** `IPv4`, `IPv6` or `unix`. */
  get remoteFamily(): string | undefined {
    return this.#remoteInfo()?.family
  }
  /** The local IP address. */
  get localAddress(): string | undefined {
    return (this.address() as Partial<AddressInfo>).address
  }
  /** The local port. */
  get localPort(): number | undefined {
    return (this.address() as Partial<AddressInfo>).port
  }
  /** Bytes received. */
  get bytesRead(): number {
    // Counted natively: bytes forwarded inside Rust never pass through JS.
    const s = this[kHandle]?.stats()
    return s ? Math.max(s[0] as number, this.#bytesRead) : this.#bytesRead
  }
  /** Bytes written (accepted for sending). */
  get bytesWritten(): number {
    return this.#bytesWritten
  }
  /** `'opening'`, `'open'`, `'readOnly'`, `'writeOnly'` or `'closed'`, as Node. */
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening'
    if (this.readable && this.writable) return 'open'
    if (this.readable) return 'readOnly'
    if (this.writable) return 'writeOnly'
    return 'closed'
  }
  /** Whether the connection has not been made yet. */
  get pending(): boolean {
    return !this[kHandle] || this.connecting
  }
}

/** Converts JS connect options for the addon. @internal */
export function rawConnectOptions(o: ConnectOptions): Parameters<typeof native.tcpConnect>[1] {
  if (o.path === undefined) {
    if (o.port === undefined || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      throw invalidArg('options.port', o.port, 'must be an integer from 0 to 65535')
    }
  }
  const stream: NonNullable<Parameters<typeof native.tcpConnect>[1]['stream']> = {
    noDelay: o.noDelay ?? true,
  }
  if (o.keepAlive) stream.keepAliveMs = Math.max(1000, o.keepAliveInitialDelay ?? 1000)
  if (o.timeout) stream.timeoutMs = o.timeout
  const raw: Parameters<typeof native.tcpConnect>[1] = { stream }
  if (o.host !== undefined) raw.host = o.host
  if (o.port !== undefined) raw.port = o.port
  if (o.path !== undefined) raw.path = o.path
  if (o.localAddress !== undefined) raw.localAddress = o.localAddress
  if (o.localPort !== undefined) raw.localPort = o.localPort
  if (o.connectTimeout !== undefined) raw.connectTimeoutMs = o.connectTimeout
  return raw
}

/**
 * Opens a TCP or Unix connection. The socket is returned at once; `'connect'` follows, or
 * `'error'` (`ECONNREFUSED`, `ETIMEDOUT`, `ENOTFOUND`, …).
 */
export function connect(options: ConnectOptions, connectListener?: () => void): Socket
export function connect(port: number, host?: string, connectListener?: () => void): Socket
export function connect(path: string, connectListener?: () => void): Socket
export function connect(
  a: ConnectOptions | number | string,
  b?: string | (() => void),
  c?: () => void,
): Socket {
  let opts: ConnectOptions
  let cb: (() => void) | undefined
  if (typeof a === 'number') {
    opts = { port: a }
    if (typeof b === 'string') opts.host = b
    cb = typeof b === 'function' ? b : c
  } else if (typeof a === 'string') {
    opts = { path: a }
    cb = typeof b === 'function' ? b : undefined
  } else {
    opts = a
    cb = typeof b === 'function' ? b : undefined
  }
  const raw = rawConnectOptions(opts)
  const sockOpts: SocketOptions = {}
  if (opts.allowHalfOpen !== undefined) sockOpts.allowHalfOpen = opts.allowHalfOpen
  if (opts.highWaterMark !== undefined) sockOpts.highWaterMark = opts.highWaterMark
  if (opts.signal !== undefined) sockOpts.signal = opts.signal
  const socket = new Socket(sockOpts)
  if (opts.timeout) socket.setTimeout(opts.timeout)
  const handle = native.tcpConnect(getBridge(), raw)
  socket._attach(handle, false)
  if (cb) socket.once('connect', cb)
  return socket
}

/** Alias of {@link connect}, as in `node:net`. */
export const createConnection = connect

/** @internal */
export { kHandle }
