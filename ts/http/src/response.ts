import { Stream } from 'node:stream'
import { IocrateError, errorFromInfo, isErrorInfo, type ErrorInfo } from '@iocrate/core'
import { STATUS_CODES } from 'node:http'
import { checkName, checkValue, pushField, type OutgoingHeaderValue, type OutgoingHeaders } from './headers.js'
import type { IncomingMessage } from './incoming.js'
import type { NativeHttpServer } from './native.js'

/** A chunk `write`/`end` accept. */
export type Chunk = string | Buffer | Uint8Array

function toBody(chunk: Chunk | undefined | null, encoding?: BufferEncoding): Buffer | string | undefined {
  if (chunk === undefined || chunk === null) return undefined
  if (typeof chunk === 'string') {
    return encoding === undefined || encoding === 'utf8' || encoding === 'utf-8' ? chunk : Buffer.from(chunk, encoding)
  }
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw Object.assign(new TypeError('The "chunk" argument must be of type string or an instance of Buffer or Uint8Array'), {
    code: 'ERR_INVALID_ARG_TYPE',
  })
}

type Callback = (err?: Error | null) => void

/** Told when a response is over, to forget it. @internal */
export interface ResponseOwner {
  _responseDone(res: ServerResponse): void
  /** A whole response was handed to the addon, which sends it at the next flush. */
  _scheduleFlush(): void
}

function finishResponse(res: ServerResponse): void {
  res._finish()
}

const CLOSED = 'ERR_IOCRATE_HTTP_CONNECTION_CLOSED'

// The server frames bodies itself: Content-Length must be a length, and the only
// Transfer-Encoding it can honour is chunked.
function checkFraming(name: string, value: OutgoingHeaderValue): void {
  const n = name.length
  if (n !== 14 && n !== 17) return
  const lower = name.toLowerCase()
  const v = String(Array.isArray(value) ? value[0] : value).trim()
  if (lower === 'content-length' ? !/^\d{1,15}$/.test(v) : lower === 'transfer-encoding' && v.toLowerCase() !== 'chunked') {
    throw Object.assign(new TypeError(`Invalid value "${v}" for header "${name}"`), { code: 'ERR_HTTP_INVALID_HEADER_VALUE' })
  }
}

function checkStatus(status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 999) {
    throw Object.assign(new RangeError(`Invalid status code: ${String(status)}`), { code: 'ERR_HTTP_INVALID_STATUS_CODE' })
  }
}

// Like Node, reject a bad value when it is set, not later when the head is sent.
function checkValues(name: string, value: OutgoingHeaderValue): void {
  if (Array.isArray(value)) for (const v of value as readonly unknown[]) checkValue(name, String(v))
  else checkValue(name, String(value))
}

/**
 * The response to one request, as Node's `http.ServerResponse`: `statusCode`,
 * `setHeader`/`getHeader`/`removeHeader`, `writeHead`, `write` (returns `false` past
 * the high-water mark, then `'drain'`), `end`, `addTrailers`, and the events `'finish'`
 * and `'close'`. It can be the destination of `readable.pipe(res)`.
 *
 * Framing is automatic: a response ended in one call gets `Content-Length`, a streamed
 * one `Transfer-Encoding: chunked` (unless you set `Content-Length`). `Date` is added.
 */
export class ServerResponse extends Stream {
  /** The status code sent with the head (default 200). */
  statusCode = 200
  /** Custom reason phrase; the standard one is always sent. */
  statusMessage: string | undefined
  /** Send a `Date` header (always on; the field exists for Node compatibility). */
  sendDate = true
  /** The request this answers. */
  readonly req: IncomingMessage
  #native: NativeHttpServer
  #headers = new Map<string, [string, OutgoingHeaderValue]>()
  #sent = false
  #ended = false
  #finished = false
  #closed = false
  #needDrain = false
  /** The Content-Length set by the application (null: not looked up yet). */
  #declared: number | undefined | null = null
  #written = 0
  #trailers: string | undefined
  #hwm: number

  #owner: ResponseOwner

  /** @internal */
  constructor(native: NativeHttpServer, req: IncomingMessage, highWaterMark: number, owner: ResponseOwner) {
    super()
    this.#native = native
    this.req = req
    this.#hwm = highWaterMark
    this.#owner = owner
  }

  /** Whether the head has been sent. */
  get headersSent(): boolean {
    return this.#sent
  }

  /** Whether `end()` has been called. */
  get writableEnded(): boolean {
    return this.#ended
  }

  /** Whether the response has been handed to the connection completely. */
  get writableFinished(): boolean {
    return this.#finished
  }

  /** Alias of {@link ServerResponse.writableEnded}, as in Node. */
  get finished(): boolean {
    return this.#ended
  }

