// Reads the tape the addon's RESP decoder produces (crates/redis, `tape` module): every
// value is a tag byte and a little-endian body, so nothing here scans for CRLF or parses
// decimal lengths. The addon has validated the bytes; this trusts their structure.

import { ReplyError } from './errors.js'

const SIMPLE = 1
const ERROR = 2
const INT = 3
const BULK = 4
const NULL = 5
const ARRAY = 6
const MAP = 7
const SET = 8
const PUSH = 9
const DOUBLE = 10
const BOOL = 11
const BIGNUM = 12
const VERBATIM = 13
const BLOBERR = 14
const ATTR = 15

/**
 * A decoded reply. Bulk and simple strings are `string` (or `Buffer` when asked for);
 * integers are `number` (a `bigint` beyond 2^53); RESP3 maps are `Map`s, sets and pushes
 * arrays; an error inside an aggregate (e.g. in `EXEC`'s results) is a {@link ReplyError}.
 */
export type RedisReply =
  | string
  | Buffer
  | number
  | bigint
  | boolean
  | null
  | ReplyError
  | RedisReply[]
  | Map<RedisReply, RedisReply>

/** A reader over one tape Buffer. @internal */
export class TapeReader {
  buf: Buffer
  pos = 0
  /** The last value read was a RESP3 push (out-of-band: pub/sub, invalidation). */
  push = false

  constructor(buf: Buffer) {
    this.buf = buf
  }

  get done(): boolean {
    return this.pos >= this.buf.length
  }

  /** Reads one top-level value; `buffers` returns bulk strings as Buffers. */
  next(buffers: boolean): RedisReply {
    this.push = this.buf[this.pos] === PUSH
    return this.#value(buffers)
  }

  #u32(): number {
    const b = this.buf
    const p = this.pos
    this.pos = p + 4
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000
  }

  #str(buffers: boolean): string | Buffer {
    const n = this.#u32()
    const p = this.pos
    this.pos = p + n
    return buffers ? this.buf.subarray(p, p + n) : this.buf.toString('utf8', p, p + n)
  }

  #value(buffers: boolean): RedisReply {
    const b = this.buf
    const tag = b[this.pos++]
    switch (tag) {
      case BULK:
        return this.#str(buffers)
      case SIMPLE:
        return this.#str(false)
      case INT: {
        const v = b.readBigInt64LE(this.pos)
        this.pos += 8
        return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v
      }
      case NULL:
        return null
      case ARRAY:
      case SET:
      case PUSH: {
        const n = this.#u32()
        const out = new Array<RedisReply>(n)
        for (let i = 0; i < n; i++) out[i] = this.#value(buffers)
        return out
      }
      case MAP: {
        const n = this.#u32()
        const m = new Map<RedisReply, RedisReply>()
        for (let i = 0; i < n; i++) {
          const k = this.#value(buffers)
          m.set(k, this.#value(buffers))
        }
        return m
      }
      case ERROR:
      case BLOBERR:
        return new ReplyError(this.#str(false) as string)
      case DOUBLE: {
        const v = b.readDoubleLE(this.pos)
        this.pos += 8
        return v
      }
      case BOOL:
        return b[this.pos++] === 1
      case BIGNUM:
        return BigInt(this.#str(false) as string)
      case VERBATIM: {
        const n = this.#u32()
        this.pos += 3
        const p = this.pos
        this.pos = p + n
        return buffers ? b.subarray(p, p + n) : b.toString('utf8', p, p + n)
      }
      case ATTR: {
        // Attributes annotate the value that follows; they are read and dropped.
        const n = this.#u32()
        for (let i = 0; i < 2 * n; i++) this.#value(buffers)
        return this.#value(buffers)
      }
      default:
        throw new Error(`iocrate redis: corrupt tape (tag ${String(tag)} at ${this.pos - 1})`)
    }
  }
}
