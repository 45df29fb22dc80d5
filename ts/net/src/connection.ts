import {
  HandleRef,
  IocrateError,
  Kind,
  errorFromInfo,
  getBridge,
  isErrorInfo,
  native,
  register,
  unregister,
  type ErrorInfo,
} from '@iocrate/core'
import { NATIVE_HWM, type AddressInfo, type NativeServer, type NativeStream } from './handle.js'
import { rawConnectOptions, type ConnectOptions } from './socket.js'
import { rawListenOptions, type ListenOptions, type ServerOptions } from './server.js'

/** Chunks buffered in a {@link Connection} before native reading pauses. */
const READ_QUEUE_CHUNKS = 16

/**
 * The lower-level fast API: a connection without Node stream machinery. `write()`
 * returns `false` once the native queue is at its high-water mark (then
 * `await drained()`); reading is `for await (const chunk of conn)`, with native reading
 * paused while the consumer is behind.
 */
export class Connection implements AsyncIterable<Buffer>, AsyncDisposable {
  readonly #h: NativeStream
  readonly #ref = new HandleRef()
  #chunks: Buffer[] = []
  #ended = false
  #error: Error | undefined
  #closed = false
  #paused = false
  #readWaiter: (() => void) | undefined
  #drainWaiters: Array<(err?: Error) => void> = []
  #needDrain = false
  // Created on first use: most connections never ask (an idle one then costs less).
  #closedPromise: Promise<void> | undefined
  #resolveClosed: (() => void) | undefined
  #connectWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined

  /** @internal */
  constructor(handle: NativeStream) {
    this.#h = handle
    register(handle.id, this)
    this.#ref.open()
  }