  /** Whether the response is writable (not ended, connection open). */
  get writable(): boolean {
    return !this.#ended && !this.#closed
  }

  /** Whether a `write` returned `false` and `'drain'` is due. */
  get writableNeedDrain(): boolean {
    return this.#needDrain
  }

  /** Sets a header (replacing any value of the same name). */
  setHeader(name: string, value: OutgoingHeaderValue): this {
    this.#checkOpen()
    checkName(name)
    checkFraming(name, value)
    checkValues(name, value)
    this.#headers.set(name.toLowerCase(), [name, value])
    return this
  }

  /** Adds a value to a header, keeping earlier ones. */
  appendHeader(name: string, value: OutgoingHeaderValue): this {
    this.#checkOpen()
    checkName(name)
    checkValues(name, value)
    const key = name.toLowerCase()
    const prev = this.#headers.get(key)
    if (prev === undefined) this.#headers.set(key, [name, value])
    else {
      const a = Array.isArray(prev[1]) ? [...(prev[1] as string[])] : [String(prev[1])]
      if (Array.isArray(value)) a.push(...(value as string[]))
      else a.push(String(value))
      this.#headers.set(key, [prev[0], a])
    }
    return this
  }

  /** A header set so far. */
  getHeader(name: string): OutgoingHeaderValue | undefined {
    return this.#headers.get(name.toLowerCase())?.[1]
  }

  /** Every header set so far, with lower-case names. */
  getHeaders(): Record<string, OutgoingHeaderValue> {
    const o: Record<string, OutgoingHeaderValue> = Object.create(null) as Record<string, OutgoingHeaderValue>
    for (const [k, [, v]] of this.#headers) o[k] = v
    return o
  }

  /** Names of the headers set so far (lower case). */
  getHeaderNames(): string[] {
    return [...this.#headers.keys()]
  }

  /** Whether a header is set. */
  hasHeader(name: string): boolean {
    return this.#headers.has(name.toLowerCase())
  }

  /** Removes a header. */
  removeHeader(name: string): void {
    this.#checkOpen()
    this.#headers.delete(name.toLowerCase())
  }

  /**
   * Sets the status and (optionally) headers; the head goes out with the first
   * `write` or `end`. Like Node: `writeHead(status, [statusMessage], [headers])`.
   */
  writeHead(statusCode: number, statusMessage?: string | OutgoingHeaders, headers?: OutgoingHeaders): this {
    this.#checkOpen()
    if (typeof statusMessage !== 'string') {
      headers = statusMessage
      statusMessage = undefined
    }
    checkStatus(statusCode)
    this.statusCode = statusCode
    if (statusMessage !== undefined) this.statusMessage = statusMessage
    if (headers === undefined) return this
    if (Array.isArray(headers)) {
      const list = headers as readonly unknown[]
      if (list.length > 0 && Array.isArray(list[0])) {
        for (const [n, v] of list as readonly (readonly [string, OutgoingHeaderValue])[]) this.appendHeader(n, v)
      } else {
        for (let i = 0; i + 1 < list.length; i += 2) this.appendHeader(list[i] as string, list[i + 1] as string)
      }
    } else {
      for (const [n, v] of Object.entries(headers as Record<string, OutgoingHeaderValue | undefined>)) {
        if (v !== undefined) this.setHeader(n, v)
      }
    }
    return this
  }

  /** Sends the head now, without body bytes. */
  flushHeaders(): void {
    if (!this.#sent && !this.#ended) this.#respond(undefined, false)
  }

  /** Trailer fields to send after a chunked body. */
  addTrailers(headers: Record<string, OutgoingHeaderValue> | readonly (readonly [string, string])[]): void {
    const parts: string[] = []
    const entries = Array.isArray(headers) ? headers : Object.entries(headers)
    for (const [n, v] of entries as Iterable<[string, OutgoingHeaderValue]>) {
      checkName(n)
      pushField(parts, n, v)
    }
    this.#trailers = parts.join('\0')
  }

  /**
   * Writes body bytes. Returns `false` once the connection's queue passes the
   * high-water mark; wait for `'drain'` before writing more.
   */
  write(chunk: Chunk, encoding?: BufferEncoding | Callback, cb?: Callback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.#ended) {
      const err = new IocrateError('ERR_STREAM_WRITE_AFTER_END', 'write after end')
      process.nextTick(() => {
        cb?.(err)
        this.emit('error', err)
      })
      return false
    }
    const body = toBody(chunk, encoding)
    this.#count(body, false)
    const r = this.#sent ? this.#native.write(this.req._id, body ?? '') : this.#respond(body, false)
    if (cb) process.nextTick(cb, isErrorInfo(r) ? errorFromInfo(r) : null)
    if (isErrorInfo(r)) return false
    if ((r as number) >= this.#hwm) {
      this.#needDrain = true
      return false
    }
    return true
  }

  /** Ends the response, with an optional last chunk. */
  end(chunk?: Chunk | Callback, encoding?: BufferEncoding | Callback, cb?: Callback): this {
    if (typeof chunk === 'function') {
      cb = chunk
      chunk = undefined
    } else if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.#ended) {
      if (cb) process.nextTick(cb)
      return this
    }
    const body = toBody(chunk as Chunk | undefined, encoding as BufferEncoding | undefined)
    this.#count(body, true)
    if (!this.#sent && this.#trailers !== undefined) {
      // Trailers need chunked framing: send the head open, then end with them.
      if (!this.hasHeader('content-length')) this.setHeader('Transfer-Encoding', 'chunked')
      const h = this.#respond(undefined, false)
      if (isErrorInfo(h)) {
        this.#ended = true
        if (cb) process.nextTick(cb, errorFromInfo(h))
        return this
      }
    }
    this.#ended = true
    const r = this.#sent ? this.#native.end(this.req._id, body, this.#trailers) : this.#respond(body, true)
    if (isErrorInfo(r)) {
      if (cb) process.nextTick(cb, errorFromInfo(r))
      return this
    }
    if (cb) this.once('finish', cb)
    process.nextTick(finishResponse, this)
    return this
  }

  /** Closes the connection at once (the response is cut off). */
  destroy(error?: Error): this {
    if (this.#closed) return this
    this.#native.destroy(this.req._id)
    this._close()
    if (error) this.emit('error', error)
    return this
  }

  /** `100 Continue` is sent automatically when a request expects it; kept for Node compatibility. */
  writeContinue(): void {}

  /** Node compatibility: no per-response socket timeout here (see the server's timeouts). */
  setTimeout(_ms: number, callback?: () => void): this {
    if (callback) this.once('timeout', callback)
    return this
  }

  /**
   * With a `Content-Length` set, the body must have exactly that many bytes (as Node
   * checks): more, or fewer at `end()`, throws `ERR_HTTP_CONTENT_LENGTH_MISMATCH` rather
   * than letting the connection break. Not checked for HEAD, 204 and 304.
   */
  #count(body: Buffer | string | undefined, end: boolean): void {
    // Until the head is sent the application may still change the header or status.
    if (!this.#sent || this.#declared === null) {
      const v = this.#headers.get('content-length')?.[1]
      this.#declared = v === undefined || this.req.method === 'HEAD' || this.statusCode === 204 || this.statusCode === 304 ? undefined : Number(v)
    }
    const declared = this.#declared
    if (declared === undefined) return
    const n = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length
    const total = this.#written + n
    if (total > declared || (end && total < declared)) {
      throw Object.assign(new Error(`Response body's content-length of ${total} byte(s) does not match the content-length of ${declared} byte(s) set in header`), {
        code: 'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
      })
    }
    this.#written = total
  }

  #checkOpen(): void {
    if (this.#sent) {
      throw new IocrateError('ERR_HTTP_HEADERS_SENT', 'Cannot set headers after they are sent to the client')
    }
  }

