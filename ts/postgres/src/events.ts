// Reads the event tape PgWire.feed returns (bindings/node/src/postgres.rs documents it).
// Rows arrive as typed cells, so nothing here parses numbers, dates or CRLFs.

const NULL = 0
const BOOL = 1
const I16 = 2
const I32 = 3
const I64 = 4
const F32 = 5
const F64 = 6
const TEXT = 7
const BYTES = 8
const JSON_ = 9
const DATE = 10
const TIMESTAMP = 11
const TIMESTAMPTZ = 12
const ARRAY = 13

/** How 64-bit integers (int8, and count(*)) come back. */
export type Int8Mode = 'string' | 'bigint' | 'number'

/** A value of a column. */
export type PgValue = string | number | bigint | boolean | null | Date | Buffer | PgJson | PgValue[]
/** A parsed json/jsonb value. */
export type PgJson = string | number | boolean | null | PgJson[] | { [key: string]: PgJson }

interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string
}

/** @internal */
export class EventReader {
  readonly b: Buffer
  pos = 0

  constructor(b: Buffer) {
    this.b = b
  }

  get done(): boolean {
    return this.pos >= this.b.length
  }

  u8(): number {
    return this.b[this.pos++]!
  }

  u16(): number {
    const v = this.b.readUInt16LE(this.pos)
    this.pos += 2
    return v
  }

  i16(): number {
    const v = this.b.readInt16LE(this.pos)
    this.pos += 2
    return v
  }

  u32(): number {
    const v = this.b.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }

  i32(): number {
    const v = this.b.readInt32LE(this.pos)
    this.pos += 4
    return v
  }

  str(): string {
    const n = this.u32()
    const p = this.pos
    this.pos = p + n
    // Buffer#utf8Slice: toString('utf8', ...) without the encoding lookup.
    return (this.b as unknown as Utf8Sliceable).utf8Slice(p, p + n)
  }

  bytes(): Buffer {
    const n = this.u32()
    const p = this.pos
    this.pos = p + n
    return this.b.subarray(p, p + n)
  }

  /** One cell of a row. */
  cell(int8: Int8Mode): PgValue {
    const b = this.b
    const tag = b[this.pos++]
    switch (tag) {
      case NULL:
        return null
      case I32: {
        const v = b.readInt32LE(this.pos)
        this.pos += 4
        return v
      }
      case TEXT:
        return this.str()
      case I64: {
        const v = b.readBigInt64LE(this.pos)
        this.pos += 8
        return int8 === 'bigint' ? v : int8 === 'number' ? Number(v) : v.toString()
      }
      case BOOL:
        return b[this.pos++] === 1
      case F64: {
        const v = b.readDoubleLE(this.pos)
        this.pos += 8
        return v
      }
      case I16: {
        const v = b.readInt16LE(this.pos)
        this.pos += 2
        return v
      }
      case F32: {
        const v = b.readFloatLE(this.pos)
        this.pos += 4
        return v
      }
      case BYTES:
        return Buffer.from(this.bytes())
      case JSON_:
        return JSON.parse(this.str()) as PgJson
      case DATE: {
        const ms = b.readDoubleLE(this.pos)
        this.pos += 8
        // 'infinity' and '-infinity' have no Date: they come back as ±Infinity.
        return Number.isFinite(ms) ? new Date(ms) : ms
      }
      case TIMESTAMP:
      case TIMESTAMPTZ: {
        const ms = b.readDoubleLE(this.pos)
        this.pos += 12 // + i32 extra microseconds, below a Date's resolution
        return Number.isFinite(ms) ? new Date(ms) : ms
      }
      case ARRAY: {
        const nd = this.u32()
        if (nd === 0) return []
        const dims: number[] = []
        for (let i = 0; i < nd; i++) dims.push(this.u32())
        return this.#array(dims, 0, int8)
      }
      default:
        throw new Error(`iocrate postgres: corrupt row tape (tag ${String(tag)})`)
    }
  }

  #array(dims: number[], d: number, int8: Int8Mode): PgValue[] {
    const n = dims[d]!
    const out = new Array<PgValue>(n)
    for (let i = 0; i < n; i++) out[i] = d + 1 < dims.length ? this.#array(dims, d + 1, int8) : this.cell(int8)
    return out
  }
}
