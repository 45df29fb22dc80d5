// Interop with python3 `websockets` (10.x, asyncio), both directions, with and without permessage-deflate:
//   - the implementation's client ↔ fixtures/ws_echo_server.py
//   - fixtures/ws_client.py ↔ the implementation's echo server
// The scripts print READY (with the bound port for the server: we pass port 0) and JSON lines we check.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { impls, record, toText, waitUntil, withTimeout, type WSLike } from './impls.js'

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))

/** A python3 that has `websockets` (Debian's python3-websockets lives in /usr/bin/python3's dist-packages). */
const PYTHON = ['/usr/bin/python3', 'python3'].find(
  (py) => (py.startsWith('/') ? existsSync(py) : true) && spawnSync(py, ['-c', 'import websockets'], { timeout: 10_000 }).status === 0,
)

interface Py {
  proc: ChildProcess
  lines: string[]
  stderr: string[]
  exited: Promise<number | null>
  waitLine(pred: (l: string) => boolean, ms?: number): Promise<string>
  json(): Array<Record<string, unknown>>
}

const procs: ChildProcess[] = []

function runPy(script: string, args: string[]): Py {
  const proc = spawn(PYTHON!, [FIXTURES + script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  procs.push(proc)
  const lines: string[] = []
  const stderr: string[] = []
  let buf = ''
  proc.stdout!.setEncoding('utf8')
  proc.stdout!.on('data', (d: string) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i))
      buf = buf.slice(i + 1)
    }
  })
  proc.stderr!.setEncoding('utf8')
  proc.stderr!.on('data', (d: string) => stderr.push(d))
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  return {
    proc,
    lines,
    stderr,
    exited,
    async waitLine(pred, ms = 5000) {
      await waitUntil(() => lines.some(pred) || proc.exitCode !== null, ms, `python line (${script}); stderr: ${stderr.join('')}`).catch((e) => {
        throw new Error(`${e.message}; stdout: ${lines.join('\n')}`)
      })
      const l = lines.find(pred)
      if (!l) throw new Error(`${script} exited (${proc.exitCode}) without the expected line; stdout: ${lines.join('\n')}; stderr: ${stderr.join('')}`)
      return l
    },
    json() {
      return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    },
  }
}

afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM')
      await withTimeout(new Promise((r) => p.once('exit', r)), 3000, 'python exit').catch(() => p.kill('SIGKILL'))
    }
  }
})

async function startPyServer(o: { compression: boolean; subprotocols?: string }): Promise<{ py: Py; url: string }> {
  const args = ['0']
  if (o.compression) args.push('--compression')
  if (o.subprotocols) args.push('--subprotocols', o.subprotocols)
  const py = runPy('ws_echo_server.py', args)
  const ready = await py.waitLine((l) => l.startsWith('READY '), 10_000)
  return { py, url: `ws://127.0.0.1:${Number(ready.split(' ')[1])}` }
}

const hasDeflate = (s: WSLike) => (typeof s.extensions === 'string' ? s.extensions : Object.keys(s.extensions).join(',')).includes('permessage-deflate')

