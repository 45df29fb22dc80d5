import * as http from 'node:http'
import * as net from 'node:net'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage } from '@iocrate/http'
import { closeServers, parseResponses, raw, sleep, start, within } from './helpers.js'

afterEach(closeServers)

function get(port: number, path: string, agent: http.Agent | false = false): Promise<{ status: number; body: string; socket: Socket; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, body, socket: req.socket!, headers: res.headers }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

describe('handler errors', () => {
  it('a throwing handler → 500 for that request only; the keep-alive connection goes on', async () => {
    const errors: unknown[] = []
    const server = createServer(
      {
        onError: (err, req) => errors.push([(err as Error).message, req.url]),
      },
      (req, res) => {
        if (req.url === '/throw') {
          res.setHeader('x-discarded', 'yes')
          throw new Error('boom')
        }
        res.end('fine')
      },
    )
    const port = await start(server)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const a = await get(port, '/throw', agent)
      expect(a.status).toBe(500)
      expect(a.body).toBe('Internal Server Error')
      expect(a.headers['x-discarded']).toBeUndefined()
      const b = await get(port, '/ok', agent)
      expect(b.status).toBe(200)
      expect(b.body).toBe('fine')
      expect(b.socket).toBe(a.socket)
    } finally {
      agent.destroy()
    }
    expect(errors).toEqual([['boom', '/throw']])
  })

  it('an async handler that rejects → 500', async () => {
    const errors: string[] = []
    const server = createServer({ onError: (err) => errors.push((err as Error).message) }, async (req, res) => {
      await sleep(10)
      if (req.url === '/reject') throw new Error('async boom')
      res.end('ok')
    })
    const port = await start(server)
    const r = await get(port, '/reject')
    expect(r.status).toBe(500)
    expect((await get(port, '/x')).body).toBe('ok')
    expect(errors).toEqual(['async boom'])
  })

  it('a handler that throws after the head was sent → the connection is closed mid-response', async () => {
    const errors: string[] = []
    const server = createServer({ onError: (err) => errors.push((err as Error).message) }, (_req, res) => {
      res.write('partial')
      throw new Error('late boom')
    })
    const port = await start(server)
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { waitMs: 10_000 })
    expect(r.closed).toBe(true)
    // The connection is cut (queued bytes may or may not have gone out first, as with
    // Node's res.destroy()), but never with a complete response: the client can tell.
    if (r.text.length > 0) expect(r.text).toMatch(/^HTTP\/1\.1 200/)
    expect(r.text).not.toContain('\r\n0\r\n\r\n')
    expect(parseResponses(r.data)).toHaveLength(0)
    expect(errors).toEqual(['late boom'])
    // And node:http reports it as an error.
    const err = await new Promise<unknown>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, agent: false }, (res) => {
          res.on('error', resolve)
          res.on('aborted', () => resolve('aborted'))
          res.resume()
          res.on('end', () => resolve('end'))
        })
        .on('error', resolve)
    })
    expect(err).not.toBe('end')
  })

  it("the client disconnecting mid-upload → req 'error' ECONNRESET; the server keeps serving", async () => {
    let reqErr: (NodeJS.ErrnoException & { code?: string }) | undefined
    let aborted = false
    let gotBytes = 0
    let upReq: IncomingMessage | undefined
    let onErr!: () => void
    const errored = new Promise<void>((resolve) => (onErr = resolve))
    const server = createServer((req, res) => {
      if (req.url !== '/up') return void res.end('still here')
      upReq = req
      req.on('aborted', () => (aborted = true))
      req.on('data', (d: Buffer) => (gotBytes += d.length))
      req.on('error', (e) => {
        reqErr = e
        onErr()
      })
    })
    const port = await start(server)
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n')
      s.write(Buffer.alloc(5000, 1))
      setTimeout(() => s.destroy(), 200)
    })
    s.on('error', () => {})
    await within(errored, 10_000, "req 'error'")
    expect(reqErr?.code).toBe('ECONNRESET')
    expect(aborted).toBe(true)
    expect(upReq?.aborted).toBe(true)
    expect(upReq?.complete).toBe(false)
    expect(gotBytes).toBeGreaterThan(0)
    const r = await get(port, '/next')
    expect(r.body).toBe('still here')
  })
})

