// RFC 6455 / RFC 7692 conformance of the SERVER side, Autobahn|Testsuite style: a raw node:net client
// (helpers/raw.ts) talks to an echo server of each implementation (impls.ts). Case numbers in the titles are
// Autobahn's. After every case the echo server must still serve a fresh connection (afterEach).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { impls, type ServerConn, type ServerHandle } from './impls.js'
import {
  INVALID_CLOSE_CODES,
  OP,
  UTF8_CASES,
  VALID_CLOSE_CODES,
  binaryPayload,
  buildFrame,
  closePayload,
  deflatePayload,
  describeFrames,
  isValidUtf8,
  noisePayload,
  parseExtensions,
  rawConnect,
  rawHandshake,
  sleep,
  textPayload,
  wordsPayload,
  type RawClient,
  type RawConnectOptions,
} from './helpers/raw.js'

const KOSME = Buffer.from('cebae1bdb9cf83cebcceb5', 'hex')

for (const impl of impls) {
  describe(`server conformance [${impl.name}]`, () => {
    let echo: ServerHandle // plain echo server
    let pmd: ServerHandle // echo server with permessage-deflate
    let small: ServerHandle // permessage-deflate + maxPayload 1024
    let proto: ServerHandle // handleProtocols
    const peers: RawClient[] = []

    beforeAll(async () => {
      echo = await impl.startServer({})
      pmd = await impl.startServer({ perMessageDeflate: true })
      small = await impl.startServer({ perMessageDeflate: true, maxPayload: 1024 })
      proto = await impl.startServer({
        handleProtocols: (ps: Set<string>) => (ps.has('chat') ? 'chat' : false),
      })
    })
    afterAll(async () => {
      await Promise.all([echo, pmd, small, proto].map((s) => s?.close()))
    })
    afterEach(async () => {
      for (const p of peers.splice(0)) p.destroy()
      // The server stays healthy after whatever the case did.
      for (const s of [echo, pmd]) {
        const p = await rawConnect(s.port)
        try {
          p.text('health')
          const m = await p.readMessage(2000)
          expect(m.data.toString()).toBe('health')
        } finally {
          p.destroy()
        }
      }
    })

    async function connect(srv: ServerHandle = echo, o?: RawConnectOptions): Promise<RawClient> {
      const p = await rawConnect(srv.port, o)
      peers.push(p)
      return p
    }

    /** The server-side connection object of the next connection made to `srv`. */
    async function connectWithConn(srv: ServerHandle = echo, o?: RawConnectOptions): Promise<[RawClient, ServerConn]> {
      const n = srv.conns.length
      const p = await connect(srv, o)
      const deadline = Date.now() + 2000
      while (srv.conns.length <= n && Date.now() < deadline) await sleep(5)
      expect(srv.conns.length).toBeGreaterThan(n)
      return [p, srv.conns[n]]
    }

    async function expectEcho(p: RawClient, opcode: number, data: Buffer, ms = 3000): Promise<void> {
      const m = await p.readMessage(ms)
      expect(m.opcode).toBe(opcode)
      expect(m.data.length).toBe(data.length)
      if (data.length <= 256) expect(m.data.toString('hex')).toBe(data.toString('hex'))
      else expect(m.data.equals(data)).toBe(true)
    }

    /** The server fails the connection: a close frame with one of `codes`, then it closes TCP by itself. */
    async function expectFail(p: RawClient, codes: number[], ms = 3000): Promise<void> {
      const c = await p.expectClose(ms)
      expect(codes, `close code ${c.code}`).toContain(c.code)
      await p.waitTcpClose(ms)
    }

    /**
     * Valid messages, then a violation: the server fails the connection with `code`. The valid messages must
     * reach the application first; their echoes may or may not make it out before the close frame (Autobahn
     * 3.2/4.1.3/5.15 accept both: "OK" with the echo, "NON-STRICT" without), but if sent they come first.
     */
    async function expectDeliveredThenFail(p: RawClient, conn: ServerConn, texts: string[], code = 1002): Promise<void> {
      const c = await p.expectClose()
      expect(c.code).toBe(code)
      const echoed = c.before.filter((f) => f.opcode !== OP.PONG).map((f) => f.payload.toString())
      expect(texts.slice(0, echoed.length)).toEqual(echoed)
      await p.waitTcpClose()
      expect(conn.messages.map((m) => String(m.data))).toEqual(texts)
      expect(p.log.some((f) => f.opcode === OP.PONG)).toBe(false)
    }

    /** Clean closing handshake started by us. */
    async function closeClean(p: RawClient, code = 1000): Promise<void> {
      p.close(code)
      const c = await p.expectClose()
      expect(c.code).toBe(code)
      await p.waitTcpClose()
    }

    // -----------------------------------------------------------------------------------------------
    describe('opening handshake (RFC 6455 §4.2)', () => {
      it('101 with the right Sec-WebSocket-Accept; no extension or subprotocol unless offered', async () => {
        const p = await connect()
        expect(p.response.headers['sec-websocket-extensions']).toBeUndefined()
        expect(p.response.headers['sec-websocket-protocol']).toBeUndefined()
        await closeClean(p)
      })

      it('unsupported Sec-WebSocket-Version → 4xx naming version 13', async () => {
        const r = await rawHandshake(echo.port, { version: '12' })
        r.socket.destroy()
        expect(r.status).toBeGreaterThanOrEqual(400)
        expect(r.status).toBeLessThan(500)
        expect(r.head.headers['sec-websocket-version']).toMatch(/\b13\b/)
      })

      it('missing Sec-WebSocket-Key → 4xx, no upgrade', async () => {
        const r = await rawHandshake(echo.port, { omit: ['sec-websocket-key'] })
        r.socket.destroy()
        expect(r.status).toBeGreaterThanOrEqual(400)
        expect(r.status).toBeLessThan(500)
      })

      it('subprotocol chosen by handleProtocols is echoed; none chosen → no header', async () => {
        const p = await connect(proto, { protocols: 'superchat, chat' })
        expect(p.response.headers['sec-websocket-protocol']).toBe('chat')
        await closeClean(p)
        const q = await connect(proto, { protocols: 'other' })
        expect(q.response.headers['sec-websocket-protocol']).toBeUndefined()
        await closeClean(q)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('1.x framing: text and binary payload lengths', () => {
      const sizes = [0, 125, 126, 127, 128, 65535, 65536]
      it.each(sizes.map((n, i) => [`1.1.${i + 1}`, n] as const))('%s text payload of %i bytes (7/16/64-bit length forms)', async (_c, n) => {
        const p = await connect()
        const data = textPayload(n)
        p.text(data)
        await expectEcho(p, OP.TEXT, data)
        await closeClean(p)
      })
      it('1.1.8 text payload of 65536 bytes written in chops of 997 octets', async () => {
        const p = await connect()
        const data = textPayload(65536)
        await p.writeChopped(p.frame({ opcode: OP.TEXT, payload: data }), 997)
        await expectEcho(p, OP.TEXT, data)
        await closeClean(p)
      })
      it.each(sizes.map((n, i) => [`1.2.${i + 1}`, n] as const))('%s binary payload of %i bytes', async (_c, n) => {
        const p = await connect()
        const data = binaryPayload(n)
        p.binary(data)
        await expectEcho(p, OP.BINARY, data)
        await closeClean(p)
      })
      it('1.2.8 binary payload of 65536 bytes written in chops of 997 octets', async () => {
        const p = await connect()
        const data = binaryPayload(65536)
        await p.writeChopped(p.frame({ opcode: OP.BINARY, payload: data }), 997)
        await expectEcho(p, OP.BINARY, data)
        await closeClean(p)
      })
      it('unmasked client frame → 1002 (RFC 6455 §5.1)', async () => {
        const p = await connect()
        p.send({ opcode: OP.TEXT, payload: 'unmasked', mask: false })
        await expectFail(p, [1002])
      })
      it('64-bit length with the most significant bit set → failed (1002 or 1009)', async () => {
        const p = await connect()
        p.send({ opcode: OP.BINARY, payload: 'x', lengthForm: 64, declaredLength: 1n << 63n })
        await expectFail(p, [1002, 1009])
      })
      it('server frames are unmasked and use minimal length encoding', async () => {
        const p = await connect()
        for (const n of [5, 200, 70000]) p.binary(binaryPayload(n))
        for (let i = 0; i < 3; i++) await p.readMessage()
        await closeClean(p)
        for (const f of p.log) expect(f.masked).toBe(false)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('2.x pings and pongs', () => {
      it('2.1 ping without payload → pong without payload', async () => {
        const p = await connect()
        p.ping()
        const f = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
        expect(f.payload.length).toBe(0)
        await closeClean(p)
      })
      it('2.2 / 2.3 / 2.4 ping with text, binary and 125-byte payloads → identical pong', async () => {
        const p = await connect()
        const payloads = [Buffer.from('Hello, world!'), Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]), Buffer.alloc(125, 0xfe)]
        for (const pl of payloads) {
          p.ping(pl)
          const f = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
          expect(f.payload.toString('hex')).toBe(pl.toString('hex'))
        }
        await closeClean(p)
      })
      it('2.5 ping with a 126-byte payload → 1002 (control frames ≤ 125 bytes)', async () => {
        const p = await connect()
        p.ping(Buffer.alloc(126, 0xfe))
        await expectFail(p, [1002])
        expect(p.log.some((f) => f.opcode === OP.PONG)).toBe(false)
      })
      it('2.6 ping with 125-byte payload sent 1 byte at a time → pong', async () => {
        const p = await connect()
        const pl = Buffer.alloc(125, 0xfe)
        await p.writeChopped(p.frame({ opcode: OP.PING, payload: pl }), 1)
        const f = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
        expect(f.payload.equals(pl)).toBe(true)
        await closeClean(p)
      })
      it('2.7 / 2.8 unsolicited pongs (with and without payload) are ignored', async () => {
        const p = await connect()
        p.pong()
        p.pong('unsolicited pong payload')
        await closeClean(p)
        expect(p.log.map((f) => f.opcode)).toEqual([OP.CLOSE])
      })
      it('2.9 unsolicited pong, then ping → pong for the ping only', async () => {
        const p = await connect()
        p.pong('unsolicited pong payload')
        p.ping('ping payload')
        const f = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
        expect(f.payload.toString()).toBe('ping payload')
        await closeClean(p)
        expect(p.log.filter((x) => x.opcode === OP.PONG)).toHaveLength(1)
      })
      it('2.10 10 pings → 10 pongs in order', async () => {
        const p = await connect()
        for (let i = 0; i < 10; i++) p.ping(`payload-${i}`)
        for (let i = 0; i < 10; i++) {
          const f = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
          expect(f.payload.toString()).toBe(`payload-${i}`)
        }
        await closeClean(p)
      })
      it('2.11 10 pings written byte by byte with pauses → 10 pongs', async () => {
        const p = await connect()
        const all = Buffer.concat(Array.from({ length: 10 }, (_, i) => p.frame({ opcode: OP.PING, payload: `payload-${i}` })))
        await p.writeChopped(all, 1, 0)
        for (let i = 0; i < 10; i++) {
          const f = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
          expect(f.payload.toString()).toBe(`payload-${i}`)
        }
        await closeClean(p)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('3.x reserved bits (no extension negotiated)', () => {
      it('3.1 text with RSV = 1 → 1002', async () => {
        const p = await connect()
        p.send({ opcode: OP.TEXT, payload: 'Hello, world!', rsv: 1 })
        await expectFail(p, [1002])
      })
      it('3.2 text, text with RSV = 2, ping → first delivered (echo optional), then 1002 and no pong', async () => {
        const [p, conn] = await connectWithConn()
        p.text('Hello, world!')
        p.send({ opcode: OP.TEXT, payload: 'Hello, world!', rsv: 2 })
        p.ping('Hello, world!')
        await expectDeliveredThenFail(p, conn, ['Hello, world!'])
      })
      it('3.3 text, text with RSV = 3, ping, in one TCP write → first delivered, 1002, no pong', async () => {
        const [p, conn] = await connectWithConn()
        p.write(
          Buffer.concat([
            p.frame({ opcode: OP.TEXT, payload: 'Hello, world!' }),
            p.frame({ opcode: OP.TEXT, payload: 'Hello, world!', rsv: 3 }),
            p.frame({ opcode: OP.PING, payload: 'Hello, world!' }),
          ]),
        )
        await expectDeliveredThenFail(p, conn, ['Hello, world!'])
      })
      it('3.4 same with RSV = 4 (RSV1, deflate not negotiated), written byte by byte → 1002', async () => {
        const [p, conn] = await connectWithConn()
        await p.writeChopped(
          Buffer.concat([
            p.frame({ opcode: OP.TEXT, payload: 'Hello, world!' }),
            p.frame({ opcode: OP.TEXT, payload: 'Hello, world!', rsv: 4 }),
            p.frame({ opcode: OP.PING, payload: 'Hello, world!' }),
          ]),
          1,
        )
        await expectDeliveredThenFail(p, conn, ['Hello, world!'])
      })
      it('3.5 binary with RSV = 5 → 1002', async () => {
        const p = await connect()
        p.send({ opcode: OP.BINARY, payload: binaryPayload(8), rsv: 5 })
        await expectFail(p, [1002])
      })
      it('3.6 ping with RSV = 6 → 1002, no pong', async () => {
        const p = await connect()
        p.send({ opcode: OP.PING, payload: 'Hello, world!', rsv: 6 })
        await expectFail(p, [1002])
        expect(p.log.some((f) => f.opcode === OP.PONG)).toBe(false)
      })
      it('3.7 close with RSV = 7 → 1002', async () => {
        const p = await connect()
        p.send({ opcode: OP.CLOSE, payload: closePayload(1000), rsv: 7 })
        await expectFail(p, [1002])
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('4.x reserved opcodes', () => {
      const cases: Array<[string, number, string]> = [
        ['4.1.1', 3, ''],
        ['4.1.2', 4, 'reserved opcode payload'],
        ['4.1.4', 6, 'reserved opcode payload'],
        ['4.1.5', 7, 'reserved opcode payload'],
        ['4.2.1', 11, ''],
        ['4.2.2', 12, 'reserved opcode payload'],
        ['4.2.4', 14, 'reserved opcode payload'],
        ['4.2.5', 15, 'reserved opcode payload'],
      ]
      it.each(cases)('%s opcode %i → 1002', async (_c, opcode, payload) => {
        const p = await connect()
        p.send({ opcode, payload })
        await expectFail(p, [1002])
      })
      it.each([
        ['4.1.3', 5],
        ['4.2.3', 13],
      ])('%s text, opcode %i, ping → first delivered, 1002, no pong', async (_c, opcode) => {
        const [p, conn] = await connectWithConn()
        p.text('Hello, world!')
        p.send({ opcode, payload: '' })
        p.ping('Hello, world!')
        await expectDeliveredThenFail(p, conn, ['Hello, world!'])
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('5.x fragmentation', () => {
      it('5.1 / 5.2 fragmented ping, fragmented pong → 1002', async () => {
        for (const opcode of [OP.PING, OP.PONG]) {
          const p = await connect()
          p.send({ opcode, payload: 'fragment1', fin: false })
          p.send({ opcode: OP.CONT, payload: 'fragment2' })
          await expectFail(p, [1002])
          expect(p.log.some((f) => f.opcode === OP.PONG)).toBe(false)
        }
      })
      it('5.3 / 5.4 / 5.5 text in 2 fragments (one write, byte chops, frame chops with pause) → one message', async () => {
        for (const mode of ['whole', 'bytes', 'frames'] as const) {
          const p = await connect()
          const f1 = p.frame({ opcode: OP.TEXT, payload: 'fragment1', fin: false })
          const f2 = p.frame({ opcode: OP.CONT, payload: 'fragment2' })
          if (mode === 'whole') p.write(Buffer.concat([f1, f2]))
          else if (mode === 'bytes') await p.writeChopped(Buffer.concat([f1, f2]), 1)
          else {
            p.write(f1)
            await sleep(50)
            p.write(f2)
          }
          const m = await p.readMessage()
          expect(m.opcode).toBe(OP.TEXT)
          expect(m.data.toString()).toBe('fragment1fragment2')
          expect(m.frames).toHaveLength(1) // the echo is one message; ours was 2 frames
          await closeClean(p)
        }
      })
      it('5.6 / 5.7 / 5.8 text in 2 fragments with a ping in between → pong first, then the message', async () => {
        for (const mode of ['whole', 'bytes', 'frames'] as const) {
          const p = await connect()
          const fs = [
            p.frame({ opcode: OP.TEXT, payload: 'fragment1', fin: false }),
            p.frame({ opcode: OP.PING, payload: 'pongme!' }),
            p.frame({ opcode: OP.CONT, payload: 'fragment2' }),
          ]
          if (mode === 'whole') p.write(Buffer.concat(fs))
          else if (mode === 'bytes') await p.writeChopped(Buffer.concat(fs), 1)
          else
            for (const f of fs) {
              p.write(f)
              await sleep(30)
            }
          const pong = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
          expect(pong.payload.toString()).toBe('pongme!')
          const m = await p.readMessage()
          expect(m.data.toString()).toBe('fragment1fragment2')
          expect(pong.seq).toBeLessThan(m.frames[0].seq)
          await closeClean(p)
        }
      })
      it('5.9 / 5.10 / 5.11 continuation (FIN=1) with nothing to continue, then text → 1002', async () => {
        for (const mode of ['whole', 'bytes', 'frames'] as const) {
          const p = await connect()
          const fs = [p.frame({ opcode: OP.CONT, payload: 'non-continuation payload' }), p.frame({ opcode: OP.TEXT, payload: 'Hello, world!' })]
          if (mode === 'whole') p.write(Buffer.concat(fs))
          else if (mode === 'bytes') await p.writeChopped(Buffer.concat(fs), 1)
          else {
            p.write(fs[0])
            await sleep(30)
            p.write(fs[1])
          }
          await expectFail(p, [1002])
          expect(p.log.some((f) => f.opcode === OP.TEXT)).toBe(false)
        }
      })
      it('5.12 / 5.13 / 5.14 continuation (FIN=0) with nothing to continue, then text → 1002', async () => {
        for (const mode of ['whole', 'bytes', 'frames'] as const) {
          const p = await connect()
          const fs = [p.frame({ opcode: OP.CONT, payload: 'non-continuation payload', fin: false }), p.frame({ opcode: OP.TEXT, payload: 'Hello, world!' })]
          if (mode === 'whole') p.write(Buffer.concat(fs))
          else if (mode === 'bytes') await p.writeChopped(Buffer.concat(fs), 1)
          else {
            p.write(fs[0])
            await sleep(30)
            p.write(fs[1])
          }
          await expectFail(p, [1002])
          expect(p.log.some((f) => f.opcode === OP.TEXT)).toBe(false)
        }
      })
      it('5.15 text in 2 fragments, then continuation (FIN=0) and text (FIN=1) → first message delivered, then 1002', async () => {
        const [p, conn] = await connectWithConn()
        p.text('fragment1', false)
        p.send({ opcode: OP.CONT, payload: 'fragment2' })
        p.send({ opcode: OP.CONT, payload: 'fragment3', fin: false })
        p.text('fragment4')
        await expectDeliveredThenFail(p, conn, ['fragment1fragment2'])
      })
      it('5.16 / 5.17 continuation with nothing to continue after a complete fragmented message → 1002', async () => {
        for (const fin of [false, true]) {
          const p = await connect()
          p.send({ opcode: OP.CONT, payload: 'fragment1', fin })
          p.text('fragment2', false)
          p.send({ opcode: OP.CONT, payload: 'fragment3' })
          await expectFail(p, [1002])
          expect(p.log.some((f) => f.opcode === OP.TEXT)).toBe(false)
        }
      })
      it('5.18 text (FIN=0) followed by another text (not a continuation) → 1002', async () => {
        const p = await connect()
        p.text('fragment1', false)
        p.text('fragment2')
        await expectFail(p, [1002])
        expect(p.log.some((f) => f.opcode === OP.TEXT)).toBe(false)
      })
      it('5.19 / 5.20 text in 5 fragments with pings in between, with pauses (and byte chops) → pongs, then the message', async () => {
        for (const chop of [0, 1]) {
          const p = await connect()
          const parts = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5']
          const bufs: Buffer[] = []
          parts.forEach((s, i) => {
            bufs.push(p.frame({ opcode: i === 0 ? OP.TEXT : OP.CONT, payload: s, fin: i === 4 }))
            if (i === 1 || i === 3) bufs.push(p.frame({ opcode: OP.PING, payload: `pongme ${i}!` }))
          })
          for (const b of bufs) {
            if (chop) await p.writeChopped(b, 1)
            else p.write(b)
            await sleep(20)
          }
          for (const i of [1, 3]) {
            const pong = await p.nextFrame(3000, (x) => x.opcode === OP.PONG)
            expect(pong.payload.toString()).toBe(`pongme ${i}!`)
          }
          const m = await p.readMessage()
          expect(m.data.toString()).toBe(parts.join(''))
          await closeClean(p)
        }
      })
      it('binary in 200 fragments (incl. empty ones) → one message', async () => {
        const p = await connect()
        const data = binaryPayload(1000)
        for (let i = 0; i < 200; i++) {
          const chunk = i % 2 ? Buffer.alloc(0) : data.subarray(i * 5, i * 5 + 10)
          p.send({ opcode: i === 0 ? OP.BINARY : OP.CONT, payload: chunk, fin: i === 199 })
        }
        await expectEcho(p, OP.BINARY, data)
        await closeClean(p)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('6.x UTF-8 handling', () => {
      it('6.1.1 / 6.1.2 / 6.1.3 empty text, fragmented empty text, empty fragments around a middle one', async () => {
        const p = await connect()
        p.text('')
        await expectEcho(p, OP.TEXT, Buffer.alloc(0))
        p.text('', false)
        p.send({ opcode: OP.CONT, payload: '', fin: false })
        p.send({ opcode: OP.CONT, payload: '' })
        await expectEcho(p, OP.TEXT, Buffer.alloc(0))
        p.text('', false)
        p.send({ opcode: OP.CONT, payload: 'middle frame payload', fin: false })
        p.send({ opcode: OP.CONT, payload: '' })
        await expectEcho(p, OP.TEXT, Buffer.from('middle frame payload'))
        await closeClean(p)
      })
      it('6.2.1–6.2.4 valid UTF-8 in one frame, fragmented on code points, fragmented per octet', async () => {
        const p = await connect()
        const s = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!')
        p.text(s)
        await expectEcho(p, OP.TEXT, s)
        // 6.2.2: fragmented on code points
        const chars = [...'Hello-µ@ßöäüàá-UTF-8!!'].map((c) => Buffer.from(c))
        chars.forEach((c, i) => p.send({ opcode: i ? OP.CONT : OP.TEXT, payload: c, fin: i === chars.length - 1 }))
        await expectEcho(p, OP.TEXT, s)
        // 6.2.3 / 6.2.4: per octet (split inside code points)
        for (const b of [s, KOSME]) {
          for (let i = 0; i < b.length; i++) p.send({ opcode: i ? OP.CONT : OP.TEXT, payload: b.subarray(i, i + 1), fin: i === b.length - 1 })
          await expectEcho(p, OP.TEXT, b)
        }
        await closeClean(p)
      })
      it('6.3.1 / 6.3.2 invalid UTF-8 in one frame and fragmented per octet → 1007', async () => {
        const bad = Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex')
        let p = await connect()
        p.text(bad)
        await expectFail(p, [1007])
        p = await connect()
        for (let i = 0; i < bad.length; i++) p.send({ opcode: i ? OP.CONT : OP.TEXT, payload: bad.subarray(i, i + 1), fin: i === bad.length - 1 })
        await expectFail(p, [1007])
        expect(p.log.some((f) => f.opcode === OP.TEXT)).toBe(false)
      })

      // Autobahn 6.4.x: PART1 valid, PART2 makes the sequence invalid, PART3 the rest. Failing fast (on the
      // fragment that makes the text invalid) is "non-strict" in Autobahn; ws only checks complete messages.
      const failFast: Array<[string, string, string, string]> = [
        ['6.4.1', 'cebae1bdb9cf83cebcceb5', 'f4908080', '656469746564'],
        ['6.4.2', 'cebae1bdb9cf83cebcceb5f4', '90', '8080656469746564'],
      ]
      it.each(failFast)(
        `%s fail fast on the fragment that makes the text invalid → 1007${impl.quirks.utf8FailFast ? ' (before the last fragment)' : ' (ws: after the last fragment)'}`,
        async (_c, a, b, c) => {
          const p = await connect()
          p.text(Buffer.from(a, 'hex'), false)
          // A valid prefix (even ending in an incomplete code point) must not fail the connection.
          await p.expectNoFrame(150, (f) => f.opcode === OP.CLOSE)
          p.send({ opcode: OP.CONT, payload: Buffer.from(b, 'hex'), fin: false })
          const early = await p.expectClose(500).catch(() => undefined)
          if (impl.quirks.utf8FailFast) expect(early, 'no 1007 before the last fragment').toBeDefined()
          if (early) {
            expect(early.code).toBe(1007)
            await p.waitTcpClose()
            return
          }
          p.send({ opcode: OP.CONT, payload: Buffer.from(c, 'hex') })
          await expectFail(p, [1007])
        },
      )
      it('6.4.3 / 6.4.4 invalid bytes arriving mid-frame (frame written in 3 chops) → 1007', async () => {
        for (const [a, b, c] of [
          ['cebae1bdb9cf83cebcceb5', 'f4908080', '656469746564'],
          ['cebae1bdb9cf83cebcceb5f4', '90', '8080656469746564'],
        ]) {
          const p = await connect()
          const frame = p.frame({ opcode: OP.TEXT, payload: Buffer.from(a + b + c, 'hex') })
          const cut1 = frame.length - (b.length + c.length) / 2
          const cut2 = frame.length - c.length / 2
          p.write(frame.subarray(0, cut1))
          await sleep(50)
          p.write(frame.subarray(cut1, cut2))
          await sleep(50)
          p.write(frame.subarray(cut2))
          await expectFail(p, [1007])
        }
      })
      it('6.6.1–6.6.11 every prefix of κόσμε: valid prefixes echoed, truncated ones → 1007', async () => {
        for (let k = 1; k <= KOSME.length; k++) {
          const pre = KOSME.subarray(0, k)
          const p = await connect()
          p.text(pre)
          if (isValidUtf8(pre)) {
            await expectEcho(p, OP.TEXT, pre)
            await closeClean(p)
          } else await expectFail(p, [1007])
          p.destroy()
        }
      })
      it('table sanity: the UTF-8 oracle agrees with the case names', () => {
        expect(isValidUtf8(Buffer.from('f4908080', 'hex'))).toBe(false)
        expect(isValidUtf8(Buffer.from('eda080', 'hex'))).toBe(false)
        expect(isValidUtf8(Buffer.from('efbfbe', 'hex'))).toBe(true)
        expect(UTF8_CASES.filter(([, h]) => isValidUtf8(Buffer.from(h, 'hex'))).length).toBeGreaterThan(15)
      })
      it.each(UTF8_CASES.map(([name, hex]) => [name, hex, isValidUtf8(Buffer.from(hex, 'hex')) ? 'echo' : '1007'] as const))(
        '%s (%s) → %s; also fragmented per octet',
        async (_n, hex, expected) => {
          const data = Buffer.from(hex, 'hex')
          for (const perOctet of [false, true]) {
            const p = await connect()
            if (!perOctet) p.text(data)
            else for (let i = 0; i < data.length; i++) p.send({ opcode: i ? OP.CONT : OP.TEXT, payload: data.subarray(i, i + 1), fin: i === data.length - 1 })
            if (expected === 'echo') {
              await expectEcho(p, OP.TEXT, data)
              await closeClean(p)
            } else await expectFail(p, [1007])
            p.destroy()
          }
        },
      )
    })

    // -----------------------------------------------------------------------------------------------
    describe('7.x closing handshake', () => {
      it('7.1.1 text, then close 1000 → echo, close 1000 back, server closes TCP', async () => {
        const p = await connect()
        p.text('Hello World!')
        await expectEcho(p, OP.TEXT, Buffer.from('Hello World!'))
        await closeClean(p)
        expect(p.gotEnd || p.tcpClosed).toBe(true)
      })
      it('7.1.2 close twice → a single close back, then TCP close', async () => {
        const p = await connect()
        p.close(1000)
        p.close(1000)
        await p.expectClose()
        await p.waitTcpClose()
        expect(p.log.filter((f) => f.opcode === OP.CLOSE)).toHaveLength(1)
      })
      it('7.1.3 / 7.1.4 ping or text after close → ignored', async () => {
        for (const after of ['ping', 'text'] as const) {
          const p = await connect()
          p.close(1000)
          if (after === 'ping') p.ping('Hello World!')
          else p.text('Hello World!')
          const c = await p.expectClose()
          expect(c.code).toBe(1000)
          await p.waitTcpClose()
          expect(p.log.map((f) => f.opcode)).toEqual([OP.CLOSE])
        }
      })
      it('7.1.5 fragment, close, last fragment → close back, no message', async () => {
        const p = await connect()
        p.text('fragment1', false)
        p.close(1000)
        p.send({ opcode: OP.CONT, payload: 'fragment2' })
        const c = await p.expectClose()
        expect(c.code).toBe(1000)
        await p.waitTcpClose()
        expect(p.log.map((f) => f.opcode)).toEqual([OP.CLOSE])
      })
      it('7.1.6 256 KiB message, close, ping → close answered (message echo optional), no pong', async () => {
        const p = await connect()
        p.text(textPayload(256 * 1024))
        p.close(1000)
        p.ping('Hello World!')
        const c = await p.expectClose(5000)
        expect(c.code).toBe(1000)
        await p.waitTcpClose()
        expect(p.log.some((f) => f.opcode === OP.PONG)).toBe(false)
      })
      it('7.3.1 close without payload → close back without a status code (or 1000); server sees 1005', async () => {
        const [p, conn] = await connectWithConn()
        p.close()
        const c = await p.expectClose()
        expect([undefined, 1000]).toContain(c.code)
        await p.waitTcpClose()
        expect((await conn.closed).code).toBe(1005)
      })
      it('7.3.2 close with a 1-byte payload → 1002', async () => {
        const p = await connect()
        p.send({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) })
        await expectFail(p, [1002])
      })
      it('7.3.3 / 7.3.4 / 7.3.5 close 1000 with no reason, a short reason, a 123-byte reason → 1000 back', async () => {
        for (const reason of ['', 'Hello World!', '*'.repeat(123)]) {
          const [p, conn] = await connectWithConn()
          p.close(1000, reason)
          const c = await p.expectClose()
          expect(c.code).toBe(1000)
          await p.waitTcpClose()
          const sc = await conn.closed
          expect(sc.code).toBe(1000)
          expect(sc.reason).toBe(reason)
        }
      })
      it('7.3.6 close with a 124-byte reason (126-byte payload) → 1002', async () => {
        const p = await connect()
        p.close(1000, '*'.repeat(124))
        await expectFail(p, [1002])
      })
      it('7.5.1 close reason that is not UTF-8 → 1007 (or 1002)', async () => {
        const p = await connect()
        p.close(1000, Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'))
        await expectFail(p, [1007, 1002])
      })
      it.each(VALID_CLOSE_CODES.map((c, i) => [`7.7.${i + 1}`, c]))('%s valid close code %i → echoed; server sees it with the reason', async (_c, code) => {
        const [p, conn] = await connectWithConn()
        p.close(code, 'bye now')
        const c = await p.expectClose()
        expect(c.code).toBe(code)
        await p.waitTcpClose()
        const sc = await conn.closed
        expect(sc).toEqual({ code, reason: 'bye now' })
      })
      it('7.7.x also: 1012, 1013, 1014 (registered since RFC 6455) → echoed', async () => {
        for (const code of [1012, 1013, 1014]) {
          const p = await connect()
          p.close(code)
          const c = await p.expectClose()
          expect(c.code).toBe(code)
          await p.waitTcpClose()
        }
      })
      it.each(INVALID_CLOSE_CODES.map((c, i) => [i < 9 ? `7.9.${i + 1}` : `7.13.${i - 8}`, c]))('%s invalid close code %i → 1002', async (_c, code) => {
        const p = await connect()
        p.close(code)
        await expectFail(p, [1002])
      })
      it('1015 (reserved, never on the wire) → 1002', async () => {
        const p = await connect()
        p.close(1015)
        await expectFail(p, [1002])
      })
      it('server-initiated close: ws.close(4001, reason) → close frame, our reply, TCP closed by the server', async () => {
        const [p, conn] = await connectWithConn()
        conn.ws.close(4001, 'server says bye')
        const c = await p.expectClose()
        expect(c.code).toBe(4001)
        expect(c.reason.toString()).toBe('server says bye')
        p.close(4001)
        await p.waitTcpClose()
        expect((await conn.closed).code).toBe(4001)
      })
      it('TCP dropped without a close frame → server close event 1006', async () => {
        const [p, conn] = await connectWithConn()
        p.text('x')
        await p.readMessage()
        p.destroy()
        expect((await conn.closed).code).toBe(1006)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('9.x limits and performance', () => {
      const MiB = 1024 * 1024
      const big = [64 * 1024, 256 * 1024, MiB, 4 * MiB, 8 * MiB, 16 * MiB]
      it.each(big.map((n, i) => [`9.1.${i + 1}`, n]))('%s text message of %i bytes in one frame', { timeout: 30_000 }, async (_c, n) => {
        const p = await connect()
        const data = textPayload(n)
        p.text(data)
        await expectEcho(p, OP.TEXT, data, 20_000)
        await closeClean(p)
      })
      it.each(big.map((n, i) => [`9.2.${i + 1}`, n]))('%s binary message of %i bytes in one frame', { timeout: 30_000 }, async (_c, n) => {
        const p = await connect()
        const data = binaryPayload(n)
        p.binary(data)
        await expectEcho(p, OP.BINARY, data, 20_000)
        await closeClean(p)
      })
      const frags = [64, 256, 1024, 4096, 16384, 65536, 262144, MiB, 4 * MiB]
      it.each(frags.map((n, i) => [`9.3.${i + 1}`, n]))('%s 4 MiB text message in fragments of %i bytes', { timeout: 30_000 }, async (_c, n) => {
        const p = await connect()
        const data = textPayload(4 * MiB)
        p.sendMessage(OP.TEXT, data, { fragmentSize: n })
        const limit = impl.quirks.maxFragments
        if (limit && (4 * MiB) / n > limit) return expectFail(p, [1008]) // ws: documented DoS limit
        await expectEcho(p, OP.TEXT, data, 20_000)
        await closeClean(p)
      })
      it.each(frags.map((n, i) => [`9.4.${i + 1}`, n]))('%s 4 MiB binary message in fragments of %i bytes', { timeout: 30_000 }, async (_c, n) => {
        const p = await connect()
        const data = binaryPayload(4 * MiB)
        p.sendMessage(OP.BINARY, data, { fragmentSize: n })
        const limit = impl.quirks.maxFragments
        if (limit && (4 * MiB) / n > limit) return expectFail(p, [1008]) // ws: documented DoS limit
        await expectEcho(p, OP.BINARY, data, 20_000)
        await closeClean(p)
      })
      it.each([64, 256, 1024, 4096, 16384, 131072].map((n, i) => [`9.5.${i + 1} / 9.6.${i + 1}`, n]))(
        '%s 1 MiB text and binary messages written in chops of %i bytes',
        { timeout: 30_000 },
        async (_c, n) => {
          const p = await connect()
          const t = textPayload(MiB)
          await p.writeChopped(p.frame({ opcode: OP.TEXT, payload: t }), n)
          await expectEcho(p, OP.TEXT, t, 10_000)
          const b = binaryPayload(MiB)
          await p.writeChopped(p.frame({ opcode: OP.BINARY, payload: b }), n)
          await expectEcho(p, OP.BINARY, b, 10_000)
          await closeClean(p)
        },
      )
      it.each([0, 16, 64, 256, 1024, 4096].map((n, i) => [`9.7.${i + 1} / 9.8.${i + 1}`, n]))(
        '%s 1000 text and 1000 binary messages of %i bytes, all sent first',
        { timeout: 30_000 },
        async (_c, n) => {
          const p = await connect()
          const t = textPayload(n)
          const b = binaryPayload(n)
          const frames: Buffer[] = []
          for (let i = 0; i < 1000; i++) frames.push(p.frame({ opcode: OP.TEXT, payload: t }), p.frame({ opcode: OP.BINARY, payload: b }))
          p.write(Buffer.concat(frames))
          for (let i = 0; i < 1000; i++) {
            const m1 = await p.readMessage(10_000)
            const m2 = await p.readMessage(10_000)
            expect(m1.opcode).toBe(OP.TEXT)
            expect(m2.opcode).toBe(OP.BINARY)
            expect(m1.data.equals(t) && m2.data.equals(b)).toBe(true)
          }
          await closeClean(p)
        },
      )
      it('maxPayload 1024: a 1024-byte message is echoed; 1025 bytes → 1009', async () => {
        const p = await connect(small)
        p.binary(binaryPayload(1024))
        await expectEcho(p, OP.BINARY, binaryPayload(1024))
        p.binary(binaryPayload(1025))
        await expectFail(p, [1009])
      })
      it('maxPayload 1024: 3 fragments of 400 bytes (1200 total) → 1009', async () => {
        const p = await connect(small)
        p.sendMessage(OP.TEXT, textPayload(1200), { fragmentSize: 400 })
        await expectFail(p, [1009])
      })
      it('maxPayload 1024: a 64-bit length announcing 1 GiB → 1009 right after the header', async () => {
        const p = await connect(small)
        p.send({ opcode: OP.BINARY, payload: Buffer.alloc(10), declaredLength: 1n << 30n, lengthForm: 64 })
        await expectFail(p, [1009])
      })
      it('maxPayload 1024 with permessage-deflate: 100 compressed bytes inflating to 64 KiB → 1009', async () => {
        const p = await connect(small, { extensions: 'permessage-deflate' })
        expect(p.deflate).toBeDefined()
        p.sendMessage(OP.BINARY, Buffer.alloc(65536), { compress: true })
        await expectFail(p, [1009])
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('10.x auto-fragmentation', () => {
      it('10.1.1 64 KiB text in frames of 1300 bytes → echoed intact', async () => {
        const p = await connect()
        const data = textPayload(65536)
        p.sendMessage(OP.TEXT, data, { fragmentSize: 1300 })
        await expectEcho(p, OP.TEXT, data)
        await closeClean(p)
      })
    })

    // -----------------------------------------------------------------------------------------------
    describe('12.x / 13.x permessage-deflate', () => {
      it('no offer → no extension; offer → permessage-deflate accepted with valid parameters only', async () => {
        const a = await connect(pmd)
        expect(a.deflate).toBeUndefined()
        await closeClean(a)
        const b = await connect(pmd, { extensions: 'permessage-deflate; client_max_window_bits' })
        const ext = parseExtensions(b.response.headers['sec-websocket-extensions'])
        expect(ext.map(([n]) => n)).toEqual(['permessage-deflate'])
        const allowed = ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits', 'client_max_window_bits']
        for (const k of Object.keys(ext[0][1])) expect(allowed).toContain(k)
        await closeClean(b)
      })
      it('server without permessage-deflate ignores the offer; compressed frames then → 1002', async () => {
        const p = await connect(echo, { extensions: 'permessage-deflate' })
        expect(p.deflate).toBeUndefined()
        p.send({ opcode: OP.TEXT, payload: deflatePayload('Hello'), rsv: 4 })
        await expectFail(p, [1002])
      })

      const sizes = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]
      const kinds: Array<[string, number, (n: number) => Buffer]> = [
        ['12.1.x text "*"', OP.TEXT, textPayload],
        ['12.2.x binary pattern', OP.BINARY, binaryPayload],
        ['12.3.x text words', OP.TEXT, wordsPayload],
        ['12.4.x binary noise (incompressible)', OP.BINARY, (n) => noisePayload(n)],
        ['12.5.x binary words', OP.BINARY, (n) => wordsPayload(n, 3)],
      ]
      it.each(kinds.map(([name, op, gen]) => [name, op, gen] as const))(
        '%s: messages of 16 B..128 KiB, compressed with context takeover, 5 of each size',
        { timeout: 30_000 },
        async (_n, op, gen) => {
          const p = await connect(pmd, { extensions: 'permessage-deflate; client_max_window_bits' })
          expect(p.deflate).toBeDefined()
          for (const n of sizes) {
            const data = gen(n)
            for (let i = 0; i < 5; i++) p.sendMessage(op, data, { compress: true })
            for (let i = 0; i < 5; i++) await expectEcho(p, op, data, 5000)
          }
          await closeClean(p)
        },
      )

      const offers: Array<[string, string]> = [
        ['13.1.x', 'permessage-deflate'],
        ['13.2.x', 'permessage-deflate; client_no_context_takeover'],
        ['13.3.x', 'permessage-deflate; client_max_window_bits=9'],
        ['13.4.x', 'permessage-deflate; client_max_window_bits=15'],
        ['13.5.x', 'permessage-deflate; client_no_context_takeover; client_max_window_bits=9'],
        ['13.6.x', 'permessage-deflate; client_no_context_takeover; client_max_window_bits=15'],
        ['13.7.x', 'permessage-deflate; client_no_context_takeover; client_max_window_bits=9, permessage-deflate; client_no_context_takeover, permessage-deflate'],
      ]
      it.each(offers)('%s offer "%s": agreed params honoured both ways over 50 messages', { timeout: 20_000 }, async (_c, offer) => {
        const p = await connect(pmd, { extensions: offer })
        expect(p.deflate).toBeDefined()
        const agreed = p.deflate!
        const offered = parseExtensions(offer)
        // The response must correspond to one of the offers: client_max_window_bits only if offered, ≤ offer.
        if (agreed.client_max_window_bits !== undefined) {
          expect(typeof agreed.client_max_window_bits).toBe('number')
          expect(offered.some(([, o]) => o.client_max_window_bits !== undefined)).toBe(true)
        }
        // Our side: compress within the offered window, with context unless we promised not to.
        const bits = offered.find(([, o]) => typeof o.client_max_window_bits === 'number')?.[1].client_max_window_bits
        if (typeof bits === 'number' && typeof agreed.client_max_window_bits !== 'number') {
          p.useDeflate({ ...agreed, client_max_window_bits: bits })
        }
        for (let i = 0; i < 50; i++) {
          const data = i % 3 === 2 ? binaryPayload(2000 + i * 100) : wordsPayload(100 + i * 97, i)
          const op = i % 3 === 2 ? OP.BINARY : OP.TEXT
          p.sendMessage(op, data, { compress: i % 7 !== 6 })
          await expectEcho(p, op, data)
        }
        await closeClean(p)
      })
      it('server_no_context_takeover offered → agreed, and server messages inflate without context', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate; server_no_context_takeover' })
        // A server may decline the offer altogether, but if it accepts it must include the parameter.
        expect(p.deflate?.server_no_context_takeover).toBe(true)
        const data = wordsPayload(8192)
        for (let i = 0; i < 5; i++) {
          p.sendMessage(OP.TEXT, data, { compress: true })
          const m = await p.readMessage() // rx context is "no context": a back-reference would throw
          expect(m.compressed).toBe(true)
          expect(m.data.equals(data)).toBe(true)
        }
        await closeClean(p)
      })
      it('server_max_window_bits=10 offered → agreed with ≤ 10, and server messages fit a 1 KiB window', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate; server_max_window_bits=10' })
        const bits = p.deflate?.server_max_window_bits
        expect(typeof bits).toBe('number')
        expect(bits as number).toBeLessThanOrEqual(10)
        expect(bits as number).toBeGreaterThanOrEqual(8)
        const data = Buffer.concat([wordsPayload(4096, 1), wordsPayload(4096, 1)]) // repeats 4 KiB apart
        for (let i = 0; i < 3; i++) {
          p.sendMessage(OP.TEXT, data, { compress: true })
          const m = await p.readMessage() // inflate with windowBits = agreed; "too far back" would throw
          expect(m.data.equals(data)).toBe(true)
        }
        await closeClean(p)
      })
      it('invalid offers (server_max_window_bits=7, unknown parameter) are declined or refused, never accepted', async () => {
        for (const offer of ['permessage-deflate; server_max_window_bits=7', 'permessage-deflate; foo=1', 'permessage-deflate; client_max_window_bits=16']) {
          const r = await rawHandshake(pmd.port, { extensions: offer })
          r.socket.destroy()
          // RFC 7692 §5: decline the offer (101 without the extension); ws refuses the handshake with 400.
          if (r.status === 101) expect(r.head.headers['sec-websocket-extensions'] ?? '').not.toMatch(/permessage-deflate/)
          else expect(r.status).toBe(400)
        }
      })
      it('compressed message in 1-byte fragments (RSV1 on the first only) → echoed', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate' })
        const data = wordsPayload(3000)
        p.sendMessage(OP.TEXT, data, { compress: true, fragmentSize: 1 })
        await expectEcho(p, OP.TEXT, data)
        await closeClean(p)
      })
      it('compressed empty message → empty echo', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate' })
        p.sendMessage(OP.TEXT, '', { compress: true })
        await expectEcho(p, OP.TEXT, Buffer.alloc(0))
        p.send({ opcode: OP.BINARY, payload: Buffer.from([0x00]), rsv: 4 }) // RFC 7692 §7.2.3.6
        await expectEcho(p, OP.BINARY, Buffer.alloc(0))
        await closeClean(p)
      })
      it('RSV1 on a continuation frame → 1002', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate' })
        const c = deflatePayload(wordsPayload(200))
        p.send({ opcode: OP.TEXT, payload: c.subarray(0, 10), fin: false, rsv: 4 })
        p.send({ opcode: OP.CONT, payload: c.subarray(10), rsv: 4 })
        await expectFail(p, [1002])
      })
      it('RSV1 on a control frame (ping) → 1002', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate' })
        p.send({ opcode: OP.PING, payload: deflatePayload('ping'), rsv: 4 })
        await expectFail(p, [1002])
        expect(p.log.some((f) => f.opcode === OP.PONG)).toBe(false)
      })
      it('corrupt deflate data → 1007', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate' })
        p.send({ opcode: OP.BINARY, payload: Buffer.from('ffffffffffffffff', 'hex'), rsv: 4 })
        await expectFail(p, [1007])
      })
      it('compressed text inflating to invalid UTF-8 → 1007', async () => {
        const p = await connect(pmd, { extensions: 'permessage-deflate' })
        p.sendMessage(OP.TEXT, Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'), { compress: true })
        await expectFail(p, [1007])
      })
    })

    it('frames log helper renders (sanity)', () => {
      expect(describeFrames([])).toBe('(none)')
      expect(buildFrame({ opcode: OP.TEXT, payload: 'a' }).toString('hex')).toBe('810161')
    })
  })
}
