import * as nodeNet from 'node:net'
import { Readable, Writable } from 'node:stream'
import * as nodeTls from 'node:tls'
import { IocrateError, errorFromInfo, isErrorInfo, native, type ErrorInfo } from '@iocrate/core'
import { PgClientError, PgErrorCodes, PostgresError } from './errors.js'
import { EventReader, type Int8Mode, type PgValue } from './events.js'

/** TLS for a connection: `true` verifies against the system roots; or node:tls settings. */
export type SslOptions = boolean | { ca?: string | Buffer | Array<string | Buffer>; rejectUnauthorized?: boolean; servername?: string; cert?: string | Buffer; key?: string | Buffer }

/** Settings of one connection. @internal */
export interface PgConnectionOptions {
  host: string
  port: number
  /** Unix socket directory (`/run/postgresql`): connects to `<dir>/.s.PGSQL.<port>`. */
  socketDir?: string | undefined
  user: string
  password?: string | undefined
  database: string
  ssl: SslOptions
  applicationName?: string | undefined
  connectTimeout: number
  int8: Int8Mode
  /** Extra startup parameters (`options`, `search_path`, ...). */
  params?: Record<string, string> | undefined
  /** Named prepared statements, reused per query text (default true; off for transaction-mode poolers). */
  prepare: boolean
  /** Parsers for values of other types, by type OID: they get the text PostgreSQL prints. */
  types?: Readonly<Record<number, (text: string) => unknown>> | undefined
  /** Largest backend message accepted, in bytes (default 1 GiB − 1). */
  maxMessageSize?: number | undefined
  /** Rows of prepared statements in binary format from their second run (default true). */
  binary?: boolean | undefined
}

/** What a query resolves to: the rows, and the command's tag. */
export interface QueryResult<Row = Record<string, PgValue>> {
  /** The rows (objects keyed by column name, or arrays with `rowMode: 'array'`). */
  rows: Row[]
  /** Column names, in order. */
  columns: string[]
  /** `SELECT`, `INSERT`, `UPDATE`, ... */
  command: string
  /** Rows affected or returned, from the command tag. */
  count: number
}

/** Per-query options. */
export interface QueryOptions {
  /** Rows as arrays instead of objects. */
  rowMode?: 'object' | 'array'
  /** Cancels the query on the server (a real CancelRequest) and rejects with `ABORT_ERR`. */
  signal?: AbortSignal
  /** Cancels the query on the server after this many ms and rejects with `ERR_PG_TIMEOUT`. */
  timeout?: number
}

/** Options of a cursor. */
export interface CursorOptions extends QueryOptions {
  /** Rows per batch (and the most rows held at once). Default 1000. */
  batchSize?: number
}

/** A query parameter: strings as text, Buffers as bytea, numbers/bigints/booleans/Dates/objects converted. */
export type PgParam = string | number | bigint | boolean | Date | Buffer | null | undefined | PgParam[] | { [key: string]: unknown }

/** A prepared statement: its name, and the result formats learned from its first run. */
interface Statement {
  name: string
  /** A byte per column (1 binary, 0 text); unknown until the first RowDescription. */
  formats: Buffer | undefined
  /** Its columns and their type OIDs, from the first RowDescription. */
  columns?: string[] | undefined
  oids?: number[] | undefined
}

interface Pending {
  kind: 'query' | 'cursor' | 'copyIn' | 'copyOut'
  resolve: (r: QueryResult<unknown>) => void
  reject: (e: Error) => void
  rowMode: 'object' | 'array'
  columns: string[]
  oids: number[]
  rows: unknown[]
  command: string
  count: number
  error: Error | undefined
  /** A statement this query prepared: forgotten if the query fails. */
  prepared?: string | undefined
  /** The cached statement it runs, to learn its result formats from. */
  stmt?: Statement | undefined
  /** Why we asked the server to cancel it. */
  cancelled?: 'abort' | 'timeout' | undefined
  cancelSent?: boolean | undefined
  cleanup?: (() => void) | undefined
  /** Cursor: a batch is complete (PortalSuspended) or the result ended. */
  onBatch?: ((rows: unknown[], done: boolean) => void) | undefined
  /** COPY: the server is ready for data / sends data / is done. */
  onCopyIn?: (() => void) | undefined
  onCopyData?: ((b: Buffer) => void) | undefined
  onCopyOut?: (() => void) | undefined
  /** Builds one row object from the tape (see rowMaker). */
  makeRow?: RowMaker | undefined
}

type RowMaker = (r: EventReader, int8: Int8Mode) => Record<string, PgValue>

const makers = new Map<string, RowMaker>()

/**
 * A function building row objects for these columns. One object literal per column set
 * (`{ "id": r.cell(m), "name": r.cell(m) }`) gives every row the same shape at once,
 * several times faster than adding the properties one by one. Column names are JSON-quoted
 * into the source; a `__proto__` column, or a runtime that forbids code generation, gets
 * the plain loop.
 */
