import { afterAll, describe, expect, it } from 'vitest'
import { createClient, type RedisClient } from '@iocrate/redis'
import { OwnRedis, eventually, fakeServer, freePort, services, sleep } from './helpers.js'

const env = services().redisSentinel
const name = env.masterName
const run = Math.random().toString(36).slice(2, 8)

// Asks one sentinel directly (RESP2 client, no sentinel mode).
async function askSentinel(...args: Array<string | number>): Promise<unknown> {
  const errors: unknown[] = []
  for (const s of env.sentinels) {
    const c = createClient({ host: s.host, port: s.port, protocol: 2, retry: false })
    try {
      return await c.call('SENTINEL', ...args)
    } catch (err) {
      errors.push(err)
      if ((err as { name?: string }).name === 'ReplyError') throw err
    } finally {
      c.disconnect()
    }
  }
  throw new Error(`no sentinel answered: ${errors.map(String).join('; ')}`)
}

async function currentMaster(): Promise<number> {
  const r = (await askSentinel('get-master-addr-by-name', name)) as [string, string]
  return Number(r[1])
}

// The port the server behind `c` listens on.
async function portOf(c: RedisClient): Promise<number> {
  const info = String(await c.call('INFO', 'server'))
  return Number(/tcp_port:(\d+)/.exec(info)![1])
}

async function role(c: RedisClient): Promise<string> {
  const r = (await c.call('ROLE')) as unknown[]
  return String(r[0])
}

// Asks for a failover, again while the sentinels find no good replica yet (just after another).
async function failover(): Promise<void> {
  await eventually(
    async () => {
      try {
        return (await askSentinel('failover', name)) === 'OK'
      } catch (err) {
        if (/NOGOODSLAVE|INPROG/.test(String(err))) return false
        throw err
      }
    },
    20_000,
    'SENTINEL FAILOVER to be accepted',
  )
}

// Puts the master back where services.sh started it (env.json names it), and waits (a
// bounded while) for the demoted server to turn replica: a sentinel converts it some
// seconds after the switch.
async function restoreLayout(): Promise<void> {
  const want = env.master.port
  if ((await currentMaster()) !== want) {
    await failover()
    await eventually(async () => (await currentMaster()) === want, 15_000, 'the original master to be back')
  }
  const r = createClient({ host: env.replica.host, port: env.replica.port, retry: false })
  try {
    await eventually(
      async () => {
        const role = (await r.call('ROLE')) as unknown[]
        return String(role[0]) === 'slave' && Number(role[2]) === want
      },
      15_000,
      'the replica to follow the master',
    )
  } catch {
    // Left to the sentinels: they finish it on their own.
  } finally {
    r.disconnect()
  }
}

describe('sentinel', () => {
  const clients: RedisClient[] = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await restoreLayout()
  }, 40_000)

  it('connects to the master the sentinels name', async () => {
    const c = createClient({ sentinels: env.sentinels, sentinelName: name })
    clients.push(c)
    await c.set(`s:${run}`, 'hello')
    expect(await c.get(`s:${run}`)).toBe('hello')
    expect(await role(c)).toBe('master')
    expect(await portOf(c)).toBe(await currentMaster())
    await c.del(`s:${run}`)
  })

  it('follows a failover (+switch-master)', async () => {
    const c = createClient({ sentinels: env.sentinels, sentinelName: name, retry: { baseDelay: 50, maxDelay: 500 } })
    clients.push(c)
    const drops: string[] = []
    c.on('disconnect', (e) => drops.push(e.message))
    const k = `failover:${run}`
    await c.set(k, 'before')
    await c.call('WAIT', 1, 2000) // the replica has it
    const before = await portOf(c)
    expect(before).toBe(await currentMaster())

    await failover()
    const started = Date.now()
    const after = await eventually(async () => {
      const p = await currentMaster()
      return p !== before ? p : false
    }, 15_000, 'the sentinels to name a new master')

    // Our client notices (the +switch-master event, or READONLY from the demoted master)
    // and writes go to the new master.
    await eventually(
      async () => {
        if ((await role(c)) !== 'master' || (await portOf(c)) !== after) return false
        return (await c.set(k, 'after')) === 'OK'
      },
      15_000,
      'the client to write to the new master',
    )
    expect(Date.now() - started).toBeLessThan(15_000)
    // Dropped on the sentinel's word, not because the old master went away.
    expect(drops.some((m) => /sentinels reported a failover/.test(m))).toBe(true)
    expect(await c.get(k)).toBe('after')
    await c.del(k)
  })
})

// A fake sentinel that names whichever of two servers of our own is "master" now, so the
// demotion can be done by hand: the old master answers writes with -READONLY.
describe('sentinel: READONLY from a demoted master', () => {
  it('reconnects through the sentinels and sends the write again', async () => {
    const x = new OwnRedis(await freePort())
    const y = new OwnRedis(await freePort())
    await Promise.all([x.start(), y.start()])
    let master = x.port
    const sentinel = await fakeServer((sock, data) => {
      for (const cmd of commands(data)) {
        const verb = cmd.join(' ').toLowerCase()
        if (verb.startsWith('sentinel get-master-addr-by-name')) {
          const p = String(master)
          sock.write(`*2\r\n$9\r\n127.0.0.1\r\n$${p.length}\r\n${p}\r\n`)
        } else if (verb.startsWith('subscribe')) {
          sock.write('*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n')
        } else {
          sock.write('-ERR unknown\r\n')
        }
      }
    })
    const c = createClient({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], sentinelName: 'fake', retry: { baseDelay: 20, maxDelay: 200 } })
    const admin = createClient({ port: x.port })
    try {
      await c.set('k', '1')
      expect(await portOf(c)).toBe(x.port)
      // Demote x under y; the sentinel now names y. Nobody tells the client.
      master = y.port
      await admin.call('REPLICAOF', '127.0.0.1', y.port)
      await eventually(async () => String(((await admin.call('ROLE')) as unknown[])[0]) === 'slave', 5000, 'x to be a replica')
      await sleep(20)
      expect(await c.set('k', '2')).toBe('OK') // READONLY on x, then sent again to y
      expect(await portOf(c)).toBe(y.port)
      expect(await c.get('k')).toBe('2')
    } finally {
      await c.close()
      await admin.close()
      await sentinel.close()
      await Promise.all([x.kill(), y.kill()])
    }
  })
})

// The commands in a chunk of RESP from the client (arrays of bulk strings).
function commands(data: Buffer): string[][] {
  const out: string[][] = []
  const s = data.toString('latin1')
  let i = 0
  while (i < s.length && s[i] === '*') {
    const nl = s.indexOf('\r\n', i)
    const n = Number(s.slice(i + 1, nl))
    i = nl + 2
    const parts: string[] = []
    for (let k = 0; k < n; k++) {
      const l2 = s.indexOf('\r\n', i)
      const len = Number(s.slice(i + 1, l2))
      parts.push(s.slice(l2 + 2, l2 + 2 + len))
      i = l2 + 2 + len + 2
    }
    out.push(parts)
  }
  return out
}
