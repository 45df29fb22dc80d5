// A raw WebSocket peer over node:net, for conformance tests (RFC 6455 / RFC 7692).
//
// Everything is done by hand: the HTTP/1.1 upgrade handshake (client and server side), frames built byte by
// byte (any opcode, RSV bits, masked or not, fragmented, 7/16/64-bit length forms) and parsed on receipt,
// permessage-deflate payloads (node:zlib raw deflate, Z_SYNC_FLUSH, trailing 00 00 ff ff stripped), with the
// LZ77 context carried over between messages via zlib dictionaries (the last 2^windowBits bytes of what was
// compressed before), so that "context takeover" and "no context takeover" can both be produced and checked.
import * as net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import * as zlib from 'node:zlib'

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
export const acceptKeyFor = (key: string): string => createHash('sha1').update(key + GUID).digest('base64')
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const
export const DEFAULT_TIMEOUT = 3000
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])

// ---------------------------------------------------------------------------------------------------------
// Frames

export interface FrameSpec {
  opcode: number
  payload?: Buffer | Uint8Array | string
  /** FIN bit, default true. */
  fin?: boolean
  /** The 3 RSV bits as a number: 4 = RSV1, 2 = RSV2, 1 = RSV3 (Autobahn's numbering). */
  rsv?: number
  /** true → random 4-byte key; a Buffer → that key; false → unmasked. Default: the peer's role decides. */
  mask?: boolean | Buffer
  /** Force a (possibly non-minimal) length form. Default: minimal. */
  lengthForm?: 7 | 16 | 64
  /** Put this length into the header instead of the real one (the payload is still written as given). */
  declaredLength?: bigint
}

export function toBuf(p: Buffer | Uint8Array | string | undefined): Buffer {
  if (p === undefined) return Buffer.alloc(0)
  if (typeof p === 'string') return Buffer.from(p, 'utf8')
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength)
}

export function buildFrame(spec: FrameSpec): Buffer {
  const payload = toBuf(spec.payload)
  const len = spec.declaredLength ?? BigInt(payload.length)
  const form = spec.lengthForm ?? (len < 126n ? 7 : len < 65536n ? 16 : 64)
  const maskKey = spec.mask === true ? randomBytes(4) : Buffer.isBuffer(spec.mask) ? spec.mask : undefined
  const head = Buffer.alloc(2 + (form === 16 ? 2 : form === 64 ? 8 : 0) + (maskKey ? 4 : 0))
  head[0] = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f)
  let o = 2
  if (form === 7) head[1] = Number(len) & 0x7f
  else if (form === 16) {
    head[1] = 126
    head.writeUInt16BE(Number(len) & 0xffff, 2)
    o = 4
  } else {
    head[1] = 127
    head.writeBigUInt64BE(BigInt.asUintN(64, len), 2)
    o = 10
  }
  if (maskKey) {
    head[1] |= 0x80
    maskKey.copy(head, o)
    const masked = Buffer.allocUnsafe(payload.length)
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ maskKey[i & 3]
    return Buffer.concat([head, masked])
  }
  return Buffer.concat([head, payload])
}

export interface Frame {
  fin: boolean
  rsv: number
  rsv1: boolean
  opcode: number
  masked: boolean
  /** Unmasked payload. */
  payload: Buffer
  /** Order of arrival on this connection (0-based). */
  seq: number
}

