import { Readable } from 'node:stream'
import { BodyReadable } from './body.js'
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
import { checkName, combineHeaders, pushField, type IncomingHttpHeaders, type OutgoingHeaderValue } from './headers.js'

type NativeClient = InstanceType<typeof native.HttpClientHandle>
type RawClientOptions = NonNullable<Parameters<typeof native.httpClient>[1]>

/** Options of an {@link Agent}: one connection pool per origin. */
export interface AgentOptions {
  /** Most connections per origin (default 64). */
  maxSockets?: number
  /** Most idle keep-alive connections kept per origin (default 64). */
  maxFreeSockets?: number
  /** Idle pooled connections close after this many ms (default 4000). */
  keepAliveTimeout?: number
  /** Requests in flight per connection; above 1 pipelines (default 1). */
  pipelining?: number
  /** Time to connect, in ms (default 10000): `ETIMEDOUT`. */
  connectTimeout?: number
  /** Time from sending a request to its complete response head, in ms (default 300000). */
  headersTimeout?: number
  /** Largest response head in bytes (default 16 KiB). */
  maxHeaderSize?: number
  /** Tunnel every request through this HTTP proxy with `CONNECT` (`http://host:port`). */
  proxy?: string | URL
  /** Trusted CAs for https (PEM); default: the system roots. */
  ca?: string | Buffer | (string | Buffer)[]
  /** Client certificate for https (PEM). */
  cert?: string | Buffer
  /** Client key for https (PEM). */
  key?: string | Buffer
  /** Name to verify and send as SNI instead of the URL's host. */
  servername?: string
  /** Accept any server certificate. There is no other way to turn verification off. */
  dangerouslyDisableCertificateVerification?: true
}

/** A request body. Streams and async iterables are sent chunked (or with `Content-Length` if you set it). */
export type RequestBody = string | Buffer | Uint8Array | ArrayBuffer | Readable | AsyncIterable<Uint8Array | string> | null

/** Header fields of a request. */
export type RequestHeaders = Record<string, OutgoingHeaderValue | undefined> | Headers | Iterable<readonly [string, string]>

/** Options of {@link request}. */
export interface RequestOptions {
  /** Method (default `GET`). */
  method?: string
  /** Header fields. */
  headers?: RequestHeaders
  /** The body. */
  body?: RequestBody
  /** Aborting rejects with an `AbortError` and closes the request. */
  signal?: AbortSignal
  /** Overall time limit in ms, from the call to the end of the response head: `ERR_IOCRATE_HTTP_TIMEOUT`. */
  timeout?: number
  /** The pool to use (default: the global agent). */
  agent?: Agent
  /** Decode `gzip`, `deflate` and `br` bodies (default `false`; `fetch` defaults to `true`). */
  decompress?: boolean
  /** Follow up to this many redirects (default 0: a 3xx is returned as is). */
  maxRedirects?: number
}

/**
 * A response: a Readable of the body with `statusCode`, `statusMessage`, `headers`,
 * `rawHeaders`, `httpVersion` and, once the body is read, `trailers`; plus `text()`,
 * `json()`, `arrayBuffer()` and `buffer()`.
 */
export class ClientResponse extends BodyReadable {
  /** The status code. */
  readonly statusCode: number
  /** The reason phrase. */
  readonly statusMessage: string
  /** `1.1` or `1.0`. */
  readonly httpVersion: string
  /** Header fields as received: `[name, value, …]`. */
  readonly rawHeaders: string[]
  /** Trailer fields (lower-case names), once the body is complete. */
  trailers: IncomingHttpHeaders = {}
  /** The final URL (after redirects). */
  url: string
  /** How many redirects were followed. */
  redirected = 0
  #headers: IncomingHttpHeaders | undefined
  #client: NativeClient
  #id: number
  #paused = false
  #done = false
  #complete = false

  /** @internal */
  constructor(client: NativeClient, id: number, parts: string[], url: string) {
    super()
    this.#client = client
    this.#id = id
    this.statusCode = +(parts[1] as string)
    this.httpVersion = parts[2] as string
    this.statusMessage = parts[3] as string
    this.rawHeaders = parts.slice(4)
    this.url = url
  }

