import dgram from 'node:dgram'
import { once } from 'node:events'
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { createSocket, type RemoteInfo, type Socket } from '@iocrate/datagram'
import { IocrateError } from '@iocrate/core'

type Family = 'udp4' | 'udp6'
const LOOP: Record<Family, string> = { udp4: '127.0.0.1', udp6: '::1' }

async function bound(type: Family, opts: Parameters<typeof createSocket>[0] = { type }): Promise<Socket> {
  const s = createSocket(opts)
  s.bind(0, LOOP[type])
  await once(s, 'listening')
  return s
}

async function peer(type: Family): Promise<dgram.Socket> {
  const p = dgram.createSocket(type)
  p.bind(0, LOOP[type])
  await once(p, 'listening')
  return p
}

function nextMessage(s: Socket | dgram.Socket): Promise<[Buffer, RemoteInfo]> {
  return once(s as NodeJS.EventEmitter, 'message') as Promise<[Buffer, RemoteInfo]>
}

async function close(...socks: Array<Socket | dgram.Socket>): Promise<void> {
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))))
}

describe.each(['udp4', 'udp6'] as const)('%s against node:dgram', (type) => {
  it('receives from and sends to a node:dgram peer', async () => {
    const s = await bound(type)
    const p = await peer(type)
    const a = s.address()
    expect(a.family).toBe(type === 'udp4' ? 'IPv4' : 'IPv6')
    const got = nextMessage(s)
    p.send('ping', a.port, a.address)
    const [msg, rinfo] = await got
    expect(msg.toString()).toBe('ping')
    expect(rinfo).toEqual({ address: LOOP[type], family: a.family, port: p.address().port, size: 4, truncated: false })
    const back = nextMessage(p)
    const n = await s.sendTo(['po', Buffer.from('ng')], rinfo.port, rinfo.address)
    expect(n).toBe(4)
    const [m2, r2] = await back
    expect(m2.toString()).toBe('pong')
    expect(r2.port).toBe(a.port)
    // Callback form with offset and length.
    const back2 = nextMessage(p)
    await new Promise<void>((resolve, reject) =>
      s.send(Buffer.from('xxhelloxx'), 2, 5, rinfo.port, rinfo.address, (err, bytes) => (err ? reject(err) : (expect(bytes).toBe(5), resolve()))),
    )
    expect((await back2)[0].toString()).toBe('hello')
    await close(s, p)
  })

  it('connects and disconnects', async () => {
    const s = await bound(type)
    const p = await peer(type)
    const connected = once(s, 'connect')
    s.connect(p.address().port, LOOP[type])
    await connected
    expect(s.remoteAddress()).toMatchObject({ address: LOOP[type], port: p.address().port })
    const got = nextMessage(p)
    s.send('hi')
    expect((await got)[0].toString()).toBe('hi')
    expect(() => s.send('x', 1234, LOOP[type])).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' }))
    const port = s.address().port
    s.disconnect()
    expect(() => s.remoteAddress()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }))
    expect(s.address().port).toBe(port)
    const got2 = nextMessage(p)
    await s.sendTo('after', p.address().port, LOOP[type])
    expect((await got2)[0].toString()).toBe('after')
    await close(s, p)
  })
})

