import { EventEmitter } from 'node:events'
import { lookup } from 'node:dns'
import { isIP } from 'node:net'
import {
  ErrorCodes,
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
import { DatagramIterator } from './iterator.js'
import type { AddressInfo, BindOptions, Datagram, MessageInput, RemoteInfo, SendCallback, SocketOptions, SocketType } from './types.js'

type UdpHandle = InstanceType<typeof native.UdpHandle>
type State = 'unbound' | 'binding' | 'bound' | 'closing' | 'closed'

const NOT_RUNNING = 'ERR_SOCKET_DGRAM_NOT_RUNNING'

function fail(code: string, message: string): IocrateError {
  return new IocrateError(code, message)
}

function check(err: ErrorInfo | null): void {
  if (err) throw errorFromInfo(err)
}

function toBuffer(part: Buffer | Uint8Array | string): Buffer {
  if (typeof part === 'string') return Buffer.from(part)
  if (Buffer.isBuffer(part)) return part
  if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength)
  throw invalidArg('msg', part, 'must be a string, Buffer, Uint8Array or an array of them')
}

function toMessage(msg: MessageInput): Buffer {
  if (Array.isArray(msg)) {
    const parts = (msg as ReadonlyArray<Buffer | Uint8Array | string>).map(toBuffer)
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }
  return toBuffer(msg as Buffer | Uint8Array | string)
}

function validPort(port: unknown, allowZero: boolean): number {
  const p = typeof port === 'string' && port.trim() !== '' ? Number(port) : port
  if (typeof p !== 'number' || !Number.isInteger(p) || p < (allowZero ? 0 : 1) || p > 65535) {
    throw new IocrateError('ERR_SOCKET_BAD_PORT', `Port should be ${allowZero ? '>= 0' : '> 0'} and < 65536. Received ${String(port)}.`)
  }
  return p
}

/**
 * A UDP socket with Node's `dgram.Socket` surface.
 *
 * Events: `'message'` `(msg: Buffer, rinfo: RemoteInfo)`, `'listening'`, `'connect'`,
 * `'error'` `(err: IocrateError)`, `'warning'` `(err: IocrateError)` (for example a
 * truncated datagram, code `ERR_IOCRATE_DGRAM_TRUNCATED`; emitted through
 * `process.emitWarning` when nobody listens), `'close'`.
 *
 * It is also an async iterable of {@link Datagram}s with bounded buffering, and
 * `await using` closes it.
 */
export class Socket extends EventEmitter {
  readonly #type: SocketType
  readonly #opts: SocketOptions
  readonly #ref = new HandleRef()
  #h: UdpHandle | undefined
  #state: State = 'unbound'
  #connected: AddressInfo | undefined
  #connecting = false
  #pendingBind: Array<() => void> = []
  readonly #sendCbs = new Map<number, SendCallback | undefined>()
  readonly #iterators = new Set<DatagramIterator>()
  #pausedBy = 0

