/**
 * `@iocrate/tls`: TLS clients and servers over iocrate's TCP driver, backed by rustls
 * (ring provider). {@link TLSSocket} extends the `@iocrate/net` {@link Socket} and
 * {@link TLSServer} extends its {@link Server}, with `node:tls`'s surface.
 *
 * Certificate verification is **on by default** (system roots, or `ca`); it can only be
 * turned off with the loudly named `dangerouslyDisableCertificateVerification: true`.
 * Sessions are resumed automatically: identical client options share one rustls
 * configuration and its session cache. `SSLKEYLOGFILE` is honoured on both sides.
 * @module @iocrate/tls
 */
import { IocrateError, errorFromInfo, getBridge, invalidArg, isErrorInfo, native, type ErrorInfo } from '@iocrate/core'
import { Server, Socket, type ConnectOptions as NetConnectOptions, type NativeServer, type NativeStream, type ServerOptions as NetServerOptions } from '@iocrate/net'

export { IocrateError }

/** PEM text or bytes. */
export type Pem = string | Buffer

/** A TLS protocol version name. */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3'

/** A peer certificate, as Node's `getPeerCertificate()` describes it. */
export interface PeerCertificate {
  /** Subject attributes, e.g. `{ CN: 'localhost', O: 'Example' }`. */
  subject: Record<string, string>
  /** Issuer attributes. */
  issuer: Record<string, string>
  /** Subject alternative names: `'DNS:localhost, IP Address:127.0.0.1'`. */
  subjectaltname?: string
  /** Start of validity: `'Jan  1 00:00:00 2020 GMT'`. */
  valid_from: string
  /** End of validity. */
  valid_to: string
  /** SHA-1 fingerprint, `'AA:BB:…'`. */
  fingerprint: string
  /** SHA-256 fingerprint, `'AA:BB:…'`. */
  fingerprint256: string
  /** Serial number, upper-case hex. */
  serialNumber: string
  /** Whether it is a CA certificate. */
  ca: boolean
  /** The DER encoding. */
  raw: Buffer
}

/** The negotiated cipher, as Node's `getCipher()` returns it. */
export interface CipherInfo {
  /** Cipher suite name (IANA spelling, e.g. `TLS_AES_128_GCM_SHA256`). */
  name: string
  /** IANA name. */
  standardName: string
  /** `TLSv1.2` or `TLSv1.3`. */
  version: string
}

/** Options shared by clients and servers. */
export interface CommonTlsOptions {
  /** Trusted CA certificates (PEM). Client: absent → the system roots (Mozilla's if none). */
  ca?: Pem | Pem[]
  /** Certificate chain (PEM), end-entity first. */
  cert?: Pem
  /** Private key (PEM: PKCS#8, RSA or EC). */
  key?: Pem
  /** ALPN protocols, most preferred first. */
  alpnProtocols?: string[]
  /** Lowest TLS version (default `TLSv1.2`). */
  minVersion?: TlsVersion
  /** Highest TLS version (default `TLSv1.3`). */
  maxVersion?: TlsVersion
  /** Fail a handshake that takes longer than this many ms (default 120000, as Node). */
  handshakeTimeout?: number
}

/** Options of {@link connect}. */
export interface ConnectionOptions extends NetConnectOptions, CommonTlsOptions {
  /** Name for SNI and certificate verification (default: `host`). IP addresses are verified too. */
  servername?: string
  /**
   * Accepted for compatibility, but it is **not** an opt-out: verification failures
   * always fail the connection. Use {@link ConnectionOptions.dangerouslyDisableCertificateVerification}.
   */
  rejectUnauthorized?: boolean
  /**
   * Accept any server certificate. The connection is then open to interception; the
   * verification outcome is still reported in `authorized` / `authorizationError`.
   */
  dangerouslyDisableCertificateVerification?: true
}