/** Incremental frame parser; keeps a chunk list so that multi-MiB frames parse in linear time. */
export class FrameParser {
  private chunks: Buffer[] = []
  private len = 0
  private seq = 0
  error: Error | undefined

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n)
    const out = Buffer.allocUnsafe(n)
    let o = 0
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - o)
      c.copy(out, o, 0, k)
      o += k
      if (o === n) break
    }
    return out
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0)
    this.len -= n
    if (this.chunks[0].length >= n) {
      const out = this.chunks[0].subarray(0, n)
      if (this.chunks[0].length === n) this.chunks.shift()
      else this.chunks[0] = this.chunks[0].subarray(n)
      return out
    }
    const out = Buffer.allocUnsafe(n)
    let o = 0
    while (o < n) {
      const c = this.chunks[0]
      const k = Math.min(c.length, n - o)
      c.copy(out, o, 0, k)
      o += k
      if (k === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(k)
    }
    return out
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk)
      this.len += chunk.length
    }
    const out: Frame[] = []
    for (;;) {
      if (this.len < 2) return out
      const h = this.peek(2)
      const masked = (h[1] & 0x80) !== 0
      let plen = h[1] & 0x7f
      let hl = 2
      if (plen === 126) hl = 4
      else if (plen === 127) hl = 10
      if (masked) hl += 4
      if (this.len < hl) return out
      const head = this.peek(hl)
      if (plen === 126) plen = head.readUInt16BE(2)
      else if (plen === 127) {
        const big = head.readBigUInt64BE(2)
        if (big > BigInt(1 << 30)) {
          this.error = new Error(`peer sent a frame with 64-bit length ${big}`)
          return out
        }
        plen = Number(big)
      }
      if (this.len < hl + plen) return out
      this.take(hl)
      let payload = Buffer.from(this.take(plen))
      if (masked) {
        const key = head.subarray(hl - 4, hl)
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3]
      }
      if (!masked) payload = Buffer.from(payload)
      out.push({
        fin: (h[0] & 0x80) !== 0,
        rsv: (h[0] >> 4) & 7,
        rsv1: (h[0] & 0x40) !== 0,
        opcode: h[0] & 0x0f,
        masked,
        payload,
        seq: this.seq++,
      })
    }
  }
}

export function closePayload(code?: number, reason: Buffer | string = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0)
  const r = toBuf(reason)
  const b = Buffer.alloc(2 + r.length)
  b.writeUInt16BE(code, 0)
  r.copy(b, 2)
  return b
}

export function parseClose(payload: Buffer): { code: number | undefined; reason: Buffer } {
  if (payload.length < 2) return { code: undefined, reason: payload.subarray(2) }
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2) }
}

// ---------------------------------------------------------------------------------------------------------
// permessage-deflate

export interface DeflateParams {
  server_no_context_takeover?: boolean
  client_no_context_takeover?: boolean
  server_max_window_bits?: number | true
  client_max_window_bits?: number | true
  [k: string]: string | number | boolean | undefined
}

/** Parses a Sec-WebSocket-Extensions value into [name, params][] (values unquoted; numeric → number). */
export function parseExtensions(header: string | undefined): Array<[string, DeflateParams]> {
  if (!header) return []
  return header
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      const [name, ...ps] = e.split(';').map((x) => x.trim())
      const params: DeflateParams = {}
      for (const p of ps) {
        if (!p) continue
        const eq = p.indexOf('=')
        if (eq < 0) params[p.toLowerCase()] = true
        else {
          const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
          params[p.slice(0, eq).trim().toLowerCase()] = /^\d+$/.test(v) ? Number(v) : v
        }
      }
      return [name.toLowerCase(), params] as [string, DeflateParams]
    })
}

/** One direction of a permessage-deflate stream (compress or decompress), with optional context takeover. */
export class DeflateContext {
  private history: Buffer = Buffer.alloc(0)
  constructor(
    readonly noContextTakeover: boolean,
    readonly windowBits: number,
  ) {}

  private get dict(): Buffer | undefined {
    if (this.noContextTakeover || this.history.length === 0) return undefined
    return this.history
  }

  private remember(data: Buffer): void {
    if (this.noContextTakeover) return
    const w = 1 << Math.max(this.windowBits, 9)
    this.history = Buffer.from(Buffer.concat([this.history, data.subarray(-w)]).subarray(-w))
  }

  compress(data: Buffer): Buffer {
    const opts: zlib.ZlibOptions = {
      windowBits: Math.max(this.windowBits, 9),
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    }
    const d = this.dict
    if (d) opts.dictionary = d
    let out = zlib.deflateRawSync(data, opts)
    if (out.length >= 4 && out.subarray(-4).equals(TRAILER)) out = out.subarray(0, -4)
    this.remember(data)
    return out
  }

