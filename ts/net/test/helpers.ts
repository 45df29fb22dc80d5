import * as nodeNet from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'

/** Folder of the child-process scripts. */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))

/** A fresh Unix socket path in a temp folder. */
export function tempSocketPath(name = 'sock'): string {
  return join(mkdtempSync(join(tmpdir(), 'iocrate-net-')), name)
}

const tracked = new WeakMap<nodeNet.Server, Set<nodeNet.Socket>>()

/** A node:net server on `host` (or a Unix path) whose sockets {@link closeNode} destroys. */
export async function nodeServer(
  opts: { host?: string; path?: string; allowHalfOpen?: boolean },
  onConnection: (s: nodeNet.Socket) => void,
): Promise<nodeNet.Server> {
  const sockets = new Set<nodeNet.Socket>()
  const srv = nodeNet.createServer({ allowHalfOpen: opts.allowHalfOpen ?? false }, (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    onConnection(s)
  })
  tracked.set(srv, sockets)
  if (opts.path) srv.listen(opts.path)
  else srv.listen(0, opts.host ?? '127.0.0.1')
  await once(srv, 'listening')
  return srv
}

/** A node:net echo server on `host` (or a Unix path); resolves once listening. */
export function nodeEchoServer(opts: { host?: string; path?: string; allowHalfOpen?: boolean } = {}): Promise<nodeNet.Server> {
  return nodeServer(opts, (s) => s.pipe(s))
}

/** The port a node:net or iocrate server listens on. */
export function portOf(srv: { address(): unknown }): number {
  return (srv.address() as { port: number }).port
}

/** Collects a readable's bytes until it ends. */
export function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    s.on('data', (c: Buffer) => parts.push(c))
    s.on('end', () => resolve(Buffer.concat(parts)))
    s.on('error', reject)
  })
}

/** Closes a node:net server, destroying its connections. */
export function closeNode(srv: nodeNet.Server): Promise<void> {
  return new Promise((resolve) => {
    srv.close(() => resolve())
    for (const s of tracked.get(srv) ?? []) s.destroy()
  })
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

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

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * Runs `node <script> args…` under bash with the descriptor limit raised (as far as the hard
 * limit allows). Resolves when it exits; `timeoutMs` kills it.
 */
export function runChild(script: string, args: string[] = [], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; onStdout?: (line: string, child: ChildProcess) => void } = {}): Promise<ChildResult> {
  const start = Date.now()
  const quoted = [process.execPath, join(FIXTURES, script), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const child = spawn('bash', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${quoted}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  })
  let stdout = ''
  let stderr = ''
  let partial = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    if (opts.onStdout) {
      partial += d
      let i: number
      while ((i = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, i)
        partial = partial.slice(i + 1)
        opts.onStdout(line, child)
      }
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - start })
    })
  })
}

/** The last JSON line a child printed. */
export function lastJson<T = Record<string, unknown>>(r: ChildResult): T {
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'))
  if (lines.length === 0) throw new Error(`no JSON from child (code ${r.code}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(lines[lines.length - 1]!) as T
}

/** Resolves once a stream has emitted `'close'` (at once if it already has). */
export function waitClose(s: NodeJS.EventEmitter & { closed?: boolean }): Promise<void> {
  if (s.closed) return Promise.resolve()
  return new Promise((r) => s.once('close', () => r()))
}
