import * as nodeNet from 'node:net'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { createServer, type Socket } from '@iocrate/net'
import { collect, portOf, sleep, waitClose, within } from './helpers.js'

function connectNode(port: number): Promise<nodeNet.Socket> {
  return new Promise((resolve, reject) => {
    const c = nodeNet.connect(port, '127.0.0.1', () => resolve(c))
    c.on('error', reject)
  })
}

describe('Server', () => {
  it('graceful close: refuses new connections, keeps existing ones, closes after the last ends', async () => {
    const sockets: Socket[] = []
    const srv = createServer((s) => {
      sockets.push(s)
      s.pipe(s)
    })
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const port = portOf(srv)
    const a = await connectNode(port)
    const b = await connectNode(port)
    while (sockets.length < 2) await sleep(5)
    let closed = false
    const closeDone = new Promise<void>((r) => srv.close(() => r())).then(() => (closed = true))
    expect(srv.listening).toBe(false)
    // New connections are refused.
    const [err] = await once(nodeNet.connect(port, '127.0.0.1'), 'error')
    expect(err.code).toBe('ECONNREFUSED')
    // Existing ones keep working.
    a.write('still ')
    expect((await once(a, 'data'))[0].toString()).toBe('still ')
    a.end('open')
    expect((await collect(a)).toString()).toBe('open')
    await sleep(50)
    expect(closed).toBe(false)
    expect(srv.connections).toBe(1)
    b.end()
    await collect(b)
    await within(closeDone, 3000, "server 'close'")
    expect(closed).toBe(true)
    expect(srv.connections).toBe(0)
  })

  it("maxConnections: excess connections are closed and 'drop' is emitted", async () => {
    const srv = createServer((s) => s.pipe(s))
    srv.maxConnections = 2
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const port = portOf(srv)
    const a = await connectNode(port)
    const b = await connectNode(port)
    a.write('a')
    await once(a, 'data')
    b.write('b')
    await once(b, 'data')
    const drop = once(srv, 'drop')
    const c = nodeNet.connect(port, '127.0.0.1')
    c.on('error', () => {})
    const [info] = await within(drop, 3000, "'drop'")
    expect(info.remoteAddress).toBe('127.0.0.1')
    expect(info.remotePort).toBeGreaterThan(0)
    await within(waitClose(c), 3000, 'excess connection closed')
    expect(srv.connections).toBe(2)
    // A slot frees up once a connection closes.
    a.destroy()
    await sleep(50)
    const d = await connectNode(port)
    d.write('d')
    expect((await once(d, 'data'))[0].toString()).toBe('d')
    b.destroy()
    d.destroy()
    await within(new Promise<void>((r) => srv.close(() => r())), 3000, 'close')
  })

  it('close() when not listening reports ERR_SERVER_NOT_RUNNING', async () => {
    const srv = createServer()
    const err = await new Promise<Error & { code?: string }>((r) => srv.close((e) => r(e!)))
    expect(err.code).toBe('ERR_SERVER_NOT_RUNNING')
  })

  it('accepted sockets via async iteration, closeAllConnections, asyncDispose', async () => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const c = await connectNode(portOf(srv))
    for await (const s of srv) {
      s.write('hi')
      break
    }
    expect((await once(c, 'data'))[0].toString()).toBe('hi')
    srv.closeAllConnections()
    await within(srv[Symbol.asyncDispose](), 3000, 'asyncDispose')
    await waitClose(c)
  })
})
