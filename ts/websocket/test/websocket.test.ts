// The @iocrate/websocket API against real peers: the `ws` package's client and server,
// node:net raw sockets, our HTTP(S) servers. Protocol conformance (Autobahn case groups)
// is in conformance-*.test.ts; python interop in interop-python.test.ts.
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import * as nodeNet from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import WS, { WebSocketServer as WsServer } from 'ws'
import { createServer as createHttpServer } from '@iocrate/http'
import { createServer as createHttpsServer } from '@iocrate/https'
import { WebSocket, WebSocketServer, WebSocketError, CloseEvent, connect, type WebSocketServerOptions } from '@iocrate/websocket'
import { certDir, pem, within } from '../../http/test/client-helpers.js'

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await within(Promise.resolve(c()), 8000, `cleanup ${c.toString().slice(0, 80)}`)
})

beforeAll(() => {
  certDir()
})

async function server(opts: Omit<WebSocketServerOptions, 'port' | 'server'> = {}): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...opts })
  await once(wss, 'listening')
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate()
        wss.close(() => resolve())
      }),
  )
  const port = (wss.address() as { port: number }).port
  return { wss, port, url: `ws://127.0.0.1:${port}` }
}

function echo(wss: WebSocketServer): void {
  wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })))
}

/** Collects the first `n` messages a `ws` client receives. */
function collect(c: WS, n: number): { got: Buffer[]; all: Promise<void> } {
  const got: Buffer[] = []
  const all = new Promise<void>((resolve) => {
    c.on('message', (m: Buffer) => {
      got.push(m)
      if (got.length === n) resolve()
    })
  })
  return { got, all }
}

function wsClient(url: string, opts: WS.ClientOptions = {}, protocols?: string[]): Promise<WS> {
  const c = new WS(url, protocols, opts)
  closers.push(() => {
    c.terminate()
  })
  return new Promise((resolve, reject) => {
    c.once('open', () => resolve(c))
    c.once('error', reject)
  })
}

function ours(url: string, protocols?: string | string[], opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  return connect(url, protocols, opts).then((c) => {
    closers.push(() => c.terminate())
    return c
  })
}

function nextMessage(c: WS): Promise<[Buffer, boolean]> {
  return within(new Promise((resolve) => c.once('message', (d: Buffer, b: boolean) => resolve([d, b]))), 5000, 'message')
}

function closeOf(c: WS | WebSocket): Promise<[number, string]> {
  return within(
    new Promise((resolve) => (c as WS).once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]))),
    5000,
    'close',
  )
}

