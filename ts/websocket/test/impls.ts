// The WebSocket implementations the conformance / interop suites run against.
//
// `ws` (the reference) always; `iocrate` (@iocrate/websocket, API in docs: ws-compatible) as soon as the
// package can be imported (i.e. once it is built), or required explicitly with WS_IMPLS=iocrate (then a
// failed import is an error, not a silent skip). WS_IMPLS=ws,iocrate selects by name.
import { EventEmitter, once } from 'node:events'
import * as ws from 'ws'

/** What both client and server sockets look like (ws-style EventEmitter API). */
export interface WSLike extends EventEmitter {
  readonly readyState: number
  readonly protocol: string
  readonly extensions: string | Record<string, unknown>
  binaryType: string
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView, cb?: (err?: Error) => void): void
  close(code?: number, reason?: string): void
  terminate(): void
  ping(data?: Buffer | string): void
  pong(data?: Buffer | string): void
}

export interface UpgradeReqLike {
  url?: string
  headers: Record<string, string | string[] | undefined>
}

export interface ServerConn {
  ws: WSLike
  req: UpgradeReqLike
  /** Every message received, normalized: text → string, binary → Buffer. */
  messages: Array<{ data: string | Buffer; isBinary: boolean }>
  errors: Error[]
  /** The server-side 'close' event (code, reason as a string). */
  closed: Promise<{ code: number; reason: string }>
}

export interface ServerOptions {
  perMessageDeflate?: boolean | Record<string, unknown>
  maxPayload?: number
  handleProtocols?: (protocols: Set<string>, req: unknown) => string | false
  /** Echo every message back (text as text, binary as binary). Default true. */
  echo?: boolean
  onConnection?: (conn: ServerConn) => void
  /** Passed through to the server constructor as is (e.g. verifyClient, path). */
  extra?: Record<string, unknown>
}

export interface ServerHandle {
  port: number
  url: string
  conns: ServerConn[]
  /** The next connection the server accepts (or one accepted already and not yet taken). */
  nextConn(timeout?: number): Promise<ServerConn>
  close(): Promise<void>
}

export interface ClientOptions {
  perMessageDeflate?: boolean | Record<string, unknown>
  maxPayload?: number
  headers?: Record<string, string>
  handshakeTimeout?: number
}