  /** Throws on corrupt data, or (with a small windowBits) on a back-reference beyond the window. */
  decompress(data: Buffer): Buffer {
    const opts: zlib.ZlibOptions = {
      windowBits: Math.max(this.windowBits, 9),
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    }
    const d = this.dict
    if (d) opts.dictionary = d
    const out = zlib.inflateRawSync(Buffer.concat([data, TRAILER]), opts)
    this.remember(out)
    return out
  }
}

/** Plain one-shot compression as a message payload (no context). */
export function deflatePayload(data: Buffer | string, windowBits = 15): Buffer {
  return new DeflateContext(true, windowBits).compress(toBuf(data))
}

// ---------------------------------------------------------------------------------------------------------
// Peer

export interface Message {
  opcode: number
  data: Buffer
  compressed: boolean
  frames: Frame[]
}

type Waiter = { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void }

export class RawPeer {
  readonly inbox: Frame[] = []
  readonly log: Frame[] = []
  private waiters: Waiter[] = []
  private parser = new FrameParser()
  tcpClosed = false
  gotEnd = false
  readonly closedPromise: Promise<void>
  /** Set once negotiated: the deflate contexts for what we send and what we receive. */
  tx: DeflateContext | undefined
  rx: DeflateContext | undefined

  constructor(
    readonly socket: net.Socket,
    readonly role: 'client' | 'server',
    leftover?: Buffer,
  ) {
    socket.setNoDelay(true)
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.tcpClosed = true
        for (const w of this.waiters.splice(0)) w.reject(new Error('TCP connection closed'))
        resolve()
      })
    })
    socket.on('end', () => (this.gotEnd = true))
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => this.onData(d))
    if (leftover?.length) this.onData(leftover)
  }

  private onData(d: Buffer): void {
    for (const f of this.parser.push(d)) {
      this.log.push(f)
      const i = this.waiters.findIndex((w) => w.pred(f))
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(f)
      else this.inbox.push(f)
    }
    if (this.parser.error) this.socket.destroy(this.parser.error)
  }

  /** Negotiated permessage-deflate for this connection, from the agreed extension params. */
  useDeflate(p: DeflateParams): void {
    const bits = (v: unknown) => (typeof v === 'number' ? v : 15)
    const srv = new DeflateContext(!!p.server_no_context_takeover, bits(p.server_max_window_bits))
    const cli = new DeflateContext(!!p.client_no_context_takeover, bits(p.client_max_window_bits))
    if (this.role === 'client') {
      this.tx = cli
      this.rx = srv
    } else {
      this.tx = srv
      this.rx = cli
    }
  }

  // --- sending

  write(buf: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(buf)
  }

  send(spec: FrameSpec): void {
    this.write(this.frame(spec))
  }

  frame(spec: FrameSpec): Buffer {
    return buildFrame({ ...spec, mask: spec.mask ?? this.role === 'client' })
  }

  /** Writes `buf` in pieces of `size` bytes, `delay` ms apart. */
  async writeChopped(buf: Buffer, size: number, delay = 0): Promise<void> {
    for (let o = 0; o < buf.length; o += size) {
      if (this.socket.destroyed) return
      this.socket.write(buf.subarray(o, o + size))
      if (delay) await sleep(delay)
    }
  }

  text(s: string | Buffer, fin = true): void {
    this.send({ opcode: OP.TEXT, payload: s, fin })
  }
  binary(b: Buffer, fin = true): void {
    this.send({ opcode: OP.BINARY, payload: b, fin })
  }
  ping(p: Buffer | string = ''): void {
    this.send({ opcode: OP.PING, payload: p })
  }
  pong(p: Buffer | string = ''): void {
    this.send({ opcode: OP.PONG, payload: p })
  }
  close(code?: number, reason: Buffer | string = ''): void {
    this.send({ opcode: OP.CLOSE, payload: closePayload(code, reason) })
  }

  /**
   * Sends one data message; compressed with the negotiated context when `compress` (RSV1 on the first
   * frame), split into frames of `fragmentSize` bytes of (compressed) payload when given.
   */
  sendMessage(opcode: number, data: Buffer | string, o: { compress?: boolean; fragmentSize?: number } = {}): void {
    let payload = toBuf(data)
    if (o.compress) {
      if (!this.tx) throw new Error('permessage-deflate not negotiated')
      payload = this.tx.compress(payload)
    }
    const size = o.fragmentSize ?? Math.max(payload.length, 1)
    const frames: Buffer[] = []
    let first = true
    for (let off = 0; first || off < payload.length; off += size) {
      const last = off + size >= payload.length
      frames.push(
        this.frame({
          opcode: first ? opcode : OP.CONT,
          payload: payload.subarray(off, off + size),
          fin: last,
          rsv: first && o.compress ? 4 : 0,
        }),
      )
      first = false
    }
    this.write(Buffer.concat(frames))
  }

  // --- receiving

  /** Removes and returns the first frame (matching `pred`), waiting up to `timeout` ms. */
  nextFrame(timeout = DEFAULT_TIMEOUT, pred: (f: Frame) => boolean = () => true): Promise<Frame> {
    const i = this.inbox.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0])
    if (this.tcpClosed) return Promise.reject(new Error('TCP connection closed'))
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: (f) => {
          clearTimeout(t)
          resolve(f)
        },
        reject: (e) => {
          clearTimeout(t)
          reject(e)
        },
      }
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        reject(new Error(`no frame within ${timeout} ms`))
      }, timeout)
      this.waiters.push(w)
    })
  }

  /** Next data message (reassembled, decompressed). Control frames stay in the inbox; a close frame throws. */
  async readMessage(timeout = DEFAULT_TIMEOUT): Promise<Message> {
    const deadline = Date.now() + timeout
    const isData = (f: Frame) => f.opcode <= 2 || f.opcode === OP.CLOSE
    const frames: Frame[] = []
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()), isData)
      if (f.opcode === OP.CLOSE) {
        const c = parseClose(f.payload)
        this.inbox.unshift(f)
        throw new Error(`got a close frame (${c.code} ${c.reason}) instead of a message`)
      }
      if (frames.length === 0 && f.opcode === OP.CONT) throw new Error('continuation frame without a message')
      if (frames.length > 0 && f.opcode !== OP.CONT) throw new Error('new data frame inside a fragmented message')
      frames.push(f)
      if (f.fin) break
    }
    let data: Buffer = Buffer.concat(frames.map((f) => f.payload))
    const compressed = frames[0].rsv1
    if (compressed) {
      if (!this.rx) throw new Error('RSV1 set but permessage-deflate not negotiated')
      data = this.rx.decompress(data)
    }
    return { opcode: frames[0].opcode, data, compressed, frames }
  }

  /** Waits for a close frame; returns it with the frames received before it (consumed). */
  async expectClose(
    timeout = DEFAULT_TIMEOUT,
  ): Promise<{ code: number | undefined; reason: Buffer; frame: Frame; before: Frame[] }> {
    const f = await this.nextFrame(timeout, (x) => x.opcode === OP.CLOSE).catch((e: Error) => {
      throw new Error(`expected a close frame: ${e.message}; frames seen: ${describeFrames(this.log)}`)
    })
    const before = this.inbox.filter((x) => x.seq < f.seq)
    this.inbox.splice(0, this.inbox.length, ...this.inbox.filter((x) => x.seq > f.seq))
    return { ...parseClose(f.payload), frame: f, before }
  }

  /** Resolves once the TCP connection is closed (by the peer, or destroyed); throws after `timeout`. */
  async waitTcpClose(timeout = DEFAULT_TIMEOUT): Promise<void> {
    if (this.tcpClosed) return
    let t: NodeJS.Timeout | undefined
    await Promise.race([
      this.closedPromise,
      new Promise((_, reject) => {
        t = setTimeout(() => reject(new Error(`TCP connection not closed within ${timeout} ms`)), timeout)
      }),
    ]).finally(() => clearTimeout(t))
  }

  /** Fails if any frame (matching pred) arrives within `ms`. */
  async expectNoFrame(ms: number, pred: (f: Frame) => boolean = () => true): Promise<void> {
    const f = await this.nextFrame(ms, pred).then(
      (x) => x,
      () => undefined,
    )
    if (f) throw new Error(`unexpected frame: ${describeFrames([f])}`)
  }

  destroy(): void {
    this.socket.destroy()
  }
}