  /** Use {@link createSocket}. */
  constructor(options: SocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super()
    if (options.type !== 'udp4' && options.type !== 'udp6') {
      throw new IocrateError('ERR_SOCKET_BAD_TYPE', "Bad socket type specified. Valid types are: udp4, udp6")
    }
    const mms = options.maxMessageSize
    if (mms !== undefined && (!Number.isInteger(mms) || mms < 1 || mms > 65535)) {
      throw invalidArg('options.maxMessageSize', mms, 'must be an integer from 1 to 65535')
    }
    for (const k of ['recvBufferSize', 'sendBufferSize'] as const) {
      const v = options[k]
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 0x7fffffff)) throw invalidArg(`options.${k}`, v, 'must be a positive integer')
    }
    this.#type = options.type
    this.#opts = { ...options }
    if (listener !== undefined) this.on('message', listener)
    const signal = options.signal
    if (signal !== undefined) {
      if (signal.aborted) process.nextTick(() => this.#abort())
      else signal.addEventListener('abort', () => this.#abort(), { once: true })
    }
  }

  #abort(): void {
    if (this.#state !== 'closing' && this.#state !== 'closed') this.close()
  }

  /** `udp4` or `udp6`. */
  get type(): SocketType {
    return this.#type
  }

  /**
   * Binds to `port` (0 or absent: any) and `address` (absent: all interfaces). Emits
   * `'listening'` (and calls `callback`) once bound; failures are emitted as `'error'`.
   */
  bind(port?: number, address?: string, callback?: () => void): this
  bind(port?: number, callback?: () => void): this
  bind(callback?: () => void): this
  bind(options: BindOptions, callback?: () => void): this
  bind(...args: unknown[]): this {
    let port: unknown = 0
    let address: string | undefined
    let cb: (() => void) | undefined
    const last = args[args.length - 1]
    if (typeof last === 'function') {
      cb = last as () => void
      args = args.slice(0, -1)
    }
    const first = args[0]
    if (first !== null && typeof first === 'object') {
      const o = first as BindOptions
      port = o.port ?? 0
      address = o.address
    } else {
      port = first ?? 0
      if (typeof args[1] === 'string') address = args[1]
    }
    if (this.#state !== 'unbound') throw fail('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound')
    const p = validPort(port, true)
    if (cb !== undefined) this.once('listening', cb)
    this.#state = 'binding'
    this.#resolve(address ?? '', (err, ip) => {
      if (this.#state !== 'binding') return
      if (err) {
        this.#state = 'unbound'
        this.#failPending()
        this.emit('error', err)
        return
      }
      this.#bindNow(ip, p, true)
    })
    return this
  }

  /** Binds synchronously to an IP (or all interfaces); returns the error, if any. */
  #bindNow(ip: string, port: number, announce: boolean): IocrateError | undefined {
    const o = this.#opts
    const r = native.udpBind(getBridge(), {
      ipv6: this.#type === 'udp6',
      address: ip,
      port,
      reuseAddr: o.reuseAddr ?? false,
      reusePort: o.reusePort ?? false,
      ipv6Only: o.ipv6Only ?? false,
      recvBufferSize: o.recvBufferSize,
      sendBufferSize: o.sendBufferSize,
      maxMessageSize: o.maxMessageSize,
    })
    if (isErrorInfo(r)) {
      const err = errorFromInfo(r)
      this.#state = 'unbound'
      this.#failPending()
      if (announce) process.nextTick(() => this.emit('error', err))
      return err
    }
    const h = r as UdpHandle
    this.#h = h
    this.#state = 'bound'
    register(h.id, { onNativeEvent: (kind, payload) => this.#onEvent(kind, payload) })
    this.#ref.open()
    if (this.#pausedBy > 0) h.pause()
    const pending = this.#pendingBind
    this.#pendingBind = []
    for (const f of pending) f()
    process.nextTick(() => this.emit('listening'))
    return undefined
  }

  /** Drops sends waiting for a bind that failed; the bind error is emitted once. */
  #failPending(): void {
    this.#pendingBind = []
  }

  /** Resolves a host name to an IP of this socket's family (IPs pass through). */
  #resolve(host: string, cb: (err: IocrateError | null, ip: string) => void): void {
    const bare = host.split('%')[0] ?? host
    if (host === '' || isIP(bare) !== 0) {
      cb(null, host)
      return
    }
    lookup(host, { family: this.#type === 'udp6' ? 6 : 4 }, (err, ip) => {
      if (err) {
        const e = err as NodeJS.ErrnoException
        cb(new IocrateError(e.code ?? 'ENOTFOUND', e.message, { syscall: 'getaddrinfo', cause: err }), '')
      } else cb(null, ip)
    })
  }

  /** Binds to any port on all interfaces if not bound yet (as Node does before sending). */
  #ensureBound(): void {
    if (this.#state === 'unbound') this.#bindNow('', 0, true)
  }

  #live(): UdpHandle {
    if (this.#state === 'closing' || this.#state === 'closed') throw fail(ErrorCodes.SOCKET_CLOSED, 'The socket is closed')
    if (this.#h === undefined) throw fail(NOT_RUNNING, 'Not running')
    return this.#h
  }

  /**
   * Sends a datagram, with Node's overloads: `send(msg, [offset, length], port, [address],
   * [callback])`, or on a connected socket `send(msg, [offset, length], [callback])`.
   * `msg` may be an array of parts sent as one datagram. The callback gets the error
   * (for example `EMSGSIZE`) or the bytes sent; without a callback errors are emitted.
   * @throws IocrateError `ERR_SOCKET_CLOSED` after `close()`; `ERR_SOCKET_BAD_PORT`;
   * `ERR_SOCKET_DGRAM_IS_CONNECTED` when an address is given to a connected socket.
   */
  send(msg: MessageInput, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void
  send(msg: MessageInput, offset: number, length: number, callback?: SendCallback): void
  send(msg: MessageInput, port?: number, address?: string, callback?: SendCallback): void
  send(msg: MessageInput, port?: number, callback?: SendCallback): void
  send(msg: MessageInput, callback?: SendCallback): void
  send(msg: MessageInput, ...rest: unknown[]): void {
    let [a, b, c, d, e] = rest
    let cb: SendCallback | undefined
    let buf = toMessage(msg)
    const connected = this.#connected !== undefined || this.#connecting
    const slice = (off: unknown, len: unknown): void => {
      if (typeof off === 'number' && typeof len === 'number') {
        if (off < 0 || len < 0 || off + len > buf.length) throw new IocrateError('ERR_OUT_OF_RANGE', 'offset and length are out of range')
        buf = buf.subarray(off, off + len)
      }
    }
    let port: unknown
    let address: unknown
    if (!connected) {
      if (typeof b === 'number') {
        slice(a, b)
        port = c
        address = d
        cb = e as SendCallback | undefined
      } else {
        port = a
        address = b
        cb = c as SendCallback | undefined
      }
      if (typeof address === 'function') {
        cb = address as SendCallback
        address = undefined
      }
      if (typeof port === 'function') throw new IocrateError('ERR_SOCKET_BAD_PORT', 'Port should be > 0 and < 65536. Received a function.')
    } else {
      if (typeof a === 'number' && typeof b === 'number') {
        slice(a, b)
        ;[a, b] = [c, d]
      }
      if (typeof a === 'function') cb = a as SendCallback
      else if (a !== undefined && a !== null) throw fail('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected')
      else if (typeof b === 'function') cb = b as SendCallback
    }
    if (address !== undefined && address !== null && typeof address !== 'string') throw invalidArg('address', address, 'must be a string')
    if (this.#state === 'closing' || this.#state === 'closed') throw fail(ErrorCodes.SOCKET_CLOSED, 'The socket is closed')
    const p = connected ? 0 : validPort(port, false)
    const dest = connected ? undefined : (address as string | undefined) || (this.#type === 'udp6' ? '::1' : '127.0.0.1')
    this.#ensureBound()
    const go = (ip: string | undefined): void => {
      if (this.#state === 'closing' || this.#state === 'closed' || this.#h === undefined) {
        return this.#complete(cb, fail(ErrorCodes.SOCKET_CLOSED, 'The socket is closed'), 0)
      }
      const r = ip === undefined ? this.#h.send(buf) : this.#h.send(buf, ip, p)
      if (isErrorInfo(r)) return this.#complete(cb, errorFromInfo(r), 0)
      const n = r as number
      if (n >= 0) return this.#complete(cb, null, n)
      this.#sendCbs.set(-n - 1, cb)
    }
    const whenReady = (f: () => void): void => {
      if (this.#state === 'binding' || this.#connecting) this.#pendingBind.push(f)
      else f()
    }
    if (dest === undefined) return whenReady(() => go(undefined))
    this.#resolve(dest, (err, ip) => {
      if (err) return this.#complete(cb, err, 0)
      whenReady(() => go(ip))
    })
  }

  #complete(cb: SendCallback | undefined, err: IocrateError | null, n: number): void {
    if (cb !== undefined) process.nextTick(cb, err, n)
    else if (err) process.nextTick(() => this.emit('error', err))
  }

  /**
   * Sends a datagram and resolves with the bytes sent (promise API). On a connected
   * socket, omit `port` and `address`.
   * @throws IocrateError (rejects) `EMSGSIZE`, `ERR_SOCKET_CLOSED`, …
   */
  sendTo(msg: MessageInput, port?: number, address?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const cb: SendCallback = (err, n) => (err ? reject(err) : resolve(n))
      try {
        if (port === undefined) this.send(msg, cb)
        else this.send(msg, port, address, cb)
      } catch (err) {
        reject(err)
      }
    })
  }

  /**
   * Associates the socket with `address:port` (default address: loopback). Emits
   * `'connect'` (and calls `callback`); failures go to `callback` or `'error'`.
   * @throws IocrateError `ERR_SOCKET_DGRAM_IS_CONNECTED` when already connected.
   */
  connect(port: number, address?: string, callback?: (err?: Error) => void): void
  connect(port: number, callback?: (err?: Error) => void): void
  connect(port: number, address?: unknown, callback?: unknown): void {
    if (typeof address === 'function') {
      callback = address
      address = undefined
    }
    const cb = callback as ((err?: Error) => void) | undefined
    const p = validPort(port, false)
    if (this.#connected !== undefined || this.#connecting) throw fail('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected')
    if (this.#state === 'closing' || this.#state === 'closed') throw fail(ErrorCodes.SOCKET_CLOSED, 'The socket is closed')
    this.#ensureBound()
    this.#connecting = true
    const host = typeof address === 'string' && address !== '' ? address : this.#type === 'udp6' ? '::1' : '127.0.0.1'
    const done = (err: IocrateError | undefined): void => {
      this.#connecting = false
      const pending = this.#pendingBind
      this.#pendingBind = []
      process.nextTick(() => {
        if (err) {
          if (cb) cb(err)
          else this.emit('error', err)
        } else {
          if (cb) this.once('connect', cb)
          this.emit('connect')
        }
        for (const f of pending) f()
      })
    }
    this.#resolve(host, (err, ip) => {
      if (err) return done(err)
      const attempt = (): void => {
        if (this.#h === undefined) return done(fail(ErrorCodes.SOCKET_CLOSED, 'The socket is closed'))
        const e = this.#h.connect(ip, p)
        if (e) return done(errorFromInfo(e))
        this.#connected = this.#h.remoteAddress() ?? { address: ip, port: p, family: isIP(ip) === 6 ? 'IPv6' : 'IPv4' }
        done(undefined)
      }
      if (this.#state === 'binding') this.#pendingBind.unshift(attempt)
      else attempt()
    })
  }

  /**
   * Dissolves the association made by {@link Socket.connect}.
   * @throws IocrateError `ERR_SOCKET_DGRAM_NOT_CONNECTED`.
   */
  disconnect(): void {
    if (this.#connected === undefined) throw fail('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected')
    check(this.#live().disconnect())
    this.#connected = undefined
  }

  /**
   * The connected peer.
   * @throws IocrateError `ERR_SOCKET_DGRAM_NOT_CONNECTED`.
   */
  remoteAddress(): AddressInfo {
    if (this.#connected === undefined) throw fail('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected')
    return { ...this.#connected }
  }

  /**
   * The bound address.
   * @throws IocrateError `ERR_SOCKET_DGRAM_NOT_RUNNING` when not bound.
   */
  address(): AddressInfo {
    const a = this.#live().localAddress()
    return { address: a.address, family: a.family, port: a.port }
  }

  /** Allows sending to broadcast addresses (`SO_BROADCAST`). */
  setBroadcast(flag: boolean): void {
    check(this.#live().setBroadcast(flag))
  }

  /** Sets the unicast TTL / hop limit (1–255). Returns `ttl`. */
  setTTL(ttl: number): number {
    if (!Number.isInteger(ttl)) throw invalidArg('ttl', ttl, 'must be an integer')
    check(this.#live().setTtl(ttl))
    return ttl
  }

  /** Sets the multicast TTL / hop limit (0–255). Returns `ttl`. */
  setMulticastTTL(ttl: number): number {
    if (!Number.isInteger(ttl)) throw invalidArg('ttl', ttl, 'must be an integer')
    check(this.#live().setMulticastTtl(ttl))
    return ttl
  }

  /** Whether multicast datagrams sent are looped back to local members. Returns `flag`. */
  setMulticastLoopback(flag: boolean): boolean {
    check(this.#live().setMulticastLoopback(flag))
    return flag
  }

  /**
   * Sets the outgoing multicast interface: an IPv4 address for udp4; for udp6 a scope
   * such as `'::%eth0'` or `'::%2'`.
   */
  setMulticastInterface(interfaceAddress: string): void {
    check(this.#live().setMulticastInterface(interfaceAddress))
  }

  /** Joins a multicast group, on `multicastInterface` or one the OS picks. */
  addMembership(multicastAddress: string, multicastInterface?: string): void {
    this.#ensureBound()
    check(this.#live().addMembership(multicastAddress, multicastInterface))
  }

  /** Leaves a multicast group. */
  dropMembership(multicastAddress: string, multicastInterface?: string): void {
    check(this.#live().dropMembership(multicastAddress, multicastInterface))
  }

  /** Joins a source-specific multicast group (IPv4). */
  addSourceSpecificMembership(sourceAddress: string, groupAddress: string, multicastInterface?: string): void {
    this.#ensureBound()
    check(this.#live().addMembership(groupAddress, multicastInterface, sourceAddress))
  }

  /** Leaves a source-specific multicast group. */
  dropSourceSpecificMembership(sourceAddress: string, groupAddress: string, multicastInterface?: string): void {
    check(this.#live().dropMembership(groupAddress, multicastInterface, sourceAddress))
  }

  /** Sets `SO_RCVBUF`. */
  setRecvBufferSize(size: number): void {
    check(this.#live().setRecvBufferSize(size))
  }

  /** `SO_RCVBUF` as the kernel reports it (Linux doubles the value set). */
  getRecvBufferSize(): number {
    const r = this.#live().recvBufferSize()
    if (isErrorInfo(r)) throw errorFromInfo(r)
    return r as number
  }

  /** Sets `SO_SNDBUF`. */
  setSendBufferSize(size: number): void {
    check(this.#live().setSendBufferSize(size))
  }

  /** `SO_SNDBUF` as the kernel reports it. */
  getSendBufferSize(): number {
    const r = this.#live().sendBufferSize()
    if (isErrorInfo(r)) throw errorFromInfo(r)
    return r as number
  }

  /** Bytes queued in iocrate because the kernel's send buffer was full. */
  getSendQueueSize(): number {
    return this.#h?.queued()[1] ?? 0
  }

  /** Datagrams queued in iocrate because the kernel's send buffer was full. */
  getSendQueueCount(): number {
    return this.#h?.queued()[0] ?? 0
  }

  /**
   * Closes the socket. Queued sends fail with `ERR_SOCKET_CLOSED`; `'close'` follows.
   * @throws IocrateError `ERR_SOCKET_DGRAM_NOT_RUNNING` when already closed.
   */
  close(callback?: () => void): this {
    if (this.#state === 'closing' || this.#state === 'closed') throw fail(NOT_RUNNING, 'Not running')
    if (callback !== undefined) this.once('close', callback)
    const h = this.#h
    this.#state = 'closing'
    this.#pendingBind = []
    if (h === undefined) {
      process.nextTick(() => this.#closed())
    } else {
      h.close()
    }
    return this
  }

  #closed(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    if (this.#h !== undefined) unregister(this.#h.id)
    this.#ref.close()
    for (const it of this.#iterators) it.end()
    this.emit('close')
  }

  /** Keeps the process alive while the socket is open (the default). */
  ref(): this {
    this.#ref.ref()
    return this
  }

  /** Lets the process exit even though the socket is open. */
  unref(): this {
    this.#ref.unref()
    return this
  }

  /** Pauses (`true`) or resumes the native reader on behalf of an iterator. @internal */
  pauseReading(pause: boolean): void {
    this.#pausedBy += pause ? 1 : -1
    if (this.#h === undefined || this.#state !== 'bound') return
    if (pause && this.#pausedBy === 1) this.#h.pause()
    else if (!pause && this.#pausedBy === 0) this.#h.resume()
  }

  #onEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.MESSAGE:
        return this.#onBatch(payload as [Buffer, Uint32Array, string[]])
      case Kind.WARNING: {
        const w = errorFromInfo(payload as ErrorInfo)
        if (this.listenerCount('warning') > 0) this.emit('warning', w)
        else process.emitWarning(w)
        return
      }
      case Kind.DRAIN: {
        const done = payload as Array<number | ErrorInfo>
        for (let i = 0; i < done.length; i += 2) {
          const token = done[i] as number
          const r = done[i + 1]
          const cb = this.#sendCbs.get(token)
          this.#sendCbs.delete(token)
          if (isErrorInfo(r)) this.#complete(cb, errorFromInfo(r), 0)
          else this.#complete(cb, null, r as number)
        }
        return
      }
      case Kind.ERROR:
        this.emit('error', errorFromInfo(payload as ErrorInfo))
        return
      case Kind.CLOSE:
        this.#closed()
        return
    }
  }

  #onBatch([data, meta, addrs]: [Buffer, Uint32Array, string[]]): void {
    if (this.#state !== 'bound') return
    let off = 0
    const its = this.#iterators
    for (let i = 0; i < meta.length; i += 4) {
      const len = meta[i]!
      const msg = data.subarray(off, off + len)
      off += len
      const flags = meta[i + 3]!
      const address = addrs[meta[i + 2]!]!
      const family = flags & 2 ? 'IPv6' : 'IPv4'
      const truncated = (flags & 1) === 1
      const port = meta[i + 1]!
      if (its.size > 0) {
        const d: Datagram = { data: msg, address, port, family, truncated }
        for (const it of its) it.push(d)
      }
      this.emit('message', msg, { address, family, port, size: len, truncated } satisfies RemoteInfo)
      if (this.#state !== 'bound') return
    }
  }

  /**
   * Iterates over received datagrams until the socket closes. Buffers at most
   * `highWaterMark` datagrams (default 1024), pausing the native reader beyond that.
   * Leaving the loop early stops iterating but keeps the socket open.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Datagram> {
    const it = new DatagramIterator(this.#opts.highWaterMark ?? 1024, (p) => this.pauseReading(p), () => this.#iterators.delete(it))
    if (this.#state === 'closed') it.end()
    else this.#iterators.add(it)
    return it
  }

  /** Closes the socket (if open) and waits for `'close'`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === 'closed') return
    const closed = new Promise<void>((resolve) => this.once('close', () => resolve()))
    if (this.#state !== 'closing') this.close()
    await closed
  }
}

/**
 * Creates a UDP socket, as `dgram.createSocket` does: `createSocket('udp4')`,
 * `createSocket({ type: 'udp6', reuseAddr: true })`, with an optional `'message'`
 * listener.
 */
export function createSocket(type: SocketType | SocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): Socket {
  return new Socket(typeof type === 'string' ? { type } : type, listener)
}
