/**
 * `@iocrate/https`: the `@iocrate/http` server over TLS (rustls), with ALPN `http/1.1`,
 * SNI certificates and optional client certificates. Everything else — handlers,
 * options, static routes, timeouts — is the HTTP server's.
 * @module @iocrate/https
 */
import { getBridge, native, type ErrorInfo } from '@iocrate/core'
import { Server as HttpServer, type RequestListener, type ServerOptions as HttpServerOptions } from '@iocrate/http'
import { rawTlsServerOptions, type TlsServerSettings } from '@iocrate/tls'

type RawHttpOptions = Parameters<typeof native.httpListen>[1]
type RawTls = Omit<NonNullable<Parameters<typeof native.httpListen>[2]>, 'listen'>
type NativeHttpServer = InstanceType<typeof native.HttpServerHandle>

/** Options of {@link createServer}: the HTTP server's plus TLS (`cert`/`key` or `sni`, `ca`, `requestCert`, …). */
export interface ServerOptions extends HttpServerOptions, TlsServerSettings {}

/**
 * An HTTPS server: {@link HttpServer} whose connections complete a TLS handshake first.
 * Requests carry `req.socket.encrypted === true`, and fetch-style handlers see
 * `https://` URLs. A failed handshake closes that connection only.
 */
export class Server extends HttpServer {
  #tls: RawTls

  constructor(options: ServerOptions, listener?: RequestListener) {
    super(options, listener)
    this.#tls = rawTlsServerOptions(options)
    this._setEncrypted()
  }

  /** @internal */
  protected override _bind(raw: RawHttpOptions): NativeHttpServer | ErrorInfo {
    return native.httpListen(getBridge(), raw, { listen: raw.listen, ...this.#tls })
  }
}

/** Creates an HTTPS server: `createServer({ cert, key }, (req, res) => …)` or with `fetch`. */
export function createServer(options: ServerOptions, listener?: RequestListener): Server {
  return new Server(options, listener)
}

export { IncomingMessage, ServerResponse } from '@iocrate/http'
export type { RequestListener } from '@iocrate/http'