/** Options of {@link createServer}. */
export interface TlsServerOptions extends NetServerOptions, CommonTlsOptions {
  /** Certificates per server name (SNI); `'*.example.com'` matches one label. */
  sni?: Record<string, { cert: Pem; key: Pem }>
  /** Ask clients for a certificate (verified against `ca`, or the system roots). */
  requestCert?: boolean
  /** With `requestCert`: refuse clients without a valid certificate (default `true`). */
  rejectUnauthorized?: boolean
}

/** The native TLS handle's extra methods. */
interface NativeTls extends NativeStream {
  alpnProtocol(): string | null
  protocol(): string | null
  cipher(): CipherInfo | null
  peerCertificates(): Buffer[]
  peerCertificate(index?: number | null): (Omit<PeerCertificate, 'subjectaltname'> & { subjectaltname?: string | null }) | null
  isSessionReused(): boolean
  servername(): string | null
  authorized(): boolean
  authorizationError(): ErrorInfo | null
}

function buf(p: Pem): Buffer {
  return typeof p === 'string' ? Buffer.from(p) : p
}

function pemList(p: Pem | Pem[] | undefined): Buffer[] | undefined {
  if (p === undefined) return undefined
  return (Array.isArray(p) ? p : [p]).map(buf)
}

interface RawTlsCommon {
  ca?: Buffer[]
  cert?: Buffer
  key?: Buffer
  alpnProtocols?: string[]
  minVersion?: string
  maxVersion?: string
  handshakeTimeoutMs?: number
}

function rawCommon(o: CommonTlsOptions): RawTlsCommon {
  const r: RawTlsCommon = {}
  const ca = pemList(o.ca)
  if (ca) r.ca = ca
  if (o.cert !== undefined) r.cert = buf(o.cert)
  if (o.key !== undefined) r.key = buf(o.key)
  if (o.alpnProtocols) r.alpnProtocols = [...o.alpnProtocols]
  if (o.minVersion) r.minVersion = o.minVersion
  if (o.maxVersion) r.maxVersion = o.maxVersion
  const hs = o.handshakeTimeout ?? 120_000
  if (!Number.isFinite(hs) || hs < 0) throw invalidArg('options.handshakeTimeout', hs, 'must be a non-negative number')
  r.handshakeTimeoutMs = Math.floor(hs)
  return r
}

type RawTcpConnect = Parameters<typeof native.tcpConnect>[1]