function rowMaker(columns: string[]): RowMaker {
  const key = columns.join('\u0000')
  let m = makers.get(key)
  if (m !== undefined) return m
  const loop: RowMaker = (r, int8) => {
    const row: Record<string, PgValue> = {}
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!
      // `row.__proto__ = v` would set the prototype (or do nothing): define a plain property.
      if (c === '__proto__') Object.defineProperty(row, c, { value: r.cell(int8), enumerable: true, writable: true, configurable: true })
      else row[c] = r.cell(int8)
    }
    return row
  }
  m = loop
  if (!columns.includes('__proto__') && columns.length <= 256) {
    try {
      m = new Function('r', 'm', `return {${columns.map((c) => `${JSON.stringify(c)}: r.cell(m)`).join(', ')}}`) as RowMaker
    } catch {
      m = loop
    }
  }
  if (makers.size > 1000) makers.clear()
  makers.set(key, m)
  return m
}

type Encoded = Buffer | ErrorInfo

function unwrapEncoded(b: Encoded): Buffer {
  if (isErrorInfo(b)) throw new PgClientError(b.code, b.message)
  return b
}

/** A parameter as the text PostgreSQL parses, or a Buffer (bytea, sent binary). @internal */
export function encodeParam(v: PgParam): string | Buffer | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v)
  if (typeof v === 'bigint') return String(v)
  if (typeof v === 'boolean') return v ? 't' : 'f'
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Date) return dateParam(v)
  if (Array.isArray(v)) return arrayLiteral(v)
  return JSON.stringify(v)
}

// A Date as timestamptz input: ISO for years 1..9999, else PostgreSQL's own form (the
// year in full, `BC` for year 0 and before, which is 1 BC).
function dateParam(d: Date): string {
  const t = d.getTime()
  if (Number.isNaN(t)) throw new PgClientError(PgErrorCodes.ENCODE, 'an Invalid Date cannot be sent as a parameter')
  const y = d.getUTCFullYear()
  if (y >= 1 && y <= 9999) return d.toISOString()
  const iso = d.toISOString()
  const rest = iso.slice(iso.indexOf('-', 1))
  return y <= 0 ? `${String(1 - y).padStart(4, '0')}${rest} BC` : `${y}${rest}`
}

function arrayLiteral(a: PgParam[]): string {
  const parts = a.map((x) => {
    if (x === null || x === undefined) return 'NULL'
    if (Array.isArray(x)) return arrayLiteral(x)
    const s = Buffer.isBuffer(x) ? '\\x' + x.toString('hex') : (encodeParam(x) as string)
    return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
  })
  return '{' + parts.join(',') + '}'
}

/**
 * One connection: startup and authentication (trust, cleartext, md5, SCRAM-SHA-256 and
 * -PLUS over TLS), then queries pipelined on the extended protocol, each ending with its
 * own Sync so an error fails exactly that query. @internal
 */
export class PgConnection {
  readonly options: PgConnectionOptions
  /** Server parameters (server_version, TimeZone, ...). */
  readonly parameters = new Map<string, string>()
  processId = 0
  secret: Buffer = Buffer.alloc(0)
  /** `I` idle, `T` in a transaction, `E` in a failed transaction. */
  status = 'I'
  closed = false
  onNotice: ((n: PostgresError) => void) | undefined
  onNotification: ((channel: string, payload: string, pid: number) => void) | undefined
  onClose: ((err: Error | undefined) => void) | undefined
  #s: nodeNet.Socket
  #wire: InstanceType<typeof native.PgWire>
  #queue: Pending[] = []
  #head = 0
  #out: Buffer[] = []
  #scheduled = false
  #error: Error | undefined
  #startup: { resolve: () => void; reject: (e: Error) => void; scram?: InstanceType<typeof native.PgScram> } | undefined
  #cert: Buffer | undefined
  /** Prepared statements by query text (insertion order = age). */
  #statements = new Map<string, Statement>()
  #nextStatement = 0
  /** A cursor or COPY owns the connection: later queries wait in `#deferred`. */
  #exclusive = false
  /** Reads come through the socket's `onread` buffer rather than 'data' events. */
  #viaOnread = false
  /** The last CommandComplete tag, parsed. */
  #lastTag: { bytes: Buffer; command: string; count: number } | undefined
  /** close() was called: later queries fail with ERR_PG_CLOSED. */
  #ended = false
  #deferred: Array<() => void> = []

  private constructor(o: PgConnectionOptions, s: nodeNet.Socket) {
    this.options = o
    this.#s = s
    this.#wire = new native.PgWire(o.maxMessageSize)
  }