describe('options and errors', () => {
  it('sets broadcast, TTL and reads buffer sizes back', async () => {
    const s = await bound('udp4', { type: 'udp4', recvBufferSize: 262144, sendBufferSize: 131072 })
    expect(s.getRecvBufferSize()).toBeGreaterThanOrEqual(262144)
    expect(s.getSendBufferSize()).toBeGreaterThanOrEqual(131072)
    s.setRecvBufferSize(300000)
    expect(s.getRecvBufferSize()).toBeGreaterThanOrEqual(300000)
    s.setSendBufferSize(200000)
    expect(s.getSendBufferSize()).toBeGreaterThanOrEqual(200000)
    s.setBroadcast(true)
    s.setBroadcast(false)
    expect(s.setTTL(64)).toBe(64)
    expect(s.setMulticastTTL(4)).toBe(4)
    expect(s.setMulticastLoopback(true)).toBe(true)
    expect(() => s.setTTL(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }))
    await close(s)
  })

  it('joins a multicast group on the loopback interface', async () => {
    const s = createSocket({ type: 'udp4', reuseAddr: true })
    s.bind(0)
    await once(s, 'listening')
    s.addMembership('239.255.77.1', '127.0.0.1')
    expect(() => s.addMembership('239.255.77.1', '127.0.0.1')).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }))
    s.setMulticastInterface('127.0.0.1')
    s.setMulticastLoopback(true)
    s.addSourceSpecificMembership('127.0.0.1', '232.1.2.3', '127.0.0.1')
    s.dropSourceSpecificMembership('127.0.0.1', '232.1.2.3', '127.0.0.1')
    // Whether 239/8 is routed over lo depends on the sandbox: count it if it arrives.
    const got = Promise.race([nextMessage(s).then(([m]) => m.toString()), new Promise((r) => setTimeout(() => r('not routed'), 300))])
    s.send('mc', s.address().port, '239.255.77.1')
    expect(['mc', 'not routed']).toContain(await got)
    s.dropMembership('239.255.77.1', '127.0.0.1')
    expect(() => s.addMembership('not-an-ip')).toThrow(IocrateError)
    await close(s)
  })

  it('reports an oversized datagram as truncated with a warning', async () => {
    const s = await bound('udp4', { type: 'udp4', maxMessageSize: 1000 })
    const p = await peer('udp4')
    const warning = once(s, 'warning')
    const got = nextMessage(s)
    p.send(Buffer.alloc(3000, 7), s.address().port, '127.0.0.1')
    const [msg, rinfo] = await got
    expect(msg.length).toBe(1000)
    expect(rinfo.truncated).toBe(true)
    expect(rinfo.size).toBe(1000)
    const [w] = (await warning) as [IocrateError]
    expect(w).toBeInstanceOf(IocrateError)
    expect(w.code).toBe('ERR_IOCRATE_DGRAM_TRUNCATED')
    expect(w.message).toContain('3000')
    await close(s, p)
  })

  it('fails a datagram larger than 65507 bytes with EMSGSIZE', async () => {
    const s = await bound('udp4')
    const err = await s.sendTo(Buffer.alloc(65508), s.address().port, '127.0.0.1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IocrateError)
    expect(err).toMatchObject({ code: 'EMSGSIZE', syscall: 'send' })
    // Without a callback the error is emitted.
    const emitted = once(s, 'error')
    s.send(Buffer.alloc(70000), s.address().port, '127.0.0.1')
    expect((await emitted)[0]).toMatchObject({ code: 'EMSGSIZE' })
    expect(await s.sendTo('still fine', s.address().port, '127.0.0.1')).toBe(10)
    await close(s)
  })

  it('refuses to send on a closed socket', async () => {
    const s = await bound('udp4')
    const port = s.address().port
    const closed = once(s, 'close')
    s.close()
    expect(() => s.send('x', port, '127.0.0.1')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
    await expect(s.sendTo('x', port, '127.0.0.1')).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' })
    await closed
    expect(() => s.close()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }))
  })

  it('reports EADDRINUSE as an error event', async () => {
    const a = await bound('udp4')
    const b = createSocket('udp4')
    b.bind(a.address().port, '127.0.0.1')
    const [err] = (await once(b, 'error')) as [IocrateError]
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' })
    await close(a)
  })

  it('closes when its AbortSignal aborts', async () => {
    const ac = new AbortController()
    const s = createSocket({ type: 'udp4', signal: ac.signal })
    s.bind(0, '127.0.0.1')
    await once(s, 'listening')
    const closed = once(s, 'close')
    ac.abort()
    await closed
  })
})

