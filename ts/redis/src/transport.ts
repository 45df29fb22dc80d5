// Where a connection's bytes travel. Both transports decode replies with the same Rust
// RESP codec (crates/redis); they differ in which thread does the socket I/O.
//
// - `node`: Node's own socket (libuv, on the JS thread). Each read is handed to the codec
//   in one synchronous call that returns the tape of the replies it completed. No thread
//   hop: lowest latency, and the best throughput where cores are few.
// - `native`: the addon's tokio driver (TCP, Unix, and TLS with rustls). Reads and
//   decoding happen on the I/O thread; replies reach JS in batches through the bridge.
import * as nodeNet from 'node:net'
import { HandleRef, Kind, errorFromInfo, getBridge, isErrorInfo, native, register, unregister, type ErrorInfo } from '@iocrate/core'
import type { ConnectionOptions } from './connection.js'
import { RedisError } from './errors.js'

/** What a transport reports. @internal */
export interface TransportSink {
  tConnect(): void
  /** The tape of one or more complete replies. */
  tTape(tape: Buffer): void
  /** Why the connection is about to close (a socket or protocol error). */
  tError(err: Error): void
  tClose(): void
}

/** A connection's byte stream. @internal */
export interface Transport {
  /** Writes encoded commands; an error when the stream is already closed. */
  write(bufs: Buffer[]): Error | undefined
  /** Ends the write side (the server then closes). */
  end(): void
  destroy(): void
  ref(): void
  unref(): void
}

function pem(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v
}

function limitsOf(o: ConnectionOptions): { maxBulk: number } | undefined {
  return o.maxBulk !== undefined ? { maxBulk: o.maxBulk } : undefined
}

function protocolError(info: ErrorInfo): RedisError {
  return new RedisError(info.code, info.message)
}

interface NativeRedisStream {
  readonly id: number
  write(data: Buffer): number | ErrorInfo
  writev(chunks: Buffer[]): number | ErrorInfo
  end(): void
  destroy(): void
}

/** The tokio driver: decoding on the I/O thread, replies batched through the bridge. @internal */
export class NativeTransport implements Transport {
  readonly #h: NativeRedisStream
  readonly #sink: TransportSink
  readonly #ref = new HandleRef()

  constructor(o: ConnectionOptions, sink: TransportSink) {
    this.#sink = sink
    const bridge = getBridge()
    const tcp = {
      ...(o.endpoint.path !== undefined ? { path: o.endpoint.path } : { host: o.endpoint.host ?? '127.0.0.1', port: o.endpoint.port ?? 6379 }),
      connectTimeoutMs: o.connectTimeout,
      stream: { noDelay: o.noDelay, keepAliveMs: o.keepAlive },
    }
    if (o.tls === undefined) {
      this.#h = native.redisConnect(bridge, tcp, limitsOf(o)) as NativeRedisStream
    } else {
      const t = o.tls
      const ca = t.ca === undefined ? undefined : (Array.isArray(t.ca) ? t.ca : [t.ca]).map(pem)
      const r = native.redisConnectTls(
        bridge,
        {
          tcp,
          ...(ca ? { ca } : {}),
          ...(t.cert !== undefined ? { cert: pem(t.cert) } : {}),
          ...(t.key !== undefined ? { key: pem(t.key) } : {}),
          ...(t.servername !== undefined ? { servername: t.servername } : {}),
          dangerouslyDisableCertificateVerification: t.rejectUnauthorized === false,
        },
        limitsOf(o),
      )
      if (isErrorInfo(r)) throw errorFromInfo(r)
      this.#h = r as NativeRedisStream
    }
    register(this.#h.id, this)
    if (o.ref === false) this.#ref.unref()
    this.#ref.open()
  }

  /** @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.REDIS_REPLY:
        this.#sink.tTape(payload as Buffer)
        break
      case Kind.CONNECT:
        this.#sink.tConnect()
        break
      case Kind.ERROR: {
        const info = payload as ErrorInfo
        this.#sink.tError(info.code.startsWith('ERR_REDIS_') ? protocolError(info) : errorFromInfo(info))
        break
      }
      case Kind.END:
        // The server closed its side (QUIT, CLIENT KILL, timeout, shutdown): nothing more
        // will be answered, so close ours too.
        this.#h.destroy()
        break
      case Kind.CLOSE:
        unregister(this.#h.id)
        this.#ref.close()
        this.#sink.tClose()
        break
      default:
        break
    }
  }

  write(bufs: Buffer[]): Error | undefined {
    const r = bufs.length === 1 ? this.#h.write(bufs[0]!) : this.#h.writev(bufs)
    return isErrorInfo(r) ? errorFromInfo(r) : undefined
  }

  end(): void {
    this.#h.end()
  }

  destroy(): void {
    this.#h.destroy()
  }

  ref(): void {
    this.#ref.ref()
  }

  unref(): void {
    this.#ref.unref()
  }
}

/** Node's socket on the JS thread; each read decoded by the Rust codec in one call. @internal */
export class NodeTransport implements Transport {
  readonly #s: nodeNet.Socket
  readonly #sink: TransportSink
  readonly #decoder: InstanceType<typeof native.RespDecoder>
  #failed = false

  constructor(o: ConnectionOptions, sink: TransportSink) {
    this.#sink = sink
    this.#decoder = new native.RespDecoder(limitsOf(o))
    // Reads land in one reused buffer (the codec copies what it keeps), with no Readable
    // stream machinery and no Buffer per read.
    const onread = { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n: number, buf: Uint8Array): boolean => this.#data(buf, n) }
    const s =
      o.endpoint.path !== undefined
        ? nodeNet.connect({ path: o.endpoint.path, onread })
        : nodeNet.connect({ host: o.endpoint.host ?? '127.0.0.1', port: o.endpoint.port ?? 6379, noDelay: o.noDelay, keepAlive: o.keepAlive > 0, keepAliveInitialDelay: o.keepAlive, onread })
    this.#s = s
    if (o.ref === false) s.unref()
    s.once('connect', () => sink.tConnect())
    s.on('error', (err) => sink.tError(err))
    s.once('close', () => sink.tClose())
  }

  #data(buf: Uint8Array, n: number): boolean {
    if (this.#failed) return true
    const r = this.#decoder.feed(Buffer.from(buf.buffer, buf.byteOffset, n))
    if (r == null) return true
    if (Buffer.isBuffer(r)) {
      this.#sink.tTape(r)
      return true
    }
    // Malformed input: replies completed before it still answer their commands.
    this.#failed = true
    const done = this.#decoder.takeCompleted()
    if (done !== null) this.#sink.tTape(done)
    this.#sink.tError(protocolError(r))
    this.#s.destroy()
    return false
  }

  write(bufs: Buffer[]): Error | undefined {
    const s = this.#s
    if (s.destroyed) return new RedisError('ERR_SOCKET_CLOSED', 'The socket is closed')
    if (bufs.length === 1) s.write(bufs[0]!)
    else {
      s.cork()
      for (const b of bufs) s.write(b)
      s.uncork()
    }
    return undefined
  }

  end(): void {
    this.#s.end()
  }

  destroy(): void {
    this.#s.destroy()
  }

  ref(): void {
    this.#s.ref()
  }

  unref(): void {
    this.#s.unref()
  }
}
