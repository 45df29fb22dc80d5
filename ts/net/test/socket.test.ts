import * as nodeNet from 'node:net'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { connect, createServer, type Socket } from '@iocrate/net'
import { closeNode, collect, nodeEchoServer, nodeServer, portOf, sleep, tempSocketPath, waitClose, within } from './helpers.js'

/** Our server echoing everything. */
async function ourEchoServer(listen: { host?: string; path?: string; port?: number }, allowHalfOpen = false) {
  const srv = createServer({ allowHalfOpen }, (s) => {
    s.on('error', () => {})
    s.pipe(s)
  })
  srv.listen(listen.path !== undefined ? { path: listen.path } : { host: listen.host ?? '127.0.0.1', port: listen.port ?? 0 })
  await once(srv, 'listening')
  return srv
}

async function ourClose(srv: ReturnType<typeof createServer>): Promise<void> {
  srv.closeAllConnections()
  await within(new Promise<void>((r) => srv.close(() => r())), 5000, 'server close')
}

describe('our server ↔ node:net client', () => {
  for (const [name, host] of [['IPv4', '127.0.0.1'], ['IPv6', '::1']] as const) {
    it(`echoes over ${name}`, async () => {
      const srv = await ourEchoServer({ host })
      const port = portOf(srv)
      expect(srv.address()).toMatchObject({ address: host, family: name, port })
      const c = nodeNet.connect({ host, port })
      const payload = Buffer.alloc(300_000, 7)
      payload.write('hello')
      c.end(payload)
      const got = await collect(c)
      expect(got.equals(payload)).toBe(true)
      await ourClose(srv)
    })
  }

  it('echoes over a Unix domain socket', async () => {
    const path = tempSocketPath()
    const srv = await ourEchoServer({ path })
    expect(srv.address()).toBe(path)
    const c = nodeNet.connect({ path })
    c.end('over unix')
    expect((await collect(c)).toString()).toBe('over unix')
    await ourClose(srv)
  })

  it('reports addresses and byte counters of accepted sockets', async () => {
    const srv = createServer()
    const accepted = once(srv, 'connection').then(([s]) => s as Socket)
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const c = nodeNet.connect(portOf(srv), '127.0.0.1')
    await once(c, 'connect')
    const s = await accepted
    expect(s.remoteAddress).toBe('127.0.0.1')
    expect(s.remotePort).toBe(c.localPort)
    expect(s.remoteFamily).toBe('IPv4')
    expect(s.localPort).toBe(portOf(srv))
    expect(s.address()).toMatchObject({ address: '127.0.0.1', family: 'IPv4', port: portOf(srv) })
    c.write('12345')
    const [d] = await once(s, 'data')
    expect(d.toString()).toBe('12345')
    expect(s.bytesRead).toBe(5)
    s.write('abc')
    await once(c, 'data')
    expect(s.bytesWritten).toBe(3)
    c.destroy()
    await waitClose(s)
    await ourClose(srv)
  })
})

describe('our client ↔ node:net server', () => {
  for (const [name, host] of [['IPv4', '127.0.0.1'], ['IPv6', '::1']] as const) {
    it(`echoes over ${name} and reports addresses`, async () => {
      const srv = await nodeEchoServer({ host })
      const port = portOf(srv)
      const c = connect({ host, port })
      await once(c, 'connect')
      expect(c.remoteAddress).toBe(host)
      expect(c.remotePort).toBe(port)
      expect(c.remoteFamily).toBe(name)
      expect(c.localPort).toBeGreaterThan(0)
      expect(c.address()).toMatchObject({ address: host, family: name })
      const payload = Buffer.alloc(500_000)
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff
      const done = collect(c)
      c.end(payload)
      const got = await done
      expect(got.equals(payload)).toBe(true)
      expect(c.bytesRead).toBe(payload.length)
      expect(c.bytesWritten).toBe(payload.length)
      await waitClose(c)
      await closeNode(srv)
    })
  }

  it('echoes over a Unix domain socket', async () => {
    const path = tempSocketPath()
    const srv = await nodeEchoServer({ path })
    const c = connect(path)
    await once(c, 'connect')
    expect(c.remoteFamily).toBe('unix')
    const done = collect(c)
    c.end('unix bytes')
    expect((await done).toString()).toBe('unix bytes')
    await closeNode(srv)
  })

  it('accepts setNoDelay, setKeepAlive and emits timeout without closing', async () => {
    const srv = await nodeEchoServer()
    const c = connect({ port: portOf(srv), host: '127.0.0.1' })
    await once(c, 'connect')
    expect(c.setNoDelay(true)).toBe(c)
    expect(c.setNoDelay(false)).toBe(c)
    expect(c.setKeepAlive(true, 2000)).toBe(c)
    expect(c.setKeepAlive(false)).toBe(c)
    const t0 = Date.now()
    let fired = 0
    c.setTimeout(150, () => fired++)
    await within(once(c, 'timeout'), 3000, 'timeout')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100)
    expect(fired).toBe(1)
    expect(c.destroyed).toBe(false)
    c.setTimeout(0)
    // Still usable after the timeout.
    c.write('still here')
    const [d] = await once(c, 'data')
    expect(d.toString()).toBe('still here')
    c.destroy()
    await closeNode(srv)
  })

  it('timeout option on connect', async () => {
    const srv = await nodeEchoServer()
    const c = connect({ port: portOf(srv), host: '127.0.0.1', timeout: 100 })
    await within(once(c, 'timeout'), 3000, 'timeout')
    expect(c.destroyed).toBe(false)
    c.destroy()
    await closeNode(srv)
  })
})