  // Values were checked when set; this only joins them as `name\0value\0…`.
  #fields(): string {
    let out = ''
    for (const [name, value] of this.#headers.values()) {
      if (Array.isArray(value)) {
        for (const v of value as readonly string[]) out = out === '' ? `${name}\0${v}` : `${out}\0${name}\0${v}`
      } else out = out === '' ? `${name}\0${String(value)}` : `${out}\0${name}\0${String(value)}`
    }
    return out
  }

  #respond(body: Buffer | string | undefined, end: boolean): number | ErrorInfo {
    checkStatus(this.statusCode)
    this.#sent = true
    const r = this.#native.respond(this.req._id, this.statusCode, this.#fields(), body, end)
    if (end) this.#owner._scheduleFlush()
    if (isErrorInfo(r) && r.code !== CLOSED) {
      // The head was refused (a header the JS checks let through): nothing can be sent
      // for this request any more, so close its connection rather than leave the client
      // waiting, and report the error.
      this.#native.destroy(this.req._id)
      const err = errorFromInfo(r)
      process.nextTick(() => {
        this._close()
        if (this.listenerCount('error') > 0) this.emit('error', err)
      })
    }
    return r
  }

  /** The response was handed over completely. @internal */
  _finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.emit('finish')
    this._close()
    this.#owner._responseDone(this)
  }

  /** Queued bytes drained. @internal */
  _drain(): void {
    if (this.#needDrain) {
      this.#needDrain = false
      this.emit('drain')
    }
  }

  /** The exchange is over (finished or aborted). @internal */
  _close(): void {
    if (this.#closed) return
    this.#closed = true
    this.emit('close')
  }
}

/** The standard reason phrase of a status code. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown'
}
