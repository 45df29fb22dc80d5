// Interop between @iocrate/websocket and the `ws` package in both directions:
//   - the iocrate server with ws clients
//   - the iocrate client against a ws server
// Skipped (cleanly) when @iocrate/websocket cannot be imported (see impls.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { iocrate, record, toBuffer, waitUntil, withTimeout, wsRef, type Impl, type ServerHandle, type WSLike } from './impls.js'

const servers: ServerHandle[] = []
const sockets: WSLike[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) if (s.readyState !== 3) s.terminate()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const extNames = (s: WSLike) => (typeof s.extensions === 'string' ? s.extensions : Object.keys(s.extensions).join(','))
const bigBinary = (n: number) => {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 9)) & 0xff
  return b
}

/** `server` impl hosts, `client` impl connects: the shared scenario set for both directions. */
function pairSuite(serverImpl: Impl, clientImpl: Impl) {
  async function setup(o: { serverDeflate?: boolean | Record<string, unknown>; clientDeflate?: boolean | Record<string, unknown>; protocols?: string[]; maxPayload?: number } = {}) {
    const server = await serverImpl.startServer({
      perMessageDeflate: o.serverDeflate ?? false,
      maxPayload: o.maxPayload,
      handleProtocols: (ps: Set<string>) => (ps.has('chat') ? 'chat' : false),
    })
    servers.push(server)
    const client = clientImpl.connect(server.url + '/room?x=1', o.protocols, { perMessageDeflate: o.clientDeflate ?? true })
    sockets.push(client)
    const rec = record(client)
    await withTimeout(rec.opened, 3000, `open (${rec.events.join(', ')})`)
    const conn = await server.nextConn()
    return { server, client, rec, conn }
  }

  for (const deflate of [false, true]) {
    it(`echo text, unicode, binary, empty, 1 MiB and 8 MiB (${deflate ? 'permessage-deflate' : 'no compression'})`, { timeout: 30_000 }, async () => {
      const { client, rec, conn } = await setup({ serverDeflate: deflate })
      expect(extNames(client).includes('permessage-deflate')).toBe(deflate)
      expect(conn.req.url).toBe('/room?x=1')
      const cases: Array<string | Buffer> = ['hello', 'κόσμε ✓ 🐍', bigBinary(3000), '', Buffer.alloc(0), 'x'.repeat(1 << 20), bigBinary(1 << 20), bigBinary(8 << 20)]
      for (const c of cases) {
        client.send(c)
        const m = await rec.nextMessage(10_000)
        expect(m.isBinary).toBe(typeof c !== 'string')
        expect(m.data.equals(toBuffer(c))).toBe(true)
      }
      expect(conn.messages.map((m) => m.isBinary)).toEqual(cases.map((c) => typeof c !== 'string'))
      expect(typeof conn.messages[0].data).toBe('string') // normalized: text → string on both
    })
  }

  it('1000 pipelined messages arrive in order (compressed)', { timeout: 20_000 }, async () => {
    const { rec } = await setup({ serverDeflate: true })
    const client = sockets[sockets.length - 1]
    for (let i = 0; i < 1000; i++) client.send(i % 3 ? `message number ${i} `.repeat(i % 50) : Buffer.from(`bin ${i}`))
    for (let i = 0; i < 1000; i++) {
      const m = await rec.nextMessage(5000)
      expect(m.text).toBe(i % 3 ? `message number ${i} `.repeat(i % 50) : `bin ${i}`)
    }
  })

  it('deflate with no context takeover and 10-bit windows both ways', { timeout: 20_000 }, async () => {
    const params = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10, threshold: 0 }
    const { client, rec } = await setup({ serverDeflate: params, clientDeflate: true })
    expect(extNames(client)).toContain('permessage-deflate')
    for (let i = 0; i < 50; i++) {
      const s = `repetitive payload ${i % 5} `.repeat(200 + i)
      client.send(s)
      expect((await rec.nextMessage()).text).toBe(s)
    }
  })

  it('subprotocol negotiated via handleProtocols', async () => {
    const { client, conn } = await setup({ protocols: ['superchat', 'chat'] })
    expect(client.protocol).toBe('chat')
    expect(conn.ws.protocol).toBe('chat')
  })

  it('ping/pong both ways with payloads', async () => {
    const { client, conn } = await setup()
    const clientPong = new Promise<Buffer>((r) => client.once('pong', (d: Buffer) => r(Buffer.from(d))))
    client.ping(Buffer.from('from client'))
    expect(String(await withTimeout(clientPong, 3000, 'client pong'))).toBe('from client')
    const serverPong = new Promise<Buffer>((r) => conn.ws.once('pong', (d: Buffer) => r(Buffer.from(d))))
    const clientPing = new Promise<Buffer>((r) => client.once('ping', (d: Buffer) => r(Buffer.from(d))))
    conn.ws.ping(Buffer.from('from server'))
    expect(String(await withTimeout(clientPing, 3000, 'client ping event'))).toBe('from server')
    expect(String(await withTimeout(serverPong, 3000, 'server pong'))).toBe('from server')
  })

  it('client closes with 4000 + reason → both sides see it', async () => {
    const { client, rec, conn } = await setup()
    client.close(4000, 'client bye')
    expect(await withTimeout(conn.closed, 3000, 'server close')).toEqual({ code: 4000, reason: 'client bye' })
    expect((await withTimeout(rec.closed, 3000, 'client close')).code).toBe(4000)
  })

  it('server closes with 1001 + reason → both sides see it', async () => {
    const { rec, conn } = await setup()
    conn.ws.close(1001, 'going away')
    expect(await withTimeout(rec.closed, 3000, 'client close')).toEqual({ code: 1001, reason: 'going away' })
    expect((await withTimeout(conn.closed, 3000, 'server close')).code).toBe(1001)
  })

  it('server terminate() → client close 1006', async () => {
    const { rec, conn } = await setup()
    conn.ws.terminate()
    expect((await withTimeout(rec.closed, 3000, 'client close')).code).toBe(1006)
  })

  it('server maxPayload 1024: a 2000-byte message → 1009 at the client', async () => {
    const { client, rec } = await setup({ maxPayload: 1024 })
    client.send(Buffer.alloc(2000))
    expect((await withTimeout(rec.closed, 3000, 'client close')).code).toBe(1009)
  })

  it('50 concurrent clients, each echoed its own messages', { timeout: 20_000 }, async () => {
    const server = await serverImpl.startServer({ perMessageDeflate: true })
    servers.push(server)
    const recs = Array.from({ length: 50 }, () => {
      const c = clientImpl.connect(server.url)
      sockets.push(c)
      return { c, r: record(c) }
    })
    await Promise.all(recs.map(({ r }) => withTimeout(r.opened, 5000, 'open')))
    recs.forEach(({ c }, i) => {
      for (let k = 0; k < 10; k++) c.send(`client ${i} message ${k}`)
    })
    for (const [i, { r }] of recs.entries()) for (let k = 0; k < 10; k++) expect((await r.nextMessage()).text).toBe(`client ${i} message ${k}`)
    await waitUntil(() => server.conns.length === 50, 3000, '50 server connections')
  })
}

