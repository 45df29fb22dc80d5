// The client core against real servers: connecting (TCP, Unix, TLS, ACL users, databases,
// RESP3 and the RESP2 fallback), automatic pipelining, timeouts and aborts, pub/sub,
// blocking commands, transactions, and what happens when the server goes away.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as nodeNet from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, RedisClient, RedisError, ReplyError, type RedisClientOptions } from '@iocrate/redis'
import { countCommands, eventually, fakeServer, freePort, OwnRedis, services, sleep } from './helpers.js'

const env = services()
const prefix = `t:${randomUUID().slice(0, 8)}:`
const clients: RedisClient[] = []
// Every test runs over both transports (Node's socket + the Rust codec; the addon's I/O thread).
let transport: 'node' | 'native' = 'node'
function client(opts?: RedisClientOptions | string): RedisClient {
  const o: RedisClientOptions = typeof opts === 'string' ? { url: opts } : opts ?? { url: env.redis.url }
  const c = createClient({ transport, ...o })
  clients.push(c)
  return c
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
})
afterAll(async () => {
  const c = createClient(env.redis.url)
  for await (const k of scanKeys(c, `${prefix}*`)) await c.call('DEL', k)
  await c.close()
})

async function* scanKeys(c: RedisClient, match: string): AsyncGenerator<string> {
  let cursor = '0'
  do {
    const [next, keys] = (await c.call('SCAN', cursor, 'MATCH', match, 'COUNT', 1000)) as [string, string[]]
    cursor = next
    yield* keys
  } while (cursor !== '0')
}