describe.skipIf(!PYTHON)('python websockets interop', () => {
  for (const impl of impls) {
    describe(`[${impl.name}]`, () => {
      for (const compression of [false, true]) {
        const tag = compression ? 'permessage-deflate' : 'no compression'
        it(`${impl.name} client → python server (${tag}): subprotocol, text, binary, 1 MiB, 100 messages, close code`, { timeout: 30_000 }, async () => {
          const { py, url } = await startPyServer({ compression, subprotocols: 'chat' })
          const client = impl.connect(url + '/interop', ['superchat', 'chat'], { perMessageDeflate: compression })
          const rec = record(client)
          await withTimeout(rec.opened, 5000, `open (${rec.events.join(', ')})`)
          expect(client.protocol).toBe('chat')
          expect(hasDeflate(client)).toBe(compression)

          client.send('hello python')
          let m = await rec.nextMessage()
          expect(m).toMatchObject({ text: 'hello python', isBinary: false })
          client.send('κόσμε ✓ 🐍')
          expect((await rec.nextMessage()).text).toBe('κόσμε ✓ 🐍')
          const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff))
          client.send(bin)
          m = await rec.nextMessage()
          expect(m.isBinary).toBe(true)
          expect(m.data.equals(bin)).toBe(true)

          const bigText = 'interop-'.repeat(131072) // 1 MiB
          client.send(bigText)
          m = await rec.nextMessage(10_000)
          expect(m.isBinary).toBe(false)
          expect(m.text.length).toBe(bigText.length)
          expect(m.text === bigText).toBe(true)
          const bigBin = Buffer.alloc(1024 * 1024)
          for (let i = 0; i < bigBin.length; i++) bigBin[i] = (i * 7 + (i >> 10)) & 0xff
          client.send(bigBin)
          m = await rec.nextMessage(10_000)
          expect(m.isBinary).toBe(true)
          expect(m.data.equals(bigBin)).toBe(true)

          for (let i = 0; i < 100; i++) client.send(i % 2 ? Buffer.from(`b${i}`) : `t${i}`)
          for (let i = 0; i < 100; i++) {
            const x = await rec.nextMessage()
            expect([x.text, x.isBinary]).toEqual([i % 2 ? `b${i}` : `t${i}`, i % 2 === 1])
          }

          client.close(4000, 'node bye')
          const closed = await withTimeout(rec.closed, 5000, 'close')
          expect(closed).toEqual({ code: 4000, reason: 'node bye' }) // websockets echoes code and reason
          const ev = JSON.parse(await py.waitLine((l) => l.includes('"event": "close"'))) as Record<string, unknown>
          expect(ev).toMatchObject({ code: 4000, reason: 'node bye', messages: 105 })
          const open = py.json().find((e) => e.event === 'open')!
          expect(open.path).toBe('/interop')
          expect(String(open.extensions).includes('permessage-deflate')).toBe(compression)
        })
      }

      it(`python server closes with 4002 → ${impl.name} client close event (4002, reason), clean`, async () => {
        const { url } = await startPyServer({ compression: true })
        const client = impl.connect(url)
        const rec = record(client)
        await withTimeout(rec.opened, 5000, 'open')
        client.send('please-close 4002 python says bye')
        const closed = await withTimeout(rec.closed, 5000, 'close')
        expect(closed).toEqual({ code: 4002, reason: 'python says bye' })
        expect(rec.errors).toHaveLength(0)
      })

      for (const compression of [false, true]) {
        const tag = compression ? 'permessage-deflate' : 'no compression'
        it(`python client → ${impl.name} server (${tag}): echo of every kind, ping, close 4001`, { timeout: 30_000 }, async () => {
          const server = await impl.startServer({
            perMessageDeflate: compression,
            handleProtocols: (ps: Set<string>) => (ps.has('chat') ? 'chat' : false),
          })
          try {
            const args = [server.url + '/py']
            if (compression) args.push('--compression')
            args.push('--subprotocol', 'chat')
            const py = runPy('ws_client.py', args)
            const code = await withTimeout(py.exited, 25_000, 'python client exit')
            const out = py.json()
            expect(out.filter((l) => l.error), py.stderr.join('')).toEqual([])
            expect(code).toBe(0)
            expect(out.filter((l) => l.ok).map((l) => l.step)).toEqual([
              'text',
              'unicode',
              'binary',
              'empty text',
              'empty binary',
              '1 MiB text',
              '1 MiB binary',
              '100 messages',
              'fragmented',
              'ping',
            ])
            const done = out.find((l) => l.done)!
            // The reply to a close carries the same code (RFC 6455 §5.5.1 "typically echoes"); echoing the reason
            // too is ws behaviour only (iocrate replies without it), so only the code is checked.
            expect(done).toMatchObject({ close_code: 4001, subprotocol: 'chat' })
            expect((done.extensions as string[]).includes('permessage-deflate')).toBe(compression)
            expect(server.conns).toHaveLength(1)
            const conn = server.conns[0]
            expect(conn.req.url).toBe('/py')
            expect(await withTimeout(conn.closed, 5000, 'server close')).toEqual({ code: 4001, reason: 'py-bye' })
            expect(conn.messages).toHaveLength(108)
            expect(toText(conn.messages[1].data)).toBe('κόσμε — ünïcødé ✓ 🐍')
            expect(conn.messages[107]).toEqual({ data: 'frag-1 frag-2 frag-3', isBinary: false })
          } finally {
            await server.close()
          }
        })
      }
    })
  }
})
