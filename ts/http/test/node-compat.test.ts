import { once } from 'node:events'
import * as nodeNet from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from '@iocrate/http'

let server: Server | undefined
afterEach(async () => {
  if (server?.listening) await new Promise<void>((r) => server!.close(() => r()))
  server = undefined
})

async function listen(s: Server): Promise<number> {
  server = s
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return (s.address() as AddressInfo).port
}

function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = nodeNet.connect(port, '127.0.0.1', () => c.write(text))
    let got = ''
    c.on('data', (d: Buffer) => (got += d.toString('latin1')))
    c.on('close', () => resolve(got))
    c.on('error', reject)
  })
}

describe('Node compatibility details', () => {
  it('Content-Length mismatches throw ERR_HTTP_CONTENT_LENGTH_MISMATCH instead of breaking the connection', async () => {
    const errors: string[] = []
    const port = await listen(
      createServer((req, res) => {
        res.setHeader('Content-Length', 5)
        try {
          if (req.url === '/long') res.write('too long!')
          else res.end('abc')
        } catch (err) {
          errors.push((err as { code: string }).code)
          res.removeHeader('Content-Length')
          res.end('fallback')
        }
      }),
    )
    const a = await raw(port, 'GET /long HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    const b = await raw(port, 'GET /short HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(errors).toEqual(['ERR_HTTP_CONTENT_LENGTH_MISMATCH', 'ERR_HTTP_CONTENT_LENGTH_MISMATCH'])
    expect(a).toMatch(/\r\n\r\nfallback$/)
    expect(b).toMatch(/\r\n\r\nfallback$/)
  })

  it('HEAD may declare the GET length without sending a body', async () => {
    const port = await listen(
      createServer((_req, res) => {
        res.setHeader('Content-Length', 1234)
        res.end()
      }),
    )
    const got = await raw(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(got).toMatch(/content-length: 1234\r\n/i)
    expect(got.endsWith('\r\n\r\n')).toBe(true)
  })

  it('closeAllConnections() closes idle keep-alive connections too', async () => {
    // GETs are answered; the POST stays in flight (its body never completes).
    const s = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      if (req.method !== 'POST') res.end('ok')
    })
    const port = await listen(s)
    const idle = nodeNet.connect(port, '127.0.0.1')
    await once(idle, 'connect')
    idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await once(idle, 'data')
    const busy = nodeNet.connect(port, '127.0.0.1')
    await once(busy, 'connect')
    busy.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial')
    await new Promise((r) => setTimeout(r, 50))
    expect(s.connections).toBe(2)
    const closed = Promise.all([once(idle, 'close'), once(busy, 'close'), once(s, 'close')])
    s.close()
    s.closeAllConnections()
    await closed
    expect(s.connections).toBe(0)
  })

  it('standard reason phrases for less common statuses', async () => {
    const port = await listen(
      createServer((req, res) => {
        res.statusCode = Number(req.url.slice(1))
        res.end()
      }),
    )
    for (const [code, reason] of [[418, "I'm a Teapot"], [429, 'Too Many Requests'], [422, 'Unprocessable Content'], [202, 'Accepted']] as const) {
      const got = await raw(port, `GET /${code} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      expect(got.startsWith(`HTTP/1.1 ${code} ${reason}\r\n`)).toBe(true)
    }
  })
})

describe('socket idle timeout (server.timeout)', () => {
  it('closes a connection whose handler never answers, and one whose client stops reading', async () => {
    const closed: string[] = []
    const big = Buffer.alloc(64 * 1024 * 1024, 0x61)
    const s = createServer({ timeout: 300 }, (req, res) => {
      res.on('close', () => closed.push(req.url))
      if (req.url === '/big') res.end(big)
      // '/never': no answer at all
    })
    const port = await listen(s)
    const t0 = Date.now()
    const never = await raw(port, 'GET /never HTTP/1.1\r\nHost: x\r\n\r\n').catch((e: { code: string }) => e.code)
    expect(never).toBe('ECONNRESET')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    // A client that reads nothing: the kernel buffers fill, writes stall, the timeout fires.
    const c = nodeNet.connect(port, '127.0.0.1')
    await once(c, 'connect')
    c.pause()
    c.on('error', () => {})
    c.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n')
    const deadline = Date.now() + 10_000
    while (!closed.includes('/big') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(closed.sort()).toEqual(['/big', '/never'])
    // The connection was reset: the client sees its end once it reads again.
    // (Not events.once: it rejects on the 'error' (ECONNRESET) that precedes 'close'.)
    const gone = new Promise((r) => c.once('close', r))
    c.resume()
    await gone
    // Without a timeout a slow handler is waited for.
    expect(s.timeout).toBe(300)
  }, 20_000)
})