export function describeFrames(fs: Frame[]): string {
  return (
    fs
      .map((f) => {
        const extra =
          f.opcode === OP.CLOSE ? ` code=${parseClose(f.payload).code}` : ` len=${f.payload.length}`
        return `[op=${f.opcode} fin=${+f.fin} rsv=${f.rsv} mask=${+f.masked}${extra}]`
      })
      .join(' ') || '(none)'
  )
}

// ---------------------------------------------------------------------------------------------------------
// HTTP head parsing

export interface Head {
  startLine: string
  headers: Record<string, string>
  raw: string
}

function parseHead(raw: string): Head {
  const lines = raw.split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    if (i <= 0) continue
    const k = l.slice(0, i).trim().toLowerCase()
    const v = l.slice(i + 1).trim()
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v
  }
  return { startLine: lines[0], headers, raw }
}

/** Reads an HTTP head (up to CRLFCRLF) from `socket`; resolves with it and the bytes after it. */
function readHead(socket: net.Socket, timeout: number): Promise<{ head: Head; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0)
    const done = (err?: Error, v?: { head: Head; rest: Buffer }) => {
      clearTimeout(t)
      socket.off('data', onData)
      socket.off('close', onClose)
      socket.off('error', onError)
      if (err) reject(err)
      else resolve(v!)
    }
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const i = buf.indexOf('\r\n\r\n')
      if (i >= 0) done(undefined, { head: parseHead(buf.subarray(0, i).toString('latin1')), rest: buf.subarray(i + 4) })
    }
    const onClose = () => done(new Error(`connection closed before a complete HTTP head: ${JSON.stringify(buf.toString('latin1'))}`))
    const onError = (e: Error) => done(e)
    const t = setTimeout(() => done(new Error(`no HTTP head within ${timeout} ms`)), timeout)
    socket.on('data', onData)
    socket.on('close', onClose)
    socket.on('error', onError)
  })
}

