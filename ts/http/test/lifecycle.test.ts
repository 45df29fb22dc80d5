import * as net from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from '@iocrate/http'
import { closeServers, parseResponses, portOf, raw, run, sleep, start, within } from './helpers.js'

afterEach(closeServers)

/** A raw keep-alive connection: send, then read until `n` complete responses arrived. */
class Conn {
  sock: net.Socket
  data = Buffer.alloc(0)
  closedAt = 0
  closed: Promise<void>
  #waiters: (() => void)[] = []
  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1')
    this.sock.on('error', () => {})
    this.sock.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d])
      for (const w of this.#waiters.splice(0)) w()
    })
    this.closed = new Promise((r) =>
      this.sock.on('close', () => {
        this.closedAt = Date.now()
        for (const w of this.#waiters.splice(0)) w()
        r()
      }),
    )
  }
  async responses(n: number, ms = 10_000): Promise<ReturnType<typeof parseResponses>> {
    const deadline = Date.now() + ms
    for (;;) {
      const rs = parseResponses(this.data)
      if (rs.length >= n) return rs
      if (this.closedAt || Date.now() > deadline) throw new Error(`got ${rs.length} of ${n} responses: ${JSON.stringify(this.data.toString('latin1').slice(0, 300))}`)
      await new Promise<void>((r) => {
        this.#waiters.push(r)
        setTimeout(r, 100)
      })
    }
  }
}