for (const t of ['node', 'native'] as const) {
describe(`over the ${t} transport`, () => {
  beforeAll(() => {
    transport = t
  })

  describe('connecting', () => {
    it('speaks RESP3 by default, RESP2 when asked', async () => {
      const c3 = client()
      await c3.connect()
      expect(c3.protocol).toBe(3)
      const c2 = client({ url: env.redis.url, protocol: 2 })
      await c2.connect()
      expect(c2.protocol).toBe(2)
      await c3.set(`${prefix}p`, 'v')
      expect(await c2.get(`${prefix}p`)).toBe('v')
      // The same command shapes its reply per protocol; call() shows the raw reply.
      await c3.call('HSET', `${prefix}h`, 'a', '1')
      expect(await c3.call('HGETALL', `${prefix}h`)).toEqual(new Map([['a', '1']]))
      expect(await c2.call('HGETALL', `${prefix}h`)).toEqual(['a', '1'])
      expect(await c3.hgetall(`${prefix}h`)).toEqual({ a: '1' })
      expect(await c2.hgetall(`${prefix}h`)).toEqual({ a: '1' })
    })

    it('falls back to RESP2 when the server refuses HELLO (renamed away, as some proxies do)', async () => {
      const own = new OwnRedis(await freePort(), ['--rename-command', 'HELLO', '', '--requirepass', 'pw'])
      await own.start()
      try {
        const c = client({ url: own.url, password: 'pw' })
        expect(await c.ping()).toBe('PONG')
        expect(c.protocol).toBe(2)
        const strict = client({ url: own.url, password: 'pw', protocol: 3 })
        await expect(strict.connect()).rejects.toBeInstanceOf(ReplyError)
      } finally {
        await own.kill()
      }
    })

    it('connects over a Unix socket and over TLS', async () => {
      const u = client({ path: env.redis.unixPath })
      expect(await u.ping('unix')).toBe('unix')
      const t = client({ url: env.redis.tls.url, tls: { ca: readFileSync(env.redis.tls.ca), servername: 'localhost' } })
      expect(await t.ping('tls')).toBe('tls')
      const untrusted = client({ url: env.redis.tls.url, tls: { servername: 'localhost' } })
      await expect(untrusted.connect()).rejects.toMatchObject({ code: 'ERR_IOCRATE_TLS_CERT_UNTRUSTED' })
    })

    it('authenticates ACL users from the URL; refused credentials fail fast with ERR_REDIS_AUTH', async () => {
      const port = env.redis.port
      const ok = client(`redis://iocrate:${env.redis.users.iocrate}@127.0.0.1:${port}`)
      expect(await ok.call('ACL', 'WHOAMI')).toBe('iocrate')
      const ro = client(`redis://readonly:${env.redis.users.readonly}@127.0.0.1:${port}`)
      await expect(ro.set(`${prefix}ro`, 'x')).rejects.toMatchObject({ code: 'ERR_REDIS_REPLY', prefix: 'NOPERM' })
      const bad = client(`redis://iocrate:wrong@127.0.0.1:${port}`)
      const t0 = Date.now()
      await expect(bad.get('x')).rejects.toMatchObject({ code: 'ERR_REDIS_AUTH' })
      expect(Date.now() - t0).toBeLessThan(2000)
      const bad2 = client({ url: `redis://iocrate:wrong@127.0.0.1:${port}`, protocol: 2 })
      await expect(bad2.connect()).rejects.toMatchObject({ code: 'ERR_REDIS_AUTH' })
    })

    it('selects the database from the URL, and again after a reconnect', async () => {
      const c = client(`${env.redis.url}/3`)
      await c.set(`${prefix}db`, 'three')
      const c0 = client(env.redis.url)
      expect(await c0.get(`${prefix}db`)).toBe(null)
      expect(await c.get(`${prefix}db`)).toBe('three')
      const id = await c.call('CLIENT', 'ID')
      await c0.call('CLIENT', 'KILL', 'ID', String(id))
      await eventually(async () => (await c.get(`${prefix}db`)) === 'three', 5000, 'reconnect')
      await c.call('DEL', `${prefix}db`)
    })

    it('refuses a closed port fast with ECONNREFUSED', async () => {
      const c = client({ port: await freePort(), connectTimeout: 2000 })
      await expect(c.get('x')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    })

    it('rejects bad URLs and options', () => {
      expect(() => createClient('http://x')).toThrow(/redis:\/\//)
      expect(() => createClient('redis://h/abc')).toThrow(/database/)
      expect(() => createClient({ port: 70000 })).toThrow(/port/)
    })
  })

  describe('commands', () => {
    it('sends every command issued in one tick in one write (automatic pipelining)', async () => {
      const chunks: Buffer[] = []
      // A transparent proxy that records what the client writes.
      const proxy = nodeNet.createServer((down) => {
        const up = nodeNet.connect(env.redis.port, '127.0.0.1')
        down.on('data', (d) => {
          chunks.push(d)
          up.write(d)
        })
        up.pipe(down)
        down.on('error', () => {})
        up.on('error', () => {})
        down.on('close', () => up.destroy())
      })
      proxy.listen(0, '127.0.0.1')
      await new Promise((r) => proxy.once('listening', r))
      try {
        const c = client({ port: (proxy.address() as nodeNet.AddressInfo).port, protocol: 2 })
        await c.connect()
        chunks.length = 0
        const ps: Array<Promise<unknown>> = []
        for (let i = 0; i < 200; i++) ps.push(c.set(`${prefix}ap${i}`, String(i)))
        for (let i = 0; i < 200; i++) ps.push(c.get(`${prefix}ap${i}`))
        const r = await Promise.all(ps)
        expect(r.slice(200)).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
        const sent = countCommands(Buffer.concat(chunks))
        expect(sent.length).toBe(400)
        // One write of ~12 KB: the kernel may split it, but not into hundreds of pieces.
        expect(chunks.length).toBeLessThanOrEqual(2)
      } finally {
        proxy.close()
      }
    })

    it('keeps replies matched to their commands under heavy concurrency, with errors in the middle', async () => {
      const c = client()
      const ps: Array<Promise<unknown>> = []
      for (let i = 0; i < 5000; i++) {
        if (i % 97 === 0) ps.push(c.call('HSET', `${prefix}str`, 'x').catch((e: unknown) => e))
        else ps.push(c.call('ECHO', `m${i}`))
      }
      const r = await Promise.all(ps)
      for (let i = 0; i < 5000; i++) {
        if (i % 97 === 0) expect(r[i]).toBeInstanceOf(ReplyError)
        else expect(r[i]).toBe(`m${i}`)
      }
    })

    it('is binary-safe: Buffer in, Buffer out', async () => {
      const c = client()
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      const tricky = Buffer.concat([Buffer.from('\r\n$5\r\n'), all, Buffer.from('*1\r\n')])
      await c.set(`${prefix}bin`, tricky)
      expect((await c.getBuffer(`${prefix}bin`))!.equals(tricky)).toBe(true)
      const raw = (await c.callBuffer('MGET', `${prefix}bin`, `${prefix}nope`)) as Array<Buffer | null>
      expect(raw[0]!.equals(tricky)).toBe(true)
      expect(raw[1]).toBe(null)
      // A Buffer key.
      await c.set(Buffer.from([0xff, 0x00, 0x0d, 0x0a]), 'k')
      expect(await c.get(Buffer.from([0xff, 0x00, 0x0d, 0x0a]))).toBe('k')
      await c.del(Buffer.from([0xff, 0x00, 0x0d, 0x0a]))
    })

    it('a command timeout fails that command and keeps the connection', async () => {
      const c = client({ url: env.redis.url, commandTimeout: 200 })
      const admin = client()
      await c.ping()
      await admin.call('CLIENT', 'PAUSE', '600', 'ALL')
      const t0 = Date.now()
      await expect(c.get(`${prefix}t`)).rejects.toMatchObject({ code: 'ERR_REDIS_TIMEOUT' })
      expect(Date.now() - t0).toBeLessThan(550)
      await sleep(500)
      // The late reply to the timed-out GET is dropped; the next command gets its own.
      expect(await c.call('ECHO', 'after')).toBe('after')
    })

    it('an AbortSignal rejects with ABORT_ERR; a signal aborted before sending sends nothing', async () => {
      const c = client()
      const ac = new AbortController()
      ac.abort()
      await expect(c.get('x', { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' })
      const ac2 = new AbortController()
      const p = c.blpop(`${prefix}never`, 5, { signal: ac2.signal })
      setTimeout(() => ac2.abort(), 100)
      await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' })
      expect(await c.ping()).toBe('PONG')
    })

    it('runs blocking commands on connections of their own', async () => {
      const c = client()
      const popped = c.blpop(`${prefix}q`, 5)
      // The main connection is not blocked behind BLPOP.
      expect(await c.ping()).toBe('PONG')
      await c.call('RPUSH', `${prefix}q`, 'job')
      expect(await popped).toEqual([`${prefix}q`, 'job'])
    })

    it('transactions: MULTI/EXEC in one write; EXECABORT carries the refusals; WATCH conflicts give null', async () => {
      const c = client()
      const r = await c.multi().set(`${prefix}tx`, '1').incr(`${prefix}tx`).get(`${prefix}tx`).exec()
      expect(r).toEqual(['OK', 2, '2'])
      const bad = c.multi().set(`${prefix}tx`, '1').call('SET', `${prefix}tx`).exec()
      await expect(bad).rejects.toMatchObject({ prefix: 'EXECABORT', errors: [expect.any(ReplyError)] })
      const other = client()
      const res = await c.isolated(async (conn) => {
        await conn.watch(`${prefix}tx`)
        await other.set(`${prefix}tx`, 'changed')
        return conn.multi().set(`${prefix}tx`, 'mine').exec()
      })
      expect(res).toBe(null)
      expect(await c.get(`${prefix}tx`)).toBe('changed')
      // A pipeline: errors in place.
      const p = await c.pipeline().set(`${prefix}pp`, 'a').call('INCR', `${prefix}pp`).get(`${prefix}pp`).exec()
      expect(p[0]).toBe('OK')
      expect(p[1]).toBeInstanceOf(ReplyError)
      expect(p[2]).toBe('a')
    })
  })

  describe('pub/sub', () => {
    for (const protocol of [2, 3] as const) {
      it(`channels, patterns and shard channels (RESP${protocol})`, async () => {
        const sub = client({ url: env.redis.url, protocol })
        const pub = client()
        const got: string[] = []
        const ch = `${prefix}ch${protocol}`
        await sub.subscribe(ch, (m, c) => got.push(`${c}:${String(m)}`))
        await sub.psubscribe(`${prefix}pat${protocol}*`, (m, c, p) => got.push(`${p}|${c}:${String(m)}`))
        await sub.ssubscribe(`${prefix}sh${protocol}`, (m, c) => got.push(`s:${c}:${String(m)}`))
        // The subscriber client still runs ordinary commands on its main connection.
        expect(await sub.ping()).toBe('PONG')
        expect(await pub.publish(ch, 'hello')).toBe(1)
        await pub.publish(`${prefix}pat${protocol}x`, 'p')
        await pub.spublish(`${prefix}sh${protocol}`, 'sharded')
        await eventually(() => got.length === 3, 3000, 'messages')
        expect(got).toEqual([`${ch}:hello`, `${prefix}pat${protocol}*|${prefix}pat${protocol}x:p`, `s:${prefix}sh${protocol}:sharded`])
        await sub.unsubscribe(ch)
        expect(await pub.publish(ch, 'gone')).toBe(0)
      })
    }

    it('delivers Buffers when asked, binary-safe', async () => {
      const sub = client()
      const pub = client()
      const got: Buffer[] = []
      await sub.subscribe(`${prefix}bin`, (m) => got.push(m as Buffer), { buffers: true })
      const payload = Buffer.from([0, 1, 2, 13, 10, 255])
      await pub.publish(`${prefix}bin`, payload)
      await eventually(() => got.length === 1, 3000, 'message')
      expect(got[0]!.equals(payload)).toBe(true)
    })
  })

  describe('when the server goes away', () => {
    let own: OwnRedis
    beforeAll(async () => {
      own = new OwnRedis(await freePort())
      await own.start()
    })
    afterAll(async () => {
      await own.kill()
    })

    it('pending commands reject with ERR_REDIS_CONNECTION_LOST; the client reconnects and re-subscribes', async () => {
      const c = client({ url: own.url, retry: { baseDelay: 20, maxDelay: 200 } })
      const sub = client({ url: own.url, retry: { baseDelay: 20, maxDelay: 200 } })
      const events: string[] = []
      c.on('disconnect', () => events.push('disconnect'))
      c.on('ready', () => events.push('ready'))
      const got: string[] = []
      await sub.subscribe('news', (m) => got.push(String(m)))
      await c.set('k', 'before')
      // A long pipeline in flight when the server dies.
      const inflight: Array<Promise<unknown>> = []
      for (let i = 0; i < 2000; i++) inflight.push(c.call('ECHO', `x${i}`).then(() => 'ok', (e: RedisError) => e.code))
      await own.kill()
      const outcomes = await Promise.all(inflight)
      for (const o of outcomes) expect(['ok', 'ERR_REDIS_CONNECTION_LOST']).toContain(o)
      // Answered ones come first, then only failures: no command got another's reply.
      const firstFail = outcomes.indexOf('ERR_REDIS_CONNECTION_LOST')
      if (firstFail >= 0) expect(outcomes.slice(firstFail).every((o) => o === 'ERR_REDIS_CONNECTION_LOST')).toBe(true)
      // Commands issued while it is down wait in the offline queue.
      const queued = c.set('k', 'after')
      await sleep(150)
      await own.start()
      expect(await queued).toBe('OK')
      expect(await c.get('k')).toBe('after')
      expect(events).toEqual(['ready', 'disconnect', 'ready'].slice(events[0] === 'ready' ? 0 : 1))
      // The subscriber came back with its subscription.
      const pub = client(own.url)
      await eventually(async () => (await pub.publish('news', 'again')) === 1, 5000, 'resubscribe')
      await eventually(() => got.includes('again'), 3000, 'message after resubscribe')
    })

    it('gives up after retry.maxAttempts: queued commands fail with ERR_REDIS_UNAVAILABLE', async () => {
      const own2 = new OwnRedis(await freePort())
      await own2.start()
      const c = client({ url: own2.url, retry: { baseDelay: 10, maxDelay: 20, maxAttempts: 3 } })
      const errors: Error[] = []
      c.on('error', (e) => errors.push(e))
      await c.ping()
      await own2.kill()
      await sleep(50)
      await expect(c.get('k')).rejects.toMatchObject({ code: expect.stringMatching(/ERR_REDIS_UNAVAILABLE|ERR_REDIS_CLOSED/) })
      await eventually(() => errors.length > 0, 3000, 'error event')
      expect((errors[0] as RedisError).code).toBe('ERR_REDIS_UNAVAILABLE')
    })
  })

  describe('bad input from the server', () => {
    it('a malformed reply fails the affected commands with ERR_REDIS_PROTOCOL, then the client reconnects', async () => {
      const fake = await fakeServer((s, d, conn) => {
        for (const cmd of countCommands(d)) {
          if (cmd.startsWith('HELLO')) s.write('-ERR unknown command\r\n')
          else if (conn === 0 && cmd === 'GET bad') s.write('$3\r\nabc\r\n?garbage\r\n')
          else if (cmd.startsWith('GET ')) s.write(`$${cmd.length - 4}\r\n${cmd.slice(4)}\r\n`)
        }
      })
      try {
        const c = client({ port: fake.port, retry: { baseDelay: 10, maxDelay: 50 } })
        expect(await c.get('good')).toBe('good')
        const [a, b, d] = await Promise.allSettled([c.get('bad'), c.get('next'), c.get('more')])
        // 'bad' got "abc" (a well-formed reply); what follows is garbage: the others fail, none gets a wrong value.
        expect(a).toEqual({ status: 'fulfilled', value: 'abc' })
        expect(b).toMatchObject({ status: 'rejected', reason: { code: 'ERR_REDIS_PROTOCOL' } })
        expect(d).toMatchObject({ status: 'rejected', reason: { code: 'ERR_REDIS_PROTOCOL' } })
        expect(await c.get('again')).toBe('again')
        expect(fake.connections()).toBe(2)
      } finally {
        await fake.close()
      }
    })

    it('an oversized bulk length fails with ERR_REDIS_LIMIT; a truncated reply then close fails with CONNECTION_LOST', async () => {
      const fake = await fakeServer((s, d, conn) => {
        for (const cmd of countCommands(d)) {
          if (cmd.startsWith('HELLO')) s.write('-ERR unknown command\r\n')
          else if (cmd === 'GET huge') s.write('$99999999999\r\n')
          else if (cmd === 'GET cut') {
            s.write('$10\r\nabc')
            setTimeout(() => s.destroy(), 20)
          } else if (cmd.startsWith('GET ')) s.write(`+${cmd.slice(4)}-${conn}\r\n`)
        }
      })
      try {
        const c = client({ port: fake.port, retry: { baseDelay: 10, maxDelay: 50 }, maxBulk: 1 << 20 })
        await expect(c.get('huge')).rejects.toMatchObject({ code: 'ERR_REDIS_LIMIT' })
        expect(await c.get('x')).toBe('x-1')
        await expect(c.get('cut')).rejects.toMatchObject({ code: 'ERR_REDIS_CONNECTION_LOST' })
        expect(await c.get('y')).toBe('y-2')
      } finally {
        await fake.close()
      }
    })
  })

  describe('lifecycle', () => {
    it('close() waits for the replies of what was sent; commands after close fail with ERR_REDIS_CLOSED', async () => {
      const c = createClient(env.redis.url)
      const p = c.call('ECHO', 'last')
      await c.close()
      expect(await p).toBe('last')
      await expect(c.get('x')).rejects.toMatchObject({ code: 'ERR_REDIS_CLOSED' })
    })

    it('supports await using', async () => {
      let ref: RedisClient | undefined
      {
        await using c = createClient(env.redis.url)
        ref = c
        expect(await c.ping()).toBe('PONG')
      }
      await expect(ref.ping()).rejects.toMatchObject({ code: 'ERR_REDIS_CLOSED' })
    })
  })
})
}