// ---------------------------------------------------------------------------------------------------------
// Client side: raw client → server under test

export interface RawConnectOptions {
  host?: string
  path?: string
  key?: string
  version?: string
  /** Sec-WebSocket-Extensions offer, e.g. 'permessage-deflate; client_max_window_bits'. */
  extensions?: string
  /** Sec-WebSocket-Protocol value. */
  protocols?: string
  /** Extra header lines, e.g. ['Origin: http://x']. */
  headers?: string[]
  /** Header names (lowercase) to leave out of the default set. */
  omit?: string[]
  timeout?: number
}

export interface HandshakeResult {
  socket: net.Socket
  status: number
  head: Head
  rest: Buffer
  key: string
}

/** Sends an upgrade request and reads the response head (whatever the status). */
export async function rawHandshake(port: number, o: RawConnectOptions = {}): Promise<HandshakeResult> {
  const host = o.host ?? '127.0.0.1'
  const socket = net.connect(port, host)
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const key = o.key ?? randomBytes(16).toString('base64')
  const omit = new Set(o.omit ?? [])
  const lines = [`GET ${o.path ?? '/'} HTTP/1.1`]
  const add = (name: string, v: string | undefined) => {
    if (v !== undefined && !omit.has(name.toLowerCase())) lines.push(`${name}: ${v}`)
  }
  add('Host', `${host}:${port}`)
  add('Upgrade', 'websocket')
  add('Connection', 'Upgrade')
  add('Sec-WebSocket-Key', key)
  add('Sec-WebSocket-Version', o.version ?? '13')
  add('Sec-WebSocket-Extensions', o.extensions)
  add('Sec-WebSocket-Protocol', o.protocols)
  lines.push(...(o.headers ?? []))
  socket.write(lines.join('\r\n') + '\r\n\r\n')
  const { head, rest } = await readHead(socket, o.timeout ?? DEFAULT_TIMEOUT).catch((e) => {
    socket.destroy()
    throw e
  })
  const status = Number(head.startLine.split(' ')[1])
  return { socket, status, head, rest, key }
}