describe('graceful close', () => {
  it('close(): idle keep-alive connections close at once, the request in flight completes with Connection: close, then close', async () => {
    const events: string[] = []
    let inHandler!: () => void
    const handled = new Promise<void>((r) => (inHandler = r))
    const server = createServer(async (req, res) => {
      if (req.url === '/slow') {
        inHandler()
        await sleep(600)
        events.push('slow answered')
        res.end('slow body done')
        return
      }
      res.end('quick')
    })
    const port = await start(server)
    // Connection A: one exchange, then idle.
    const a = new Conn(port)
    a.sock.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n')
    expect((await a.responses(1))[0]!.body.toString()).toBe('quick')
    // Connection B: a request in flight.
    const b = new Conn(port)
    b.sock.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
    await within(handled, 10_000, 'slow request reaching the handler')
    expect(server.connections).toBe(2)
    const closed = new Promise<number>((r) => server.once('close', () => r(Date.now())))
    const t0 = Date.now()
    server.close()
    expect(server.listening).toBe(false)
    void a.closed.then(() => events.push('idle closed'))
    void b.closed.then(() => events.push('busy closed'))
    void closed.then(() => events.push('server close'))
    await within(a.closed, 5000, 'idle connection closing')
    expect(a.closedAt - t0).toBeLessThan(2000)
    // New connections are refused once closing.
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.on('connect', () => {
        s.on('close', () => resolve(false))
        s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        s.on('data', () => resolve(false))
        setTimeout(() => resolve(false), 2000)
      })
      s.on('error', () => resolve(true))
    })
    expect(refused).toBe(true)
    const rs = await b.responses(1)
    expect(rs[0]!.status).toBe(200)
    expect(rs[0]!.body.toString()).toBe('slow body done')
    expect(rs[0]!.headers.connection?.[0]?.toLowerCase()).toBe('close')
    await within(b.closed, 5000, 'busy connection closing')
    await within(closed, 5000, "'close'")
    expect(events).toEqual(['idle closed', 'slow answered', 'busy closed', 'server close'])
    expect(server.connections).toBe(0)
    expect(server.address()).toBeNull()
  })

  it('close(callback) calls back after the last connection; closing a stopped server errors', async () => {
    const server = createServer((_req, res) => res.end())
    await start(server)
    const err = await new Promise<Error | undefined>((r) => server.close(r))
    expect(err).toBeUndefined()
    const err2 = await new Promise<Error | undefined>((r) => server.close(r))
    expect((err2 as { code?: string } | undefined)?.code).toBe('ERR_SERVER_NOT_RUNNING')
  })

  it('await using closes the server at the end of the block; Symbol.asyncDispose works directly', async () => {
    let port = 0
    let s!: Server
    {
      await using server = createServer((_req, res) => res.end('disposable'))
      s = server
      port = await start(server)
      const r = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      expect(parseResponses(r.data)[0]!.body.toString()).toBe('disposable')
    }
    expect(s.listening).toBe(false)
    expect(s.address()).toBeNull()
    const refused = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy()
        resolve(false)
      })
      c.on('error', () => resolve(true))
    })
    expect(refused).toBe(true)

    const s2 = createServer((_req, res) => res.end())
    await start(s2)
    const idle = new Conn(portOf(s2))
    idle.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await idle.responses(1)
    await within(s2[Symbol.asyncDispose](), 5000, 'asyncDispose')
    expect(s2.listening).toBe(false)
    await within(idle.closed, 5000, 'idle connection closing')
  })

  it('listen twice throws; EADDRINUSE is an error event; the port can be reused after close', async () => {
    const a = createServer((_req, res) => res.end())
    const port = await start(a)
    expect(() => a.listen(0)).toThrow(expect.objectContaining({ code: 'ERR_SERVER_ALREADY_LISTEN' }))
    const b = createServer((_req, res) => res.end())
    b.listen(port, '127.0.0.1')
    const [err] = (await once(b, 'error')) as [{ code?: string }]
    expect(err.code).toBe('EADDRINUSE')
    await new Promise<void>((r) => a.close(() => r()))
    const c = createServer((_req, res) => res.end('again'))
    c.listen(port, '127.0.0.1')
    await once(c, 'listening')
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(parseResponses(r.data)[0]!.body.toString()).toBe('again')
    await new Promise<void>((r2) => c.close(() => r2()))
  })

  it('keepAliveTimeout closes idle connections', async () => {
    const server = createServer({ keepAliveTimeout: 300 }, (_req, res) => res.end('k'))
    const port = await start(server)
    const c = new Conn(port)
    c.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await c.responses(1)
    const t0 = Date.now()
    await within(c.closed, 5000, 'idle connection timing out')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200)
  })

  it('maxConnections: connections beyond the limit are refused; the limit can be changed', async () => {
    const server = createServer({ maxConnections: 2 }, (_req, res) => res.end('m'))
    const port = await start(server)
    expect(server.maxConnections).toBe(2)
    const a = new Conn(port)
    const b = new Conn(port)
    a.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    b.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await a.responses(1)
    await b.responses(1)
    expect(server.connections).toBe(2)
    const third = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { waitMs: 5000 })
    expect(third.closed).toBe(true)
    expect(parseResponses(third.data).filter((x) => x.status === 200)).toHaveLength(0)
    server.maxConnections = 3
    const fourth = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(parseResponses(fourth.data)[0]?.body.toString()).toBe('m')
    expect(() => (server.maxConnections = -1)).toThrow()
    a.sock.destroy()
    b.sock.destroy()
  })

  it('unref lets the process exit; a listening (ref) server keeps it alive', async () => {
    const script = (unref: boolean): string =>
      `import { createServer } from '@iocrate/http'
       const s = createServer((q, r) => r.end()).listen(0, '127.0.0.1', () => { console.log('listening'); ${unref ? 's.unref()' : ''} })`
    const u = await run(process.execPath, ['--input-type=module', '-e', script(true)], { timeoutMs: 15_000 })
    expect(u.stdout.toString()).toContain('listening')
    expect(u.code, u.stderr).toBe(0)
    const k = await run(process.execPath, ['--input-type=module', '-e', script(false)], { timeoutMs: 2500 })
    expect(k.stdout.toString()).toContain('listening')
    // Still running when killed.
    expect(k.code).toBeNull()
  }, 30_000)
})
