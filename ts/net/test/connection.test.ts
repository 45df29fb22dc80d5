import * as nodeNet from 'node:net'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { dial, listen, type Connection } from '@iocrate/net'
import { closeNode, collect, nodeEchoServer, nodeServer, portOf, within } from './helpers.js'

async function readAll(conn: Connection): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of conn) parts.push(c)
  return Buffer.concat(parts)
}

describe('fast API', () => {
  it('dial a node:net echo server, for await the chunks', async () => {
    const srv = await nodeEchoServer()
    const conn = await dial({ host: '127.0.0.1', port: portOf(srv) })
    expect(conn.remoteAddress).toMatchObject({ address: '127.0.0.1', port: portOf(srv), family: 'IPv4' })
    expect(conn.write('fast ')).toBe(true)
    expect(conn.write(Buffer.from('path'))).toBe(true)
    conn.end()
    expect((await readAll(conn)).toString()).toBe('fast path')
    await within(conn.closed, 3000, 'closed')
    await closeNode(srv)
  })

  it('listen: node:net client, for await connections', async () => {
    const l = await listen({ host: '127.0.0.1', port: 0 })
    const c = nodeNet.connect(l.address().port, '127.0.0.1')
    c.end('to the listener')
    for await (const conn of l) {
      const got = await readAll(conn)
      conn.write(Buffer.concat([Buffer.from('echo: '), got]))
      conn.end()
      break
    }
    expect((await collect(c)).toString()).toBe('echo: to the listener')
    l.close()
    await within(l.closed, 3000, 'listener closed')
  })

  it('write() returns false at the high-water mark, then drained() resolves', async () => {
    let resume!: () => void
    const srv = await nodeServer({}, (s) => {
      s.pause()
      resume = () => s.resume()
    })
    const conn = await dial({ host: '127.0.0.1', port: portOf(srv) })
    const chunk = Buffer.alloc(256 * 1024, 3)
    let full = false
    let written = 0
    for (let i = 0; i < 400 && !full; i++) {
      full = !conn.write(chunk)
      written += chunk.length
    }
    expect(full).toBe(true)
    expect(conn.bufferedAmount).toBeGreaterThan(0)
    let drained = false
    const p = conn.drained().then(() => (drained = true))
    await new Promise((r) => setTimeout(r, 50))
    expect(drained).toBe(false)
    resume()
    await within(p, 10_000, 'drained')
    expect(written).toBeGreaterThan(0)
    await conn[Symbol.asyncDispose]()
    await closeNode(srv)
  })

  it('Symbol.asyncDispose closes connection and listener', async () => {
    const port = await (async () => {
      await using l = await listen({ host: '127.0.0.1', port: 0 })
      {
        await using conn = await dial({ host: '127.0.0.1', port: l.address().port })
        conn.write('x')
      }
      return l.address().port
    })()
    // The listener is gone: connecting is refused.
    const [err] = await once(nodeNet.connect(port, '127.0.0.1'), 'error')
    expect(err.code).toBe('ECONNREFUSED')
  })

  it('dial errors: ECONNREFUSED rejects with a typed error', async () => {
    const probe = nodeNet.createServer()
    probe.listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = portOf(probe)
    await new Promise<void>((r) => probe.close(() => r()))
    await expect(dial({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' })
  })

  it('listen errors: EADDRINUSE rejects', async () => {
    const l = await listen({ host: '127.0.0.1', port: 0 })
    await expect(listen({ host: '127.0.0.1', port: l.address().port })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    l.close()
    await l.closed
  })

  it('AbortSignal cancels dial', async () => {
    const srv = await nodeEchoServer()
    const ac = new AbortController()
    const p = dial({ host: '127.0.0.1', port: portOf(srv), signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toBeInstanceOf(Error)
    await expect(dial({ host: '127.0.0.1', port: portOf(srv), signal: AbortSignal.abort() })).rejects.toBeInstanceOf(Error)
    await closeNode(srv)
  })

  it('peer reset while reading: the iterator throws a typed error', async () => {
    const srv = await nodeServer({}, (s) => {
      s.write('some bytes')
      setTimeout(() => s.resetAndDestroy(), 20)
    })
    const conn = await dial({ host: '127.0.0.1', port: portOf(srv) })
    await expect(readAll(conn)).rejects.toMatchObject({ code: 'ECONNRESET' })
    await closeNode(srv)
  })
})
