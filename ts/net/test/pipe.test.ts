// Native forwarding: `socket.pipe(otherIocrateSocket)` moves bytes inside Rust. These
// tests check that it is invisible except for speed: bytes intact and in order (also
// when the peer sends before the pipe is set up), backpressure, fallback to the JS path.
import * as nodeNet from 'node:net'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import * as net from '@iocrate/net'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

async function ourServer(onConnection: (s: net.Socket) => void, options: net.ServerOptions = {}): Promise<number> {
  const srv = net.createServer(options, onConnection)
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  cleanups.push(() => {
    srv.closeAllConnections()
    srv.close()
  })
  return (srv.address() as net.AddressInfo).port
}

/** Sends `total` patterned bytes through an echo on `port`; resolves with whether the echo matched. */
async function roundTrip(port: number, total: number, opts: { delayFirstRead?: boolean } = {}): Promise<{ got: number; same: boolean }> {
  const c = nodeNet.connect(port, '127.0.0.1')
  c.on('error', () => {})
  const sent = createHash('sha1')
  const recv = createHash('sha1')
  let got = 0
  if (opts.delayFirstRead) c.pause()
  c.on('data', (d: Buffer) => {
    got += d.length
    recv.update(d)
  })
  if (opts.delayFirstRead) setTimeout(() => c.resume(), 300)
  const ended = once(c, 'end')
  let off = 0
  let seq = 0
  await new Promise<void>((resolve) => {
    const write = (): void => {
      while (off < total) {
        const n = Math.min(1000 + ((seq * 7919) % 30000), total - off)
        const b = Buffer.allocUnsafe(n)
        for (let i = 0; i < n; i++) b[i] = (seq + i) & 255
        seq++
        sent.update(b)
        off += n
        if (!c.write(b)) return void c.once('drain', write)
      }
      c.end()
      resolve()
    }
    write()
  })
  await ended
  c.destroy()
  return { got, same: sent.digest('hex') === recv.digest('hex') }
}

describe('native pipe between iocrate sockets', () => {
  it('echoes intact and in order with s.pipe(s), small and large', async () => {
    const port = await ourServer((s) => s.pipe(s))
    for (const total of [1, 64, 70_000, 8 << 20]) {
      const r = await roundTrip(port, total)
      expect(r).toEqual({ got: total, same: true })
    }
  })

  it('keeps order when data arrives before the pipe is set up', async () => {
    const port = await ourServer((s) => {
      // Let the client's first bytes arrive (and cross into JS) before piping.
      s.pause()
      setTimeout(() => s.pipe(s), 100)
    })
    // Repeated: the end of the stream races the last forwarded bytes still queued in
    // Rust ('finish', then autoDestroy, once dropped them about one run in ten).
    for (let i = 0; i < 6; i++) {
      const r = await roundTrip(port, 4 << 20)
      expect(r).toEqual({ got: 4 << 20, same: true })
    }
  })

  it('applies the destination backpressure (slow reader) without losing bytes', async () => {
    const port = await ourServer((s) => s.pipe(s))
    const r = await roundTrip(port, 32 << 20, { delayFirstRead: true })
    expect(r).toEqual({ got: 32 << 20, same: true })
  })

  it('proxies between two sockets (client → proxy → node:net echo) both ways', async () => {
    const echo = nodeNet.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1')
    await once(echo, 'listening')
    cleanups.push(() => echo.close())
    const upstreamPort = (echo.address() as nodeNet.AddressInfo).port
    // Half-open on both legs, as any proxy needs (with Node's default the client's FIN
    // would end the downstream before the echo came back — in node:net too).
    const port = await ourServer(
      (down) => {
        const up = net.connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true })
        down.pipe(up)
        up.pipe(down)
        down.on('error', () => up.destroy())
        up.on('error', () => down.destroy())
      },
      { allowHalfOpen: true },
    )
    const r = await roundTrip(port, 2 << 20)
    expect(r).toEqual({ got: 2 << 20, same: true })
  })

  it('counts forwarded bytes in bytesRead', async () => {
    let server: net.Socket | undefined
    const port = await ourServer((s) => {
      server = s
      s.pipe(s)
    })
    await roundTrip(port, 100_000)
    expect(server?.bytesRead).toBe(100_000)
  })

  it('falls back to the JS path when a data listener is added', async () => {
    let seen = 0
    const port = await ourServer((s) => {
      s.pipe(s)
      setTimeout(() => s.on('data', (d: Buffer) => (seen += d.length)), 50)
    })
    const c = nodeNet.connect(port, '127.0.0.1')
    await once(c, 'connect')
    await new Promise((r) => setTimeout(r, 150))
    c.write(Buffer.alloc(5000, 1))
    let got = 0
    c.on('data', (d: Buffer) => (got += d.length))
    await new Promise((r) => setTimeout(r, 300))
    expect(seen).toBe(5000)
    expect(got).toBe(5000)
    c.destroy()
  })

  it('pipes to a non-iocrate stream through JS', async () => {
    const sink = new PassThrough()
    const chunks: Buffer[] = []
    sink.on('data', (d: Buffer) => chunks.push(d))
    const port = await ourServer((s) => s.pipe(sink))
    const c = nodeNet.connect(port, '127.0.0.1')
    c.end(Buffer.from('through js'))
    await once(sink, 'end')
    expect(Buffer.concat(chunks).toString()).toBe('through js')
  })
})
