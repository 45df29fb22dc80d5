import * as nodeNet from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import type { Server } from '@iocrate/http'

/** Folder of the child-process scripts. */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const servers = new Set<Server>()

/** Starts `server` on 127.0.0.1 (port 0) and resolves with its port; {@link closeServers} closes it. */
export function start(server: Server): Promise<number> {
  servers.add(server)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve(portOf(server))
    })
  })
}

/** Closes every server {@link start} opened (cutting off what is still in flight). */
export async function closeServers(): Promise<void> {
  await Promise.all(
    [...servers].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve()
          const t = setTimeout(resolve, 5000)
          s.close(() => {
            clearTimeout(t)
            resolve()
          })
          s.closeAllConnections()
        }),
    ),
  )
  servers.clear()
}

/** The port a server listens on. */
export function portOf(srv: { address(): unknown }): number {
  return (srv.address() as { port: number }).port
}

/** Rejects when `p` takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let t: NodeJS.Timeout
  return Promise.race([
    p,
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(t))
}

/** A raw TCP peer: everything it received, and whether the server closed the connection. */
export interface RawResult {
  data: Buffer
  text: string
  /** The server ended or reset the connection (before `waitMs` ran out). */
  closed: boolean
  /** ms from connect until close (or until giving up). */
  ms: number
}

/**
 * Connects with node:net, writes `payload` (a string is sent as latin1 bytes; an array is
 * written piece by piece, `gapMs` apart), and collects everything until the server closes
 * the connection or `waitMs` passes.
 */
export async function raw(
  port: number,
  payload: string | Buffer | (string | Buffer)[],
  opts: { waitMs?: number; gapMs?: number; until?: (received: string) => boolean } = {},
): Promise<RawResult> {
  const waitMs = opts.waitMs ?? 5000
  const sock = nodeNet.connect(port, '127.0.0.1')
  sock.setNoDelay(true)
  const parts: Buffer[] = []
  const t0 = Date.now()
  let stopped = false
  const done = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs)
    const fin = (): void => {
      clearTimeout(timer)
      resolve(true)
    }
    sock.on('data', (d: Buffer) => {
      parts.push(d)
      if (opts.until && opts.until(Buffer.concat(parts).toString('latin1'))) {
        clearTimeout(timer)
        resolve(false)
      }
    })
    sock.on('end', fin)
    sock.on('close', fin)
    sock.on('error', () => {})
  })
  await new Promise<void>((r, j) => {
    sock.once('connect', () => r())
    sock.once('error', j)
  })
  const list = Array.isArray(payload) ? payload : [payload]
  void (async () => {
    for (let i = 0; i < list.length && !stopped; i++) {
      if (i > 0 && opts.gapMs) await sleep(opts.gapMs)
      if (sock.destroyed || sock.writableEnded) break
      const p = list[i]!
      sock.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p)
    }
  })()
  const closed = await done
  stopped = true
  const ms = Date.now() - t0
  sock.destroy()
  const data = Buffer.concat(parts)
  return { data, text: data.toString('latin1'), closed, ms }
}

/** One parsed HTTP/1.1 response. */
export interface ParsedResponse {
  status: number
  reason: string
  /** Lower-case names, every value kept. */
  headers: Record<string, string[]>
  /** Raw header lines as received. */
  rawHead: string
  body: Buffer
  chunked: boolean
  /** Trailer fields of a chunked body. */
  trailers: Record<string, string[]>
}

/**
 * Parses every complete response in `data` (responses to `methods`, in order, so HEAD
 * and 1xx/204/304 get no body). Stops at the first incomplete one.
 */
