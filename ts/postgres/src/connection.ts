import * as nodeNet from 'node:net'
import * as nodeTls from 'node:tls'
import { errorFromInfo, isErrorInfo, native, type ErrorInfo } from '@iocrate/core'
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
}

/** A query parameter: strings as text, Buffers as bytea, numbers/bigints/booleans/Dates/objects converted. */
export type PgParam = string | number | bigint | boolean | Date | Buffer | null | undefined | PgParam[] | { [key: string]: unknown }

interface Pending {
  resolve: (r: QueryResult<unknown>) => void
  reject: (e: Error) => void
  rowMode: 'object' | 'array'
  columns: string[]
  rows: unknown[]
  command: string
  count: number
  error: Error | undefined
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
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (typeof v === 'boolean') return v ? 't' : 'f'
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return arrayLiteral(v)
  return JSON.stringify(v)
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
  #wire = new native.PgWire()
  #queue: Pending[] = []
  #head = 0
  #out: Buffer[] = []
  #scheduled = false
  #error: Error | undefined
  #startup: { resolve: () => void; reject: (e: Error) => void; scram?: InstanceType<typeof native.PgScram> } | undefined
  #cert: Buffer | undefined

  private constructor(o: PgConnectionOptions, s: nodeNet.Socket) {
    this.options = o
    this.#s = s
  }

  /** Connects, negotiates TLS, authenticates, and waits for ReadyForQuery. */
  static async open(o: PgConnectionOptions): Promise<PgConnection> {
    let sock: nodeNet.Socket =
      o.socketDir !== undefined ? nodeNet.connect({ path: `${o.socketDir}/.s.PGSQL.${o.port}` }) : nodeNet.connect({ host: o.host, port: o.port, noDelay: true, keepAlive: true })
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
    s.on('data', (d: Buffer) => this.#data(d))
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
    if (Buffer.isBuffer(r)) return this.#events(r)
    const done = this.#wire.takeCompleted()
    if (done !== null) this.#events(done)
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
          if (p.rowMode === 'array') {
            const row = new Array<PgValue>(n)
            for (let i = 0; i < n; i++) row[i] = r.cell(int8)
            p.rows.push(row)
          } else {
            const row: Record<string, PgValue> = {}
            for (let i = 0; i < n; i++) row[p.columns[i]!] = r.cell(int8)
            p.rows.push(row)
          }
          r.pos = end
          break
        }
        case 0x54 /* T */: {
          const n = r.u16()
          const cols: string[] = []
          for (let i = 0; i < n; i++) {
            cols.push(r.str())
            r.pos += 10
          }
          const p = this.#queue[this.#head]
          if (p) p.columns = cols
          break
        }
        case 0x43 /* C */: {
          const tag = r.str()
          const p = this.#queue[this.#head]
          if (p) {
            const sp = tag.indexOf(' ')
            p.command = sp < 0 ? tag : tag.slice(0, sp)
            const last = tag.lastIndexOf(' ')
            p.count = last < 0 ? 0 : Number(tag.slice(last + 1)) || 0
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
          if (p.error) p.reject(p.error)
          else p.resolve({ rows: p.rows, columns: p.columns, command: p.command, count: p.count })
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
          if (p) p.error ??= e
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
        case 0x47 /* G */:
        case 0x48 /* H */:
        case 0x57 /* W */: {
          r.u8()
          r.pos += r.u16()
          // COPY is not done by this connection yet: refuse it cleanly.
          const p = this.#queue[this.#head]
          if (p) p.error ??= new PgClientError('ERR_PG_UNSUPPORTED', 'COPY is not supported by query(); use the COPY API')
          this.#write(t === 0x47 ? unwrapEncoded(native.PgEncode.copyFail('COPY is not supported here')) : Buffer.alloc(0))
          break
        }
        case 0x64 /* d */:
          r.bytes()
          break
        default:
          // 1 2 3 n s c I: nothing to carry.
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

  /** Queues a query for this tick's write (queries in the same tick share one write). */
  query<Row = Record<string, PgValue>>(text: string, params: readonly PgParam[] = [], opts: QueryOptions = {}): Promise<QueryResult<Row>> {
    if (this.closed) return Promise.reject(this.#error ?? new PgClientError(PgErrorCodes.CONNECTION_LOST, 'the connection is closed'))
    let msg: Buffer
    try {
      msg = unwrapEncoded(native.PgEncode.extended('', text, params.map(encodeParam), 0, true))
    } catch (err) {
      return Promise.reject(err as Error)
    }
    return new Promise<QueryResult<Row>>((resolve, reject) => {
      this.#queue.push({ resolve: resolve as (r: QueryResult<unknown>) => void, reject, rowMode: opts.rowMode ?? 'object', columns: [], rows: [], command: '', count: 0, error: undefined })
      this.#out.push(msg)
      if (!this.#scheduled) {
        this.#scheduled = true
        process.nextTick(() => this.#flush())
      }
    })
  }

  /** Runs SQL with the simple protocol (several statements allowed, no parameters). */
  simple(text: string): Promise<QueryResult> {
    return this.query(text)
  }

  #flush(): void {
    this.#scheduled = false
    const out = this.#out
    this.#out = []
    if (this.closed || out.length === 0) return
    this.#s.write(out.length === 1 ? out[0]! : Buffer.concat(out))
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
