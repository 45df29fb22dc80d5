import { spawn, type ChildProcess } from 'node:child_process'
import * as nodeNet from 'node:net'
import { once } from 'node:events'
import { services } from '../../../scripts/services.mjs'

export { services }

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = nodeNet.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const p = (s.address() as nodeNet.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return p
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Waits until `fn` stops throwing (or returns true), polling. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== false) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await sleep(50)
  }
}

/** A redis-server of a test's own (for killing and restarting), on `port`. */
export class OwnRedis {
  readonly port: number
  #proc: ChildProcess | undefined
  readonly #extra: string[]

  constructor(port: number, extra: string[] = []) {
    this.port = port
    this.#extra = extra
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const bin = services().redis.bin.server
    const p = spawn(bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.#extra], {
      stdio: 'ignore',
    })
    this.#proc = p
    await eventually(async () => {
      const s = nodeNet.connect(this.port, '127.0.0.1')
      try {
        await once(s, 'connect')
        s.write('PING\r\n')
        const [d] = (await once(s, 'data')) as [Buffer]
        return /^(\+PONG|-NOAUTH)/.test(d.toString())
      } finally {
        s.destroy()
      }
    }, 10_000, `redis-server on ${this.port}`)
  }

  /** SIGKILL: the server vanishes mid-whatever. */
  async kill(): Promise<void> {
    const p = this.#proc
    if (p === undefined || p.exitCode !== null) return
    const exited = once(p, 'exit')
    p.kill('SIGKILL')
    await exited
    this.#proc = undefined
  }
}

/**
 * A scripted TCP peer for bad-input tests (a real Redis never sends malformed RESP):
 * `reply(conn, commandCount, raw)` gets each chunk and answers what it likes.
 */
export async function fakeServer(onData: (sock: nodeNet.Socket, data: Buffer, connIndex: number) => void): Promise<{ port: number; close: () => Promise<void>; connections: () => number }> {
  let n = 0
  const socks = new Set<nodeNet.Socket>()
  const srv = nodeNet.createServer((s) => {
    const i = n++
    socks.add(s)
    s.on('close', () => socks.delete(s))
    s.on('error', () => {})
    s.on('data', (d) => onData(s, d, i))
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  return {
    port: (srv.address() as nodeNet.AddressInfo).port,
    connections: () => n,
    close: async () => {
      for (const s of socks) s.destroy()
      await new Promise<void>((r) => srv.close(() => r()))
    },
  }
}

/** Counts RESP commands (`*N` array headers at top level) in a chunk of client bytes — good enough for tests that send simple commands. */
export function countCommands(data: Buffer): string[] {
  const out: string[] = []
  const s = data.toString('latin1')
  let i = 0
  while (i < s.length) {
    if (s[i] !== '*') break
    const nl = s.indexOf('\r\n', i)
    const n = Number(s.slice(i + 1, nl))
    i = nl + 2
    const parts: string[] = []
    for (let k = 0; k < n; k++) {
      const l2 = s.indexOf('\r\n', i)
      const len = Number(s.slice(i + 1, l2))
      parts.push(s.slice(l2 + 2, l2 + 2 + len))
      i = l2 + 2 + len + 2
    }
    out.push(parts.join(' '))
  }
  return out
}