export function parseResponses(data: Buffer, methods: string[] = []): ParsedResponse[] {
  const out: ParsedResponse[] = []
  let pos = 0
  let reqIdx = 0
  while (pos < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', pos, 'latin1')
    if (headEnd < 0) break
    const rawHead = data.subarray(pos, headEnd).toString('latin1')
    const lines = rawHead.split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]!)
    if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`)
    const status = +m[1]!
    const headers: Record<string, string[]> = {}
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':')
      const n = l.slice(0, i).toLowerCase()
      ;(headers[n] ??= []).push(l.slice(i + 1).trim())
    }
    let p = headEnd + 4
    if (status >= 100 && status < 200) {
      out.push({ status, reason: m[2]!, headers, rawHead, body: Buffer.alloc(0), chunked: false, trailers: {} })
      pos = p
      continue
    }
    const method = methods[reqIdx++] ?? 'GET'
    const noBody = method === 'HEAD' || status === 204 || status === 304
    const te = headers['transfer-encoding']?.join(',').toLowerCase() ?? ''
    const trailers: Record<string, string[]> = {}
    let body: Buffer
    let chunked = false
    if (noBody) body = Buffer.alloc(0)
    else if (te.includes('chunked')) {
      chunked = true
      const bodies: Buffer[] = []
      for (;;) {
        const le = data.indexOf('\r\n', p, 'latin1')
        if (le < 0) return out
        const size = parseInt(data.subarray(p, le).toString('latin1'), 16)
        p = le + 2
        if (size === 0) {
          for (;;) {
            const te2 = data.indexOf('\r\n', p, 'latin1')
            if (te2 < 0) return out
            const line = data.subarray(p, te2).toString('latin1')
            p = te2 + 2
            if (line === '') break
            const i = line.indexOf(':')
            ;(trailers[line.slice(0, i).toLowerCase()] ??= []).push(line.slice(i + 1).trim())
          }
          break
        }
        if (p + size + 2 > data.length) return out
        bodies.push(data.subarray(p, p + size))
        p += size + 2
      }
      body = Buffer.concat(bodies)
    } else if (headers['content-length']) {
      const len = +headers['content-length'][0]!
      if (p + len > data.length) return out
      body = data.subarray(p, p + len)
      p += len
    } else {
      body = data.subarray(p)
      p = data.length
    }
    out.push({ status, reason: m[2]!, headers, rawHead, body, chunked, trailers })
    pos = p
  }
  return out
}

export interface ProcResult {
  code: number | null
  stdout: Buffer
  stderr: string
  ms: number
}

const children = new Set<ChildProcess>()

/** Runs a program; resolves with its output when it exits (killed after `timeoutMs`). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string | Buffer } = {}): Promise<ProcResult> {
  const t0 = Date.now()
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(c)
  const out: Buffer[] = []
  let err = ''
  c.stdout!.on('data', (d: Buffer) => out.push(d))
  c.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  c.stdin!.on('error', () => {})
  c.stdin!.end(opts.input)
  const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
  return new Promise((resolve, reject) => {
    c.on('error', reject)
    c.on('close', (code) => {
      clearTimeout(timer)
      children.delete(c)
      resolve({ code, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - t0 })
    })
  })
}

/** Kills every child {@link run} started that is still running. */
export function killChildren(): void {
  for (const c of children) c.kill('SIGKILL')
  children.clear()
}

/** `node <fixture> args…` under bash with the descriptor limit raised; resolves when it exits. */
export function runFixture(
  script: string,
  args: string[],
  opts: { timeoutMs?: number; onStdout?: (line: string, child: ChildProcess) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const quoted = [process.execPath, join(FIXTURES, script), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const child = spawn('bash', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${quoted}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  children.add(child)
  let stdout = ''
  let stderr = ''
  let partial = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    partial += d
    let i: number
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i)
      partial = partial.slice(i + 1)
      opts.onStdout?.(line, child)
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Deterministic pseudo-random bytes (xorshift), so an upload can be regenerated and hashed. */
export function pattern(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b.writeUInt32LE(x >>> 0, i)
  }
  for (let i = size - (size % 4); i < size; i++) b[i] = i & 0xff
  return b
}