export interface RawClient extends RawPeer {
  response: Head
  /** Agreed permessage-deflate params, when the server accepted the extension. */
  deflate: DeflateParams | undefined
}

/** Full client handshake; checks 101 + Sec-WebSocket-Accept and returns the connected raw peer. */
export async function rawConnect(port: number, o: RawConnectOptions = {}): Promise<RawClient> {
  const r = await rawHandshake(port, o)
  const fail = (msg: string) => {
    r.socket.destroy()
    throw new Error(`${msg}\n${r.head.raw}`)
  }
  if (r.status !== 101) fail(`expected 101, got ${r.status}`)
  if (r.head.headers['sec-websocket-accept'] !== acceptKeyFor(r.key)) fail('bad Sec-WebSocket-Accept')
  if (r.head.headers.upgrade?.toLowerCase() !== 'websocket') fail('bad Upgrade header')
  if (!/\bupgrade\b/i.test(r.head.headers.connection ?? '')) fail('bad Connection header')
  const peer = new RawPeer(r.socket, 'client', r.rest) as RawClient
  peer.response = r.head
  const pmd = parseExtensions(r.head.headers['sec-websocket-extensions']).find(([n]) => n === 'permessage-deflate')
  peer.deflate = pmd?.[1]
  if (pmd) peer.useDeflate(pmd[1])
  return peer
}

// ---------------------------------------------------------------------------------------------------------
// Server side: raw server → client under test

export interface AcceptOptions {
  /** Sec-WebSocket-Extensions response value (also configures the peer's deflate contexts). */
  extensions?: string
  protocol?: string
  /** Override Sec-WebSocket-Accept (for bad-handshake tests). */
  acceptKey?: string
  statusLine?: string
  /** Replace the default header lines completely (status line still first). */
  rawHeaders?: string[]
  extraHeaders?: string[]
  /** Frames/bytes to send in the same TCP write as the 101 response. */
  trailing?: Buffer
}

export class RawServerConn {
  constructor(
    readonly socket: net.Socket,
    readonly req: Head & { method: string; path: string },
    readonly rest: Buffer,
  ) {}

  get key(): string {
    return this.req.headers['sec-websocket-key'] ?? ''
  }

