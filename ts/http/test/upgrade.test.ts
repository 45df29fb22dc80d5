import { once } from 'node:events'
import { request as nodeRequest } from 'node:http'
import * as nodeNet from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type Server } from '@iocrate/http'
import type { Socket } from '@iocrate/net'

let server: Server | undefined
afterEach(async () => {
  if (server) {
    server.closeAllConnections()
    await new Promise<void>((r) => server!.close(() => r()))
  }
  server = undefined
})

async function listen(s: Server): Promise<number> {
  server = s
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return (s.address() as AddressInfo).port
}

describe("'upgrade' and 'connect'", () => {
  it('hands an Upgrade request over with the bytes read ahead; the app speaks the new protocol', async () => {
    let requests = 0
    const s = createServer((_req, res) => {
      requests++
      res.statusCode = 404
      res.end()
    })
    s.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      expect(req.headers.upgrade).toBe('echo')
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
      socket.write(Buffer.concat([Buffer.from('head:'), head, Buffer.from('|')]))
      socket.pipe(socket)
    })
    const port = await listen(s)
    // A request first (answered over HTTP), then the upgrade with early protocol bytes.
    const c = nodeNet.connect(port, '127.0.0.1')
    await once(c, 'connect')
    let got = ''
    c.on('data', (d: Buffer) => (got += d.toString('latin1')))
    c.write('GET /before HTTP/1.1\r\nHost: x\r\n\r\n')
    await waitFor(() => got.includes('\r\n\r\n'))
    c.write('GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly')
    await waitFor(() => got.includes('head:early|'))
    c.write('ping')
    await waitFor(() => got.endsWith('ping'))
    expect(got).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/)
    expect(got).toContain('HTTP/1.1 101 Switching Protocols\r\n')
    expect(requests).toBe(1)
    c.destroy()
  })

  it('node:http client upgrade round trip', async () => {
    const s = createServer(() => {})
    s.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: demo\r\nConnection: Upgrade\r\n\r\nhello upgraded')
    })
    const port = await listen(s)
    const r = nodeRequest({ port, host: '127.0.0.1', headers: { Connection: 'Upgrade', Upgrade: 'demo' } })
    r.end()
    const [res, socket, head] = (await once(r, 'upgrade')) as [{ statusCode: number }, nodeNet.Socket, Buffer]
    expect(res.statusCode).toBe(101)
    let rest = head.toString()
    socket.on('data', (d: Buffer) => (rest += d.toString()))
    await once(socket, 'end')
    expect(rest).toBe('hello upgraded')
  })

  it('CONNECT goes to the connect listener: a tiny forward proxy', async () => {
    const target = nodeNet.createServer((sock) => sock.end('from target'))
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r))
    const tport = (target.address() as AddressInfo).port
    const s = createServer(() => {})
    s.on('connect', (req: IncomingMessage, socket: Socket) => {
      const [host, p] = req.url.split(':')
      const up = nodeNet.connect(Number(p), host as string, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        up.pipe(socket as unknown as NodeJS.WritableStream)
      })
    })
    const port = await listen(s)
    const r = nodeRequest({ port, host: '127.0.0.1', method: 'CONNECT', path: `127.0.0.1:${tport}` })
    r.end()
    const [res, socket, head] = (await once(r, 'connect')) as [{ statusCode: number }, nodeNet.Socket, Buffer]
    expect(res.statusCode).toBe(200)
    let data = head.toString()
    socket.on('data', (d: Buffer) => (data += d.toString()))
    await once(socket, 'end')
    expect(data).toBe('from target')
    target.close()
  })

  it('without an upgrade listener, an Upgrade request is an ordinary request', async () => {
    const s = createServer((req, res) => res.end(`plain ${req.headers.upgrade}`))
    const port = await listen(s)
    const c = nodeNet.connect(port, '127.0.0.1')
    let got = ''
    c.on('data', (d: Buffer) => (got += d.toString()))
    c.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n')
    await waitFor(() => got.includes('plain foo'))
    expect(got).toMatch(/^HTTP\/1\.1 200 OK/)
    c.destroy()
  })
})

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}