describe.skipIf(!iocrate)('interop: iocrate server ↔ ws client', () => {
  pairSuite(iocrate!, wsRef)

  it('verifyClient → false: ws client gets 401/403, never opens', async () => {
    const server = await iocrate!.startServer({ extra: { verifyClient: () => false } })
    servers.push(server)
    const c = wsRef.connect(server.url)
    sockets.push(c)
    const rec = record(c)
    const status = new Promise<number>((r) => c.once('unexpected-response', (_req: unknown, res: { statusCode: number }) => r(res.statusCode)))
    // ts-api.md says 403; ws itself answers 401 (abortHandshake(socket, code || 401)) and iocrate does too.
    expect([401, 403]).toContain(await withTimeout(status, 3000, 'unexpected-response'))
    c.terminate()
    await withTimeout(rec.closed, 3000, 'close')
    expect(rec.events).not.toContain('open')
  })

  it('path option: other paths are refused, the configured one upgrades', async () => {
    const server = await iocrate!.startServer({ extra: { path: '/only' } })
    servers.push(server)
    const bad = wsRef.connect(server.url + '/other')
    sockets.push(bad)
    const badRec = record(bad)
    await withTimeout(badRec.closed, 3000, 'refused')
    expect(badRec.events).not.toContain('open')
    const good = wsRef.connect(server.url + '/only')
    sockets.push(good)
    const goodRec = record(good)
    await withTimeout(goodRec.opened, 3000, 'open')
    good.send('x')
    expect((await goodRec.nextMessage()).text).toBe('x')
  })
})

describe.skipIf(!iocrate)('interop: iocrate client ↔ ws server', () => {
  pairSuite(wsRef, iocrate!)

  it('connect() resolves once open; rejects when the ws server refuses (verifyClient → 401)', async () => {
    const connect = iocrate!.module.connect as (url: string) => Promise<WSLike>
    const server = await wsRef.startServer({})
    servers.push(server)
    const s = await withTimeout(connect(server.url), 3000, 'connect')
    sockets.push(s)
    expect(s.readyState).toBe(1)
    const refusing = await wsRef.startServer({ extra: { verifyClient: (_i: unknown, cb: (ok: boolean, code: number) => void) => cb(false, 401) } })
    servers.push(refusing)
    await expect(withTimeout(connect(refusing.url), 3000, 'connect refused')).rejects.toThrow()
  })
})