  /** Header fields with lower-case names. */
  get headers(): IncomingHttpHeaders {
    return (this.#headers ??= combineHeaders(this.rawHeaders))
  }

  /** Whether the body has been received completely. */
  get complete(): boolean {
    return this.#complete
  }

  /** @internal */
  override _read(): void {
    if (this.#paused) {
      this.#paused = false
      this.#client.pause(this.#id, false)
    }
  }

  /** @internal */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#done) {
      this.#done = true
      this.#client.abort(this.#id)
    }
    // As Node's IncomingMessage: 'error' is emitted only when someone listens (the error can
    // arrive with the head, before the caller got the response); readers still get it.
    process.nextTick(() => cb(this.listenerCount('error') > 0 ? err : null))
  }

  /** @internal */
  _onData(chunk: Buffer): void {
    if (!this.push(chunk) && !this.#paused) {
      this.#paused = true
      this.#client.pause(this.#id, true)
    }
  }

  /** @internal */
  _onEnd(trailers: string[] | undefined): void {
    this.#done = true
    this.#complete = true
    if (trailers) this.trailers = combineHeaders(trailers)
    this.push(null)
  }

  /** @internal */
  _onError(err: Error): void {
    this.#done = true
    this.destroy(err)
  }
}

const FLAG_HTTPS = 1
const FLAG_STREAMING = 2
const FLAG_DECOMPRESS = 4

/** One request in flight. @internal */
class Pending {
  res: ClientResponse | undefined
  drain: (() => void) | undefined
  timer: NodeJS.Timeout | undefined
  #signal: AbortSignal | undefined
  #onAbort: (() => void) | undefined

  constructor(
    readonly url: string,
    readonly resolveFn: (r: ClientResponse) => void,
    readonly rejectFn: (e: Error) => void,
  ) {}

  watch(signal: AbortSignal, onAbort: () => void): void {
    this.#signal = signal
    this.#onAbort = onAbort
    signal.addEventListener('abort', onAbort, { once: true })
  }

  cleanup(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#onAbort = undefined
  }

  resolve(res: ClientResponse): void {
    this.res = res
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    // An abort during the body still applies; forget the listener once the body is done.
    if (this.#onAbort) res.once('close', () => this.cleanup())
    this.resolveFn(res)
  }

  /** The request failed: reject, or fail the body stream if the head had arrived. */
  fail(err: Error): void {
    this.cleanup()
    if (this.res) this.res._onError(err)
    else this.rejectFn(err)
    this.drain?.()
  }
}

function pem(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v
}

function ms(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!Number.isFinite(v) || v < 0) throw invalidArg(`options.${name}`, v, 'must be a non-negative number')
  return Math.floor(v)
}

/**
 * A connection pool, per origin: keep-alive reuse, a socket limit, idle timeout,
 * optional pipelining and a `CONNECT` proxy. Connections, parsing and TLS run in Rust;
 * each request is one native call and its response arrives in batched events.
 */
export class Agent {
  #native: NativeClient
  #pending = new Map<number, Pending>()
  #closed = false
  // Requests in flight keep the process alive, as Node's sockets do.
  #ref = new HandleRef()

  constructor(options: AgentOptions = {}) {
    const raw: RawClientOptions = {}
    if (options.maxSockets !== undefined) raw.maxSockets = options.maxSockets
    if (options.maxFreeSockets !== undefined) raw.maxFreeSockets = options.maxFreeSockets
    const idle = ms('keepAliveTimeout', options.keepAliveTimeout)
    if (idle !== undefined) raw.idleTimeoutMs = idle
    if (options.pipelining !== undefined) raw.pipelining = options.pipelining
    const ct = ms('connectTimeout', options.connectTimeout)
    if (ct !== undefined) raw.connectTimeoutMs = ct
    const ht = ms('headersTimeout', options.headersTimeout)
    if (ht !== undefined) raw.headersTimeoutMs = ht
    if (options.maxHeaderSize !== undefined) raw.maxHeaderSize = options.maxHeaderSize
    if (options.proxy !== undefined) {
      const p = new URL(String(options.proxy))
      if (p.protocol !== 'http:') throw invalidArg('options.proxy', String(options.proxy), 'must be an http:// URL')
      raw.proxyHost = p.hostname.replace(/^\[|\]$/g, '')
      raw.proxyPort = p.port ? Number(p.port) : 80
    }
    if (options.ca !== undefined) raw.ca = (Array.isArray(options.ca) ? options.ca : [options.ca]).map(pem)
    if (options.cert !== undefined) raw.cert = pem(options.cert)
    if (options.key !== undefined) raw.key = pem(options.key)
    if (options.servername !== undefined) raw.servername = options.servername
    if (options.dangerouslyDisableCertificateVerification === true) raw.dangerouslyDisableCertificateVerification = true
    const h = native.httpClient(getBridge(), raw)
    if (isErrorInfo(h)) throw errorFromInfo(h)
    this.#native = h
  }