describe('half-close', () => {
  it('peer ends, we still write (our client, allowHalfOpen)', async () => {
    const srv = await nodeServer({ allowHalfOpen: true }, async (s) => {
      s.end('bye from server')
      const got = await collect(s)
      expect(got.toString()).toBe('late data')
    })
    const c = connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true })
    const got = await collect(c)
    expect(got.toString()).toBe('bye from server')
    expect(c.writable).toBe(true)
    c.end('late data')
    await within(waitClose(c), 3000, 'close')
    await closeNode(srv)
  })

  it('we end, peer still writes (our client)', async () => {
    const srv = await nodeServer({ allowHalfOpen: true }, async (s) => {
      const got = await collect(s)
      s.end('you said ' + got.toString())
    })
    const c = connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true })
    c.end('hi')
    const got = await collect(c)
    expect(got.toString()).toBe('you said hi')
    await within(waitClose(c), 3000, 'close')
    await closeNode(srv)
  })

  it('peer ends, we still write (our server, allowHalfOpen)', async () => {
    const srv = createServer({ allowHalfOpen: true }, async (s) => {
      const got = await collect(s)
      await sleep(20)
      s.end('after your end: ' + got.toString())
    })
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const c = nodeNet.connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true })
    c.end('ping')
    expect((await collect(c)).toString()).toBe('after your end: ping')
    await ourClose(srv)
  })

  it('we end, peer still writes (our server)', async () => {
    const srv = createServer({ allowHalfOpen: true }, async (s) => {
      s.end('server done')
      const got = await collect(s)
      expect(got.toString()).toBe('client late')
    })
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const c = nodeNet.connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true })
    expect((await collect(c)).toString()).toBe('server done')
    c.end('client late')
    await waitClose(c)
    await within(new Promise<void>((r) => srv.close(() => r())), 3000, 'server close')
  })

  it('without allowHalfOpen our side ends when the peer ends', async () => {
    const srv = await nodeServer({ allowHalfOpen: true }, (s) => {
      s.end()
      s.resume()
    })
    const c = connect({ port: portOf(srv), host: '127.0.0.1' })
    c.resume()
    await within(waitClose(c), 3000, 'close')
    await closeNode(srv)
  })
})

