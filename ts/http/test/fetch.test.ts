import * as http from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { createServer, serve, type Server } from '@iocrate/http'
import { closeServers, parseResponses, portOf, raw, sleep, start } from './helpers.js'

const served: Server[] = []
afterEach(async () => {
  await closeServers()
  await Promise.all(served.splice(0).map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))))
})

describe('fetch-style handlers', () => {
  it('createServer({ fetch }): method, url, headers and a JSON body reach the Request; status and headers go back', async () => {
    let seen: Record<string, unknown> | undefined
    const server = createServer({
      fetch: async (request, info) => {
        seen = {
          method: request.method,
          url: request.url,
          ct: request.headers.get('content-type'),
          custom: request.headers.get('x-custom'),
          body: await request.json(),
          remote: info.remoteAddress,
          port: typeof info.remotePort,
        }
        return new Response(JSON.stringify({ ok: true }), { status: 201, headers: { 'content-type': 'application/json', 'X-Reply': 'yes' } })
      },
    })
    const port = await start(server)
    const res = await fetch(`http://127.0.0.1:${port}/items?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'abc' },
      body: JSON.stringify({ name: 'x', n: 3 }),
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-reply')).toBe('yes')
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual({ ok: true })
    expect(seen).toEqual({
      method: 'POST',
      url: `http://127.0.0.1:${port}/items?q=1`,
      ct: 'application/json',
      custom: 'abc',
      body: { name: 'x', n: 3 },
      remote: '127.0.0.1',
      port: 'number',
    })
  })

  it('a streamed Response body (3 chunks) is chunked on the wire; multiple Set-Cookie stay separate', async () => {
    const server = createServer({
      fetch: () => {
        let i = 0
        const body = new ReadableStream<Uint8Array>({
          async pull(c) {
            if (i === 3) return c.close()
            await sleep(30)
            c.enqueue(new TextEncoder().encode(`chunk${i++};`))
          },
        })
        const headers = new Headers({ 'content-type': 'text/plain' })
        headers.append('set-cookie', 'a=1; Path=/')
        headers.append('set-cookie', 'b=2; HttpOnly')
        return new Response(body, { status: 200, headers })
      },
    })
    const port = await start(server)
    const r = await raw(port, 'GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitMs: 10_000 })
    const [res] = parseResponses(r.data)
    expect(res!.chunked).toBe(true)
    expect(res!.headers['content-length']).toBeUndefined()
    expect(res!.body.toString()).toBe('chunk0;chunk1;chunk2;')
    expect(res!.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
    // Three data chunks on the wire, one per stream chunk.
    const wire = r.text.slice(r.text.indexOf('\r\n\r\n') + 4)
    expect(wire.match(/(^|\r\n)7\r\nchunk\d;/g)).toHaveLength(3)
    expect(wire.endsWith('0\r\n\r\n')).toBe(true)
    // The same through fetch().
    const f = await fetch(`http://127.0.0.1:${port}/s`)
    expect(f.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
    expect(await f.text()).toBe('chunk0;chunk1;chunk2;')
  })

  it('serve({ fetch, port: 0 }) resolves once listening; a handler error → 500; a client abort aborts request.signal', async () => {
    let aborted!: () => void
    const abortedP = new Promise<void>((r) => (aborted = r))
    const errors: string[] = []
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      onError: (e) => errors.push((e as Error).message),
      fetch: async (request) => {
        const u = new URL(request.url)
        if (u.pathname === '/fail') throw new Error('fetch boom')
        if (u.pathname === '/bad') return 'not a response' as unknown as Response
        if (u.pathname === '/hang') {
          request.signal.addEventListener('abort', () => aborted())
          // Stream forever; the client goes away.
          return new Response(
            new ReadableStream({
              async pull(c) {
                await sleep(20)
                c.enqueue(new Uint8Array(1000))
              },
            }),
          )
        }
        return new Response(`hello ${u.searchParams.get('name') ?? ''}`)
      },
    })
    served.push(server)
    expect(server.listening).toBe(true)
    const port = portOf(server)
    expect(await (await fetch(`http://127.0.0.1:${port}/?name=world`)).text()).toBe('hello world')
    expect((await fetch(`http://127.0.0.1:${port}/fail`)).status).toBe(500)
    expect((await fetch(`http://127.0.0.1:${port}/bad`)).status).toBe(500)
    expect(errors).toEqual(['fetch boom', 'The fetch handler must return a Response'])
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/hang', agent: false }, (res) => {
          res.once('data', () => {
            res.destroy()
            resolve()
          })
        })
        .on('error', reject)
    })
    await Promise.race([abortedP, sleep(10_000).then(() => Promise.reject(new Error('request.signal not aborted')))])
  })

  it('HEAD through a fetch handler: headers and length, no body; a null-body 204', async () => {
    const server = createServer({
      fetch: (request) => (new URL(request.url).pathname === '/none' ? new Response(null, { status: 204 }) : new Response('twelve bytes', { headers: { 'x-h': '1' } })),
    })
    const port = await start(server)
    const r = await raw(port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /none HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    const rs = parseResponses(r.data, ['HEAD', 'GET', 'GET'])
    expect(rs.map((x) => x.status)).toEqual([200, 204, 200])
    expect(rs[0]!.headers['x-h']).toEqual(['1'])
    expect(rs[0]!.body.length).toBe(0)
    expect(rs[1]!.headers['content-length']).toBeUndefined()
    expect(rs[2]!.body.toString()).toBe('twelve bytes')
    expect(r.text.endsWith('\r\n\r\ntwelve bytes')).toBe(true)
  })

  it('a Host header cannot rewrite the path the handler sees (400, handler not called)', async () => {
    const seen: string[] = []
    const app = new Hono()
    app.get('/admin', (c) => {
      seen.push('admin')
      return c.text('ADMIN AREA')
    })
    app.get('/public', (c) => {
      seen.push(`public ${new URL(c.req.url).host}`)
      return c.text('public')
    })
    const server = createServer({ fetch: app.fetch, onError: () => {} })
    const port = await start(server)
    const ask = async (host: string | undefined, target = '/public', version = '1.1') => {
      const r = await raw(port, `GET ${target} HTTP/${version}\r\n${host === undefined ? '' : `Host: ${host}\r\n`}Connection: close\r\n\r\n`)
      const [res] = parseResponses(r.data)
      return `${res?.status} ${res?.body.toString()}`
    }
    for (const evil of ['x/admin?', 'x/admin#', 'x\\admin?', 'x#', 'user@x', 'a b', 'x:99999']) {
      // 400 from the fetch adapter, or already from the Rust parser.
      expect((await ask(evil)).slice(0, 4), evil).toBe('400 ')
    }
    expect(seen).toEqual([])
    expect(await ask('example.test:8080')).toBe('200 public')
    expect(await ask('[::1]:80')).toBe('200 public')
    expect(await ask('')).toBe('200 public')
    expect(await ask(undefined, '/public', '1.0')).toBe('200 public')
    expect(await ask('x', 'http://other.test/public')).toBe('200 public')
    expect(seen).toEqual(['public example.test:8080', 'public [::1]', 'public localhost', 'public localhost', 'public other.test'])
    // Asterisk-form is not a URL a fetch handler could take.
    const star = await raw(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(parseResponses(star.data)[0]?.status).toBe(400)
  })

  it('serve() without a host listens; serve rejects on EADDRINUSE', async () => {
    const server = await serve({ port: 0, fetch: () => new Response('any') })
    served.push(server)
    const port = portOf(server)
    expect((await (await fetch(`http://127.0.0.1:${port}/`)).text())).toBe('any')
    await expect(serve({ port, fetch: () => new Response('') })).rejects.toMatchObject({ code: 'EADDRINUSE' })
  })

  it('a real Hono app runs unchanged through serve({ fetch: app.fetch })', async () => {
    const app = new Hono()
    app.get('/', (c) => c.text('Hono home'))
    app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null }))
    app.post('/echo', async (c) => {
      const body = await c.req.json<{ msg: string }>()
      c.header('X-Powered', 'hono')
      return c.json({ got: body, ua: c.req.header('user-agent') ?? null }, 201)
    })
    app.get('/cookies', (c) => {
      c.header('Set-Cookie', 'x=1', { append: true })
      c.header('Set-Cookie', 'y=2', { append: true })
      return c.body(null, 204)
    })
    const server = await serve({ fetch: app.fetch, port: 0, host: '127.0.0.1' })
    served.push(server)
    const base = `http://127.0.0.1:${portOf(server)}`
    const home = await fetch(`${base}/`)
    expect(home.status).toBe(200)
    expect(home.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await home.text()).toBe('Hono home')
    expect(await (await fetch(`${base}/users/42?q=z`)).json()).toEqual({ id: '42', q: 'z' })
    const echo = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'tester' }, body: JSON.stringify({ msg: 'hi' }) })
    expect(echo.status).toBe(201)
    expect(echo.headers.get('x-powered')).toBe('hono')
    expect(await echo.json()).toEqual({ got: { msg: 'hi' }, ua: 'tester' })
    const nf = await fetch(`${base}/nope`)
    expect(nf.status).toBe(404)
    expect(await nf.text()).toBe('404 Not Found')
    const ck = await fetch(`${base}/cookies`)
    expect(ck.status).toBe(204)
    expect(ck.headers.getSetCookie()).toEqual(['x=1', 'y=2'])
  })
})