describe('server', () => {
  it('echoes text as text and binary as binary to a ws client; text arrives as a string', async () => {
    const { wss, url } = await server()
    const seen: [unknown, boolean][] = []
    wss.on('connection', (ws) =>
      ws.on('message', (d, isBinary) => {
        seen.push([d, isBinary])
        ws.send(d)
      }),
    )
    const c = await wsClient(url)
    c.send('héllo')
    expect(await nextMessage(c)).toEqual([Buffer.from('héllo'), false])
    c.send(Buffer.from([1, 2, 3]))
    expect(await nextMessage(c)).toEqual([Buffer.from([1, 2, 3]), true])
    expect(seen[0]).toEqual(['héllo', false])
    expect(Buffer.isBuffer(seen[1][0])).toBe(true)
  })

  it('answers a plain HTTP request on a standalone server with 426', async () => {
    const { port } = await server()
    const res = await fetch(`http://127.0.0.1:${port}/`)
    expect(res.status).toBe(426)
    expect(await res.text()).toBe('Upgrade Required')
  })

  it('attaches to an @iocrate/http server: HTTP requests still reach the handler, /ws upgrades, other paths are refused', async () => {
    const http = createHttpServer((req, res) => res.end(`http ${req.url}`))
    const wss = new WebSocketServer({ server: http, path: '/ws' })
    echo(wss)
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    closers.push(() => new Promise<void>((r) => http.close(() => r())))
    closers.push(() => new Promise<void>((r) => wss.close(() => r())))
    const port = (http.address() as { port: number }).port
    expect(await (await fetch(`http://127.0.0.1:${port}/page`)).text()).toBe('http /page')
    const c = await wsClient(`ws://127.0.0.1:${port}/ws?token=1`)
    c.send('over http')
    expect(String((await nextMessage(c))[0])).toBe('over http')
    // Another path is an ordinary request for the HTTP handler, which does not upgrade it.
    await expect(wsClient(`ws://127.0.0.1:${port}/other`)).rejects.toThrow(/Unexpected server response: 200/)
  })

  it('serves wss: on an @iocrate/https server (same port as HTTPS) to ws and to our client', async () => {
    const https = createHttpsServer({ cert: pem('server.pem'), key: pem('server.key') }, (_req, res) => res.end('https'))
    const wss = new WebSocketServer({ server: https })
    echo(wss)
    https.listen(0, '127.0.0.1')
    await once(https, 'listening')
    closers.push(() => new Promise<void>((r) => https.close(() => r())))
    closers.push(() => new Promise<void>((r) => wss.close(() => r())))
    const port = (https.address() as { port: number }).port
    const c = await wsClient(`wss://localhost:${port}/`, { ca: pem('ca.pem') })
    c.send('secure')
    expect(String((await nextMessage(c))[0])).toBe('secure')
    const o = await ours(`wss://localhost:${port}/`, undefined, { ca: pem('ca.pem') })
    o.send('ours secure')
    const [m] = await once(o, 'message')
    expect(m).toBe('ours secure')
    const [, [, req]] = await Promise.all([ours(`wss://localhost:${port}/x`, undefined, { ca: pem('ca.pem') }), once(wss, 'connection')])
    expect((req as { secure: boolean }).secure).toBe(true)
    // Without the CA the certificate is refused.
    await expect(connect(`wss://localhost:${port}/`)).rejects.toMatchObject({ code: 'ERR_IOCRATE_TLS_CERT_UNTRUSTED' })
  })

  it('standalone wss: with tls options', async () => {
    const { wss, port } = await server({ tls: { cert: pem('server.pem'), key: pem('server.key') } })
    echo(wss)
    const c = await wsClient(`wss://localhost:${port}/`, { ca: pem('ca.pem') })
    c.send('tls')
    expect(String((await nextMessage(c))[0])).toBe('tls')
  })

  it('chooses the first offered subprotocol by default, or what handleProtocols returns', async () => {
    const a = await server()
    const c1 = await wsClient(a.url, {}, ['chat', 'superchat'])
    expect(c1.protocol).toBe('chat')
    const b = await server({ handleProtocols: (set) => (set.has('superchat') ? 'superchat' : false) })
    const conn = once(b.wss, 'connection')
    const c2 = await ours(b.url, ['chat', 'superchat'])
    expect(c2.protocol).toBe('superchat')
    const [sws] = (await conn) as [WebSocket]
    expect(sws.protocol).toBe('superchat')
    const c3 = await ours(b.url, ['chat'])
    expect(c3.protocol).toBe('')
  })

  it('verifyClient refuses by origin (sync 401) and with a custom status (async)', async () => {
    const { wss, url } = await server({
      verifyClient: async ({ origin, req }) => {
        if (origin !== 'https://good.example') return false
        if (req.headers.authorization !== 'Bearer ok') return { status: 403, message: 'no token' }
        return true
      },
    })
    echo(wss)
    await expect(wsClient(url, { origin: 'https://evil.example' })).rejects.toThrow(/401/)
    await expect(connect(url, { origin: 'https://good.example' })).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_HANDSHAKE', message: expect.stringContaining('403') })
    const c = await ours(url, [], { origin: 'https://good.example', headers: { Authorization: 'Bearer ok' } })
    c.send('in')
    expect((await once(c, 'message'))[0]).toBe('in')
  })

  it('publishes to topics in Rust: every subscriber gets the message, the sender can be excluded, closed sockets leave', async () => {
    const { wss, url } = await server()
    const serverSide: WebSocket[] = []
    wss.on('connection', (ws) => {
      expect(ws.subscribe('room')).toBe(true)
      expect(ws.subscribe('room')).toBe(false)
      serverSide.push(ws)
    })
    const clients = await Promise.all(Array.from({ length: 200 }, () => wsClient(url)))
    await within((async () => { while (wss.subscribers('room') < 200) await new Promise((r) => setTimeout(r, 5)) })(), 5000, 'subscribers')
    const got = clients.map((c) => nextMessage(c))
    expect(wss.publish('room', 'to everyone')).toBe(200)
    for (const [d, bin] of await Promise.all(got)) expect([String(d), bin]).toEqual(['to everyone', false])
    // ws.publish excludes the sender: exactly one client (its peer) gets nothing.
    const counts = clients.map(() => 0)
    const payloads: string[] = []
    clients.forEach((c, i) =>
      c.on('message', (d: Buffer, bin: boolean) => {
        counts[i]++
        payloads.push(`${[...d].join(',')}/${bin}`)
      }),
    )
    expect(serverSide[0].publish('room', Buffer.from([9, 9]))).toBe(199)
    await within((async () => { while (payloads.length < 199) await new Promise((r) => setTimeout(r, 5)) })(), 5000, 'publish from a socket')
    await new Promise((r) => setTimeout(r, 50))
    expect(counts.filter((n) => n === 0).length).toBe(1)
    expect(new Set(payloads)).toEqual(new Set(['9,9/true']))
    expect(serverSide[1].isSubscribed('room')).toBe(true)
    expect(serverSide[1].unsubscribe('room')).toBe(true)
    expect(serverSide[1].topics).toEqual([])
    expect(wss.subscribers('room')).toBe(199)
    const closed = closeOf(serverSide[5])
    serverSide[5].close()
    await closed
    await within((async () => { while (wss.subscribers('room') !== 198) await new Promise((r) => setTimeout(r, 5)) })(), 5000, 'unsubscribe on close')
  })

  it('compressed publish reaches deflate and plain subscribers alike (frame compressed once)', async () => {
    const { wss, url } = await server({ perMessageDeflate: { threshold: 0 } })
    wss.on('connection', (ws) => ws.subscribe('t'))
    const a = await wsClient(url, { perMessageDeflate: true })
    const b = await wsClient(url, { perMessageDeflate: false })
    const c = await ours(url, [], { perMessageDeflate: { clientMaxWindowBits: 9 } })
    expect(a.extensions).toContain('permessage-deflate')
    expect(b.extensions).toBe('')
    expect(c.extensions).toContain('permessage-deflate')
    await within((async () => { while (wss.subscribers('t') < 3) await new Promise((r) => setTimeout(r, 5)) })(), 5000, 'subs')
    const text = 'compress me '.repeat(5000)
    const pa = nextMessage(a)
    const pb = nextMessage(b)
    const pc = once(c, 'message')
    expect(wss.publish('t', text)).toBe(3)
    expect(String((await pa)[0])).toBe(text)
    expect(String((await pb)[0])).toBe(text)
    expect((await pc)[0]).toBe(text)
  })

  it('bounds what a peer that stops reading can make it buffer: bufferedAmount, drain, maxBackpressure, maxBufferedAmount', async () => {
    const { wss, port } = await server({ maxBackpressure: 256 * 1024, maxBufferedAmount: 8 * 1024 * 1024, highWaterMark: 64 * 1024 })
    const conn = once(wss, 'connection')
    const raw = await rawUpgrade(port)
    const [sws] = (await conn) as [WebSocket]
    sws.subscribe('slow')
    raw.pause()
    const chunk = Buffer.alloc(64 * 1024, 1)
    // Fill the kernel buffers and then the native queue.
    // (Loopback socket buffers take several MiB before anything stays queued.)
    for (let i = 0; i < 120 && sws.bufferedAmount <= 512 * 1024; i++) {
      sws.send(chunk)
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(sws.bufferedAmount).toBeGreaterThan(256 * 1024)
    // A publish skips a subscriber this far behind.
    expect(wss.publish('slow', 'dropped')).toBe(0)
    // Reading again drains it.
    const drained = within(once(sws, 'drain'), 5000, 'drain')
    raw.resume()
    await drained
    expect(sws.bufferedAmount).toBeLessThan(64 * 1024)
    // A peer that never reads again: past maxBufferedAmount the socket is cut (1008).
    raw.pause()
    const errors: unknown[] = []
    sws.on('error', (e) => errors.push(e))
    const closed = closeOf(sws)
    for (let i = 0; i < 400 && sws.readyState === WebSocket.OPEN; i++) {
      sws.send(chunk)
      if (i % 16 === 15) await new Promise((r) => setTimeout(r, 10))
    }
    const [code] = await closed
    expect(code).toBe(1008)
    expect(errors[0]).toMatchObject({ code: 'ERR_WEBSOCKET_BUFFER_FULL' })
    raw.destroy()
  })

  it("'drain' fires after a send reached the high-water mark, also when the end-of-tick write empties the queue at once", async () => {
    const { wss, url } = await server({ highWaterMark: 64 * 1024 })
    const conn = once(wss, 'connection')
    const c = await wsClient(url)
    const [sws] = (await conn) as [WebSocket]
    const { got, all } = collect(c, 10)
    // Messages under 16 KiB are staged until the end of the tick: ten of 10 KiB pass the mark.
    for (let i = 0; i < 10; i++) sws.send(Buffer.alloc(10 * 1024, i))
    expect(sws.bufferedAmount).toBeGreaterThanOrEqual(64 * 1024)
    const drained = once(sws, 'drain')
    await within(drained, 5000, 'drain').catch((e: Error) => {
      throw new Error(`${e.message}; bufferedAmount ${sws.bufferedAmount}, state ${sws.readyState}`)
    })
    expect(sws.bufferedAmount).toBe(0)
    await within(all, 5000, 'messages')
    expect(got.map((m) => [m.length, m[0]])).toEqual(Array.from({ length: 10 }, (_, i) => [10 * 1024, i]))
  })

  it('small messages (shared pool views) and larger ones arrive intact and in order, and stay intact', async () => {
    const { wss, url } = await server()
    const conn = once(wss, 'connection')
    const c = await wsClient(url)
    const [sws] = (await conn) as [WebSocket]
    const N = 3000
    const expected = (i: number): Buffer | string => {
      if (i % 7 === 3) return `text ${i}`
      const b = Buffer.alloc(1 + ((i * 37) % 1500))
      for (let k = 0; k < b.length; k++) b[k] = (i + k) & 0xff
      return b
    }
    const got: (Buffer | string)[] = []
    const all = new Promise<void>((resolve) => {
      sws.on('message', (m: Buffer | string) => {
        got.push(m)
        if (got.length === N) resolve()
      })
    })
    for (let i = 0; i < N; i++) c.send(expected(i))
    await within(all, 10000, 'messages')
    // Small ones share pools (views of one Buffer per batch of events).
    const small = got.filter((m): m is Buffer => Buffer.isBuffer(m) && m.length <= 1024)
    expect(new Set(small.map((m) => m.buffer)).size).toBeLessThan(small.length / 2)
    // Checked once all have arrived: a pool is never reused, so earlier views are unchanged.
    for (let i = 0; i < N; i++) {
      const e = expected(i)
      if (typeof e === 'string') expect(got[i]).toBe(e)
      else {
        expect(Buffer.isBuffer(got[i])).toBe(true)
        expect((got[i] as Buffer).equals(e)).toBe(true)
      }
    }
  })

  it('a large message is written at once, in order after the staged ones, and arrives whole', async () => {
    const { wss, url } = await server()
    const conn = once(wss, 'connection')
    const c = await wsClient(url)
    const [sws] = (await conn) as [WebSocket]
    const { got, all } = collect(c, 3)
    const big = Buffer.alloc(3 * 1024 * 1024)
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i)
    sws.send(Buffer.from('small one'))
    sws.send(big)
    sws.send(Buffer.from('small two'))
    // Most of 3 MiB cannot fit the socket at once: the rest waits, counted.
    expect(sws.bufferedAmount).toBeGreaterThan(0)
    await within(all, 10000, 'messages')
    expect(got[0].toString()).toBe('small one')
    expect(got[1].equals(big)).toBe(true)
    expect(got[2].toString()).toBe('small two')
    expect(sws.bufferedAmount).toBe(0)
  })

  it('keep-alive: a peer that answers pings stays, one that does not is terminated with 1006', async () => {
    const { wss, port, url } = await server({ pingInterval: 100, pingTimeout: 200 })
    const sockets: WebSocket[] = []
    wss.on('connection', (ws) => sockets.push(ws))
    const good = await wsClient(url) // ws answers pings itself
    let pings = 0
    good.on('ping', () => pings++)
    const raw = await rawUpgrade(port) // reads, never answers
    raw.on('data', () => {})
    await within((async () => { while (sockets.length < 2) await new Promise((r) => setTimeout(r, 5)) })(), 5000, 'connections')
    const errors: unknown[] = []
    sockets[1].on('error', (e) => errors.push(e))
    const [code] = await closeOf(sockets[1])
    expect(code).toBe(1006)
    expect(errors[0]).toMatchObject({ code: 'ERR_WEBSOCKET_PING_TIMEOUT' })
    expect(pings).toBeGreaterThan(0)
    expect(good.readyState).toBe(WS.OPEN)
    raw.destroy()
  })

  it('maxPayload: a bigger message closes the connection with 1009', async () => {
    const { wss, url } = await server({ maxPayload: 1000 })
    echo(wss)
    const c = await wsClient(url)
    c.send(Buffer.alloc(999))
    expect((await nextMessage(c))[0].length).toBe(999)
    const closed = closeOf(c)
    c.send(Buffer.alloc(1001))
    expect((await closed)[0]).toBe(1009)
  })

  it('close handshake both ways, closeAll, and the server-side close event', async () => {
    const { wss, url } = await server()
    const serverClose: number[] = []
    wss.on('connection', (ws) => {
      ws.on('close', (code: number) => serverClose.push(code))
      ws.on('message', (m) => {
        if (m === 'bye') ws.close(4001, 'server says bye')
      })
    })
    const a = await wsClient(url)
    const ca = closeOf(a)
    a.send('bye')
    expect(await ca).toEqual([4001, 'server says bye'])
    const b = await wsClient(url)
    const cb = closeOf(b)
    b.close(4002, 'client says bye')
    expect((await cb)[0]).toBe(4002)
    const c = await ours(url)
    const cc = closeOf(c)
    wss.closeAll(1001, 'going away')
    expect(await cc).toEqual([1001, 'going away'])
    await within((async () => { while (serverClose.length < 3) await new Promise((r) => setTimeout(r, 5)) })(), 5000, 'server closes')
    expect(serverClose.sort()).toEqual([1001, 4001, 4002])
  })
})

