// RFC 6455 / RFC 7692 conformance of the CLIENT side: a raw node:net server (helpers/raw.ts) answers the
// upgrade by hand and then plays Autobahn's fuzzing server against the client under test (impl.connect). The
// client echoes every message back, so both receive and send paths are checked. Case numbers are Autobahn's.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { impls, record, waitUntil, withTimeout, type ClientOptions, type ClientRecorder, type WSLike } from './impls.js'
import {
  INVALID_CLOSE_CODES,
  OP,
  UTF8_CASES,
  VALID_CLOSE_CODES,
  acceptKeyFor,
  binaryPayload,
  closePayload,
  deflatePayload,
  isValidUtf8,
  noisePayload,
  parseExtensions,
  sleep,
  startRawServer,
  textPayload,
  wordsPayload,
  type AcceptOptions,
  type RawPeer,
  type RawServer,
  type RawServerConn,
} from './helpers/raw.js'

const MiB = 1024 * 1024

for (const impl of impls) {
  describe(`client conformance [${impl.name}]`, () => {
    let srv: RawServer
    const clients: WSLike[] = []
    const peers: RawPeer[] = []

    beforeAll(async () => {
      srv = await startRawServer()
    })
    afterAll(async () => {
      await srv?.close()
    })
    afterEach(async () => {
      for (const c of clients.splice(0)) if (c.readyState !== 3) c.terminate()
      for (const p of peers.splice(0)) p.destroy()
    })

    interface Opened {
      peer: RawPeer
      conn: RawServerConn
      client: WSLike
      rec: ClientRecorder
    }

    function start(o: { protocols?: string | string[]; opts?: ClientOptions; echo?: boolean; path?: string } = {}) {
      const client = impl.connect(srv.url + (o.path ?? '/conformance'), o.protocols, o.opts)
      clients.push(client)
      const rec = record(client, { echo: o.echo === false ? undefined : impl })
      return { client, rec }
    }

    /** Client connects, the raw server accepts (with `accept` options), the client opens. */
    async function open(o: { protocols?: string | string[]; opts?: ClientOptions; accept?: AcceptOptions; echo?: boolean } = {}): Promise<Opened> {
      const { client, rec } = start(o)
      const conn = await srv.next()
      const peer = conn.accept(o.accept)
      peers.push(peer)
      await withTimeout(rec.opened, 3000, `client open (${rec.events.join(', ')})`)
      return { peer, conn, client, rec }
    }

    /** The client's echo of what we sent: masked frames, same opcode and payload. */
    async function expectEcho(peer: RawPeer, opcode: number, data: Buffer, ms = 3000): Promise<void> {
      const m = await peer.readMessage(ms)
      expect(m.frames.every((f) => f.masked)).toBe(true)
      expect(m.opcode).toBe(opcode)
      expect(m.data.length).toBe(data.length)
      if (data.length <= 256) expect(m.data.toString('hex')).toBe(data.toString('hex'))
      else expect(m.data.equals(data)).toBe(true)
    }

    /** The client fails the connection: close frame with one of `codes`; after we drop TCP it reports close. */
    async function expectFail(o: Opened, codes: number[], ms = 3000): Promise<void> {
      const c = await o.peer.expectClose(ms)
      expect(codes, `close code ${c.code}`).toContain(c.code)
      expect(c.frame.masked).toBe(true)
      o.peer.socket.end()
      const closed = await withTimeout(o.rec.closed, ms, 'client close event')
      // Without a close frame from us the connection close code is 1006 (RFC 6455 §7.1.5); an implementation
      // may also report the code it failed with.
      expect([1006, ...codes]).toContain(closed.code)
      expect(o.client.readyState).toBe(3)
    }

    /** A clean close started by the raw server. */
    async function closeFromServer(o: Opened, code = 1000): Promise<void> {
      o.peer.close(code, 'done')
      const c = await o.peer.expectClose()
      expect(c.code).toBe(code)
      expect(c.frame.masked).toBe(true)
      o.peer.socket.end()
      const closed = await withTimeout(o.rec.closed, 3000, 'client close event')
      expect(closed).toEqual({ code, reason: 'done' })
    }

    /** The handshake must fail: 'error' (if listened for), 'close', never 'open'. */
    async function expectHandshakeFailure(rec: ClientRecorder, client: WSLike): Promise<void> {
      await withTimeout(rec.closed, 3000, `client close after failed handshake (${rec.events.join(', ')})`)
      expect(rec.events).not.toContain('open')
      expect(rec.errors.length).toBeGreaterThan(0)
      expect(client.readyState).toBe(3)
      expect((await rec.closed).code).toBe(1006)
    }

    // -----------------------------------------------------------------------------------------------
    describe('opening handshake (RFC 6455 §4.1)', () => {
      it('request: GET path, Upgrade, Connection, 16-byte key, version 13, subprotocols, deflate offered', async () => {
        const { client, rec } = start({ protocols: ['chat', 'superchat'], opts: { headers: { 'X-Test': 'yes' } }, path: '/p?q=1' })
        const conn = await srv.next()
        const h = conn.req.headers
        expect(conn.req.method).toBe('GET')
        expect(conn.req.path).toBe('/p?q=1')
        expect(h.upgrade?.toLowerCase()).toBe('websocket')
        expect(h.connection).toMatch(/upgrade/i)
        expect(h['sec-websocket-version']).toBe('13')
        expect(Buffer.from(h['sec-websocket-key'] ?? '', 'base64')).toHaveLength(16)
        expect(h['sec-websocket-protocol']?.split(',').map((s) => s.trim())).toEqual(['chat', 'superchat'])
        expect(h['x-test']).toBe('yes')
        expect(h.host).toBe(`127.0.0.1:${srv.port}`)
        const ext = parseExtensions(h['sec-websocket-extensions'])
        expect(ext[0]?.[0]).toBe('permessage-deflate')
        expect(ext[0][1].client_max_window_bits).toBeDefined()
        peers.push(conn.accept({ protocol: 'superchat' }))
        await withTimeout(rec.opened, 3000, 'open')
        expect(client.protocol).toBe('superchat')
        expect(client.extensions === '' || Object.keys(client.extensions as object).length === 0).toBe(true)
      })
      it('perMessageDeflate: false → no Sec-WebSocket-Extensions offer; key differs per connection', async () => {
        start({ opts: { perMessageDeflate: false } })
        const a = await srv.next()
        expect(a.req.headers['sec-websocket-extensions']).toBeUndefined()
        peers.push(a.accept())
        start({ opts: { perMessageDeflate: false } })
        const b = await srv.next()
        peers.push(b.accept())
        expect(a.key).not.toBe(b.key)
      })

      const bad: Array<[string, (c: RawServerConn) => void, ClientOptions?, string[]?]> = [
        ['wrong Sec-WebSocket-Accept', (c) => void c.accept({ acceptKey: acceptKeyFor('AAAAAAAAAAAAAAAAAAAAAA==') })],
        ['missing Sec-WebSocket-Accept', (c) => void c.accept({ rawHeaders: ['Upgrade: websocket', 'Connection: Upgrade'] })],
        ['status 200', (c) => c.respond('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')],
        ['status 302 redirect', (c) => c.respond('HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n')],
        ['status 403', (c) => c.respond('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')],
        ['101 without Upgrade: websocket', (c) => void c.accept({ rawHeaders: ['Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKeyFor(c.key)}`] })],
        ['101 with Upgrade: h2c', (c) => void c.accept({ rawHeaders: ['Upgrade: h2c', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKeyFor(c.key)}`] })],
        ['unrequested extension x-foo', (c) => void c.accept({ extensions: 'x-foo' })],
        ['permessage-deflate when not offered', (c) => void c.accept({ extensions: 'permessage-deflate' }), { perMessageDeflate: false }],
        ['permessage-deflate with an unknown parameter', (c) => void c.accept({ extensions: 'permessage-deflate; foo=bar' })],
        ['permessage-deflate server_max_window_bits=7', (c) => void c.accept({ extensions: 'permessage-deflate; server_max_window_bits=7' })],
        ['permessage-deflate twice', (c) => void c.accept({ extensions: 'permessage-deflate, permessage-deflate' })],
        ['subprotocol when none was requested', (c) => void c.accept({ protocol: 'chat' })],
        ['subprotocol not among the requested ones', (c) => void c.accept({ protocol: 'other' }), undefined, ['chat']],
        ['connection closed before the response', (c) => c.socket.destroy()],
      ]
      it.each(bad.map((b) => [b[0], b] as const))('bad handshake: %s → error, close 1006, never open', async (name, [, act, opts, protocols]) => {
        const { client, rec } = start({ opts, protocols })
        const conn = await srv.next()
        act(conn)
        if (name === 'permessage-deflate twice' && impl.quirks.acceptsDuplicateDeflateResponse) {
          // ws deviation (RFC 7692 §5: both elements would use RSV1 → MUST fail): it opens with the first.
          await withTimeout(rec.opened, 3000, 'open')
          conn.socket.destroy()
          return
        }
        await expectHandshakeFailure(rec, client)
        conn.socket.destroy()
      })
      it(`offered subprotocols, server picked none → ${impl.quirks.failsWithoutSubprotocol ? 'fails (ws, stricter than RFC 6455)' : 'opens with protocol "" (RFC 6455 §4.1, browsers)'}`, async () => {
        const { client, rec } = start({ protocols: ['chat'] })
        const conn = await srv.next()
        peers.push(conn.accept())
        if (impl.quirks.failsWithoutSubprotocol) return expectHandshakeFailure(rec, client)
        await withTimeout(rec.opened, 3000, 'open')
        expect(client.protocol).toBe('')
      })
      it('no response at all → handshakeTimeout fires an error, never opens', async () => {
        const { client, rec } = start({ opts: { handshakeTimeout: 300 } })
        const conn = await srv.next()
        await expectHandshakeFailure(rec, client)
        conn.socket.destroy()
      })
      it('frames sent right behind the 101 (same TCP segment) are delivered', async () => {
        const { rec } = start({ echo: false })
        const conn = await srv.next()
        const trailing = Buffer.concat([Buffer.from([0x81, 0x05]), Buffer.from('early')])
        peers.push(conn.accept({ trailing }))
        await withTimeout(rec.opened, 3000, 'open')
        expect((await rec.nextMessage()).text).toBe('early')
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('1.x framing', () => {
      const sizes = [0, 125, 126, 127, 128, 65535, 65536]
      it.each(sizes.map((n, i) => [`1.1.${i + 1} / 1.2.${i + 1}`, n] as const))('%s text and binary of %i bytes → echoed (masked)', async (_c, n) => {
        const o = await open()
        o.peer.text(textPayload(n))
        await expectEcho(o.peer, OP.TEXT, textPayload(n))
        o.peer.binary(binaryPayload(n))
        await expectEcho(o.peer, OP.BINARY, binaryPayload(n))
        expect(o.rec.messages.map((m) => m.isBinary)).toEqual([false, true])
        await closeFromServer(o)
      })
      it('1.1.8 / 1.2.8 64 KiB frames written in chops of 997 octets', async () => {
        const o = await open()
        await o.peer.writeChopped(o.peer.frame({ opcode: OP.TEXT, payload: textPayload(65536) }), 997)
        await expectEcho(o.peer, OP.TEXT, textPayload(65536))
        await o.peer.writeChopped(o.peer.frame({ opcode: OP.BINARY, payload: binaryPayload(65536) }), 997)
        await expectEcho(o.peer, OP.BINARY, binaryPayload(65536))
        await closeFromServer(o)
      })
      it('masked frame from the server → 1002 (RFC 6455 §5.1)', async () => {
        const o = await open()
        o.peer.send({ opcode: OP.TEXT, payload: 'masked', mask: true })
        await expectFail(o, [1002])
        expect(o.rec.messages).toHaveLength(0)
      })
      it('client frames are all masked (data, pong, close)', async () => {
        const o = await open()
        o.client.send('a')
        o.client.send(Buffer.from('b'))
        o.peer.ping('p')
        await o.peer.nextFrame(3000, (f) => f.opcode === OP.PONG)
        await o.peer.readMessage()
        await o.peer.readMessage()
        await closeFromServer(o)
        expect(o.peer.log.length).toBeGreaterThanOrEqual(4)
        expect(o.peer.log.every((f) => f.masked)).toBe(true)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('2.x pings and pongs', () => {
      it('2.1–2.4 pings with empty, text, binary, 125-byte payloads → identical pongs; ping events', async () => {
        const o = await open()
        const pings: Buffer[] = []
        o.client.on('ping', (d: Buffer) => pings.push(Buffer.from(d)))
        const payloads = [Buffer.alloc(0), Buffer.from('Hello, world!'), Buffer.from([0, 0xff, 0xfe, 0xfd, 0, 0xff]), Buffer.alloc(125, 0xfe)]
        for (const pl of payloads) {
          o.peer.ping(pl)
          const f = await o.peer.nextFrame(3000, (x) => x.opcode === OP.PONG)
          expect(f.masked).toBe(true)
          expect(f.payload.toString('hex')).toBe(pl.toString('hex'))
        }
        // The pong may be sent (natively) before the 'ping' event is dispatched.
        await waitUntil(() => pings.length >= payloads.length, 2000, 'ping events')
        expect(pings.map((p) => p.toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')))
        await closeFromServer(o)
      })
      it('2.5 ping with a 126-byte payload → 1002, no pong', async () => {
        const o = await open()
        o.peer.ping(Buffer.alloc(126, 0xfe))
        await expectFail(o, [1002])
        expect(o.peer.log.some((f) => f.opcode === OP.PONG)).toBe(false)
      })
      it('2.6 ping written 1 byte at a time → pong', async () => {
        const o = await open()
        await o.peer.writeChopped(o.peer.frame({ opcode: OP.PING, payload: Buffer.alloc(125, 0xfe) }), 1)
        const f = await o.peer.nextFrame(3000, (x) => x.opcode === OP.PONG)
        expect(f.payload.equals(Buffer.alloc(125, 0xfe))).toBe(true)
        await closeFromServer(o)
      })
      it('2.7–2.9 unsolicited pongs are ignored (pong event only), then a ping is answered', async () => {
        const o = await open()
        const pongs: string[] = []
        o.client.on('pong', (d: Buffer) => pongs.push(String(d)))
        o.peer.pong()
        o.peer.pong('unsolicited')
        o.peer.ping('ping payload')
        const f = await o.peer.nextFrame(3000, (x) => x.opcode === OP.PONG)
        expect(f.payload.toString()).toBe('ping payload')
        await closeFromServer(o)
        expect(pongs).toEqual(['', 'unsolicited'])
        expect(o.peer.log.filter((x) => x.opcode === OP.PONG)).toHaveLength(1)
      })
      it('2.10 / 2.11 10 pings (one write, and byte by byte) → 10 pongs in order', async () => {
        const o = await open()
        for (const chop of [false, true]) {
          const all = Buffer.concat(Array.from({ length: 10 }, (_, i) => o.peer.frame({ opcode: OP.PING, payload: `payload-${i}` })))
          if (chop) await o.peer.writeChopped(all, 1)
          else o.peer.write(all)
          for (let i = 0; i < 10; i++) {
            const f = await o.peer.nextFrame(3000, (x) => x.opcode === OP.PONG)
            expect(f.payload.toString()).toBe(`payload-${i}`)
          }
        }
        await closeFromServer(o)
      })
      it('client.ping(data) → ping frame from the client; our pong → pong event', async () => {
        const o = await open()
        const got = new Promise<Buffer>((r) => o.client.once('pong', (d: Buffer) => r(Buffer.from(d))))
        o.client.ping(Buffer.from('from-client'))
        const f = await o.peer.nextFrame(3000, (x) => x.opcode === OP.PING)
        expect(f.masked).toBe(true)
        expect(f.payload.toString()).toBe('from-client')
        o.peer.pong(f.payload)
        expect(String(await withTimeout(got, 3000, 'pong event'))).toBe('from-client')
        await closeFromServer(o)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('3.x reserved bits and 4.x reserved opcodes', () => {
      it.each([1, 2, 3, 4, 5, 6, 7].map((r) => [`3.${r}`, r]))('%s frame with RSV = %i (no extension) → 1002', async (_c, rsv) => {
        const o = await open({ opts: { perMessageDeflate: false } })
        const opcode = rsv === 6 ? OP.PING : rsv === 7 ? OP.CLOSE : rsv === 5 ? OP.BINARY : OP.TEXT
        o.peer.send({ opcode, payload: opcode === OP.CLOSE ? closePayload(1000) : 'Hello, world!', rsv })
        await expectFail(o, [1002])
        expect(o.rec.messages).toHaveLength(0)
      })
      it('3.2 text, text with RSV, ping → first message delivered, then 1002, no pong', async () => {
        const o = await open({ echo: false })
        o.peer.text('Hello, world!')
        o.peer.send({ opcode: OP.TEXT, payload: 'Hello, world!', rsv: 2 })
        o.peer.ping('Hello, world!')
        await expectFail(o, [1002])
        expect(o.rec.messages.map((m) => m.text)).toEqual(['Hello, world!'])
        expect(o.peer.log.some((f) => f.opcode === OP.PONG)).toBe(false)
      })
      it.each([3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((op) => [op < 8 ? '4.1.x' : '4.2.x', op]))('%s reserved opcode %i → 1002', async (_c, opcode) => {
        const o = await open()
        o.peer.send({ opcode, payload: 'reserved opcode payload' })
        await expectFail(o, [1002])
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('5.x fragmentation', () => {
      it('5.1 / 5.2 fragmented ping or pong → 1002', async () => {
        for (const opcode of [OP.PING, OP.PONG]) {
          const o = await open()
          o.peer.send({ opcode, payload: 'fragment1', fin: false })
          o.peer.send({ opcode: OP.CONT, payload: 'fragment2' })
          await expectFail(o, [1002])
        }
      })
      it('5.3–5.5 text in 2 fragments (one write, byte chops) → one message', async () => {
        const o = await open()
        for (const chop of [false, true]) {
          const b = Buffer.concat([
            o.peer.frame({ opcode: OP.TEXT, payload: 'fragment1', fin: false }),
            o.peer.frame({ opcode: OP.CONT, payload: 'fragment2' }),
          ])
          if (chop) await o.peer.writeChopped(b, 1)
          else o.peer.write(b)
          await expectEcho(o.peer, OP.TEXT, Buffer.from('fragment1fragment2'))
        }
        await closeFromServer(o)
      })
      it('5.6–5.8 / 5.19 / 5.20 fragments with pings in between → pongs first, then the message', async () => {
        const o = await open()
        const parts = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5']
        for (let i = 0; i < parts.length; i++) {
          o.peer.send({ opcode: i ? OP.CONT : OP.TEXT, payload: parts[i], fin: i === 4 })
          if (i === 1 || i === 3) o.peer.ping(`pongme ${i}!`)
          await sleep(10)
        }
        for (const i of [1, 3]) {
          const f = await o.peer.nextFrame(3000, (x) => x.opcode === OP.PONG)
          expect(f.payload.toString()).toBe(`pongme ${i}!`)
        }
        await expectEcho(o.peer, OP.TEXT, Buffer.from(parts.join('')))
        await closeFromServer(o)
      })
      it('5.9–5.14 continuation with nothing to continue (FIN=1 and FIN=0) → 1002', async () => {
        for (const fin of [true, false]) {
          const o = await open()
          o.peer.send({ opcode: OP.CONT, payload: 'non-continuation payload', fin })
          o.peer.text('Hello, world!')
          await expectFail(o, [1002])
          expect(o.rec.messages).toHaveLength(0)
        }
      })
      it('5.15–5.18 new data frame inside a fragmented message → 1002', async () => {
        const o = await open({ echo: false })
        o.peer.text('fragment1', false)
        o.peer.send({ opcode: OP.CONT, payload: 'fragment2' })
        o.peer.text('fragment3', false)
        o.peer.binary(Buffer.from('fragment4'))
        await expectFail(o, [1002])
        expect(o.rec.messages.map((m) => m.text)).toEqual(['fragment1fragment2'])
      })
      it('binary in 200 fragments (incl. empty ones) → one message', async () => {
        const o = await open()
        const data = binaryPayload(1000)
        for (let i = 0; i < 200; i++) {
          const chunk = i % 2 ? Buffer.alloc(0) : data.subarray(i * 5, i * 5 + 10)
          o.peer.send({ opcode: i === 0 ? OP.BINARY : OP.CONT, payload: chunk, fin: i === 199 })
        }
        await expectEcho(o.peer, OP.BINARY, data)
        await closeFromServer(o)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('6.x UTF-8', () => {
      it('6.1.x empty text and empty fragments', async () => {
        const o = await open()
        o.peer.text('')
        await expectEcho(o.peer, OP.TEXT, Buffer.alloc(0))
        o.peer.text('', false)
        o.peer.send({ opcode: OP.CONT, payload: 'middle frame payload', fin: false })
        o.peer.send({ opcode: OP.CONT, payload: '' })
        await expectEcho(o.peer, OP.TEXT, Buffer.from('middle frame payload'))
        await closeFromServer(o)
      })
      it.each(UTF8_CASES.map(([name, hex]) => [name, hex, isValidUtf8(Buffer.from(hex, 'hex')) ? 'echo' : '1007'] as const))(
        '%s (%s) → %s; per-octet fragments too',
        async (_n, hex, expected) => {
          const data = Buffer.from(hex, 'hex')
          for (const perOctet of [false, true]) {
            const o = await open()
            if (!perOctet) o.peer.text(data)
            else for (let i = 0; i < data.length; i++) o.peer.send({ opcode: i ? OP.CONT : OP.TEXT, payload: data.subarray(i, i + 1), fin: i === data.length - 1 })
            if (expected === 'echo') {
              await expectEcho(o.peer, OP.TEXT, data)
              await closeFromServer(o)
            } else {
              await expectFail(o, [1007])
              expect(o.rec.messages).toHaveLength(0)
            }
          }
        },
      )
      it(`6.4.1 / 6.4.2 invalid fragment → 1007${impl.quirks.utf8FailFast ? ' before the last fragment (fail fast)' : ' (ws: after the last fragment)'}`, async () => {
        for (const [a, b, c] of [
          ['cebae1bdb9cf83cebcceb5', 'f4908080', '656469746564'],
          ['cebae1bdb9cf83cebcceb5f4', '90', '8080656469746564'],
        ]) {
          const o = await open()
          o.peer.text(Buffer.from(a, 'hex'), false)
          await o.peer.expectNoFrame(150, (f) => f.opcode === OP.CLOSE)
          o.peer.send({ opcode: OP.CONT, payload: Buffer.from(b, 'hex'), fin: false })
          const early = await o.peer.nextFrame(500, (f) => f.opcode === OP.CLOSE).catch(() => undefined)
          if (impl.quirks.utf8FailFast) expect(early, 'no 1007 before the last fragment').toBeDefined()
          if (early) o.peer.inbox.unshift(early)
          else o.peer.send({ opcode: OP.CONT, payload: Buffer.from(c, 'hex') })
          await expectFail(o, [1007])
        }
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('7.x closing handshake', () => {
      it.each(VALID_CLOSE_CODES.map((c, i) => [`7.7.${i + 1}`, c]))('%s server closes with %i → client echoes it; close event has code and reason', async (_c, code) => {
        const o = await open()
        await closeFromServer(o, code)
      })
      it('7.3.1 close without payload → reply without status (or 1000); close event 1005', async () => {
        const o = await open()
        o.peer.close()
        const c = await o.peer.expectClose()
        expect([undefined, 1000]).toContain(c.code)
        o.peer.socket.end()
        expect((await withTimeout(o.rec.closed, 3000, 'close')).code).toBe(1005)
      })
      it('7.3.2 close with a 1-byte payload → 1002', async () => {
        const o = await open()
        o.peer.send({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) })
        await expectFail(o, [1002])
      })
      it('7.3.6 close with a 126-byte payload → 1002', async () => {
        const o = await open()
        o.peer.close(1000, '*'.repeat(124))
        await expectFail(o, [1002])
      })
      it('7.5.1 close reason not UTF-8 → 1007 (or 1002)', async () => {
        const o = await open()
        o.peer.close(1000, Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'))
        await expectFail(o, [1007, 1002])
      })
      it.each(INVALID_CLOSE_CODES.map((c, i) => [i < 9 ? `7.9.${i + 1}` : `7.13.${i - 8}`, c]))('%s server closes with invalid code %i → 1002', async (_c, code) => {
        const o = await open()
        o.peer.close(code)
        await expectFail(o, [1002])
      })
      it('7.1.3 / 7.1.4 ping or text after the close frame → ignored', async () => {
        const o = await open()
        o.peer.write(Buffer.concat([o.peer.frame({ opcode: OP.CLOSE, payload: closePayload(1000) }), o.peer.frame({ opcode: OP.PING, payload: 'x' }), o.peer.frame({ opcode: OP.TEXT, payload: 'y' })]))
        const c = await o.peer.expectClose()
        expect(c.code).toBe(1000)
        await sleep(100)
        o.peer.socket.end()
        await withTimeout(o.rec.closed, 3000, 'close')
        expect(o.peer.log.map((f) => f.opcode)).toEqual([OP.CLOSE])
        expect(o.rec.messages).toHaveLength(0)
      })
      it('client-initiated close(4000, reason): masked close frame, our reply, close event with our code/reason', async () => {
        const o = await open()
        o.client.close(4000, 'client bye')
        const c = await o.peer.expectClose()
        expect(c.code).toBe(4000)
        expect(c.reason.toString()).toBe('client bye')
        expect(c.frame.masked).toBe(true)
        expect(o.client.readyState).toBe(2)
        // Sending after close() must not put a data frame on the wire.
        try {
          o.client.send('too late', () => {})
        } catch {
          /* implementations may throw */
        }
        o.peer.close(4000, 'server bye')
        o.peer.socket.end()
        const closed = await withTimeout(o.rec.closed, 3000, 'close')
        expect(closed).toEqual({ code: 4000, reason: 'server bye' })
        expect(o.peer.log.map((f) => f.opcode)).toEqual([OP.CLOSE])
      })
      it('TCP dropped by the server without a close frame → close event 1006', async () => {
        const o = await open()
        o.peer.destroy()
        expect((await withTimeout(o.rec.closed, 3000, 'close')).code).toBe(1006)
      })
      it('close(1005) / close(1006) / close(999) from the application are refused (throw), nothing sent', async () => {
        const o = await open()
        for (const code of [1005, 1006, 999]) expect(() => o.client.close(code)).toThrow()
        await o.peer.expectNoFrame(100)
        await closeFromServer(o)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('9.x limits', () => {
      it.each([MiB, 4 * MiB, 16 * MiB].map((n, i) => [`9.1.${[3, 4, 6][i]} / 9.2.${[3, 4, 6][i]}`, n]))(
        '%s text and binary of %i bytes → echoed',
        { timeout: 30_000 },
        async (_c, n) => {
          const o = await open({ opts: { perMessageDeflate: false } })
          o.peer.text(textPayload(n))
          await expectEcho(o.peer, OP.TEXT, textPayload(n), 20_000)
          o.peer.binary(binaryPayload(n))
          await expectEcho(o.peer, OP.BINARY, binaryPayload(n), 20_000)
          await closeFromServer(o)
        },
      )
      it('9.3.x / 9.4.x 4 MiB in 1 KiB and 64 KiB fragments → echoed', { timeout: 30_000 }, async () => {
        const o = await open()
        for (const size of [1024, 65536]) {
          o.peer.sendMessage(OP.TEXT, textPayload(4 * MiB), { fragmentSize: size })
          await expectEcho(o.peer, OP.TEXT, textPayload(4 * MiB), 20_000)
          o.peer.sendMessage(OP.BINARY, binaryPayload(4 * MiB), { fragmentSize: size })
          await expectEcho(o.peer, OP.BINARY, binaryPayload(4 * MiB), 20_000)
        }
        await closeFromServer(o)
      })
      it('9.7.x / 9.8.x 1000 text + 1000 binary messages of 256 bytes, sent at once → all echoed in order', { timeout: 30_000 }, async () => {
        const o = await open()
        const frames: Buffer[] = []
        for (let i = 0; i < 1000; i++) {
          frames.push(o.peer.frame({ opcode: OP.TEXT, payload: `${i}:`.padEnd(256, '*') }), o.peer.frame({ opcode: OP.BINARY, payload: binaryPayload(256) }))
        }
        o.peer.write(Buffer.concat(frames))
        for (let i = 0; i < 1000; i++) {
          const t = await o.peer.readMessage(10_000)
          const b = await o.peer.readMessage(10_000)
          expect(t.data.toString()).toBe(`${i}:`.padEnd(256, '*'))
          expect(b.data.equals(binaryPayload(256))).toBe(true)
        }
        await closeFromServer(o)
      })
      it('maxPayload 1024: 1024 bytes echoed; 1025 bytes → 1009', async () => {
        const o = await open({ opts: { maxPayload: 1024 } })
        o.peer.binary(binaryPayload(1024))
        await expectEcho(o.peer, OP.BINARY, binaryPayload(1024))
        o.peer.binary(binaryPayload(1025))
        await expectFail(o, [1009])
      })
      it('maxPayload 1024: 3 fragments of 400 bytes → 1009', async () => {
        const o = await open({ opts: { maxPayload: 1024 } })
        o.peer.sendMessage(OP.BINARY, binaryPayload(1200), { fragmentSize: 400 })
        await expectFail(o, [1009])
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('12.x / 13.x permessage-deflate (server answers with various parameters)', () => {
      const responses: Array<[string, string]> = [
        ['13.1.x', 'permessage-deflate'],
        ['13.2.x', 'permessage-deflate; client_no_context_takeover'],
        ['13.3.x', 'permessage-deflate; client_max_window_bits=9'],
        ['13.4.x', 'permessage-deflate; client_max_window_bits=15'],
        ['13.5.x', 'permessage-deflate; client_no_context_takeover; client_max_window_bits=10'],
        ['server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
        ['server_max_window_bits=10', 'permessage-deflate; server_max_window_bits=10'],
        ['all four', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12'],
      ]
      it.each(responses)('%s "%s": compressed messages both ways, client honours the agreed parameters', { timeout: 20_000 }, async (_c, ext) => {
        const o = await open({ accept: { extensions: ext } })
        const ce = o.client.extensions
        expect(typeof ce === 'string' ? ce : Object.keys(ce)).toContain('permessage-deflate')
        // Repeated compressible content (back-references across messages / far back would break the rules).
        const sizes = [16, 256, 2048, 8192, 32768, 131072]
        let compressedEchoes = 0
        for (const n of sizes) {
          for (let i = 0; i < 3; i++) {
            const text = wordsPayload(n, n)
            o.peer.sendMessage(OP.TEXT, text, { compress: i !== 1 })
            const m = await o.peer.readMessage(5000) // inflates with our rx context: no context / small window
            expect(m.opcode).toBe(OP.TEXT)
            expect(m.data.equals(text)).toBe(true)
            if (m.compressed) compressedEchoes++
            const bin = Buffer.concat([noisePayload(n >> 1, n), noisePayload(n >> 1, n)])
            o.peer.sendMessage(OP.BINARY, bin, { compress: true })
            const b = await o.peer.readMessage(5000)
            expect(b.opcode).toBe(OP.BINARY)
            expect(b.data.equals(bin)).toBe(true)
          }
        }
        expect(o.rec.messages).toHaveLength(sizes.length * 6)
        // The client compresses at least the large messages (ws: threshold 1024 bytes).
        expect(compressedEchoes).toBeGreaterThan(0)
        await closeFromServer(o)
      })
      it('12.x compressed message in 1-byte fragments, and the empty compressed message', async () => {
        const o = await open({ accept: { extensions: 'permessage-deflate' } })
        o.peer.sendMessage(OP.TEXT, wordsPayload(3000), { compress: true, fragmentSize: 1 })
        await expectEcho(o.peer, OP.TEXT, wordsPayload(3000))
        o.peer.send({ opcode: OP.BINARY, payload: Buffer.from([0x00]), rsv: 4 })
        await expectEcho(o.peer, OP.BINARY, Buffer.alloc(0))
        await closeFromServer(o)
      })
      it('RSV1 on a continuation frame → 1002', async () => {
        const o = await open({ accept: { extensions: 'permessage-deflate' } })
        const c = deflatePayload(wordsPayload(200))
        o.peer.send({ opcode: OP.TEXT, payload: c.subarray(0, 10), fin: false, rsv: 4 })
        o.peer.send({ opcode: OP.CONT, payload: c.subarray(10), rsv: 4 })
        await expectFail(o, [1002])
      })
      it('RSV1 on a ping → 1002', async () => {
        const o = await open({ accept: { extensions: 'permessage-deflate' } })
        o.peer.send({ opcode: OP.PING, payload: deflatePayload('x'), rsv: 4 })
        await expectFail(o, [1002])
      })
      it('corrupt deflate data → 1007', async () => {
        const o = await open({ accept: { extensions: 'permessage-deflate' } })
        o.peer.send({ opcode: OP.BINARY, payload: Buffer.from('ffffffffffffffff', 'hex'), rsv: 4 })
        await expectFail(o, [1007])
      })
      it('compressed text inflating to invalid UTF-8 → 1007', async () => {
        const o = await open({ accept: { extensions: 'permessage-deflate' } })
        o.peer.sendMessage(OP.TEXT, Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'), { compress: true })
        await expectFail(o, [1007])
      })
      it('maxPayload 1024: 100 compressed bytes inflating to 64 KiB → 1009', async () => {
        const o = await open({ opts: { maxPayload: 1024 }, accept: { extensions: 'permessage-deflate' } })
        o.peer.sendMessage(OP.BINARY, Buffer.alloc(65536), { compress: true })
        await expectFail(o, [1009])
      })
    })
  })
}