describe('throughput', () => {
  it('receives 10,000 datagrams from node:dgram in batches', async () => {
    const s = await bound('udp4', { type: 'udp4', recvBufferSize: 8 << 20 })
    const p = await peer('udp4')
    const total = 10_000
    let got = 0
    let batches = 0
    let lastTick = -1
    let tick = 0
    const ticker = setInterval(() => tick++, 1)
    s.on('message', () => {
      got++
      if (tick !== lastTick) (lastTick = tick), batches++
    })
    const port = s.address().port
    const payload = Buffer.alloc(64, 1)
    for (let i = 0; i < total; i += 100) {
      await new Promise<void>((resolve) => {
        let left = 100
        for (let j = 0; j < 100; j++) p.send(payload, port, '127.0.0.1', () => --left === 0 && resolve())
      })
    }
    const deadline = Date.now() + 3000
    while (got < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    clearInterval(ticker)
    // Loopback rarely drops with an 8 MiB buffer; allow 5 % loss.
    expect(got).toBeGreaterThanOrEqual(total * 0.95)
    expect(got).toBeLessThanOrEqual(total)
    expect(batches).toBeLessThan(got)
    await close(s, p)
  })

  it('iterates asynchronously with bounded buffering', async () => {
    const s = await bound('udp4', { type: 'udp4', highWaterMark: 16, recvBufferSize: 4 << 20 })
    const p = await peer('udp4')
    const port = s.address().port
    for (let i = 0; i < 200; i++) p.send(String(i), port, '127.0.0.1')
    const seen: number[] = []
    for await (const d of s) {
      expect(d.family).toBe('IPv4')
      expect(d.port).toBe(p.address().port)
      expect(d.truncated).toBe(false)
      seen.push(Number(d.data.toString()))
      if (seen.length % 50 === 0) await new Promise((r) => setTimeout(r, 20)) // a slow consumer
      if (seen.length === 200) break
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i))
    // The socket stays usable after leaving the loop; closing ends new iterations.
    const it = s[Symbol.asyncIterator]()
    const end = it.next()
    s.close()
    expect(await end).toEqual({ value: undefined, done: true })
    await close(p)
  })

  it('supports await using', async () => {
    let port = 0
    {
      await using s = await bound('udp4')
      port = s.address().port
    }
    // The port is free again.
    const again = createSocket('udp4')
    again.bind(port, '127.0.0.1')
    await once(again, 'listening')
    await close(again)
  })
})

function runChild(code: string): Promise<{ code: number | null; ms: number; out: string }> {
  const start = Date.now()
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 8000)
  return new Promise((resolve) =>
    child.on('exit', (c) => {
      clearTimeout(timer)
      resolve({ code: c, ms: Date.now() - start, out })
    }),
  )
}

describe('process lifetime', () => {
  it('exits with an unref()d bound socket', async () => {
    const r = await runChild(`
      import { createSocket } from '@iocrate/datagram'
      const s = createSocket('udp4')
      s.bind(0, '127.0.0.1', () => { s.unref(); console.log('bound') })`)
    expect(r.out).toContain('bound')
    expect(r.code).toBe(0)
    expect(r.ms).toBeLessThan(5000)
  })

  it('stays alive while a socket is open and exits once it is closed', async () => {
    // No timers in the child: only the ref'd socket keeps it alive until our datagram comes.
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      import { createSocket } from '@iocrate/datagram'
      const s = createSocket('udp4')
      s.on('message', (m) => s.close(() => console.log('closed after ' + m)))
      s.bind(0, '127.0.0.1', () => console.log('port ' + s.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    const exited = once(child, 'exit')
    const start = Date.now()
    while (!/port (\d+)/.test(out) && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10))
    const port = Number(/port (\d+)/.exec(out)?.[1])
    await new Promise((r) => setTimeout(r, 500))
    expect(child.exitCode).toBe(null)
    const p = await peer('udp4')
    p.send('bye', port, '127.0.0.1')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    const [code] = await exited
    clearTimeout(timer)
    expect(out).toContain('closed after bye')
    expect(code).toBe(0)
    await close(p)
  })
})