function rawTcp(o: NetConnectOptions): RawTcpConnect {
  if (o.path === undefined && (o.port === undefined || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw invalidArg('options.port', o.port, 'must be an integer from 0 to 65535')
  }
  const stream: NonNullable<RawTcpConnect['stream']> = { noDelay: o.noDelay ?? true }
  if (o.keepAlive) stream.keepAliveMs = Math.max(1000, o.keepAliveInitialDelay ?? 1000)
  if (o.timeout) stream.timeoutMs = o.timeout
  const raw: RawTcpConnect = { stream, host: o.host ?? 'localhost' }
  if (o.port !== undefined) raw.port = o.port
  if (o.path !== undefined) raw.path = o.path
  if (o.localAddress !== undefined) raw.localAddress = o.localAddress
  if (o.localPort !== undefined) raw.localPort = o.localPort
  if (o.connectTimeout !== undefined) raw.connectTimeoutMs = o.connectTimeout
  return raw
}

/**
 * A TLS stream: an `@iocrate/net` {@link Socket} (a Node `Duplex`) plus `node:tls`'s
 * `TLSSocket` surface. Client sockets emit `'secureConnect'` once the handshake is done
 * (after `'connect'`, which here also means "handshake done").
 */
export class TLSSocket extends Socket {
  /** Always `true`. */
  readonly encrypted = true
  /** Whether the peer's certificate was verified (server: a client certificate was presented and verified). */
  authorized = false
  /** Why `authorized` is false: an `ERR_IOCRATE_TLS_*` code, or `undefined`. */
  authorizationError: string | undefined = undefined
  /** The negotiated ALPN protocol, or `false`. */
  alpnProtocol: string | false = false
  /** Client: the name verified against. Server: the SNI name the client sent. */
  servername: string | false = false
  #isServer: boolean

  /** @internal */
  constructor(options: { allowHalfOpen?: boolean; highWaterMark?: number; signal?: AbortSignal; isServer?: boolean } = {}) {
    const { isServer, ...rest } = options
    super(rest)
    this.#isServer = isServer ?? false
  }

  #tls(): NativeTls | undefined {
    return this._handle as NativeTls | undefined
  }

  /** @internal */
  protected override _onConnect(): void {
    const h = this.#tls()
    if (h) {
      this.authorized = h.authorized()
      const e = h.authorizationError()
      this.authorizationError = e ? e.code : undefined
      this.alpnProtocol = h.alpnProtocol() ?? false
      this.servername = h.servername() ?? false
    }
    if (this.#isServer) {
      this.connecting = false
      this.emit('_secure')
      return
    }
    super._onConnect()
    this.emit('secureConnect')
  }

  /**
   * The peer's certificate (`{}` when it sent none). With `detailed`, `issuerCertificate`
   * links the rest of the chain as sent.
   */
  getPeerCertificate(detailed = false): PeerCertificate | Record<string, never> {
    const h = this.#tls()
    const one = (i: number): (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined => {
      const c = h?.peerCertificate(i)
      if (!c) return undefined
      const { subjectaltname, ...rest } = c
      return subjectaltname == null ? rest : { ...rest, subjectaltname }
    }
    const first = one(0)
    if (!first) return {}
    if (detailed) {
      let cur = first
      for (let i = 1; ; i++) {
        const next = one(i)
        if (!next) break
        cur.issuerCertificate = next
        cur = next
      }
    }
    return first
  }

  /** The peer's certificate chain as DER buffers, end-entity first. */
  getPeerCertificates(): Buffer[] {
    return this.#tls()?.peerCertificates() ?? []
  }

  /** `'TLSv1.2'` or `'TLSv1.3'`, or `null` before the handshake. */
  getProtocol(): TlsVersion | null {
    return (this.#tls()?.protocol() as TlsVersion | null | undefined) ?? null
  }

  /** The negotiated cipher. */
  getCipher(): CipherInfo | undefined {
    return this.#tls()?.cipher() ?? undefined
  }

  /** Whether the session was resumed. */
  isSessionReused(): boolean {
    return this.#tls()?.isSessionReused() ?? false
  }
}

/**
 * Opens a TLS connection. `'secureConnect'` follows the handshake; verification
 * failures are `'error'`s with `ERR_IOCRATE_TLS_CERT_UNTRUSTED`,
 * `ERR_IOCRATE_TLS_HOSTNAME_MISMATCH` or `ERR_IOCRATE_TLS_CERT_EXPIRED`; a peer's alert
 * is `ERR_IOCRATE_TLS_ALERT`; other handshake failures `ERR_IOCRATE_TLS_HANDSHAKE`; bad
 * certificates or options throw `ERR_IOCRATE_TLS_BAD_CONFIG` at once.
 */
export function connect(options: ConnectionOptions, secureConnectListener?: () => void): TLSSocket {
  const o = options as ConnectionOptions & { dangerouslyDisableCertificateVerification?: unknown }
  if (o.dangerouslyDisableCertificateVerification !== undefined && o.dangerouslyDisableCertificateVerification !== true) {
    throw invalidArg('options.dangerouslyDisableCertificateVerification', o.dangerouslyDisableCertificateVerification, 'must be true or absent')
  }
  const raw: Parameters<typeof native.tlsConnect>[1] = { tcp: rawTcp(options), ...rawCommon(options) }
  if (options.servername !== undefined) raw.servername = options.servername
  if (o.dangerouslyDisableCertificateVerification === true) raw.dangerouslyDisableCertificateVerification = true
  const r = native.tlsConnect(getBridge(), raw)
  if (isErrorInfo(r)) throw errorFromInfo(r)
  const sockOpts: { allowHalfOpen?: boolean; highWaterMark?: number; signal?: AbortSignal } = {}
  if (options.allowHalfOpen !== undefined) sockOpts.allowHalfOpen = options.allowHalfOpen
  if (options.highWaterMark !== undefined) sockOpts.highWaterMark = options.highWaterMark
  if (options.signal !== undefined) sockOpts.signal = options.signal
  const socket = new TLSSocket(sockOpts)
  if (options.timeout) socket.setTimeout(options.timeout)
  socket._attach(r as unknown as NativeStream, false)
  if (secureConnectListener) socket.once('secureConnect', secureConnectListener)
  return socket
}

type RawTlsListen = Parameters<typeof native.tlsListen>[1]
type RawNetListen = RawTlsListen['listen']

/** The TLS settings of a server. */
export type TlsServerSettings = CommonTlsOptions & Pick<TlsServerOptions, 'sni' | 'requestCert' | 'rejectUnauthorized'>

/** Converts server TLS settings for the addon (also used by `@iocrate/https`). @internal */
export function rawTlsServerOptions(options: TlsServerSettings): Omit<RawTlsListen, 'listen'> {
  const raw: Omit<RawTlsListen, 'listen'> = { ...rawCommon(options) }
  if (options.sni) {
    raw.sni = Object.entries(options.sni).map(([name, p]) => ({ name, cert: buf(p.cert), key: buf(p.key) }))
  }
  if (options.requestCert !== undefined) raw.requestCert = options.requestCert
  if (options.rejectUnauthorized !== undefined) raw.rejectUnauthorized = options.rejectUnauthorized
  if (!raw.cert && !raw.sni) throw new IocrateError('ERR_IOCRATE_TLS_BAD_CONFIG', 'a TLS server needs cert and key (or sni)')
  return raw
}

/**
 * A TLS server: an `@iocrate/net` {@link Server} whose sockets are {@link TLSSocket}s.
 * `'secureConnection'` fires once a client's handshake is done; a failed handshake is
 * `'tlsClientError'` `(err, socket)` and the server keeps serving. `'connection'` is
 * not emitted.
 */
export class TLSServer extends Server {
  #raw: Omit<RawTlsListen, 'listen'>
  #sockOpts: { allowHalfOpen?: boolean; highWaterMark?: number }

  constructor(options: TlsServerOptions, secureConnectionListener?: (socket: TLSSocket) => void) {
    super(options)
    this.#raw = rawTlsServerOptions(options)
    this.#sockOpts = {}
    if (options.allowHalfOpen !== undefined) this.#sockOpts.allowHalfOpen = options.allowHalfOpen
    if (options.highWaterMark !== undefined) this.#sockOpts.highWaterMark = options.highWaterMark
    if (secureConnectionListener) this.on('secureConnection', secureConnectionListener)
  }

  /** @internal */
  protected override _bind(raw: RawNetListen): NativeServer | ErrorInfo {
    return native.tlsListen(getBridge(), { listen: raw, ...this.#raw }) as NativeServer | ErrorInfo
  }

  /** @internal */
  protected override _wrap(handle: NativeStream): Socket {
    const s = new TLSSocket({ ...this.#sockOpts, isServer: true })
    s._attach(handle, true)
    return s
  }

  /** @internal */
  protected override _accept(socket: Socket): void {
    const onError = (err: Error): void => {
      this.emit('tlsClientError', err, socket)
    }
    socket.on('error', onError)
    socket.once('_secure', () => {
      socket.off('error', onError)
      this._deliver(socket, 'secureConnection')
    })
  }
}

/** Creates a {@link TLSServer}; call `listen()` on it. */
export function createServer(options: TlsServerOptions, secureConnectionListener?: (socket: TLSSocket) => void): TLSServer {
  return new TLSServer(options, secureConnectionListener)
}