  /** @internal */
  _waitConnect(): Promise<void> {
    return new Promise((resolve, reject) => (this.#connectWaiter = { resolve, reject }))
  }

  /** @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.DATA:
        this.#chunks.push(payload as Buffer)
        if (this.#chunks.length >= READ_QUEUE_CHUNKS && !this.#paused) {
          this.#paused = true
          this.#h.pause()
        }
        this.#wakeReader()
        break
      case Kind.DRAIN:
        this.#needDrain = false
        for (const w of this.#drainWaiters.splice(0)) w()
        break
      case Kind.CONNECT:
        this.#connectWaiter?.resolve()
        this.#connectWaiter = undefined
        break
      case Kind.END:
        this.#ended = true
        this.#wakeReader()
        break
      case Kind.ERROR: {
        const err = errorFromInfo(payload as ErrorInfo)
        this.#error = err
        this.#connectWaiter?.reject(err)
        this.#connectWaiter = undefined
        break
      }
      case Kind.CLOSE:
        this.#onClosed()
        break
    }
  }

  #onClosed(): void {
    if (this.#closed) return
    this.#closed = true
    this.#ended = true
    unregister(this.#h.id)
    this.#ref.close()
    const err = this.#error ?? new IocrateError('ERR_SOCKET_CLOSED', 'The connection closed')
    this.#connectWaiter?.reject(err)
    this.#connectWaiter = undefined
    for (const w of this.#drainWaiters.splice(0)) w(err)
    this.#wakeReader()
    this.#resolveClosed?.()
  }

  #wakeReader(): void {
    const w = this.#readWaiter
    this.#readWaiter = undefined
    w?.()
  }

  /**
   * Writes bytes (directly to the kernel when it has room). Returns `false` when the
   * native queue reached its high-water mark: wait for {@link Connection.drained} before
   * writing much more. Throws `ERR_SOCKET_CLOSED` / `ERR_STREAM_WRITE_AFTER_END`.
   */
  write(data: Buffer | Uint8Array | string): boolean {
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    const r = this.#h.write(buf)
    if (typeof r !== 'number') throw errorFromInfo(r)
    if (r >= NATIVE_HWM) {
      this.#needDrain = true
      return false
    }
    return true
  }

  /** Resolves once the native queue has drained below its high-water mark. */
  drained(): Promise<void> {
    if (!this.#needDrain) return Promise.resolve()
    if (this.#closed) return Promise.reject(this.#error ?? new IocrateError('ERR_SOCKET_CLOSED', 'The connection closed'))
    return new Promise((resolve, reject) => this.#drainWaiters.push((e) => (e ? reject(e) : resolve())))
  }

  /** Bytes queued natively, not yet taken by the kernel. */
  get bufferedAmount(): number {
    return this.#closed ? 0 : this.#h.buffered()
  }

  /** Ends our side after flushing (half-close); reading goes on until the peer ends. */
  end(): void {
    if (!this.#closed) this.#h.end()
  }

  /** Closes at once, dropping queued bytes. */
  close(): void {
    if (!this.#closed) this.#h.destroy()
  }

  /** Resolves when the connection is closed. */
  get closed(): Promise<void> {
    if (this.#closedPromise === undefined) {
      this.#closedPromise = this.#closed ? Promise.resolve() : new Promise((r) => (this.#resolveClosed = r))
    }
    return this.#closedPromise
  }

  /** The local address. */
  get localAddress(): AddressInfo | undefined {
    return this.#h.localAddress() ?? undefined
  }

  /** The remote address. */
  get remoteAddress(): AddressInfo | undefined {
    return this.#h.remoteAddress() ?? undefined
  }

  /** Disables (or enables) Nagle's algorithm. */
  setNoDelay(on = true): void {
    const e = this.#h.setNoDelay(on)
    if (isErrorInfo(e)) throw errorFromInfo(e)
  }

  /** Keeps the process alive while open (the default). */
  ref(): void {
    this.#ref.ref()
  }

  /** Lets the process exit even though this connection is open. */
  unref(): void {
    this.#ref.unref()
  }

  /**
   * Received chunks until the peer ends; throws the connection's error, if any. Leaving
   * the loop early does not close the connection.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    // A hand-written iterator rather than an async generator: a chunk that is already
    // queued costs one resolved promise, not a trip through the generator machinery.
    const next = (): Promise<IteratorResult<Buffer, undefined>> => {
      const c = this.#chunks.shift()
      if (c !== undefined) {
        if (this.#paused && this.#chunks.length < READ_QUEUE_CHUNKS / 2) {
          this.#paused = false
          if (!this.#closed) this.#h.resume()
        }
        return Promise.resolve({ value: c, done: false })
      }
      if (this.#error) return Promise.reject(this.#error)
      if (this.#ended) return Promise.resolve({ value: undefined, done: true })
      return new Promise((resolve, reject) => {
        this.#readWaiter = () => next().then(resolve, reject)
      })
    }
    const it: AsyncIterableIterator<Buffer> = {
      next,
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => it,
    }
    return it
  }

  /** Closes the connection and waits until it is closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
    await this.closed
  }
}

/** Options of {@link dial}. */
export type DialOptions = Omit<ConnectOptions, 'allowHalfOpen' | 'highWaterMark' | 'timeout'>

/** Connects and resolves with a {@link Connection} once connected. */
export async function dial(options: DialOptions): Promise<Connection> {
  const handle = native.tcpConnect(getBridge(), rawConnectOptions(options))
  const conn = new Connection(handle)
  const wait = conn._waitConnect()
  const signal = options.signal
  if (!signal) {
    await wait
    return conn
  }
  // The connect may complete before the abort is seen natively: reject on abort itself.
  let onAbort!: () => void
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      conn.close()
      reject(new IocrateError('ABORT_ERR', 'The operation was aborted', { cause: signal.reason }))
    }
  })
  if (signal.aborted) onAbort()
  else {
    signal.addEventListener('abort', onAbort, { once: true })
    void conn.closed.then(() => signal.removeEventListener('abort', onAbort))
  }
  await Promise.race([wait, aborted])
  return conn
}

/**
 * A listening socket whose accepted connections are {@link Connection}s, consumed with
 * `for await (const conn of listener)`.
 */
export class Listener implements AsyncIterable<Connection>, AsyncDisposable {
  readonly #h: NativeServer
  readonly #ref = new HandleRef()
  #queue: Connection[] = []
  #waiter: (() => void) | undefined
  #closing = false
  #closed = false
  #error: Error | undefined
  #closedPromise: Promise<void>
  #resolveClosed!: () => void

  /** @internal */
  constructor(h: NativeServer) {
    this.#h = h
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r))
    register(h.id, this)
    this.#ref.open()
    h.start()
  }

  /** @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.CONNECTION:
        this.#queue.push(new Connection(payload as NativeStream))
        break
      case Kind.ERROR:
        this.#error = errorFromInfo(payload as ErrorInfo)
        break
      case Kind.SERVER_CLOSE:
        this.#closed = true
        unregister(this.#h.id)
        this.#ref.close()
        this.#resolveClosed()
        break
      default:
        return
    }
    const w = this.#waiter
    this.#waiter = undefined
    w?.()
  }

  /** The bound address. */
  address(): AddressInfo {
    return this.#h.address()
  }

  /** Open connections. */
  get connections(): number {
    return this.#h.connections()
  }

  /** Stops accepting; {@link Listener.closed} resolves once every connection has closed. */
  close(): void {
    if (this.#closing) return
    this.#closing = true
    this.#h.close()
    // Accepted but never handed out: nobody else can close these, and `closed` waits for them.
    for (const c of this.#queue.splice(0)) c.close()
    const w = this.#waiter
    this.#waiter = undefined
    w?.()
  }

  /** Resolves when the listener and all its connections are closed. */
  get closed(): Promise<void> {
    return this.#closedPromise
  }

  /** Keeps the process alive while listening (the default). */
  ref(): void {
    this.#ref.ref()
  }

  /** Lets the process exit even though listening. */
  unref(): void {
    this.#ref.unref()
  }

  /** Accepted connections until `close()`. */
  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    for (;;) {
      const c = this.#queue.shift()
      if (c) {
        yield c
        continue
      }
      if (this.#error) throw this.#error
      if (this.#closing || this.#closed) return
      await new Promise<void>((r) => (this.#waiter = r))
    }
  }

  /** Closes and waits for every connection to close. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
    await this.#closedPromise
  }
}

/** Binds and listens; resolves with a {@link Listener}. Rejects with `EADDRINUSE` etc. */
export async function listen(options: ListenOptions & ServerOptions & { maxConnections?: number } = {}): Promise<Listener> {
  const r = native.tcpListen(getBridge(), rawListenOptions(options, options, options.maxConnections))
  if (isErrorInfo(r)) throw errorFromInfo(r)
  return new Listener(r)
}
