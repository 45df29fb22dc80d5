import { BodyReadable } from './body.js'
import { IocrateError } from '@iocrate/core'
import { combineHeaders, type IncomingHttpHeaders } from './headers.js'
import type { NativeHttpServer } from './native.js'

/** Where a request came from (the part of Node's `req.socket` handlers use). */
export interface RequestSocketInfo {
  /** The client's IP address. */
  readonly remoteAddress: string
  /** The client's port. */
  readonly remotePort: number
  /** `true` for HTTPS. */
  readonly encrypted: boolean
}

const FLAG_BODY = 1
const FLAG_HTTP10 = 2
const EMPTY: readonly string[] = []

/**
 * A request, as Node's `http.IncomingMessage`: a Readable of the body with `method`,
 * `url`, `headers`, `rawHeaders`, `httpVersion`, `trailers`, plus `text()`, `json()`
 * and `arrayBuffer()` to read the whole body. A client that disconnects before the
 * body is complete destroys the stream with an `ECONNRESET` error (`'aborted'`).
 */
export class IncomingMessage extends BodyReadable {
  /** The request method, as sent (`GET`, `PROPFIND`, …). */
  readonly method: string
  /** The request target, as sent (`/path?query`, or an absolute form). */
  readonly url: string
  /** `1.1` or `1.0`. */
  readonly httpVersion: string
  /** `1`. */
  readonly httpVersionMajor = 1
  /** `1` or `0`. */
  readonly httpVersionMinor: number
  /** The client's address. */
  #socket: RequestSocketInfo | undefined
  #encrypted: boolean
  /** Whether the whole body has been received. */
  complete: boolean
  /** Trailer fields of a chunked body (lower-case names), once it is complete. */
  trailers: IncomingHttpHeaders = {}
  /** Trailer fields as received: `[name, value, …]`. */
  rawTrailers: readonly string[] = EMPTY
  /** @internal */
  readonly _id: number
  #parts: string[]
  #headers: IncomingHttpHeaders | undefined
  #raw: string[] | undefined
  #native: NativeHttpServer
  #paused = false
  #aborted = false
  #ended = false

  /** @internal */
  constructor(native: NativeHttpServer, parts: string[], encrypted: boolean) {
    super()
    this.#native = native
    this.#parts = parts
    this._id = +(parts[0] as string)
    const flags = +(parts[1] as string)
    this.method = parts[2] as string
    this.url = parts[3] as string
    const v10 = (flags & FLAG_HTTP10) !== 0
    this.httpVersion = v10 ? '1.0' : '1.1'
    this.httpVersionMinor = v10 ? 0 : 1
    this.#encrypted = encrypted
    // Without a body the stream ends when first read (see _read): pushing the end here
    // would schedule stream work for every GET, read or not.
    this.complete = (flags & FLAG_BODY) === 0
  }

  /** The client's address (built on first use). */
  get socket(): RequestSocketInfo {
    return (this.#socket ??= { remoteAddress: this.#parts[4] as string, remotePort: +(this.#parts[5] as string), encrypted: this.#encrypted })
  }

  /** Alias of {@link IncomingMessage.socket}, as in Node. */
  get connection(): RequestSocketInfo {
    return this.socket
  }

  /** Header fields with lower-case names (built on first use). */
  get headers(): IncomingHttpHeaders {
    return (this.#headers ??= combineHeaders(this.#parts, 6))
  }

  /** Header fields as received: `[name, value, …]`, names in their original case. */
  get rawHeaders(): string[] {
    return (this.#raw ??= this.#parts.slice(6))
  }

  /** Whether the client went away before the exchange finished. */
  get aborted(): boolean {
    return this.#aborted
  }

  /** @internal */
  override _read(): void {
    if (this.complete && !this.#ended) {
      this.#ended = true
      this.push(null)
      return
    }
    if (this.#paused) {
      this.#paused = false
      this.#native.pauseBody(this._id, false)
    }
  }

  /** A body chunk arrived. @internal */
  _onData(chunk: Buffer): void {
    if (!this.push(chunk) && !this.#paused) {
      this.#paused = true
      this.#native.pauseBody(this._id, true)
    }
  }

  /**
   * As Node: the `'aborted'` error is emitted only when someone listens for `'error'`
   * (a handler that never reads the body must not crash the process when the client
   * goes away; `for await`, `text()` and `pipe` listen, so they still see it). @internal
   */
  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    cb(err && this.listenerCount('error') > 0 ? err : null)
  }

  /** The body is complete. @internal */
  _onEnd(trailers: string[] | undefined): void {
    this.complete = true
    this.#ended = true
    if (trailers !== undefined) {
      this.rawTrailers = trailers
      this.trailers = combineHeaders(trailers)
    }
    this.push(null)
  }

  /** The connection closed before the exchange finished. @internal */
  _onAbort(): void {
    this.#aborted = true
    if (!this.complete) {
      this.emit('aborted')
      this.destroy(new IocrateError('ECONNRESET', 'aborted'))
    }
  }
}