describe('errors', () => {
  it('ECONNREFUSED', async () => {
    const probe = nodeNet.createServer()
    probe.listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = portOf(probe)
    await new Promise<void>((r) => probe.close(() => r()))
    const c = connect(port, '127.0.0.1')
    const [err] = await once(c, 'error')
    expect(err.code).toBe('ECONNREFUSED')
    expect(err.syscall).toBe('connect')
    expect(err.address).toBe('127.0.0.1')
    expect(err.port).toBe(port)
    expect(err.errno).toBe(-111)
    expect(err).toBeInstanceOf(Error)
    await waitClose(c)
  })

  it('EADDRINUSE when listening twice on a port', async () => {
    const a = await ourEchoServer({ host: '127.0.0.1' })
    const b = createServer()
    b.listen(portOf(a), '127.0.0.1')
    const [err] = await once(b, 'error')
    expect(err.code).toBe('EADDRINUSE')
    expect(err.syscall).toBe('listen')
    // node:net also refuses the port we hold.
    const n = nodeNet.createServer()
    n.listen(portOf(a), '127.0.0.1')
    const [nerr] = await once(n, 'error')
    expect(nerr.code).toBe('EADDRINUSE')
    await ourClose(a)
  })

  it('ENOTFOUND for a bad hostname', async () => {
    const c = connect({ host: 'nonexistent.invalid', port: 80 })
    const [err] = await within(once(c, 'error'), 15000, 'lookup')
    expect(err.code).toBe('ENOTFOUND')
    expect(err.syscall).toBe('getaddrinfo')
  })

  it('ETIMEDOUT with connectTimeout against a listener whose accept queue is full', async () => {
    // Only loopback is reachable here, so the blackhole is a listener that never accepts
    // (our native listener, bound but not started) with backlog 0: once its accept queue is
    // full, Linux drops further SYNs and the connect hangs until our timeout.
    const { native, getBridge, isErrorInfo } = await import('@iocrate/core')
    const h = native.tcpListen(getBridge(), { host: '127.0.0.1', port: 0, backlog: 0 })
    if (isErrorInfo(h)) throw new Error(h.message)
    const port = h.address().port
    // Fill the accept queue (backlog 0 lets one or two in); further SYNs are dropped.
    const fillers: nodeNet.Socket[] = []
    for (let i = 0; i < 4; i++) {
      const f = nodeNet.connect(port, '127.0.0.1')
      f.on('error', () => {})
      fillers.push(f)
    }
    await sleep(100)
    const t0 = Date.now()
    const c = connect({ host: '127.0.0.1', port, connectTimeout: 200 })
    const [err] = await within(once(c, 'error'), 5000, 'connect timeout')
    expect(err.code).toBe('ETIMEDOUT')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150)
    for (const f of fillers) f.destroy()
    h.close()
  })

  it('peer destroys mid-write: typed error, no crash', async () => {
    const srv = await nodeServer({}, (s) => {
      s.once('data', () => s.resetAndDestroy())
    })
    const c = connect({ port: portOf(srv), host: '127.0.0.1' })
    await once(c, 'connect')
    const chunk = Buffer.alloc(64 * 1024, 1)
    const errP = once(c, 'error')
    let stop = false
    const pump = async () => {
      for (let i = 0; i < 2000 && !stop && !c.destroyed; i++) {
        if (!c.write(chunk)) await Promise.race([once(c, 'drain'), waitClose(c)])
      }
    }
    void pump()
    const [err] = await within(errP, 5000, 'reset error')
    stop = true
    expect(['ECONNRESET', 'EPIPE']).toContain(err.code)
    expect(typeof err.syscall).toBe('string')
    await within(waitClose(c), 3000, 'close')
    await closeNode(srv)
  })

  it('reset while our server writes: typed error on the accepted socket', async () => {
    let resolveErr!: (e: Error & { code?: string }) => void
    const errP = new Promise<Error & { code?: string }>((r) => (resolveErr = r))
    const srv = createServer((s) => {
      s.on('error', resolveErr)
      const chunk = Buffer.alloc(64 * 1024, 2)
      const pump = (): void => {
        while (!s.destroyed && s.write(chunk)) {}
        if (!s.destroyed) s.once('drain', pump)
      }
      pump()
    })
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const c = nodeNet.connect(portOf(srv), '127.0.0.1')
    await once(c, 'connect')
    c.pause()
    await sleep(50)
    c.resetAndDestroy()
    const err = await within(errP, 5000, 'server-side error')
    expect(['ECONNRESET', 'EPIPE']).toContain(err.code)
    await ourClose(srv)
  })

  it('a half-open peer (ends without reading) does not break the socket', async () => {
    const srv = await nodeServer({ allowHalfOpen: true }, (s) => {
      s.end() // half-open: we never read what comes
    })
    const c = connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true })
    c.resume()
    await once(c, 'end')
    expect(c.write('into the void')).toBe(true)
    c.end()
    await within(waitClose(c), 3000, 'close')
    await closeNode(srv)
  })

  it('AbortSignal on connect destroys the socket with AbortError', async () => {
    const srv = await nodeEchoServer()
    const ac = new AbortController()
    const c = connect({ port: portOf(srv), host: '127.0.0.1', signal: ac.signal })
    ac.abort()
    const [err] = await once(c, 'error')
    expect(err.code).toBe('ABORT_ERR')
    await waitClose(c)
    // An already-aborted signal.
    const c2 = connect({ port: portOf(srv), host: '127.0.0.1', signal: AbortSignal.abort() })
    const [err2] = await once(c2, 'error')
    expect(err2.code).toBe('ABORT_ERR')
    await closeNode(srv)
  })
})