describe('client', () => {
  it('talks to a ws server: text, binary, binaryType, WHATWG events', async () => {
    const wss = new WsServer({ port: 0, host: '127.0.0.1' })
    await once(wss, 'listening')
    closers.push(() => new Promise<void>((r) => wss.close(() => r())))
    wss.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })))
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/path?q=1`
    const c = new WebSocket(url)
    closers.push(() => c.terminate())
    expect(c.readyState).toBe(WebSocket.CONNECTING)
    expect(() => c.send('too early')).toThrow(/CONNECTING/)
    const events: string[] = []
    c.onopen = () => events.push('open')
    const opened = new Promise<void>((r) => c.addEventListener('open', () => r()))
    await opened
    expect(c.readyState).toBe(WebSocket.OPEN)
    expect(c.url).toBe(url)
    const msgs: unknown[] = []
    c.addEventListener('message', (e) => msgs.push((e as MessageEvent).data))
    c.send('text')
    c.send(new Uint8Array([1, 2]))
    await within((async () => { while (msgs.length < 2) await new Promise((r) => setTimeout(r, 5)) })(), 5000, 'messages')
    expect(msgs[0]).toBe('text')
    expect(Buffer.isBuffer(msgs[1])).toBe(true)
    c.binaryType = 'arraybuffer'
    c.send(Buffer.from([7]))
    const [ab] = await once(c, 'message')
    expect(ab).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(ab as ArrayBuffer)]).toEqual([7])
    c.binaryType = 'blob'
    c.send(Buffer.from([8]))
    const [blob] = await once(c, 'message')
    expect(blob).toBeInstanceOf(Blob)
    const closeEvent = new Promise<CloseEvent>((r) => (c.onclose = (e) => r(e as CloseEvent)))
    c.close(1000, 'done')
    const ev = await within(closeEvent, 5000, 'close event')
    expect([ev.code, ev.reason, ev.wasClean]).toEqual([1000, 'done', true])
    expect(events).toEqual(['open'])
    expect(c.readyState).toBe(WebSocket.CLOSED)
  })

  it('sends custom headers and the Origin, offers subprotocols', async () => {
    const wss = new WsServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has('b') ? 'b' : false) })
    await once(wss, 'listening')
    closers.push(() => new Promise<void>((r) => wss.close(() => r())))
    const got = once(wss, 'connection')
    const c = await ours(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, ['a', 'b'], { headers: { 'X-Token': 'abc' }, origin: 'https://app.example' })
    const [, req] = (await got) as [unknown, { headers: Record<string, string> }]
    expect(req.headers['x-token']).toBe('abc')
    expect(req.headers.origin).toBe('https://app.example')
    expect(req.headers['sec-websocket-protocol']).toBe('a, b')
    expect(c.protocol).toBe('b')
  })

  it('async iteration ends on a clean close and throws on an abnormal one', async () => {
    const { wss, url } = await server()
    wss.on('connection', (ws) => {
      ws.send('one')
      ws.send(Buffer.from('two'))
      ws.on('message', (m) => {
        if (m === 'close') ws.close(1000)
        if (m === 'kill') ws.terminate()
      })
    })
    const c = await ours(url)
    const got: unknown[] = []
    c.send('close')
    for await (const m of c) got.push(m)
    expect(got[0]).toBe('one')
    expect(Buffer.from(got[1] as Buffer).toString()).toBe('two')
    const d = await ours(url)
    d.send('kill')
    const err = await (async () => {
      try {
        for await (const m of d) void m
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(err).toBeInstanceOf(WebSocketError)
    expect(err).toMatchObject({ code: 'ERR_WEBSOCKET_CLOSED', closeCode: 1006 })
  })

  it('messages that arrive with the handshake wait for the code awaiting connect() or the connection event', async () => {
    // Client side: a raw server answers the upgrade and sends two messages in one write.
    const raw = nodeNet.createServer((s) => {
      let head = ''
      s.on('data', (d: Buffer) => {
        if (head.includes('\r\n\r\n')) return s.destroy()
        head += d.toString('latin1')
        const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? ''
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
        const text = (t: string): Buffer => Buffer.concat([Buffer.from([0x81, t.length]), Buffer.from(t)])
        s.write(
          Buffer.concat([
            Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`),
            text('hi'),
            text('there'),
            Buffer.from([0x88, 2, 0x03, 0xe8]),
          ]),
        )
      })
    })
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise<void>((r) => raw.close(() => r())))
    const c = await connect(`ws://127.0.0.1:${(raw.address() as { port: number }).port}/`)
    closers.push(() => c.terminate())
    const got: unknown[] = []
    for await (const m of c) got.push(m)
    expect(got).toEqual(['hi', 'there'])

    // Server side: a raw client sends the upgrade request and a (masked) message in one write.
    const { wss, port } = await server()
    const s = nodeNet.connect(port, '127.0.0.1')
    closers.push(() => void s.destroy())
    await once(s, 'connect')
    s.write(
      Buffer.concat([
        Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`),
        Buffer.from([0x81, 0x80 | 5, 0, 0, 0, 0]),
        Buffer.from('early'),
      ]),
    )
    const [ws] = (await within(once(wss, 'connection'), 5000, 'connection')) as [WebSocket]
    const [m] = await within(once(ws, 'message'), 5000, 'early message')
    expect(String(m)).toBe('early')
  })

  it('fails cleanly: refused, not a WebSocket server, closed while connecting, aborted, bad arguments', async () => {
    const probe = nodeNet.createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const freePort = (probe.address() as { port: number }).port
    await new Promise<void>((r) => probe.close(() => r()))
    await expect(connect(`ws://127.0.0.1:${freePort}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    const http = createHttpServer((_req, res) => {
      res.statusCode = 404
      res.end()
    })
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    closers.push(() => new Promise<void>((r) => http.close(() => r())))
    const hport = (http.address() as { port: number }).port
    await expect(connect(`ws://127.0.0.1:${hport}/`)).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_HANDSHAKE', message: expect.stringContaining('404') })
    // A server that never answers: closing while CONNECTING gives error + 1006.
    const silent = nodeNet.createServer((s) => s.resume())
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise<void>((r) => silent.close(() => r())))
    const sport = (silent.address() as { port: number }).port
    const c = new WebSocket(`ws://127.0.0.1:${sport}/`)
    const errs: unknown[] = []
    c.on('error', (e) => errs.push(e))
    await new Promise((r) => setTimeout(r, 50))
    c.close()
    const [code] = await closeOf(c)
    expect(code).toBe(1006)
    expect(errs[0]).toMatchObject({ code: 'ERR_WEBSOCKET_ABORTED' })
    await expect(connect(`ws://127.0.0.1:${sport}/`, { handshakeTimeout: 100 })).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_HANDSHAKE_TIMEOUT' })
    const ac = new AbortController()
    const p = connect(`ws://127.0.0.1:${sport}/`, { signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_ABORTED' })
    expect(() => new WebSocket('ftp://x/')).toThrow(SyntaxError)
    expect(() => new WebSocket('ws://x/#frag')).toThrow(SyntaxError)
    expect(() => new WebSocket('ws://x/', ['a', 'a'])).toThrow(SyntaxError)
    const { wss, url } = await server()
    echo(wss)
    const o = await ours(url)
    expect(() => o.close(1005)).toThrow(/close code/)
    expect(() => o.close(1000, 'x'.repeat(124))).toThrow(/123 bytes/)
    o.close()
    const sendErr = await new Promise((r) => o.send('late', r))
    expect(sendErr).toMatchObject({ code: 'ERR_WEBSOCKET_CLOSED' })
  })

  it('round-trips 16 MiB both ways with permessage-deflate, against ws and against ours', async () => {
    const big = Buffer.alloc(16 * 1024 * 1024)
    for (let i = 0; i < big.length; i += 4096) big.write(`block ${i} `, i)
    const wssWs = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 })
    await once(wssWs, 'listening')
    closers.push(() => new Promise<void>((r) => wssWs.close(() => r())))
    wssWs.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })))
    const a = await ours(`ws://127.0.0.1:${(wssWs.address() as { port: number }).port}/`, [], { maxPayload: 64 * 1024 * 1024 })
    expect(a.extensions).toContain('permessage-deflate')
    a.send(big)
    const [back] = await within(once(a, 'message'), 20000, 'big echo from ws')
    expect(Buffer.compare(back as Buffer, big)).toBe(0)
    const { wss, url } = await server({ perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 })
    echo(wss)
    const b = await ours(url, [], { maxPayload: 64 * 1024 * 1024 })
    b.send(big.toString('latin1'))
    const [text] = await within(once(b, 'message'), 20000, 'big echo from ours')
    expect(text).toBe(big.toString('latin1'))
  }, 60_000)

  it('await using closes with 1000', async () => {
    const { wss, url } = await server()
    const serverClosed = new Promise<number>((r) => wss.on('connection', (ws) => ws.on('close', (code: number) => r(code))))
    {
      await using c = await connect(url)
      c.send('x')
    }
    expect(await within(serverClosed, 5000, 'server close')).toBe(1000)
  })
})