export interface Impl {
  name: string
  /** The imported module itself (for API not covered by the wrapper). */
  module: Record<string, unknown>
  startServer(opts?: ServerOptions): Promise<ServerHandle>
  connect(url: string, protocols?: string | string[], opts?: ClientOptions): WSLike
  /** Send `data` back as it came (the text/binary distinction kept). */
  echo(sock: WSLike, data: unknown, isBinary: boolean): void
  /** Known RFC deviations / optional behaviours of this implementation (see the suites' comments). */
  quirks: {
    /** Fails a text message as soon as a fragment makes it invalid UTF-8 (Autobahn 6.4.x, non-strict). */
    utf8FailFast: boolean
    /** Refuses messages of more than this many fragments with 1008 (a DoS limit; 0/undefined: none). */
    maxFragments?: number
    /**
     * Client fails the handshake when it offered subprotocols and the server picked none. RFC 6455 §4.1 only
     * requires failing when the server picks one that was not offered, and browsers open with protocol ''.
     */
    failsWithoutSubprotocol?: boolean
    /**
     * Client accepts a response with two permessage-deflate elements (uses the first). Both would claim RSV1,
     * which RFC 7692 §5 says the client MUST fail.
     */
    acceptsDuplicateDeflateResponse?: boolean
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers shared by the suites

/** Message data of either implementation → Buffer (ws gives Buffers for text too, iocrate strings). */
export function toBuffer(data: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data.map(toBuffer))
  if (data instanceof ArrayBuffer) return Buffer.from(data)
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  throw new Error(`unexpected message data type ${Object.prototype.toString.call(data)}`)
}
export const toText = (data: unknown): string => (typeof data === 'string' ? data : toBuffer(data).toString('utf8'))

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timeout (${ms} ms): ${what}`)), ms)
    }),
  ]).finally(() => clearTimeout(t))
}

/** Polls `cond` every 5 ms until true; throws after `ms`. */
export async function waitUntil(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout (${ms} ms) waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Waits for `event` on `em` with a timeout; resolves with the listener arguments. */
export function onceT(em: EventEmitter, event: string, ms = 3000): Promise<unknown[]> {
  return withTimeout(once(em, event), ms, `event '${event}'`)
}

export interface ClientRecorder {
  opened: Promise<void>
  closed: Promise<{ code: number; reason: string }>
  messages: Array<{ data: Buffer; text: string; isBinary: boolean }>
  errors: Error[]
  events: string[]
  /** Resolves with the next message (not yet taken by nextMessage). */
  nextMessage(ms?: number): Promise<{ data: Buffer; text: string; isBinary: boolean }>
}

/** Attaches listeners to a socket (before it opens) and records what happens. */
export function record(sock: WSLike, o: { echo?: Impl } = {}): ClientRecorder {
  const messages: ClientRecorder['messages'] = []
  const errors: Error[] = []
  const events: string[] = []
  let taken = 0
  let wake: (() => void) | undefined
  const opened = new Promise<void>((resolve) => sock.once('open', () => resolve()))
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    sock.once('close', (code: number, reason: unknown) => {
      events.push(`close ${code}`)
      resolve({ code, reason: reason === undefined ? '' : toText(reason) })
      wake?.()
    }),
  )
  sock.on('open', () => events.push('open'))
  sock.on('error', (e: Error) => {
    events.push(`error ${(e as { code?: string }).code ?? e.message}`)
    errors.push(e)
  })
  sock.on('message', (data: unknown, isBinary: boolean) => {
    const b = toBuffer(data)
    messages.push({ data: b, text: b.toString('utf8'), isBinary })
    if (o.echo) o.echo.echo(sock, data, isBinary)
    wake?.()
  })
  return {
    opened,
    closed,
    messages,
    errors,
    events,
    async nextMessage(ms = 3000) {
      const deadline = Date.now() + ms
      while (taken >= messages.length) {
        if (sock.readyState === 3) throw new Error(`socket closed while waiting for a message (${events.join(', ')})`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no message within ${ms} ms (${events.join(', ')})`)
        await new Promise<void>((r) => {
          const t = setTimeout(r, left)
          wake = () => {
            clearTimeout(t)
            r()
          }
        })
      }
      return messages[taken++]
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Generic server wrapper (both implementations have the same ws-style server API)

type ServerCtor = new (opts: Record<string, unknown>, cb?: () => void) => EventEmitter & {
  address(): { port: number } | string | null
  close(cb?: (err?: Error) => void): void
  clients?: Set<WSLike>
}

