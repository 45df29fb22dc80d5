import * as http from 'node:http'
import type { Socket } from 'node:net'
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type ServerResponse } from '@iocrate/http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeServers, killChildren, parseResponses, pattern, raw, run, sleep, start, within } from './helpers.js'

afterEach(async () => {
  killChildren()
  await closeServers()
})

interface Got {
  status: number
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  trailers: NodeJS.Dict<string>
  body: Buffer
  socket: Socket
}

/** One request with node:http; resolves with the whole response. */
function request(
  port: number,
  opts: http.RequestOptions & { body?: string | Buffer; trailers?: Record<string, string> } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const { body, trailers, ...o } = opts
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...o }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          trailers: res.trailers,
          body: Buffer.concat(parts),
          socket: req.socket!,
        }),
      )
    })
    req.on('error', reject)
    if (trailers) {
      if (body !== undefined) req.write(body)
      req.addTrailers(trailers)
      req.end()
    } else req.end(body)
  })
}

describe('node:http client → our server', () => {
  it('GET: status, body, headers, request fields', async () => {
    let seen: { method: string; url: string; httpVersion: string; host: unknown; remote: string; complete: boolean } | undefined
    const server = createServer((req, res) => {
      seen = {
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        host: req.headers.host,
        remote: req.socket.remoteAddress,
        complete: req.complete,
      }
      res.setHeader('Content-Type', 'text/plain')
      res.end('hello world')
    })
    const port = await start(server)
    const r = await request(port, { path: '/a/b?c=d' })
    expect(r.status).toBe(200)
    expect(r.body.toString()).toBe('hello world')
    expect(r.headers['content-type']).toBe('text/plain')
    expect(r.headers['content-length']).toBe('11')
    expect(r.headers.date).toMatch(/GMT$/)
    expect(seen).toEqual({ method: 'GET', url: '/a/b?c=d', httpVersion: '1.1', host: `127.0.0.1:${port}`, remote: '127.0.0.1', complete: true })
  })

  it('keep-alive: 20 requests through an http.Agent share one socket', async () => {
    const ports = new Set<number>()
    const server = createServer((req, res) => {
      ports.add(req.socket.remotePort)
      res.end(req.url)
    })
    const port = await start(server)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const sockets = new Set<Socket>()
    try {
      for (let i = 0; i < 20; i++) {
        const r = await request(port, { agent, path: `/${i}` })
        expect(r.body.toString()).toBe(`/${i}`)
        expect(r.headers.connection ?? 'keep-alive').not.toBe('close')
        sockets.add(r.socket)
      }
    } finally {
      agent.destroy()
    }
    expect(sockets.size).toBe(1)
    expect(ports.size).toBe(1)
  })

  it('POST bodies: text(), json(), arrayBuffer(), buffer() and for await', async () => {
    const server = createServer(async (req, res) => {
      let out: unknown
      switch (req.url) {
        case '/text':
          out = await req.text()
          break
        case '/json':
          out = await req.json()
          break
        case '/ab': {
          const ab = await req.arrayBuffer()
          out = { isAB: ab instanceof ArrayBuffer, len: ab.byteLength, sum: new Uint8Array(ab).reduce((a, b) => a + b, 0) }
          break
        }
        case '/buffer':
          out = (await req.buffer()).toString('hex')
          break
        case '/iter': {
          let n = 0
          let chunks = 0
          const h = createHash('sha256')
          for await (const c of req) {
            n += (c as Buffer).length
            chunks++
            h.update(c as Buffer)
          }
          out = { n, chunks: chunks > 0, sha: h.digest('hex') }
          break
        }
      }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(out))
    })
    const port = await start(server)
    const post = async (path: string, body: string | Buffer) =>
      JSON.parse((await request(port, { method: 'POST', path, body })).body.toString()) as unknown
    expect(await post('/text', 'héllo ✓')).toBe('héllo ✓')
    expect(await post('/json', JSON.stringify({ a: [1, 2, { b: 'c' }] }))).toEqual({ a: [1, 2, { b: 'c' }] })
    const bytes = Buffer.from([1, 2, 3, 250, 251])
    expect(await post('/ab', bytes)).toEqual({ isAB: true, len: 5, sum: 507 })
    expect(await post('/buffer', bytes)).toBe('010203fafb')
    const big = pattern(300_000, 7)
    expect(await post('/iter', big)).toEqual({ n: 300_000, chunks: true, sha: createHash('sha256').update(big).digest('hex') })
    // An empty body.
    expect(await post('/text', '')).toBe('')
  })

  it('50 MiB upload, read slowly: hash matches and the sender is held back (backpressure)', async () => {
    const SIZE = 50 * 1024 * 1024
    const CHUNK = 256 * 1024
    let consumed = 0
    let sent = 0
    let maxAhead = 0
    let pausedAhead = -1
    const server = createServer(async (req, res) => {
      const h = createHash('sha256')
      let n = 0
      for await (const c of req) {
        h.update(c as Buffer)
        consumed += (c as Buffer).length
        if (++n % 16 === 0) await sleep(2)
        if (pausedAhead < 0 && consumed >= 1024 * 1024) {
          // Stop reading for a while: the sender must stall, not pour the rest into memory.
          await sleep(1500)
          pausedAhead = sent - consumed
        }
      }
      res.end(h.digest('hex'))
    })
    const port = await start(server)
    const rss0 = process.memoryUsage().rss
    let rssPeak = rss0
    const probe = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
      maxAhead = Math.max(maxAhead, sent - consumed)
    }, 20)
    const block = pattern(CHUNK, 3)
    const clientHash = createHash('sha256')
    try {
      const r = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/up', agent: false, headers: { 'content-length': SIZE } }, (res) => {
          let s = ''
          res.setEncoding('utf8').on('data', (d: string) => (s += d))
          res.on('end', () => resolve(s))
        })
        req.on('error', reject)
        let i = 0
        const pump = (): void => {
          while (sent < SIZE) {
            block.writeUInt32LE(i++, 0)
            clientHash.update(block)
            sent += CHUNK
            if (sent >= SIZE) {
              req.end(block)
              return
            }
            if (!req.write(block)) {
              req.once('drain', pump)
              return
            }
          }
        }
        pump()
      })
      expect(r).toBe(clientHash.digest('hex'))
    } finally {
      clearInterval(probe)
    }
    expect(consumed).toBe(SIZE)
    // While the handler did not read for 1.5 s, what the client got rid of is bounded by
    // socket buffers and queues, far below the 49 MiB still to go.
    expect(pausedAhead).toBeGreaterThanOrEqual(0)
    expect(pausedAhead, `max ahead during the upload: ${maxAhead}`).toBeLessThan(24 * 1024 * 1024)
    expect(rssPeak - rss0).toBeLessThan(150 * 1024 * 1024)
  }, 90_000)

  // KNOWN BUG (Rust binding/driver): body backpressure is only requested by JS after
  // `push()` returns false, and the driver keeps reading and queueing HTTP_BODY events to
  // JS meanwhile, with no cap on bytes in flight. While the JS thread is busy, the whole
  // upload is read into memory. Remove `.fails` once the driver bounds in-flight body bytes.
  it.fails('request-body backpressure holds while the JS thread is blocked (bytes in flight to JS are bounded)', async () => {
    const SIZE = 50 * 1024 * 1024
    const file = join(mkdtempSync(join(tmpdir(), 'iocrate-http-bp-')), 'up.bin')
    writeFileSync(file, pattern(SIZE, 21))
    let buffered = -1
    let consumed = 0
    let reached!: () => void
    const inHandler = new Promise<void>((r) => (reached = r))
    const server = createServer(async (req, res) => {
      reached()
      // Busy for 2 s (JS blocked), then let queued events in without reading.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000)
      await sleep(500)
      buffered = req.readableLength
      for await (const c of req) consumed += (c as Buffer).length
      res.end(String(consumed))
    })
    const port = await start(server)
    // The uploader is another process: it keeps sending while this thread is blocked.
    const up = run('curl', ['-sS', '--data-binary', `@${file}`, `http://127.0.0.1:${port}/`], { timeoutMs: 60_000 })
    await inHandler
    const r = await up
    rmSync(file, { force: true })
    expect(r.stdout.toString()).toBe(String(SIZE))
    // With a bounded window this is a few MiB at most; the bug makes it the whole 50 MiB.
    expect(buffered).toBeLessThan(16 * 1024 * 1024)
  }, 60_000)

  it('20 MiB streamed response with write()/drain', async () => {
    const SIZE = 20 * 1024 * 1024
    const CHUNK = 64 * 1024
    const stats = { falses: 0, drains: 0, ended: false }
    const serverHash = createHash('sha256')
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/octet-stream')
      const block = pattern(CHUNK, 9)
      let sent = 0
      let i = 0
      res.on('drain', () => {
        stats.drains++
        pump()
      })
      const pump = (): void => {
        while (sent < SIZE) {
          block.writeUInt32LE(i++, 0)
          serverHash.update(block)
          sent += CHUNK
          if (sent >= SIZE) {
            res.end(block)
            stats.ended = true
            return
          }
          if (!res.write(block)) {
            stats.falses++
            return
          }
        }
      }
      pump()
    })
    const port = await start(server)
    const r = await new Promise<{ sha: string; len: number; te: string | undefined }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, agent: false }, (res) => {
          const h = createHash('sha256')
          let len = 0
          let slow = 0
          res.on('data', (d: Buffer) => {
            h.update(d)
            len += d.length
            // Read slowly at first so the server's queue fills.
            if (slow++ < 20) {
              res.pause()
              setTimeout(() => res.resume(), 10)
            }
          })
          res.on('end', () => resolve({ sha: h.digest('hex'), len, te: res.headers['transfer-encoding'] }))
          res.on('error', reject)
        })
        .on('error', reject)
    })
    expect(r.len).toBe(SIZE)
    expect(r.te).toBe('chunked')
    expect(r.sha).toBe(serverHash.digest('hex'))
    expect(stats.ended).toBe(true)
    expect(stats.falses).toBeGreaterThan(0)
    expect(stats.drains).toBe(stats.falses)
  }, 60_000)

  it('trailers in both directions', async () => {
    let got: { body: string; trailers: unknown; rawTrailers: readonly string[] } | undefined
    const server = createServer(async (req, res) => {
      const body = await req.text()
      got = { body, trailers: { ...req.trailers }, rawTrailers: req.rawTrailers }
      res.setHeader('Trailer', 'X-Checksum')
      res.write('part1;')
      res.write('part2')
      res.addTrailers({ 'X-Checksum': 'abc123' })
      res.end()
    })
    const port = await start(server)
    const r = await request(port, { method: 'POST', body: 'hello', trailers: { 'X-Req-Trailer': 'yes' }, headers: { 'transfer-encoding': 'chunked', trailer: 'X-Req-Trailer' } })
    expect(got?.body).toBe('hello')
    expect(got?.trailers).toEqual({ 'x-req-trailer': 'yes' })
    expect(got?.rawTrailers).toEqual(['X-Req-Trailer', 'yes'])
    expect(r.body.toString()).toBe('part1;part2')
    expect(r.headers['transfer-encoding']).toBe('chunked')
    expect(r.trailers).toEqual({ 'x-checksum': 'abc123' })
  })

  it('HEAD: content-length but no body; 204 and 304 have no body (checked on the wire)', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/204') res.writeHead(204).end()
      else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end()
      else res.end('hello body')
    })
    const port = await start(server)
    const methods = ['HEAD', 'GET', 'GET', 'GET']
    const r = await raw(
      port,
      'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    )
    expect(r.closed).toBe(true)
    const rs = parseResponses(r.data, methods)
    expect(rs.map((x) => x.status)).toEqual([200, 204, 304, 200])
    expect(rs[0]!.headers['content-length']).toEqual(['10'])
    expect(rs[0]!.body.length).toBe(0)
    expect(rs[1]!.headers['content-length']).toBeUndefined()
    expect(rs[1]!.headers['transfer-encoding']).toBeUndefined()
    expect(rs[2]!.headers['transfer-encoding']).toBeUndefined()
    expect(rs[2]!.headers.etag).toEqual(['"x"'])
    expect(rs[3]!.body.toString()).toBe('hello body')
    // Nothing stray between the responses: the last one ends the stream exactly.
    expect(r.text.endsWith('\r\n\r\nhello body')).toBe(true)
    // node:http agrees about HEAD.
    const h = await request(port, { method: 'HEAD' })
    expect(h.headers['content-length']).toBe('10')
    expect(h.body.length).toBe(0)
  })

  it('combines request headers the way Node does; rawHeaders keep case', async () => {
    let seen: { headers: unknown; raw: string[] } | undefined
    const server = createServer((req, res) => {
      seen = { headers: { ...req.headers }, raw: req.rawHeaders }
      res.end()
    })
    const port = await start(server)
    const r = await raw(
      port,
      'GET / HTTP/1.1\r\nHost: x\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Foo: one\r\nx-FOO: two\r\nCookie: c=3\r\nCookie: d=4\r\nUser-Agent: first\r\nUser-Agent: second\r\nX-MiXeD-CaSe: v\r\nConnection: close\r\n\r\n',
    )
    expect(parseResponses(r.data)[0]?.status).toBe(200)
    expect(seen?.headers).toEqual({
      host: 'x',
      'set-cookie': ['a=1', 'b=2'],
      'x-foo': 'one, two',
      cookie: 'c=3; d=4',
      'user-agent': 'first',
      'x-mixed-case': 'v',
      connection: 'close',
    })
    expect(seen?.raw).toEqual([
      'Host', 'x', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Foo', 'one', 'x-FOO', 'two', 'Cookie', 'c=3', 'Cookie', 'd=4',
      'User-Agent', 'first', 'User-Agent', 'second', 'X-MiXeD-CaSe', 'v', 'Connection', 'close',
    ])
  })

  it('latin1 header values round-trip', async () => {
    let seen: unknown
    const server = createServer((req, res) => {
      seen = req.headers['x-latin']
      res.setHeader('X-Latin', req.headers['x-latin'] as string)
      res.end()
    })
    const port = await start(server)
    const r = await request(port, { headers: { 'x-latin': 'café ÿ' } })
    expect(seen).toBe('café ÿ')
    expect(r.headers['x-latin']).toBe('café ÿ')
    // On the wire: one byte per character.
    const w = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\r\nConnection: close\r\n\r\n')
    expect(seen).toBe('café')
    expect(w.data.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a]))).toBe(true)
  })

  it('invalid header values and names throw; headers cannot change once sent', async () => {
    const codes: Record<string, string | undefined> = {}
    const server = createServer((_req, res) => {
      const attempt = (k: string, f: () => void): void => {
        try {
          f()
          codes[k] = 'no throw'
        } catch (e) {
          codes[k] = (e as { code?: string }).code
        }
      }
      attempt('crlf', () => res.setHeader('x-a', 'a\r\nInjected: yes'))
      attempt('lf', () => res.setHeader('x-a', 'a\nb'))
      attempt('nul', () => res.setHeader('x-a', 'a\0b'))
      attempt('array', () => res.setHeader('x-a', ['ok', 'b\rc']))
      attempt('append', () => res.appendHeader('x-a', 'a\nb'))
      attempt('wide', () => res.setHeader('x-a', 'ā'))
      attempt('ctl', () => res.setHeader('x-a', 'a\x01b'))
      attempt('name', () => res.setHeader('bad name', 'v'))
      attempt('writeHead', () => res.writeHead(200, { 'x-b': 'a\r\nb' }))
      attempt('status', () => res.writeHead(42))
      res.setHeader('x-ok', 'fine')
      res.write('x')
      attempt('sent', () => res.setHeader('x-late', '1'))
      res.end()
    })
    const port = await start(server)
    const r = await request(port)
    expect(codes).toEqual({
      crlf: 'ERR_INVALID_CHAR',
      lf: 'ERR_INVALID_CHAR',
      nul: 'ERR_INVALID_CHAR',
      array: 'ERR_INVALID_CHAR',
      append: 'ERR_INVALID_CHAR',
      wide: 'ERR_INVALID_CHAR',
      ctl: 'ERR_INVALID_CHAR',
      name: 'ERR_INVALID_HTTP_TOKEN',
      writeHead: 'ERR_INVALID_CHAR',
      status: 'ERR_HTTP_INVALID_STATUS_CODE',
      sent: 'ERR_HTTP_HEADERS_SENT',
    })
    expect(r.status).toBe(200)
    expect(r.headers['x-ok']).toBe('fine')
    expect(r.headers.injected).toBeUndefined()
    expect(r.headers['x-a']).toBeUndefined()
    expect(r.headers['x-late']).toBeUndefined()
  })

  it('writeHead with an object, a flat array and a pair array', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/obj') res.writeHead(201, 'Made', { 'X-A': '1', 'Set-Cookie': ['s=1', 's=2'], 'X-N': 5 }).end('o')
      else if (req.url === '/flat') res.writeHead(202, ['X-B', '1', 'X-B', '2', 'X-C', '3']).end('f')
      else res.writeHead(203, [['X-D', '1'], ['X-D', '2']]).end('p')
    })
    const port = await start(server)
    const o = await request(port, { path: '/obj' })
    expect(o.status).toBe(201)
    expect(o.headers['x-a']).toBe('1')
    expect(o.headers['x-n']).toBe('5')
    expect(o.headers['set-cookie']).toEqual(['s=1', 's=2'])
    expect(o.body.toString()).toBe('o')
    const f = await request(port, { path: '/flat' })
    expect(f.status).toBe(202)
    expect(f.headers['x-b']).toBe('1, 2')
    expect(f.headers['x-c']).toBe('3')
    const p = await request(port, { path: '/pairs' })
    expect(p.status).toBe(203)
    expect(p.headers['x-d']).toBe('1, 2')
    expect(p.rawHeaders.filter((_, i) => i % 2 === 0).filter((n) => n.toLowerCase() === 'x-d')).toHaveLength(2)
  })

  it("events: 'finish' and 'close' on the response; res.req; flushHeaders sends the head early", async () => {
    const events: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const server = createServer(async (req, res: ServerResponse) => {
      expect(res.req).toBe(req as IncomingMessage)
      res.on('finish', () => events.push('finish'))
      res.on('close', () => events.push('close'))
      res.setHeader('x-early', 'yes')
      res.flushHeaders()
      events.push(`headersSent=${res.headersSent}`)
      await gate
      res.end('late body')
      events.push(`ended=${res.writableEnded}`)
    })
    const port = await start(server)
    const head = await new Promise<{ headers: http.IncomingHttpHeaders; res: http.IncomingMessage }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, agent: false }, (res) => resolve({ headers: res.headers, res })).on('error', reject)
    })
    expect(head.headers['x-early']).toBe('yes')
    const body = new Promise<string>((resolve) => {
      let s = ''
      head.res.setEncoding('utf8').on('data', (d: string) => (s += d))
      head.res.on('end', () => resolve(s))
    })
    release()
    expect(await within(body, 10_000, 'body')).toBe('late body')
    await sleep(50)
    expect(events).toEqual(['headersSent=true', 'ended=true', 'finish', 'close'])
  })
})