  accept(o: AcceptOptions = {}): RawPeer {
    const lines = [o.statusLine ?? 'HTTP/1.1 101 Switching Protocols']
    if (o.rawHeaders) lines.push(...o.rawHeaders)
    else {
      lines.push('Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${o.acceptKey ?? acceptKeyFor(this.key)}`)
      if (o.extensions !== undefined) lines.push(`Sec-WebSocket-Extensions: ${o.extensions}`)
      if (o.protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${o.protocol}`)
    }
    lines.push(...(o.extraHeaders ?? []))
    const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
    this.socket.write(o.trailing ? Buffer.concat([head, o.trailing]) : head)
    const peer = new RawPeer(this.socket, 'server', this.rest)
    const pmd = parseExtensions(o.extensions).find(([n]) => n === 'permessage-deflate')
    if (pmd) peer.useDeflate(pmd[1])
    return peer
  }

  /** Answers with an arbitrary raw HTTP response and closes. */
  respond(raw: string): void {
    this.socket.end(raw)
  }
}

export interface RawServer {
  port: number
  url: string
  /** Next accepted upgrade request (in arrival order). */
  next(timeout?: number): Promise<RawServerConn>
  close(): Promise<void>
}

export async function startRawServer(): Promise<RawServer> {
  const queue: RawServerConn[] = []
  const waiters: Array<(c: RawServerConn) => void> = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    readHead(socket, 10_000).then(
      ({ head, rest }) => {
        const [method, path] = head.startLine.split(' ')
        const conn = new RawServerConn(socket, { ...head, method, path }, rest)
        const w = waiters.shift()
        if (w) w(conn)
        else queue.push(conn)
      },
      () => socket.destroy(),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    next(timeout = DEFAULT_TIMEOUT) {
      const c = queue.shift()
      if (c) return Promise.resolve(c)
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1)
          reject(new Error(`no upgrade request within ${timeout} ms`))
        }, timeout)
        const w = (x: RawServerConn) => {
          clearTimeout(t)
          resolve(x)
        }
        waiters.push(w)
      })
    },
    close() {
      for (const s of sockets) s.destroy()
      return new Promise<void>((r) => server.close(() => r()))
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Autobahn payload tables (shared by the server- and client-side suites)

/** Autobahn 6.x UTF-8 cases: [case id, hex payload]. Validity is computed with a fatal TextDecoder. */
export const UTF8_CASES: Array<[string, string]> = [
  ['6.2.1 Hello-µ@ßöäüàá-UTF-8!!', Buffer.from('Hello-µ@ßöäüàá-UTF-8!!').toString('hex')],
  ['6.3.1 Κόσμε + U+D800 + "edited"', 'cebae1bdb9cf83cebcceb5eda080656469746564'],
  ['6.5.1 Κόσμε', 'cebae1bdb9cf83cebcceb5'],
  ['6.7.1 U+0000', '00'],
  ['6.7.2 U+0080', 'c280'],
  ['6.7.3 U+0800', 'e0a080'],
  ['6.7.4 U+10000', 'f0908080'],
  ['6.8.1 5-byte sequence', 'f888808080'],
  ['6.8.2 6-byte sequence', 'fc8480808080'],
  ['6.9.1 U+007F', '7f'],
  ['6.9.2 U+07FF', 'dfbf'],
  ['6.9.3 U+FFFF', 'efbfbf'],
  ['6.9.4 U+10FFFF', 'f48fbfbf'],
  ['6.10.1 U+1FFFFF', 'f7bfbfbf'],
  ['6.10.2 U+3FFFFFF', 'fbbfbfbfbf'],
  ['6.10.3 U+7FFFFFFF', 'fdbfbfbfbfbf'],
  ['6.11.1 U+D7FF', 'ed9fbf'],
  ['6.11.2 U+E000', 'ee8080'],
  ['6.11.3 U+FFFD', 'efbfbd'],
  ['6.11.4 U+10FFFF', 'f48fbfbf'],
  ['6.11.5 U+110000', 'f4908080'],
  ['6.12.1 lone 0x80', '80'],
  ['6.12.2 lone 0xbf', 'bf'],
  ['6.12.3 80 bf', '80bf'],
  ['6.12.4 80 bf 80', '80bf80'],
  ['6.12.5 80 bf 80 bf', '80bf80bf'],
  ['6.12.6 80 bf 80 bf 80', '80bf80bf80'],
  ['6.12.7 80 bf 80 bf 80 bf', '80bf80bf80bf'],
  ['6.12.8 all continuation bytes', Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)).toString('hex')],
  ['6.13.1 lonely 2-byte starts', Buffer.from(Array.from({ length: 32 }, (_, i) => [0xc0 + i, 0x20]).flat()).toString('hex')],
  ['6.13.2 lonely 3-byte starts', Buffer.from(Array.from({ length: 16 }, (_, i) => [0xe0 + i, 0x20]).flat()).toString('hex')],
  ['6.13.3 lonely 4-byte starts', Buffer.from(Array.from({ length: 8 }, (_, i) => [0xf0 + i, 0x20]).flat()).toString('hex')],
  ['6.13.4 lonely 5-byte starts', 'f820f920fa20fb20'],
  ['6.13.5 lonely 6-byte starts', 'fc20fd20'],
  ['6.14.1 c0 (last byte missing)', 'c0'],
  ['6.14.2 e0 80', 'e080'],
  ['6.14.3 f0 80 80', 'f08080'],
  ['6.14.4 f8 80 80 80', 'f8808080'],
  ['6.14.5 fc 80 80 80 80', 'fc80808080'],
  ['6.14.6 df', 'df'],
  ['6.14.7 ef bf', 'efbf'],
  ['6.14.8 f7 bf bf', 'f7bfbf'],
  ['6.14.9 fb bf bf bf', 'fbbfbfbf'],
  ['6.14.10 fd bf bf bf bf', 'fdbfbfbfbf'],
  ['6.15.1 concatenated incomplete sequences', 'c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf'],
  ['6.16.1 fe', 'fe'],
  ['6.16.2 ff', 'ff'],
  ['6.16.3 fe fe ff ff', 'fefeffff'],
  ['6.17.1 overlong /', 'c0af'],
  ['6.17.2 overlong / (3)', 'e080af'],
  ['6.17.3 overlong / (4)', 'f08080af'],
  ['6.17.4 overlong / (5)', 'f8808080af'],
  ['6.17.5 overlong / (6)', 'fc80808080af'],
  ['6.18.1 max overlong 2', 'c1bf'],
  ['6.18.2 max overlong 3', 'e09fbf'],
  ['6.18.3 max overlong 4', 'f08fbfbf'],
  ['6.18.4 max overlong 5', 'f887bfbfbf'],
  ['6.18.5 max overlong 6', 'fc83bfbfbfbf'],
  ['6.19.1 overlong NUL 2', 'c080'],
  ['6.19.2 overlong NUL 3', 'e08080'],
  ['6.19.3 overlong NUL 4', 'f0808080'],
  ['6.19.4 overlong NUL 5', 'f880808080'],
  ['6.19.5 overlong NUL 6', 'fc8080808080'],
  ['6.20.1 U+D800', 'eda080'],
  ['6.20.2 U+DB7F', 'edadbf'],
  ['6.20.3 U+DB80', 'edae80'],
  ['6.20.4 U+DBFF', 'edafbf'],
  ['6.20.5 U+DC00', 'edb080'],
  ['6.20.6 U+DF80', 'edbe80'],
  ['6.20.7 U+DFFF', 'edbfbf'],
  ['6.21.1 U+D800 U+DC00', 'eda080edb080'],
  ['6.21.2 U+D800 U+DFFF', 'eda080edbfbf'],
  ['6.21.3 U+DB7F U+DC00', 'edadbfedb080'],
  ['6.21.4 U+DB7F U+DFFF', 'edadbfedbfbf'],
  ['6.21.5 U+DB80 U+DC00', 'edae80edb080'],
  ['6.21.6 U+DB80 U+DFFF', 'edae80edbfbf'],
  ['6.21.7 U+DBFF U+DC00', 'edafbfedb080'],
  ['6.21.8 U+DBFF U+DFFF', 'edafbfedbfbf'],
  ['6.22.1 U+FFFE', 'efbfbe'],
  ['6.22.2 U+FFFF', 'efbfbf'],
  ['6.22.3 U+1FFFE', 'f09fbfbe'],
  ['6.22.4 U+1FFFF', 'f09fbfbf'],
  ['6.22.33 U+10FFFE', 'f48fbfbe'],
  ['6.22.34 U+10FFFF', 'f48fbfbf'],
  ['6.23.1 U+FFF9..U+FFFD specials', 'efbfb9efbfbaefbfbbefbfbcefbfbd'],
]

const fatal = new TextDecoder('utf-8', { fatal: true })
export function isValidUtf8(b: Buffer): boolean {
  try {
    fatal.decode(b)
    return true
  } catch {
    return false
  }
}

/** Autobahn 7.7.x (valid) and 7.9.x / 7.13.x (invalid) close codes. */
export const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
export const INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535]

/** Autobahn-style payloads: '*' repeated (text) or a repeating byte pattern (binary). */
export const textPayload = (n: number): Buffer => Buffer.alloc(n, '*')
export const binaryPayload = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff
  return b
}
/** Pseudo-random (poorly compressible) but deterministic bytes. */
export function noisePayload(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  return b
}
/** Compressible text that is not trivially periodic (words from a small vocabulary). */
export function wordsPayload(n: number, seed = 7): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'websocket', 'frame', 'deflate', 'κόσμε', 'zlib', 'iocrate']
  const parts: string[] = []
  let len = 0
  let x = seed
  while (len < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    const w = words[x % words.length] + ' '
    parts.push(w)
    len += Buffer.byteLength(w)
  }
  // Cut on an ASCII boundary so the result stays valid UTF-8.
  let s = Buffer.from(parts.join(''))
  while (s.length > n) s = s.subarray(0, s.lastIndexOf(0x20, n - 1) + 1 || 0)
  return Buffer.concat([s, Buffer.alloc(n - s.length, 'x')])
}