async function startWith(impl: Impl, Ctor: ServerCtor, extra: Record<string, unknown>, o: ServerOptions): Promise<ServerHandle> {
  const opts: Record<string, unknown> = { port: 0, host: '127.0.0.1', ...extra, ...o.extra }
  if (o.perMessageDeflate !== undefined) opts.perMessageDeflate = o.perMessageDeflate
  if (o.maxPayload !== undefined) opts.maxPayload = o.maxPayload
  if (o.handleProtocols) opts.handleProtocols = o.handleProtocols
  const conns: ServerConn[] = []
  let taken = 0
  let wake: (() => void) | undefined
  const server = new Ctor(opts)
  server.on('error', () => {})
  server.on('connection', (sock: WSLike, req: UpgradeReqLike) => {
    const conn: ServerConn = {
      ws: sock,
      req,
      messages: [],
      errors: [],
      closed: new Promise((resolve) =>
        sock.once('close', (code: number, reason: unknown) => resolve({ code, reason: reason === undefined ? '' : toText(reason) })),
      ),
    }
    sock.on('error', (e: Error) => conn.errors.push(e))
    sock.on('message', (data: unknown, isBinary: boolean) => {
      conn.messages.push({ data: isBinary ? toBuffer(data) : toText(data), isBinary })
      if (o.echo !== false) impl.echo(sock, data, isBinary)
    })
    conns.push(conn)
    o.onConnection?.(conn)
    wake?.()
  })
  await withTimeout(once(server, 'listening'), 5000, `${impl.name} server listening`)
  const addr = server.address()
  if (!addr || typeof addr === 'string') throw new Error('server has no port')
  const port = addr.port
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    conns,
    async nextConn(ms = 3000) {
      const deadline = Date.now() + ms
      while (taken >= conns.length) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no connection within ${ms} ms`)
        await new Promise<void>((r) => {
          const t = setTimeout(r, left)
          wake = () => {
            clearTimeout(t)
            r()
          }
        })
      }
      return conns[taken++]
    },
    async close() {
      for (const c of conns) if (c.ws.readyState !== 3) c.ws.terminate()
      for (const c of server.clients ?? []) c.terminate()
      await withTimeout(new Promise<void>((r) => server.close(() => r())), 5000, `${impl.name} server close`).catch(() => {})
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// ws

const wsImpl: Impl = {
  name: 'ws',
  module: ws as unknown as Record<string, unknown>,
  startServer: (o = {}) => startWith(wsImpl, ws.WebSocketServer as unknown as ServerCtor, {}, o),
  connect: (url, protocols, opts) => new ws.WebSocket(url, protocols, opts) as unknown as WSLike,
  echo(sock, data, isBinary) {
    ;(sock as unknown as ws.WebSocket).send(data as Buffer, { binary: isBinary })
  },
  quirks: {
    // ws validates UTF-8 when the whole message is in (lib/receiver.js dataMessage), not per fragment.
    utf8FailFast: false,
    // ws ≥ 8.18 refuses messages of more than 16384 fragments with 1008 by default (maxFragments option), so
    // Autobahn 9.3.1 / 9.4.1 (4 MiB in 64-byte fragments = 65536 frames) fail against a default ws.
    maxFragments: 16384,
    // ws: "Server sent no subprotocol" (lib/websocket.js) — stricter than RFC 6455 and the WHATWG spec.
    failsWithoutSubprotocol: true,
    // ws: extension.parse groups both elements under one name and acceptAsClient takes the first.
    acceptsDuplicateDeflateResponse: true,
  },
}

// ---------------------------------------------------------------------------------------------------------
// iocrate

type IocrateModule = {
  WebSocketServer: ServerCtor
  WebSocket: new (url: string, protocols?: string | string[], opts?: Record<string, unknown>) => WSLike
}

function makeIocrate(mod: IocrateModule): Impl {
  const impl: Impl = {
    name: 'iocrate',
    module: mod as unknown as Record<string, unknown>,
    // pingInterval 0: no server-initiated pings in the middle of the raw conformance exchanges.
    startServer: (o = {}) => startWith(impl, mod.WebSocketServer, { pingInterval: 0 }, o),
    connect: (url, protocols, opts) => new mod.WebSocket(url, protocols, opts as Record<string, unknown>),
    echo(sock, data) {
      // Text arrives as a string (sent back as text), binary as a Buffer (sent back as binary).
      sock.send(data as string | Buffer)
    },
    quirks: { utf8FailFast: true },
  }
  return impl
}

/**
 * Negative control, only with WS_IMPLS=ws-lax: ws with UTF-8 validation switched off. The 6.x (and 7.5.1)
 * cases must FAIL against it — proof that the suites detect a non-conforming peer.
 */
const wsLax: Impl = {
  ...wsImpl,
  name: 'ws-lax',
  startServer: (o = {}) => startWith(wsLax, ws.WebSocketServer as unknown as ServerCtor, { skipUTF8Validation: true }, o),
  connect: (url, protocols, opts) => new ws.WebSocket(url, protocols, { ...opts, skipUTF8Validation: true }) as unknown as WSLike,
}

async function loadImpls(): Promise<Impl[]> {
  const wanted = process.env.WS_IMPLS?.split(',').map((s) => s.trim()).filter(Boolean)
  const out: Impl[] = []
  if (!wanted || wanted.includes('ws')) out.push(wsImpl)
  if (wanted?.includes('ws-lax')) out.push(wsLax)
  if (!wanted || wanted.includes('iocrate')) {
    // A variable specifier keeps the bundler from resolving it before the package exists.
    const spec = '@iocrate/websocket'
    try {
      const mod = (await import(/* @vite-ignore */ spec)) as IocrateModule
      if (typeof mod.WebSocketServer !== 'function' || typeof mod.WebSocket !== 'function') {
        throw new Error('@iocrate/websocket does not export WebSocketServer and WebSocket')
      }
      out.push(makeIocrate(mod))
    } catch (e) {
      if (wanted?.includes('iocrate')) throw e
    }
  }
  return out
}

export const impls: Impl[] = await loadImpls()
export const iocrate: Impl | undefined = impls.find((i) => i.name === 'iocrate')
export const wsRef: Impl = wsImpl