describe('scale', () => {
  it('2,000 concurrent connections each echo a message', async () => {
    const { wss, url } = await server()
    echo(wss)
    const n = 2000
    const clients: WebSocket[] = []
    for (let i = 0; i < n; i += 200) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => ours(url)))))
    }
    expect(wss.connections).toBe(n)
    const replies = clients.map((c, i) => {
      const p = once(c, 'message')
      c.send(`m${i}`)
      return p
    })
    const got = await within(Promise.all(replies), 20000, 'echoes')
    got.forEach(([m], i) => expect(m).toBe(`m${i}`))
    await Promise.all(clients.map((c) => { const p = once(c, 'close'); c.close(); return p }))
    await within((async () => { while (wss.connections > 0) await new Promise((r) => setTimeout(r, 10)) })(), 10000, 'all closed')
  }, 60_000)
})

/** A raw TCP client that completed the upgrade (for peers that misbehave on purpose). */
async function rawUpgrade(port: number): Promise<nodeNet.Socket> {
  const s = nodeNet.connect(port, '127.0.0.1')
  s.on('error', () => {})
  closers.push(() => {
    s.destroy()
  })
  await once(s, 'connect')
  s.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  let head = ''
  await within(
    new Promise<void>((resolve) => {
      const on = (d: Buffer): void => {
        head += d.toString('latin1')
        if (head.includes('\r\n\r\n')) {
          s.off('data', on)
          resolve()
        }
      }
      s.on('data', on)
    }),
    5000,
    'upgrade',
  )
  expect(head).toMatch(/^HTTP\/1.1 101/)
  return s
}
