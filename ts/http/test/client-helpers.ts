// Helpers of the client tests (client.test.ts, client-nginx.test.ts) and of ts/https/test.
// Real peers only: node:http / node:net servers in-process, nginx, curl, openssl.
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import * as nodeHttp from 'node:http'
import * as nodeNet from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const root = resolve(import.meta.dirname, '../../..')

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Rejects when `p` takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let t: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(t))
}

/** Polls `cond` until it holds (or throws after `ms`). */
export async function waitFor(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`)
    await sleep(10)
  }
}

/** A free 127.0.0.1 TCP port (nothing listens on it when this resolves). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = nodeNet.createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as nodeNet.AddressInfo).port
      s.close(() => res(p))
    })
  })
}

/** Counts connections of a server and destroys them on close. */
export interface Tracked {
  /** Every connection accepted so far. */
  connections: number
  /** Connections open now. */
  open: Set<nodeNet.Socket>
  /** Most connections open at once. */
  maxOpen: number
  /** Sockets closed so far. */
  closed: number
}

function track(srv: nodeNet.Server): Tracked {
  const t: Tracked = { connections: 0, open: new Set(), maxOpen: 0, closed: 0 }
  srv.on('connection', (s: nodeNet.Socket) => {
    t.connections++
    t.open.add(s)
    t.maxOpen = Math.max(t.maxOpen, t.open.size)
    s.on('error', () => {})
    s.on('close', () => {
      t.open.delete(s)
      t.closed++
    })
  })
  return t
}

export interface NodeHttpPeer extends Tracked {
  server: nodeHttp.Server
  port: number
  /** `http://127.0.0.1:port` */
  origin: string
  close(): Promise<void>
}

/** An in-process node:http server on 127.0.0.1 with connection counting. */
export async function nodeHttpServer(handler: nodeHttp.RequestListener, opts: nodeHttp.ServerOptions = {}): Promise<NodeHttpPeer> {
  // Clients going away mid-request are part of these tests: the request's 'error' ("aborted")
  // and an async handler's rejection (a body read cut short) are not failures of the test.
  const wrapped: nodeHttp.RequestListener = (req, res) => {
    req.on('error', () => {})
    res.on('error', () => {})
    const r = handler(req, res) as unknown
    if (r instanceof Promise) r.catch(() => res.destroy())
  }
  const server = nodeHttp.createServer({ keepAliveTimeout: 30_000, ...opts }, wrapped)
  const t = track(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as nodeNet.AddressInfo).port
  const peer = t as NodeHttpPeer
  peer.server = server
  peer.port = port
  peer.origin = `http://127.0.0.1:${port}`
  peer.close = () => closeServer(server, t)
  return peer
}

export interface RawPeer extends Tracked {
  server: nodeNet.Server
  port: number
  origin: string
  close(): Promise<void>
}

/** An in-process node:net server on 127.0.0.1: `onConnection` speaks raw bytes. */
export async function rawServer(onConnection: (s: nodeNet.Socket) => void): Promise<RawPeer> {
  const server = nodeNet.createServer(onConnection)
  const t = track(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as nodeNet.AddressInfo).port
  const peer = t as RawPeer
  peer.server = server
  peer.port = port
  peer.origin = `http://127.0.0.1:${port}`
  peer.close = () => closeServer(server, t)
  return peer
}

function closeServer(server: nodeNet.Server, t: Tracked): Promise<void> {
  return new Promise((res) => {
    server.close(() => res())
    for (const s of t.open) s.destroy()
  })
}

/** Reads a node request body. */
export async function readBody(req: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of req) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

/** `n` bytes of a deterministic pattern (not all equal, so misordering shows). */
export function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n)
  let x = (seed * 2654435761 + 12345) >>> 0
  for (let i = 0; i < n; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0
    b.writeUInt32LE(x, i <= n - 4 ? i : n - 4)
  }
  return b
}

// ---- test PKI (scripts/gen-test-certs.sh) ----

let dir: string | undefined
/** Generates the test PKI once per worker; returns its directory. */
export function certDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'iocrate-http-client-test-'))
    execFileSync('bash', [join(root, 'scripts/gen-test-certs.sh'), dir], { stdio: 'ignore' })
  }
  return dir
}

/** A file of the test PKI. */
export function pem(name: string): Buffer {
  return readFileSync(join(certDir(), name))
}

/** The path of a file of the test PKI. */
export function pkiPath(name: string): string {
  return join(certDir(), name)
}

/** An error's `code` (or undefined). */
export function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code
}

/** Awaits a rejection and returns the error (fails when `p` resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    const v = await p
    throw Object.assign(new Error(`expected a rejection, got ${String(v)}`), { resolved: true })
  } catch (e) {
    if ((e as { resolved?: boolean }).resolved) throw e
    return e as Error & { code?: string }
  }
}