describe('unread bodies and aborts without error listeners', () => {
  it("a client aborting an upload the handler never reads does not crash the process ('error' only with listeners, as in Node)", async () => {
    let aborted!: () => void
    const abortedP = new Promise<void>((r) => (aborted = r))
    let reqRef: IncomingMessage | undefined
    const server = createServer((req, res) => {
      if (req.url !== '/ignore') return void res.end('alive')
      reqRef = req
      // No 'error' listener, no read: only 'aborted'.
      req.on('aborted', () => aborted())
    })
    const port = await start(server)
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(100))
      setTimeout(() => s.destroy(), 200)
    })
    s.on('error', () => {})
    await within(abortedP, 10_000, "'aborted'")
    await sleep(100)
    expect(reqRef?.destroyed).toBe(true)
    expect(reqRef?.aborted).toBe(true)
    expect((await get(port, '/next')).body).toBe('alive')
  })

  it('an unread request body: a small one is skipped (keep-alive goes on), a large one ends with Connection: close', async () => {
    const seen: string[] = []
    const server = createServer((req, res) => {
      seen.push(req.url)
      res.end(`got ${req.url}`)
    })
    const port = await start(server)
    const small = await raw(port, `POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(1000)}GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    expect(parseResponses(small.data).map((x) => x.body.toString())).toEqual(['got /small', 'got /second'])
    const big = await raw(port, [`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n`, Buffer.alloc(8 * 1024 * 1024, 98), 'GET /after-big HTTP/1.1\r\nHost: x\r\n\r\n'], { waitMs: 10_000 })
    const rs = parseResponses(big.data)
    expect(rs[0]!.body.toString()).toBe('got /big')
    if (rs.length === 1) {
      // Not worth reading 8 MiB to find the next request: the response said so and the connection ended.
      expect(rs[0]!.headers.connection?.[0]?.toLowerCase()).toBe('close')
      expect(big.closed).toBe(true)
    } else {
      expect(rs[1]!.body.toString()).toBe('got /after-big')
    }
  })
})

describe('limits and timeouts', () => {
  it('maxBodySize: a declared Content-Length over the limit → 413 and closed, handler not run for the body', async () => {
    const seen: string[] = []
    const server = createServer({ maxBodySize: 1000 }, async (req, res) => {
      seen.push(req.url)
      await req.text().catch(() => {})
      res.end('ok')
    })
    const port = await start(server)
    const r = await raw(port, ['POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n', Buffer.alloc(2000, 97), 'GET /after HTTP/1.1\r\nHost: x\r\n\r\n'], {
      waitMs: 10_000,
    })
    expect(r.closed).toBe(true)
    const rs = parseResponses(r.data)
    expect(rs.map((x) => x.status)).toEqual([413])
    expect(seen).not.toContain('/after')
    // Under the limit is fine.
    const ok = await raw(port, 'POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n' + 'a'.repeat(1000))
    expect(parseResponses(ok.data)[0]?.status).toBe(200)
  })

  it('maxBodySize: a chunked body that grows over the limit → 413 and closed', async () => {
    const seen: string[] = []
    let bodyErr: string | undefined
    const server = createServer({ maxBodySize: 1000 }, async (req, res) => {
      seen.push(req.url)
      try {
        await req.text()
        res.end('read it all')
      } catch (e) {
        bodyErr = (e as { code?: string }).code ?? String(e)
      }
    })
    const port = await start(server)
    const chunk = (n: number): string => `${n.toString(16)}\r\n${'b'.repeat(n)}\r\n`
    const r = await raw(port, ['POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunk(600), chunk(600), chunk(600), '0\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n'], {
      waitMs: 10_000,
      gapMs: 50,
    })
    expect(r.closed).toBe(true)
    const rs = parseResponses(r.data)
    expect(rs.map((x) => x.status)).toEqual([413])
    expect(seen).not.toContain('/after')
    expect(bodyErr === undefined || typeof bodyErr === 'string').toBe(true)
  })

  it('requestTimeout: a body that trickles in → 408 and closed', async () => {
    const server = createServer({ requestTimeout: 1000, onError: () => {} }, async (req, res) => {
      res.end(await req.text())
    })
    const port = await start(server)
    const pieces = ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', ...Array.from({ length: 99 }, () => 'a')]
    const r = await raw(port, pieces, { gapMs: 100, waitMs: 15_000 })
    expect(r.closed).toBe(true)
    const rs = parseResponses(r.data)
    expect(rs.map((x) => x.status)).toEqual([408])
    expect(rs[0]!.headers.connection?.[0]?.toLowerCase()).toBe('close')
    expect(r.ms).toBeGreaterThanOrEqual(900)
    expect(r.ms).toBeLessThan(8000)
  }, 30_000)

  it('headersTimeout: a slowloris sending one header byte per 100 ms is disconnected', async () => {
    let calls = 0
    const server = createServer({ headersTimeout: 1000 }, (_req, res) => {
      calls++
      res.end()
    })
    const port = await start(server)
    const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n'
    const r = await raw(port, head.split(''), { gapMs: 100, waitMs: 20_000 })
    expect(r.closed).toBe(true)
    expect(r.ms).toBeGreaterThanOrEqual(900)
    expect(r.ms).toBeLessThan(10_000)
    expect(calls).toBe(0)
    // Whatever was sent back (nothing, or a 408), it is not a 200.
    expect(r.text).not.toMatch(/^HTTP\/1\.1 200/)
  }, 30_000)

  it('maxHeaderSize → 431', async () => {
    let calls = 0
    const server = createServer({ maxHeaderSize: 1024 }, (_req, res) => {
      calls++
      res.end()
    })
    const port = await start(server)
    const r = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`)
    expect(parseResponses(r.data).map((x) => x.status)).toEqual([431])
    expect(r.closed).toBe(true)
    expect(calls).toBe(0)
    const ok = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(500)}\r\nConnection: close\r\n\r\n`)
    expect(parseResponses(ok.data).map((x) => x.status)).toEqual([200])
  })

  it('maxHeadersCount → 431', async () => {
    const server = createServer({ maxHeadersCount: 10 }, (_req, res) => res.end())
    const port = await start(server)
    const fields = Array.from({ length: 20 }, (_, i) => `X-${i}: v\r\n`).join('')
    const r = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`)
    expect(parseResponses(r.data).map((x) => x.status)).toEqual([431])
    expect(r.closed).toBe(true)
  })

  it('a request line over maxRequestLineSize → 414', async () => {
    let calls = 0
    const server = createServer({ maxRequestLineSize: 256 }, (_req, res) => {
      calls++
      res.end()
    })
    const port = await start(server)
    const r = await raw(port, `GET /${'p'.repeat(1000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
    expect(parseResponses(r.data).map((x) => x.status)).toEqual([414])
    expect(r.closed).toBe(true)
    expect(calls).toBe(0)
    const ok = await raw(port, `GET /${'p'.repeat(100)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    expect(parseResponses(ok.data).map((x) => x.status)).toEqual([200])
  })

  it('invalid options are rejected with an error event', async () => {
    const server = createServer({ maxBodySize: -1 })
    server.listen(0, '127.0.0.1')
    const [err] = (await once(server, 'error')) as [{ code?: string }]
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    expect(server.listening).toBe(false)
  })
})