  /** Connects, negotiates TLS, authenticates, and waits for ReadyForQuery. */
  static async open(o: PgConnectionOptions): Promise<PgConnection> {
    // Without TLS, reads land in one reused buffer (the codec copies what it keeps): no
    // Readable machinery and no Buffer per read. TLS needs the stream (SSLRequest first).
    const plain = o.ssl === false || o.socketDir !== undefined
    let reader: ((buf: Buffer) => void) | undefined
    const onread = plain
      ? {
          buffer: Buffer.allocUnsafe(64 * 1024),
          callback: (n: number, buf: Uint8Array): boolean => {
            reader?.(Buffer.from(buf.buffer, buf.byteOffset, n))
            return true
          },
        }
      : undefined
    let sock: nodeNet.Socket =
      o.socketDir !== undefined
        ? nodeNet.connect({ path: `${o.socketDir}/.s.PGSQL.${o.port}`, ...(onread ? { onread } : {}) })
        : nodeNet.connect({ host: o.host, port: o.port, noDelay: true, keepAlive: true, ...(onread ? { onread } : {}) })
    const timer = o.connectTimeout > 0 ? setTimeout(() => sock.destroy(new PgClientError('ETIMEDOUT', `connecting to PostgreSQL timed out after ${o.connectTimeout} ms`)), o.connectTimeout) : undefined
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve)
        sock.once('error', reject)
      })
      let cert: Buffer | undefined
      if (o.ssl !== false && o.socketDir === undefined) {
        sock.write(unwrapEncoded(native.PgEncode.sslRequest()))
        const [answer] = (await new Promise<[Buffer]>((resolve, reject) => {
          sock.once('data', (d: Buffer) => resolve([d]))
          sock.once('error', reject)
        }))
        // One byte, nothing after it: bytes the server sent before the handshake must not be
        // taken as encrypted data (CVE-2021-23222).
        if (answer.length !== 1 || answer[0] !== 0x53) {
          sock.destroy()
          throw new PgClientError(PgErrorCodes.TLS_REFUSED, answer[0] === 0x4e ? 'the server does not accept TLS connections' : 'unexpected answer to SSLRequest')
        }
        const t = o.ssl === true ? {} : o.ssl
        const ca = t.ca === undefined ? undefined : Array.isArray(t.ca) ? t.ca : [t.ca]
        const tlsSock = nodeTls.connect({
          socket: sock,
          servername: t.servername ?? (nodeNet.isIP(o.host) ? undefined : o.host),
          ...(ca ? { ca } : {}),
          ...(t.cert ? { cert: t.cert } : {}),
          ...(t.key ? { key: t.key } : {}),
          rejectUnauthorized: t.rejectUnauthorized ?? true,
          ...(nodeNet.isIP(o.host) && t.servername === undefined ? { checkServerIdentity: (_h: string, c: nodeTls.PeerCertificate) => nodeTls.checkServerIdentity(o.host, c) } : {}),
        })
        await new Promise<void>((resolve, reject) => {
          tlsSock.once('secureConnect', resolve)
          tlsSock.once('error', reject)
        })
        cert = tlsSock.getPeerCertificate().raw
        sock = tlsSock
      }
      const c = new PgConnection(o, sock)
      c.#cert = cert
      if (onread) {
        c.#viaOnread = true
        reader = (b) => c.#data(b)
      }
      await c.#begin()
      return c
    } catch (err) {
      sock.destroy()
      throw err
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  #begin(): Promise<void> {
    const o = this.options
    const s = this.#s
    s.removeAllListeners('error')
    if (!this.#viaOnread) s.on('data', (d: Buffer) => this.#data(d))
    s.on('error', (err) => (this.#error ??= err))
    s.once('close', () => this.#closed())
    const params: string[][] = [
      ['user', o.user],
      ['database', o.database],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO, MDY'],
      ['application_name', o.applicationName ?? 'iocrate'],
    ]
    for (const [k, v] of Object.entries(o.params ?? {})) params.push([k, v])
    return new Promise<void>((resolve, reject) => {
      this.#startup = { resolve, reject }
      s.write(unwrapEncoded(native.PgEncode.startup(params)))
    })
  }

  #data(d: Buffer): void {
    const r = this.#wire.feed(d)
    if (r == null) return
    try {
      if (Buffer.isBuffer(r)) return this.#events(r)
      const done = this.#wire.takeCompleted()
      if (done !== null) this.#events(done)
    } catch (err) {
      // A listener of ours threw, or the tape is not what we expect: never carry on with a
      // connection whose replies may now go to the wrong query.
      return this.destroy(new PgClientError(PgErrorCodes.PROTOCOL, `iocrate postgres: ${(err as Error).message}`, { cause: err }))
    }
    this.destroy(new PgClientError(r.code, r.message))
  }

  #events(tape: Buffer): void {
    const r = new EventReader(tape)
    while (!r.done) {
      const t = r.u8()
      switch (t) {
        case 0x44 /* D */: {
          const end = r.u32() + r.pos
          const p = this.#queue[this.#head]
          if (p === undefined) {
            r.pos = end
            break
          }
          const n = p.columns.length
          const int8 = this.options.int8
          if (this.options.types !== undefined) {
            p.rows.push(this.#customRow(r, p, int8))
          } else if (p.rowMode === 'array') {
            const row = new Array<PgValue>(n)
            for (let i = 0; i < n; i++) row[i] = r.cell(int8)
            p.rows.push(row)
          } else {
            const make = (p.makeRow ??= rowMaker(p.columns))
            p.rows.push(make(r, int8))
          }
          r.pos = end
          break
        }
        case 0x54 /* T */: {
          const n = r.u16()
          const p = this.#queue[this.#head]
          const known = p?.stmt?.columns
          if (known !== undefined && known.length === n) {
            // A prepared statement's columns do not change: skip the names, no new strings.
            for (let i = 0; i < n; i++) {
              const len = r.u32()
              r.pos += len + 10
            }
            p!.columns = known
            p!.oids = p!.stmt!.oids!
            break
          }
          const cols: string[] = []
          const oids: number[] = []
          for (let i = 0; i < n; i++) {
            cols.push(r.str())
            oids.push(r.u32())
            r.pos += 6
          }
          if (p) {
            p.columns = cols
            p.oids = oids
            if (p.stmt !== undefined) {
              if (p.stmt.formats === undefined && this.options.binary) p.stmt.formats = native.pgBinaryFormats(oids)
              p.stmt.columns = cols
              p.stmt.oids = oids
            }
          }
          break
        }
        case 0x43 /* C */: {
          // Most tags repeat (`SELECT 1`): parse a tag only when it differs from the last.
          const len = r.b.readUInt32LE(r.pos)
          const at = r.pos + 4
          r.pos = at + len
          const last = this.#lastTag
          if (last === undefined || last.bytes.length !== len || r.b.compare(last.bytes, 0, len, at, at + len) !== 0) {
            const tag = r.b.toString('utf8', at, at + len)
            const sp = tag.indexOf(' ')
            const end = tag.lastIndexOf(' ')
            this.#lastTag = { bytes: Buffer.from(r.b.subarray(at, at + len)), command: sp < 0 ? tag : tag.slice(0, sp), count: end < 0 ? 0 : Number(tag.slice(end + 1)) || 0 }
          }
          const tag = this.#lastTag!
          const p = this.#queue[this.#head]
          if (p) {
            p.command = tag.command
            p.count = tag.count
            // A cursor runs without Sync until its end: close the cycle now.
            if (p.kind === 'cursor') this.#write(unwrapEncoded(native.PgEncode.sync()))
          }
          break
        }
        case 0x5a /* Z */: {
          this.status = String.fromCharCode(r.u8())
          const st = this.#startup
          if (st !== undefined) {
            this.#startup = undefined
            st.resolve()
            break
          }
          const p = this.#queue[this.#head]
          if (p === undefined) break
          this.#queue[this.#head++] = undefined as unknown as Pending
          if (this.#head === this.#queue.length) {
            this.#queue.length = 0
            this.#head = 0
          }
          this.#finish(p)
          break
        }
        case 0x45 /* E */:
        case 0x4e /* N */: {
          const n = r.u8()
          const fields = new Map<string, string>()
          for (let i = 0; i < n; i++) {
            const code = String.fromCharCode(r.u8())
            fields.set(code, r.str())
          }
          const e = new PostgresError(fields)
          if (t === 0x4e) {
            this.onNotice?.(e)
            break
          }
          const st = this.#startup
          if (st !== undefined) {
            // Authentication or startup refused (28P01, 3D000, ...): the server closes.
            this.#startup = undefined
            st.reject(e)
            break
          }
          const p = this.#queue[this.#head]
          if (p) {
            p.error ??= e
            // A cursor runs without Sync: the server now skips to one, so send it.
            if (p.kind === 'cursor') this.#write(unwrapEncoded(native.PgEncode.sync()))
          }
          break
        }
        case 0x52 /* R */:
          this.#auth(r)
          break
        case 0x53 /* S */: {
          const k = r.str()
          this.parameters.set(k, r.str())
          break
        }
        case 0x4b /* K */:
          this.processId = r.i32()
          this.secret = Buffer.from(r.bytes())
          break
        case 0x41 /* A */: {
          const pid = r.i32()
          const channel = r.str()
          this.onNotification?.(channel, r.str(), pid)
          break
        }
        case 0x74 /* t */:
          r.pos += r.u16() * 4
          break
        case 0x47 /* G: CopyInResponse */:
        case 0x48 /* H: CopyOutResponse */:
        case 0x57 /* W: CopyBothResponse */: {
          r.u8()
          r.pos += r.u16()
          const p = this.#queue[this.#head]
          if (t === 0x47 && p?.onCopyIn) p.onCopyIn()
          else if (t === 0x48 && p?.kind === 'copyOut') {
            // Data follows.
          } else {
            // COPY through query(): refuse it cleanly (the server then ends the cycle).
            if (p) p.error ??= new PgClientError(PgErrorCodes.COPY, 'COPY needs copyFrom() or copyTo(), not query()')
            if (t === 0x47) this.#write(unwrapEncoded(native.PgEncode.copyFail('COPY is not supported through query()')))
          }
          break
        }
        case 0x64 /* d */: {
          const data = r.bytes()
          this.#queue[this.#head]?.onCopyData?.(data)
          break
        }
        case 0x73 /* s: PortalSuspended */: {
          const p = this.#queue[this.#head]
          if (p?.onBatch) {
            const rows = p.rows
            p.rows = []
            p.onBatch(rows, false)
          }
          break
        }
        case 0x63 /* c: CopyDone */:
          this.#queue[this.#head]?.onCopyOut?.()
          break
        default:
          // 1 2 3 n I: nothing to carry.
          break
      }
    }
  }

  #auth(r: EventReader): void {
    const st = this.#startup
    const kind = r.u8()
    const o = this.options
    const fail = (e: Error): void => {
      if (st) {
        this.#startup = undefined
        st.reject(e)
      }
      this.destroy(e)
    }
    const need = (): string | undefined => {
      if (o.password === undefined) fail(new PgClientError(PgErrorCodes.AUTH, 'the server asks for a password and none was given'))
      return o.password
    }
    try {
      switch (kind) {
        case 0:
          return
        case 3: {
          const pw = need()
          if (pw !== undefined) this.#write(unwrapEncoded(native.PgEncode.password(o.user, pw)))
          return
        }
        case 5: {
          const salt = r.b.subarray(r.pos, r.pos + 4)
          r.pos += 4
          const pw = need()
          if (pw !== undefined) this.#write(unwrapEncoded(native.PgEncode.password(o.user, pw, salt)))
          return
        }
        case 10: {
          const mechs = r.str()
          const pw = need()
          if (pw === undefined || st === undefined) return
          const sc = native.pgScramStart(mechs, pw, this.#cert)
          if (isErrorInfo(sc)) return fail(new PgClientError(sc.code, sc.message))
          st.scram = sc
          this.#write(unwrapEncoded(sc.clientFirst()))
          return
        }
        case 11: {
          const data = r.bytes()
          if (st?.scram === undefined) return fail(new PgClientError(PgErrorCodes.PROTOCOL, 'SASL continue without SASL'))
          this.#write(unwrapEncoded(st.scram.serverFirst(data)))
          return
        }
        case 12: {
          const data = r.bytes()
          const e = st?.scram?.serverFinal(data)
          if (e) fail(new PgClientError(e.code, `the server's SCRAM signature does not verify: ${e.message}`))
          return
        }
        default:
          return fail(new PgClientError(PgErrorCodes.AUTH_UNSUPPORTED, `unsupported authentication request ${kind}`))
      }
    } catch (err) {
      fail(err as Error)
    }
  }

  #write(b: Buffer): void {
    if (b.length > 0 && !this.closed) this.#s.write(b)
  }

  #statementFor(text: string): { st: Statement | undefined; parse: boolean; prepared: string | undefined } {
    if (!this.options.prepare) return { st: undefined, parse: true, prepared: undefined }
    const known = this.#statements.get(text)
    if (known !== undefined) return { st: known, parse: false, prepared: undefined }
    const st: Statement = { name: 'i' + (this.#nextStatement++).toString(36), formats: undefined }
    this.#statements.set(text, st)
    if (this.#statements.size > 500) {
      // Forget the oldest, and close it on the server ahead of this query's Parse.
      const [oldText, old] = this.#statements.entries().next().value as [string, Statement]
      this.#statements.delete(oldText)
      this.#pushOut(unwrapEncoded(native.PgEncode.closeStatement(old.name)))
      this.#queue.push(this.#pending('query', () => {}, () => {}, {}))
    }
    return { st, parse: true, prepared: st.name }
  }

  #pending(kind: Pending['kind'], resolve: (r: QueryResult<unknown>) => void, reject: (e: Error) => void, opts: QueryOptions): Pending {
    return { kind, resolve, reject, rowMode: opts.rowMode ?? 'object', columns: [], oids: [], rows: [], command: '', count: 0, error: undefined }
  }

  // Signal and timeout: a real CancelRequest; the server then fails the query with 57014.
  #arm(p: Pending, opts: QueryOptions): void {
    const { signal, timeout } = opts
    if (signal === undefined && !(timeout !== undefined && timeout > 0)) return
    let timer: NodeJS.Timeout | undefined
    const cancel = (why: 'abort' | 'timeout'): void => {
      if (p.cancelled !== undefined) return
      p.cancelled = why
      // A CancelRequest stops whatever the backend runs now: only send it while this
      // query is the one running; otherwise when it gets its turn (#finish).
      if (this.#queue[this.#head] === p) {
        p.cancelSent = true
        void this.cancel()
      }
    }
    const onAbort = (): void => cancel('abort')
    if (signal) signal.addEventListener('abort', onAbort, { once: true })
    if (timeout !== undefined && timeout > 0) timer = setTimeout(() => cancel('timeout'), timeout)
    p.cleanup = () => {
      signal?.removeEventListener('abort', onAbort)
      if (timer) clearTimeout(timer)
    }
  }

  #finish(p: Pending): void {
    p.cleanup?.()
    const next = this.#queue[this.#head]
    if (next?.cancelled !== undefined && !next.cancelSent) {
      next.cancelSent = true
      void this.cancel()
    }
    let err = p.error
    if (err instanceof PostgresError && (err.code === '0A000' || err.code === '26000') && p.stmt !== undefined) {
      // "cached plan must not change result type" / unknown statement: prepare it anew.
      for (const [k, v] of this.#statements) if (v === p.stmt) this.#statements.delete(k)
    }
    if (err !== undefined && p.prepared !== undefined) {
      // The statement may not exist on the server: prepare it again next time.
      for (const [k, v] of this.#statements) if (v.name === p.prepared) this.#statements.delete(k)
    }
    if (err instanceof PostgresError && err.code === '57014' && p.cancelled !== undefined) {
      err =
        p.cancelled === 'abort'
          ? new IocrateError('ABORT_ERR', 'The query was aborted (cancelled on the server)', { cause: err })
          : new PgClientError(PgErrorCodes.TIMEOUT, 'The query timed out (cancelled on the server)', { cause: err })
    }
    if (p.kind !== 'query') this.#release()
    if (p.onBatch && err === undefined) p.onBatch(p.rows, true)
    if (err) p.reject(err)
    else p.resolve({ rows: p.rows, columns: p.columns, command: p.command, count: p.count })
  }

  #release(): void {
    this.#exclusive = false
    const d = this.#deferred
    this.#deferred = []
    for (const f of d) {
      if (this.#exclusive) this.#deferred.push(f)
      else f()
    }
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(() => this.#flush())
    }
  }

  #lost(): Error {
    if (this.#ended) return new PgClientError(PgErrorCodes.CLOSED, 'the client was closed (end())')
    return this.#error ?? new PgClientError(PgErrorCodes.CONNECTION_LOST, 'the connection is closed')
  }

  /** Queues a query for this tick's write (queries in the same tick share one write). */
  query<Row = Record<string, PgValue>>(text: string, params: readonly PgParam[] = [], opts: QueryOptions = {}): Promise<QueryResult<Row>> {
    if (this.closed || this.#ended) return Promise.reject(this.#lost())
    if (opts.signal?.aborted) return Promise.reject(new IocrateError('ABORT_ERR', 'The query was aborted', { cause: opts.signal.reason }))
    if (this.#exclusive) {
      return new Promise<QueryResult<Row>>((resolve, reject) => this.#deferred.push(() => void this.query<Row>(text, params, opts).then(resolve, reject)))
    }
    let encodedParams: Array<string | Buffer | null>
    try {
      encodedParams = params.map(encodeParam)
    } catch (err) {
      return Promise.reject(err as Error)
    }
    const st = this.#statementFor(text)
    // A statement run before gets its rows in binary where the codec decodes it.
    const formats = this.options.binary ? st.st?.formats : undefined
    if (st.st !== undefined && !st.parse) {
      // Prepared already: Bind/Describe/Execute/Sync straight into this tick's write buffer.
      const err = this.#bindInto(st.st.name, encodedParams, formats)
      if (err !== undefined) return Promise.reject(err)
    } else {
      const enc = native.PgEncode.extended(st.st?.name ?? '', st.parse ? text : null, encodedParams, 0, true, formats)
      if (isErrorInfo(enc)) {
        if (st.prepared !== undefined) this.#statements.delete(text)
        return Promise.reject(new PgClientError(enc.code, enc.message))
      }
      this.#pushOut(enc)
    }
    return new Promise<QueryResult<Row>>((resolve, reject) => {
      const p = this.#pending('query', resolve as (r: QueryResult<unknown>) => void, reject, opts)
      p.prepared = st.prepared
      p.stmt = st.st
      this.#arm(p, opts)
      this.#queue.push(p)
      this.#schedule()
    })
  }

  // Runs `f` now, or once the cursor or COPY that owns the connection is done.
  #whenFree(f: () => void): void {
    if (this.#exclusive) this.#deferred.push(f)
    else f()
  }

  /**
   * Runs a query and yields its rows in batches of `batchSize`, asking the server for the
   * next batch only when the previous one was taken: a huge result never holds more than
   * about one batch in memory. The connection runs nothing else meanwhile (other queries
   * wait). Breaking out of the loop ends the query.
   */
  cursor<Row = Record<string, PgValue>>(text: string, params: readonly PgParam[] = [], opts: CursorOptions = {}): AsyncIterableIterator<Row[]> {
    const batch = Math.max(1, Math.floor(opts.batchSize ?? 1000))
    const ready: Row[][] = []
    let done = false
    let failed: Error | undefined
    let started = false
    let suspended = false
    let waiting: { resolve: (r: IteratorResult<Row[]>) => void; reject: (e: Error) => void } | undefined
    let finished: Promise<void> = Promise.resolve()
    const wake = (): void => {
      const w = waiting
      if (w === undefined) return
      if (ready.length > 0) {
        waiting = undefined
        w.resolve({ value: ready.shift()!, done: false })
      } else if (failed !== undefined) {
        waiting = undefined
        w.reject(failed)
      } else if (done) {
        waiting = undefined
        w.resolve({ value: undefined, done: true })
      }
    }
    const start = (): void => {
      started = true
      finished = new Promise<void>((resolveEnd) => {
        this.#whenFree(() => {
          const fail = (e: Error): void => {
            failed = e
            resolveEnd()
            wake()
          }
          if (this.closed) return fail(this.#lost())
          let encodedParams: Array<string | Buffer | null>
          try {
            encodedParams = params.map(encodeParam)
          } catch (err) {
            return fail(err as Error)
          }
          // Prepared and cached like query(): from its second run, rows come in binary.
          const st = this.#statementFor(text)
          const formats = this.options.binary ? st.st?.formats : undefined
          const enc = native.PgEncode.extended(st.st?.name ?? '', st.parse ? text : null, encodedParams, batch, false, formats)
          if (isErrorInfo(enc)) {
            if (st.prepared !== undefined) this.#statements.delete(text)
            return fail(new PgClientError(enc.code, enc.message))
          }
          this.#exclusive = true
          const p = this.#pending(
            'cursor',
            () => {
              done = true
              resolveEnd()
              wake()
            },
            fail,
            opts,
          )
          p.prepared = st.prepared
          p.stmt = st.st
          p.onBatch = (rows, last) => {
            if (rows.length > 0) ready.push(rows as Row[])
            suspended = !last
            wake()
          }
          this.#arm(p, opts)
          this.#queue.push(p)
          this.#pushOut(enc)
          this.#pushOut(native.PgEncode.flush())
          this.#schedule()
        })
      })
    }
    const more = (): void => {
      if (!suspended) return
      suspended = false
      this.#write(unwrapEncoded(native.PgEncode.executeMore(batch, false)))
    }
    const it: AsyncIterableIterator<Row[]> = {
      next: () => {
        if (!started) start()
        else if (ready.length === 0) more()
        return new Promise<IteratorResult<Row[]>>((resolve, reject) => {
          waiting = { resolve, reject }
          wake()
        })
      },
      return: async () => {
        if (started && !done && failed === undefined) {
          // End the portal early: Sync closes it and ends the cycle.
          if (suspended) {
            suspended = false
            this.#write(native.PgEncode.sync())
          }
          ready.length = 0
          await finished
        }
        done = true
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]() {
        return it
      },
    }
    return it
  }

  /**
   * `COPY ... FROM STDIN`: resolves with a Writable for the data (text, CSV or binary, as
   * the statement says); `'finish'` comes once the server has completed the COPY, and an
   * error from the server destroys it. Other queries wait until it ends.
   */
  copyFrom(text: string): Promise<Writable> {
    return new Promise<Writable>((resolveStream, rejectStream) => {
      this.#whenFree(() => {
        if (this.closed) return rejectStream(this.#lost())
        this.#exclusive = true
        let finalCb: ((err?: Error | null) => void) | undefined
        let stream: Writable | undefined
        const p = this.#pending(
          'copyIn',
          () => finalCb?.(),
          (e) => {
            if (stream === undefined) rejectStream(e)
            else if (finalCb) finalCb(e)
            else stream.destroy(e)
          },
          {},
        )
        const sock = this.#s
        const send = (b: Buffer, cb: (err?: Error | null) => void): void => {
          if (p.error) return cb(p.error)
          if (this.closed) return cb(this.#lost())
          sock.write(b, (err) => cb(err ?? null))
        }
        p.onCopyIn = () => {
          stream = new Writable({
            highWaterMark: 256 * 1024,
            write: (chunk: Buffer, _enc, cb) => send(unwrapEncoded(native.PgEncode.copyData(chunk)), cb),
            writev: (chunks, cb) => send(Buffer.concat(chunks.map((c) => unwrapEncoded(native.PgEncode.copyData(c.chunk as Buffer)))), cb),
            // COPY runs as a simple Query: its ReadyForQuery follows CopyDone/CopyFail by
            // itself, and a Sync here would produce a second one for the next query.
            final: (cb) => {
              finalCb = cb
              this.#write(native.PgEncode.copyDone())
            },
            destroy: (err, cb) => {
              if (err && finalCb === undefined && !p.error && !this.closed) {
                // Abandoned mid-way: the server rolls the COPY back.
                finalCb = () => {}
                this.#write(unwrapEncoded(native.PgEncode.copyFail(err.message || 'aborted by the client')))
              }
              cb(err)
            },
          })
          resolveStream(stream)
        }
        this.#queue.push(p)
        this.#pushOut(unwrapEncoded(native.PgEncode.query(text)))
        this.#schedule()
      })
    })
  }

  /**
   * `COPY ... TO STDOUT`: a Readable of the data, with backpressure (reading from the
   * server pauses while the consumer is behind). Other queries wait until it ends.
   */
  copyTo(text: string): Readable {
    let p: Pending | undefined
    const sock = this.#s
    const out = new Readable({
      highWaterMark: 256 * 1024,
      read: () => {
        sock.resume()
      },
      destroy: (err, cb) => {
        // Stopped early: the rest is read and dropped, so the connection stays usable.
        if (p) p.onCopyData = () => {}
        sock.resume()
        cb(err)
      },
    })
    this.#whenFree(() => {
      if (this.closed) {
        out.destroy(this.#lost())
        return
      }
      this.#exclusive = true
      const q = this.#pending(
        'copyOut',
        () => out.push(null),
        (e) => out.destroy(e),
        {},
      )
      p = q
      q.onCopyData = (b) => {
        if (!out.push(Buffer.from(b))) sock.pause()
      }
      this.#queue.push(q)
      this.#pushOut(unwrapEncoded(native.PgEncode.query(text)))
      this.#schedule()
    })
    return out
  }

  /**
   * Asks the server to cancel what this connection is running: a CancelRequest on a new
   * connection, as the protocol wants. Resolves once it was sent (or could not be).
   */
  cancel(): Promise<void> {
    const o = this.options
    return new Promise<void>((resolve) => {
      const s = o.socketDir !== undefined ? nodeNet.connect({ path: `${o.socketDir}/.s.PGSQL.${o.port}` }) : nodeNet.connect({ host: o.host, port: o.port })
      s.on('error', () => resolve())
      s.on('close', () => resolve())
      s.once('connect', () => s.end(unwrapEncoded(native.PgEncode.cancelRequest(this.processId, this.secret))))
    })
  }

  #customRow(r: EventReader, p: Pending, int8: Int8Mode): unknown {
    const types = this.options.types!
    const n = p.columns.length
    const arr = p.rowMode === 'array'
    const row: Record<string, unknown> | unknown[] = arr ? new Array<unknown>(n) : {}
    for (let i = 0; i < n; i++) {
      let v: unknown = r.cell(int8)
      const parse = types[p.oids[i]!]
      if (parse !== undefined && typeof v === 'string') v = parse(v)
      if (arr) (row as unknown[])[i] = v
      else (row as Record<string, unknown>)[p.columns[i]!] = v
    }
    return row
  }

  /** Runs SQL with the simple protocol (several statements allowed, no parameters). */
  simple(text: string): Promise<QueryResult> {
    if (this.closed) return Promise.reject(this.#lost())
    return new Promise<QueryResult>((resolve, reject) => {
      this.#whenFree(() => {
        this.#queue.push(this.#pending('query', resolve as (r: QueryResult<unknown>) => void, reject, {}))
        this.#pushOut(unwrapEncoded(native.PgEncode.query(text)))
        this.#schedule()
      })
    })
  }

  // This tick's write: Buffers from the encoders, and the region of `#wbuf` that
  // prepared statements were encoded into (`#wstart`..`#wlen`, sealed before any Buffer).
  #wbuf: Buffer = Buffer.allocUnsafe(0)
  #wstart = 0
  #wlen = 0

  #seal(): void {
    if (this.#wlen > this.#wstart) this.#out.push(this.#wbuf.subarray(this.#wstart, this.#wlen))
    this.#wstart = this.#wlen
  }

  #pushOut(b: Buffer): void {
    this.#seal()
    this.#out.push(b)
  }

  #bindInto(stmt: string, params: Array<string | Buffer | null>, formats: Buffer | undefined): Error | undefined {
    for (;;) {
      const r = native.PgEncode.bindInto(this.#wbuf, this.#wlen, stmt, params, formats)
      if (isErrorInfo(r)) return new PgClientError(r.code, r.message)
      if (r >= 0) {
        this.#wlen += r
        return undefined
      }
      // Full: seal what is there and continue in a fresh buffer (the sealed part is queued).
      this.#seal()
      this.#wbuf = Buffer.allocUnsafe(Math.max(64 * 1024, -r))
      this.#wstart = 0
      this.#wlen = 0
    }
  }

  #flush(): void {
    this.#scheduled = false
    this.#seal()
    // Written regions may stay queued in the socket: the next tick encodes into new memory.
    if (this.#wlen > 0) {
      this.#wbuf = this.#wbuf.length - this.#wlen >= 4096 ? this.#wbuf.subarray(this.#wlen) : Buffer.allocUnsafe(0)
      this.#wstart = 0
      this.#wlen = 0
    }
    const out = this.#out
    this.#out = []
    if (this.closed || out.length === 0) return
    if (out.length === 1) {
      this.#s.write(out[0]!)
      return
    }
    // One writev, no concatenated copy.
    this.#s.cork()
    for (const b of out) this.#s.write(b)
    this.#s.uncork()
  }

  /** Queries sent and not yet answered. */
  get pending(): number {
    return this.#queue.length - this.#head
  }

  #closed(): void {
    if (this.closed) return
    this.closed = true
    const err = this.#error
    const st = this.#startup
    this.#startup = undefined
    st?.reject(err ?? new PgClientError('ECONNRESET', 'the server closed the connection during startup'))
    const q = this.#queue.slice(this.#head)
    this.#queue = []
    this.#head = 0
    for (const p of q) {
      p.reject(
        err instanceof PgClientError && (err.code === PgErrorCodes.PROTOCOL || err.code === PgErrorCodes.LIMIT)
          ? err
          : new PgClientError(PgErrorCodes.CONNECTION_LOST, 'the connection to PostgreSQL was lost before the query was answered (it may have run)', { cause: err }),
      )
    }
    this.onClose?.(err)
  }

  /** Sends Terminate and closes once the queue is answered. */
  async close(): Promise<void> {
    if (this.closed) return
    this.#ended = true
    while (this.pending > 0 && !this.closed) {
      const last = this.#queue[this.#queue.length - 1]!
      await new Promise<void>((r) => {
        const res = last.resolve
        const rej = last.reject
        last.resolve = (v) => {
          res(v)
          r()
        }
        last.reject = (e) => {
          rej(e)
          r()
        }
      })
    }
    if (this.closed) return
    this.#flush()
    this.#s.end(unwrapEncoded(native.PgEncode.terminate()))
    await new Promise<void>((r) => (this.closed ? r() : this.#s.once('close', () => r())))
  }

  /** Closes now; unanswered queries fail. */
  destroy(err?: Error): void {
    if (err) this.#error ??= err
    this.#s.destroy()
  }

  /** @internal */
  static errorFromInfo(info: ErrorInfo): Error {
    return errorFromInfo(info)
  }
}
