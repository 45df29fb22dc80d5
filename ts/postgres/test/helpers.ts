import * as net from 'node:net'
import { services } from '../../../scripts/services.mjs'

export { services }

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

// ---------------------------------------------------------------------------------------
// A fake PostgreSQL server (node:net) for what a real server never sends. Messages are
// written by hand with the builders below; the server answers the startup itself and
// calls `onQuery` once per Sync the client sends (each query of ours ends with one).


function msg(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(5)
  h.write(type, 0, 'latin1')
  h.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([h, body])
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)])
}

function i16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}

function i32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

/** Backend messages, encoded by hand (protocol 3.0). */
export const be = {
  msg,
  authOk: (): Buffer => msg('R', i32(0)),
  parameterStatus: (k: string, v: string): Buffer => msg('S', Buffer.concat([cstr(k), cstr(v)])),
  backendKeyData: (pid: number, secret: number): Buffer => msg('K', Buffer.concat([i32(pid), i32(secret)])),
  readyForQuery: (status: 'I' | 'T' | 'E' = 'I'): Buffer => msg('Z', Buffer.from(status, 'latin1')),
  parseComplete: (): Buffer => msg('1'),
  bindComplete: (): Buffer => msg('2'),
  noData: (): Buffer => msg('n'),
  /** Text-format columns: [name, type oid]. */
  rowDescription: (cols: Array<[string, number]>): Buffer =>
    msg('T', Buffer.concat([i16(cols.length), ...cols.map(([name, oid]) => Buffer.concat([cstr(name), i32(0), i16(0), i32(oid), i16(-1), i32(-1), i16(0)]))])),
  dataRow: (vals: Array<string | null>): Buffer =>
    msg('D', Buffer.concat([i16(vals.length), ...vals.map((v) => (v === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(v)), Buffer.from(v)])))])),
  commandComplete: (tag: string): Buffer => msg('C', cstr(tag)),
  errorResponse: (code: string, message: string): Buffer =>
    msg('E', Buffer.concat([Buffer.from('S'), cstr('ERROR'), Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(message), Buffer.alloc(1)])),
  /** The whole answer to one `select` query: ParseComplete … ReadyForQuery. */
  select: (cols: Array<[string, number]>, rows: Array<Array<string | null>>): Buffer =>
    Buffer.concat([be.parseComplete(), be.bindComplete(), be.rowDescription(cols), ...rows.map(be.dataRow), be.commandComplete(`SELECT ${rows.length}`), be.readyForQuery()]),
}

/** Type OIDs used by the fake server's RowDescriptions. */
export const OID = { int4: 23, text: 25 } as const

export interface FakeServerOptions {
  /** The client sent an SSLRequest. Default: answer `N`. */
  onSslRequest?: (s: net.Socket) => void
  /** Called for the `i`-th Sync (0-based) after startup: write the answer to that query. */
  onQuery?: (s: net.Socket, i: number) => void
}

export interface FakeServer {
  port: number
  /** `postgres://u:p@127.0.0.1:PORT/db` */
  url: string
  /** Open server-side sockets. */
  sockets: Set<net.Socket>
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a fake server on 127.0.0.1 (random port). Startup: AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery. */
export async function fakeServer(o: FakeServerOptions = {}): Promise<FakeServer> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    let buf = Buffer.alloc(0)
    let started = false
    let syncs = 0
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        if (!started) {
          if (buf.length < 8) return
          const len = buf.readInt32BE(0)
          if (buf.length < len) return
          const code = buf.readInt32BE(4)
          buf = buf.subarray(len)
          if (code === 80877103) {
            if (o.onSslRequest) o.onSslRequest(s)
            else s.write('N')
            continue
          }
          started = true
          s.write(Buffer.concat([be.authOk(), be.parameterStatus('server_version', '15.99'), be.parameterStatus('client_encoding', 'UTF8'), be.backendKeyData(4242, 7), be.readyForQuery()]))
          continue
        }
        if (buf.length < 5) return
        const type = String.fromCharCode(buf[0]!)
        const len = buf.readInt32BE(1)
        if (buf.length < 1 + len) return
        buf = buf.subarray(1 + len)
        if (type === 'S') o.onQuery?.(s, syncs++)
        else if (type === 'X') s.end()
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((r) => server.close(() => r()))
  }
  return { port, url: `postgres://u:p@127.0.0.1:${port}/db`, sockets, close, [Symbol.asyncDispose]: close }
}

/** Settles a promise into `{ ok, value }` / `{ ok: false, error }` without throwing. */
export async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error & { code?: string } }> {
  try {
    return { ok: true, value: await p }
  } catch (error) {
    return { ok: false, error: error as Error & { code?: string } }
  }
}

/** A UTC instant; any year (years 0–99 and BC are not shifted as with `Date.UTC`). BC years are astronomical: 1 BC is 0. */
export function utc(year: number, month = 1, day = 1, h = 0, m = 0, s = 0, ms = 0): Date {
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(h, m, s, ms)
  return d
}

/** A free TCP port on 127.0.0.1 (nothing listens on it afterwards). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  const s = createServer().listen(0, '127.0.0.1')
  await new Promise((r) => s.once('listening', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
