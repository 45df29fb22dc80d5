import { Readable } from 'node:stream'
import type { IncomingMessage } from './incoming.js'
import type { ServerResponse } from './response.js'

/** A fetch-style handler, as Hono, itty-router and Bun/Deno servers use: `(request) => Response`. */
export type FetchHandler = (request: Request, info: FetchInfo) => Response | Promise<Response>

/** What a fetch-style handler gets beside the `Request`. */
export interface FetchInfo {
  /** The client's address and port. */
  remoteAddress: string
  remotePort: number
}

const NO_BODY = new Set(['GET', 'HEAD'])

// What a Host header may hold: a reg-name or IP literal and an optional port (RFC 3986).
// Anything else (`/`, `?`, `#`, `@`, `\`, spaces) would rewrite the URL built from it, e.g.
// `Host: x/admin?` with target `/public` would become `http://x/admin?/public`, path `/admin`.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{1,5})?$/

function fields(res: ServerResponse, response: Response): void {
  res.statusCode = response.status
  if (response.statusText) res.statusMessage = response.statusText
  const cookies = response.headers.getSetCookie()
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue
    res.setHeader(name, value)
  }
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
}

/** Writes a `Response` out: one native call when the body fits in one chunk. @internal */
export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  fields(res, response)
  const body = response.body
  if (body === null) {
    res.end()
    return
  }
  const reader = body.getReader()
  try {
    let first = await reader.read()
    if (first.done) {
      res.end()
      return
    }
    let next = await reader.read()
    if (next.done) {
      // The usual case (a string, JSON or buffer body): one call with the length known.
      res.end(Buffer.from(first.value.buffer, first.value.byteOffset, first.value.byteLength))
      return
    }
    const write = (chunk: Uint8Array): Promise<void> | undefined => {
      if (res.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) return undefined
      return new Promise((resolve) => {
        const done = (): void => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    }
    await write(first.value)
    while (!next.done) {
      if (!res.writable) {
        await reader.cancel()
        return
      }
      await write(next.value)
      next = await reader.read()
    }
    first = next
    res.end()
  } catch (err) {
    await reader.cancel(err).catch(() => {})
    throw err
  }
}

/** Adapts a fetch-style handler to `(req, res)`. @internal */
export function toFetchHandler(handler: FetchHandler, encrypted: () => boolean) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req, encrypted())
    if (url === undefined) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('Bad Request')
      return
    }
    const request = new ServerRequest(req, url)
    res.once('close', abortUnfinished)
    ;(res as ServerResponse & { [kRequest]?: ServerRequest })[kRequest] = request
    const response = await handler(request as unknown as Request, { remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort })
    if (!(response instanceof Response)) {
      throw new TypeError('The fetch handler must return a Response')
    }
    await sendResponse(res, response)
  }
}

const kRequest = Symbol('fetchRequest')

function abortUnfinished(this: ServerResponse & { [kRequest]?: ServerRequest }): void {
  if (!this.writableEnded) this[kRequest]?._abort()
}

/** The URL of a request, or `undefined` when target and Host make no valid URL. @internal */
export function requestUrl(req: IncomingMessage, encrypted: boolean): string | undefined {
  const host = (req.headers.host as string | undefined) || 'localhost'
  let url: string
  if (req.url.startsWith('/')) {
    if (!HOST.test(host)) return undefined
    url = `${encrypted ? 'https' : 'http'}://${host}${req.url}`
  } else url = req.url
  return URL.canParse(url) ? url : undefined
}

/**
 * The `Request` a fetch-style handler receives. Building a real WHATWG `Request` costs
 * more than the rest of a request's handling, and most handlers read only `method`,
 * `url` and a few headers; so this object answers those itself (and reads bodies straight
 * from the native stream with `text()`, `json()`, `arrayBuffer()`), and builds the real
 * `Request` only when something else is asked for. Its prototype chain includes
 * `Request.prototype`, so `instanceof Request` holds.
 */
class ServerRequest {
  #req: IncomingMessage
  #url: string
  #headers: Headers | undefined
  #ac: AbortController | undefined
  #real: Request | undefined
  #used = false

  constructor(req: IncomingMessage, url: string) {
    this.#req = req
    this.#url = url
  }

  /** @internal */
  _abort(): void {
    this.#ac?.abort()
  }

  get method(): string {
    return this.#req.method
  }
  get url(): string {
    return this.#url
  }
  get headers(): Headers {
    if (this.#headers === undefined) {
      const h = new Headers()
      const raw = this.#req.rawHeaders
      for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i] as string, raw[i + 1] as string)
      this.#headers = h
    }
    return this.#headers
  }
  get signal(): AbortSignal {
    return (this.#ac ??= new AbortController()).signal
  }
  get bodyUsed(): boolean {
    return this.#real ? this.#real.bodyUsed : this.#used
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.#materialize().body
  }

  #materialize(): Request {
    if (this.#real === undefined) {
      const init: RequestInit & { duplex?: 'half' } = { method: this.method, headers: this.headers, signal: this.signal }
      const req = this.#req
      if (!NO_BODY.has(req.method)) {
        if (this.#used) throw new TypeError('Body is unusable: Body has already been read')
        if (!req.complete || req.readableLength > 0) {
          init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
          init.duplex = 'half'
        }
      }
      this.#real = new Request(this.#url, init)
    }
    return this.#real
  }

  async #bytes(): Promise<Buffer> {
    if (this.#real) return Buffer.from(await this.#real.arrayBuffer())
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read')
    this.#used = true
    if (NO_BODY.has(this.#req.method)) return Buffer.alloc(0)
    return this.#req.buffer()
  }

  async text(): Promise<string> {
    return (await this.#bytes()).toString('utf8')
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#bytes()
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  }
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.#bytes())
  }
  blob(): Promise<Blob> {
    return this.#materialize().blob()
  }
  formData(): Promise<FormData> {
    return this.#materialize().formData()
  }
  clone(): Request {
    return this.#materialize().clone()
  }
  get cache(): Request['cache'] {
    return this.#materialize().cache
  }
  get credentials(): Request['credentials'] {
    return this.#materialize().credentials
  }
  get destination(): Request['destination'] {
    return this.#materialize().destination
  }
  get integrity(): string {
    return this.#materialize().integrity
  }
  get keepalive(): boolean {
    return this.#materialize().keepalive
  }
  get mode(): Request['mode'] {
    return this.#materialize().mode
  }
  get redirect(): Request['redirect'] {
    return this.#materialize().redirect
  }
  get referrer(): string {
    return this.#materialize().referrer
  }
  get referrerPolicy(): Request['referrerPolicy'] {
    return this.#materialize().referrerPolicy
  }
  get duplex(): string {
    return 'half'
  }
  get [Symbol.toStringTag](): string {
    return 'Request'
  }
}
Object.setPrototypeOf(ServerRequest.prototype, Request.prototype)