  /** Handles one native event. @internal */
  onNativeEvent(kind: number, payload: unknown): void {
    switch (kind) {
      case Kind.HTTP_RESPONSE: {
        const parts = (payload as string).split('\0')
        const id = +(parts[0] as string)
        const p = this.#pending.get(id)
        if (!p) return
        p.resolve(new ClientResponse(this.#native, id, parts, p.url))
        break
      }
      case Kind.HTTP_BODY: {
        const [id, chunk] = payload as [number, Buffer]
        this.#pending.get(id)?.res?._onData(chunk)
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
        const p = this.#pending.get(id)
        this.#forget(id)
        p?.res?._onEnd(trailers)
        break
      }
      case Kind.HTTP_CLIENT_ERROR: {
        const [id, info] = payload as [number, ErrorInfo]
        const p = this.#pending.get(id)
        this.#forget(id)
        if (!p) return
        p.fail(errorFromInfo(info))
        break
      }
      case Kind.HTTP_DRAIN:
        this.#pending.get(payload as number)?.drain?.()
        break
    }
  }

  #forget(id: number): void {
    if (!this.#pending.delete(id)) return
    if (this.#pending.size === 0) {
      unregister(this.#native.id)
      this.#ref.close()
    }
  }

  /** Sends one request (no redirects); resolves with the response head. @internal */
  _send(url: URL, o: RequestOptions, decompress: boolean): Promise<ClientResponse> {
    if (this.#closed) return Promise.reject(new IocrateError('ERR_IOCRATE_HTTP_CLIENT_CLOSED', 'the agent is closed'))
    const https = url.protocol === 'https:'
    if (!https && url.protocol !== 'http:') {
      return Promise.reject(invalidArg('url', url.href, 'must be an http: or https: URL'))
    }
    const parts: string[] = []
    let length: number | undefined
    let hasHost = false
    for (const [name, value] of headerEntries(o.headers)) {
      checkName(name)
      const lower = name.toLowerCase()
      if (lower === 'content-length') {
        length = Number(value)
        continue
      }
      if (lower === 'transfer-encoding') continue
      if (lower === 'host') hasHost = true
      pushField(parts, name, value)
    }
    if (!hasHost && (url.username || url.password)) {
      parts.push('Authorization', `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`)
    }
    const body = o.body
    let whole: Buffer | undefined
    let stream: AsyncIterable<Uint8Array | string> | undefined
    if (body === undefined || body === null) whole = undefined
    else if (typeof body === 'string') whole = Buffer.from(body)
    else if (Buffer.isBuffer(body)) whole = body
    else if (body instanceof Uint8Array) whole = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    else if (body instanceof ArrayBuffer) whole = Buffer.from(body)
    else stream = body as AsyncIterable<Uint8Array | string>
    const host = url.hostname.charCodeAt(0) === 91 ? url.hostname.slice(1, -1) : url.hostname
    const port = url.port ? Number(url.port) : https ? 443 : 80
    const signal = o.signal
    if (signal?.aborted) return Promise.reject(abortError(signal))
    let flags = decompress ? FLAG_DECOMPRESS : 0
    if (https) flags |= FLAG_HTTPS
    if (stream !== undefined) flags |= FLAG_STREAMING
    const r = this.#native.request(
      flags,
      host,
      port,
      o.method === undefined ? 'GET' : o.method.toUpperCase(),
      url.pathname + url.search,
      parts.length === 0 ? '' : parts.join('\0'),
      whole,
      stream !== undefined ? length : undefined,
    )
    if (isErrorInfo(r)) return Promise.reject(errorFromInfo(r))
    const id = r
    return new Promise<ClientResponse>((resolve, reject) => {
      const p = new Pending(url.href, resolve, reject)
      if (this.#pending.size === 0) {
        register(this.#native.id, this)
        this.#ref.open()
      }
      this.#pending.set(id, p)
      // Timers and abort listeners only for the requests that ask for them.
      if (signal !== undefined || o.timeout !== undefined) {
        const fail = (err: Error): void => {
          this.#native.abort(id)
          this.#forget(id)
          p.fail(err)
        }
        if (signal !== undefined) p.watch(signal, () => fail(abortError(signal)))
        if (o.timeout !== undefined) {
          p.timer = setTimeout(() => fail(new IocrateError('ERR_IOCRATE_HTTP_TIMEOUT', `no response within ${o.timeout} ms`)), o.timeout)
        }
      }
      if (stream) {
        this.#pump(id, stream, length).catch((err: Error) => {
          this.#native.abort(id)
          this.#forget(id)
          p.fail(err)
        })
      }
    })
  }

  async #pump(id: number, body: AsyncIterable<Uint8Array | string>, length: number | undefined): Promise<void> {
    let sent = 0
    for await (const chunk of body) {
      if (!this.#pending.has(id)) return
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      sent += buf.length
      // Refused here, before the bytes reach the connection: once the declared bytes are
      // out, the server may answer before the connection sees the excess.
      if (length !== undefined && sent > length) {
        throw new IocrateError('ERR_IOCRATE_HTTP_INVALID_REQUEST', `the request body is longer than its Content-Length (${length} bytes)`)
      }
      const q = this.#native.write(id, buf)
      if (isErrorInfo(q)) return
      if (q >= 64 * 1024) {
        const p = this.#pending.get(id)
        if (!p) return
        await new Promise<void>((resolve) => {
          p.drain = () => {
            p.drain = undefined
            resolve()
          }
        })
      }
    }
    if (this.#pending.has(id)) this.#native.end(id)
  }

  /** Closes idle connections now and each busy one after its request; new requests fail. */
  close(): void {
    this.#closed = true
    this.#native.close()
  }

  /** Aborts every request and closes every connection. */
  destroy(): void {
    this.#closed = true
    this.#native.destroy()
  }

  /** `await using agent = new Agent()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
  }
}

/** As `fetch` does: the signal's reason (an `AbortError` DOMException unless the caller gave one). */
function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error) return reason
  return new DOMException('This operation was aborted', 'AbortError')
}

function* headerEntries(h: RequestHeaders | undefined): Iterable<[string, OutgoingHeaderValue]> {
  if (h === undefined) return
  if (h instanceof Headers) {
    for (const [n, v] of h) if (n !== 'set-cookie') yield [n, v]
    for (const c of h.getSetCookie()) yield ['set-cookie', c]
    return
  }
  if (Symbol.iterator in (h as object)) {
    for (const [n, v] of h as Iterable<readonly [string, string]>) yield [n, v]
    return
  }
  for (const [n, v] of Object.entries(h as Record<string, OutgoingHeaderValue | undefined>)) if (v !== undefined) yield [n, v]
}

let global: Agent | undefined

/** The agent used when none is given (created on first use; it does not keep the process alive). */
export function globalAgent(): Agent {
  return (global ??= new Agent())
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/**
 * Sends a request and resolves with the response once its head has arrived; read the
 * body from the {@link ClientResponse} stream (or with `text()`/`json()`). Redirects are
 * followed only with `maxRedirects`.
 */
export async function request(url: string | URL, options: RequestOptions = {}): Promise<ClientResponse> {
  return send(new URL(url), options, options.decompress ?? false, options.maxRedirects ?? 0)
}

async function send(url: URL, o: RequestOptions, decompress: boolean, redirects: number): Promise<ClientResponse> {
  const agent = o.agent ?? globalAgent()
  let opts = o
  let n = 0
  for (;;) {
    const res = await agent._send(url, opts, decompress)
    const location = res.headers.location
    if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string' || redirects === 0) {
      res.redirected = n
      return res
    }
    if (n >= redirects) {
      res.destroy()
      throw new IocrateError('ERR_IOCRATE_HTTP_TOO_MANY_REDIRECTS', `more than ${redirects} redirects`)
    }
    res.resume()
    const next = new URL(location, url)
    const method = (opts.method ?? 'GET').toUpperCase()
    const streamed = opts.body !== undefined && opts.body !== null && typeof opts.body === 'object' && !(opts.body instanceof Uint8Array) && !(opts.body instanceof ArrayBuffer)
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      opts = { ...opts, method: method === 'HEAD' ? 'HEAD' : 'GET', body: null, headers: dropHeaders(opts.headers, ['content-type', 'content-length']) }
    } else if (streamed) {
      throw new IocrateError('ERR_IOCRATE_HTTP_REDIRECT_BODY', 'cannot follow a 307/308 redirect with a streamed body')
    }
    if (next.origin !== url.origin) {
      opts = { ...opts, headers: dropHeaders(opts.headers, ['authorization', 'cookie', 'proxy-authorization', 'host']) }
    }
    url = next
    n++
  }
}

function dropHeaders(h: RequestHeaders | undefined, names: string[]): Record<string, OutgoingHeaderValue> {
  const out: Record<string, OutgoingHeaderValue> = {}
  for (const [n, v] of headerEntries(h)) if (!names.includes(n.toLowerCase())) out[n] = v
  return out
}

/** Options of {@link fetch}: WHATWG `RequestInit` plus the pool to use. */
export interface FetchInit extends RequestInit {
  /** The pool (default: the global agent). */
  agent?: Agent
}

/**
 * A WHATWG `fetch()` over iocrate's client: same arguments, a standard `Response`.
 * Redirects follow `init.redirect` (`follow` by default, at most 20; `manual` returns
 * the 3xx; `error` rejects). Bodies are decoded (`gzip`, `deflate`, `br`).
 */
export async function fetch(input: string | URL | Request, init: FetchInit = {}): Promise<Response> {
  let url: URL
  let method = init.method
  let headers: RequestHeaders | undefined = init.headers as RequestHeaders | undefined
  let body: RequestBody | undefined
  let signal = init.signal ?? undefined
  if (input instanceof Request) {
    url = new URL(input.url)
    method ??= input.method
    headers ??= input.headers
    signal ??= input.signal
    if (init.body === undefined && input.body) body = Readable.fromWeb(input.body as import('node:stream/web').ReadableStream<Uint8Array>)
  } else url = new URL(input)
  const h = new Headers(headers as ConstructorParameters<typeof Headers>[0])
  if (init.body instanceof FormData || init.body instanceof Blob) {
    // Let the platform serialize it (multipart boundary, Blob type).
    const encoded = new Response(init.body)
    const type = encoded.headers.get('content-type')
    if (type && !h.has('content-type')) h.set('content-type', type)
    body = Buffer.from(await encoded.arrayBuffer())
  } else if (init.body !== undefined && init.body !== null) body = await fetchBody(init.body)
  if (!h.has('accept-encoding')) h.set('accept-encoding', 'gzip, deflate, br')
  if (!h.has('accept')) h.set('accept', '*/*')
  if (typeof init.body === 'string' && !h.has('content-type')) h.set('content-type', 'text/plain;charset=UTF-8')
  if (init.body instanceof URLSearchParams && !h.has('content-type')) h.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
  const mode = init.redirect ?? 'follow'
  const opts: RequestOptions = { method: method ?? 'GET', headers: h }
  if (body !== undefined) opts.body = body
  if (signal) opts.signal = signal
  if (init.agent) opts.agent = init.agent
  const res = await send(url, opts, true, mode === 'follow' ? 20 : 0)
  if (mode === 'error' && REDIRECTS.has(res.statusCode)) {
    res.destroy()
    throw new TypeError('fetch failed: redirect mode is "error"')
  }
  const out = new Headers()
  const raw = res.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) out.append(raw[i] as string, raw[i + 1] as string)
  const nullBody = res.statusCode === 204 || res.statusCode === 304 || opts.method?.toUpperCase() === 'HEAD' || res.statusCode < 200
  if (nullBody) res.resume()
  // The body may already have failed (the error came with the head): `Readable.toWeb` would hand
  // back a cancelled stream that `Response` refuses, so carry the error in the body instead.
  const failed = res.errored
  const stream = failed
    ? new ReadableStream<Uint8Array>({ start: (c) => c.error(failed) })
    : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>)
  const response = new Response(nullBody ? null : stream, {
    status: res.statusCode,
    statusText: res.statusMessage,
    headers: out,
  })
  Object.defineProperty(response, 'url', { value: res.url })
  if (res.redirected > 0) Object.defineProperty(response, 'redirected', { value: true })
  return response
}

async function fetchBody(b: NonNullable<RequestInit['body']>): Promise<RequestBody> {
  if (typeof b === 'string' || b instanceof Uint8Array || b instanceof ArrayBuffer) return b
  if (b instanceof URLSearchParams) return b.toString()
  if (ArrayBuffer.isView(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  if (typeof (b as ReadableStream).getReader === 'function') {
    return Readable.fromWeb(b as import('node:stream/web').ReadableStream<Uint8Array>)
  }
  return b as AsyncIterable<Uint8Array>
}
