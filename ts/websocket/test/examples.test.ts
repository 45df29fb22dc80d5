// Runs the examples in examples/websocket/ and talks to them with real peers: the `ws`
// package, python's `websockets` (through client.mjs against it), node's fetch.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import WS from 'ws'

const dir = fileURLToPath(new URL('../../../examples/websocket/', import.meta.url))

interface Running {
  child: ChildProcess
  port: number
  stderr: () => string
}

/** Starts an example on a free port; resolves once it printed `listening on HOST:PORT`. */
async function start(file: string): Promise<Running> {
  const child = spawn(process.execPath, [join(dir, file), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /^listening on (\S+):(\d+)$/m.exec(out)
      if (m) resolve(Number(m[2]))
    })
    child.on('exit', (code) => reject(new Error(`${file} exited (${code}) before listening: ${out}${err}`)))
  })
  return { child, port, stderr: () => err }
}

/** SIGTERM: the example must close its connections and exit with 0 by itself. */
async function stop(r: Running): Promise<void> {
  const exited = once(r.child, 'exit')
  r.child.kill('SIGTERM')
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000)
  const [code, signal] = await exited
  clearTimeout(timer)
  expect({ code, signal, stderr: r.stderr() }).toEqual({ code: 0, signal: null, stderr: '' })
}

/** Runs client.mjs with `input` on stdin; resolves with its exit code and output. */
function runClient(url: string, input: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(dir, 'client.mjs'), url], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  child.stdin.end(input)
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out, err })
    }),
  )
}

/** Connects; `onMessage` is attached before the handshake ends (a message may come in the same read as the 101). */
function open(url: string, onMessage?: (text: string) => void): Promise<WS> {
  const c = new WS(url)
  if (onMessage) c.on('message', (d) => onMessage(String(d)))
  return new Promise((resolve, reject) => {
    c.once('open', () => resolve(c))
    c.once('error', reject)
  })
}

describe('examples/websocket', () => {
  it('echo-server.mjs echoes to a ws client (text and binary, compressed), and client.mjs sends stdin lines and exits once the replies are in', async () => {
    const r = await start('echo-server.mjs')
    try {
      const c = new WS(`ws://127.0.0.1:${r.port}/`, { perMessageDeflate: true })
      await once(c, 'open')
      expect(c.extensions).toContain('permessage-deflate')
      c.send('hello '.repeat(1000))
      const [text, isBinary] = (await once(c, 'message')) as [Buffer, boolean]
      expect([text.toString(), isBinary]).toEqual(['hello '.repeat(1000), false])
      c.send(Buffer.from([0, 1, 2]))
      const [bin, isBinary2] = (await once(c, 'message')) as [Buffer, boolean]
      expect([[...bin], isBinary2]).toEqual([[0, 1, 2], true])
      c.close()
      await once(c, 'close')

      const lines = Array.from({ length: 50 }, (_, i) => `line ${i} ✓`)
      const res = await runClient(`ws://127.0.0.1:${r.port}/`, lines.join('\n') + '\n')
      expect(res.err).toBe('')
      expect(res.code).toBe(0)
      expect(res.out.trimEnd().split('\n')).toEqual(lines)

      // An idle connection at shutdown gets 1001 and the process still exits by itself.
      const idle = await open(`ws://127.0.0.1:${r.port}/`)
      const closed = once(idle, 'close')
      await stop(r)
      const [code] = (await closed) as [number]
      expect(code).toBe(1001)
    } finally {
      r.child.kill('SIGKILL')
    }
  })

  it('client.mjs reports an unreachable server with a clear message and a non-zero exit', async () => {
    const res = await runClient('ws://127.0.0.1:1/', 'x\n')
    expect(res.code).toBe(1)
    expect(res.err).toMatch(/cannot connect to ws:\/\/127\.0\.0\.1:1\/: ECONNREFUSED/)
  })

  it('chat.mjs serves its page from a static route and broadcasts every message to the room', async () => {
    const r = await start('chat.mjs')
    try {
      const page = await fetch(`http://127.0.0.1:${r.port}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const html = await page.text()
      expect(html).toContain("new WebSocket(")
      expect(html).toContain("'/chat'")

      const aMsgs: string[] = []
      const a = await open(`ws://127.0.0.1:${r.port}/chat`, (m) => aMsgs.push(m))
      await waitFor(() => aMsgs.length >= 1, 5000, 'a joined')
      expect(aMsgs[0]).toMatch(/^\* guest\d+ joined \(1 here\)$/)
      const bMsgs: string[] = []
      const b = await open(`ws://127.0.0.1:${r.port}/chat`, (m) => bMsgs.push(m))
      await waitFor(() => aMsgs.length >= 2 && bMsgs.length >= 1, 5000, `b joined (a: ${JSON.stringify(aMsgs)}, b: ${JSON.stringify(bMsgs)})`)
      b.send('hi all')
      await waitFor(() => aMsgs.some((m) => m.endsWith(': hi all')) && bMsgs.some((m) => m.endsWith(': hi all')), 5000, 'hi all')
      a.close()
      await waitFor(() => bMsgs.some((m) => / left$/.test(m)), 5000, 'a left')
      // Other paths are not WebSocket endpoints.
      await expect(open(`ws://127.0.0.1:${r.port}/other`)).rejects.toThrow(/404/)
      await stop(r)
    } finally {
      r.child.kill('SIGKILL')
    }
  })
})

async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in time`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
