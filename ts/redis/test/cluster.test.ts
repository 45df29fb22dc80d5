import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, createCluster, keySlot, RedisErrorCodes, type RedisClient, type RedisCluster } from '@iocrate/redis'
import { services, sleep } from './helpers.js'

// A direct connection to one cluster node, for the hand-made slot migrations.
interface Admin {
  host: string
  port: number
  id: string
  c: RedisClient
  /** The slot ranges it serves. */
  slots: Array<[number, number]>
}

const env = services().redisCluster
const seeds = env.nodes.map((n) => `redis://${n.host}:${n.port}`)
const run = randomBytes(4).toString('hex')
let admins: Admin[] = []
let cluster: RedisCluster

function ownerOf(slot: number): Admin {
  const a = admins.find((x) => x.slots.some(([s, e]) => slot >= s && slot <= e))
  if (a === undefined) throw new Error(`no node owns slot ${slot}`)
  return a
}

// The slot ranges each node serves, from its own view.
async function loadOwners(): Promise<void> {
  const nodes = String(await admins[0]!.c.call('CLUSTER', 'NODES'))
  for (const a of admins) a.slots = []
  for (const line of nodes.trim().split('\n')) {
    const f = line.split(' ')
    const a = admins.find((x) => x.id === f[0])
    if (a === undefined) continue
    for (const r of f.slice(8)) {
      if (r.startsWith('[')) continue
      const [s, e] = r.split('-')
      a.slots.push([Number(s), Number(e ?? s)])
    }
  }
}

async function migrateSlot(slot: number, from: Admin, to: Admin, pauseMs = 0): Promise<void> {
  await to.c.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id)
  await from.c.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id)
  await moveKeys(slot, from, to, pauseMs)
  await assignSlot(slot, to, from)
}

async function moveKeys(slot: number, from: Admin, to: Admin, pauseMs: number): Promise<void> {
  for (;;) {
    const keys = (await from.c.call('CLUSTER', 'GETKEYSINSLOT', slot, pauseMs > 0 ? 1 : 100)) as string[]
    if (keys.length === 0) return
    await from.c.call('MIGRATE', to.host, to.port, '', 0, 5000, 'REPLACE', 'KEYS', ...keys)
    if (pauseMs > 0) await sleep(pauseMs)
  }
}

// SETSLOT NODE on the new owner first, then the old one, then the others.
async function assignSlot(slot: number, to: Admin, from: Admin): Promise<void> {
  await to.c.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
  await from.c.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
  for (const a of admins) if (a !== to && a !== from) await a.c.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
}

// A run that died mid-migration leaves MIGRATING/IMPORTING slots behind: finish them.
async function recover(): Promise<void> {
  for (const a of admins) {
    const nodes = String(await a.c.call('CLUSTER', 'NODES'))
    const me = nodes.split('\n').find((l) => l.includes('myself'))!
    for (const m of me.matchAll(/\[(\d+)->-([0-9a-f]+)\]/g)) {
      const to = admins.find((x) => x.id === m[2])!
      await moveKeys(Number(m[1]), a, to, 0)
      await assignSlot(Number(m[1]), to, a)
    }
  }
  for (const a of admins) {
    const nodes = String(await a.c.call('CLUSTER', 'NODES'))
    const me = nodes.split('\n').find((l) => l.includes('myself'))!
    for (const m of me.matchAll(/\[(\d+)-<-([0-9a-f]+)\]/g)) await a.c.call('CLUSTER', 'SETSLOT', Number(m[1]), 'STABLE')
  }
}

// A hash tag whose slot `owner` serves.
function tagOn(owner: Admin, prefix: string): string {
  for (let i = 0; ; i++) {
    const tag = `${prefix}-${run}-${i}`
    if (ownerOf(keySlot(tag)) === owner) return tag
  }
}

beforeAll(async () => {
  admins = await Promise.all(
    env.nodes.map(async (n) => {
      const c = createClient({ host: n.host, port: n.port })
      return { host: n.host, port: n.port, id: String(await c.call('CLUSTER', 'MYID')), c, slots: [] }
    }),
  )
  await recover()
  await loadOwners()
  cluster = createCluster({ nodes: seeds })
})

afterAll(async () => {
  await cluster?.close()
  await Promise.all(admins.map((a) => a.c.close()))
})

describe('RedisCluster', () => {
  it('loads the slot map and spreads keys over all three masters', async () => {
    await cluster.connect()
    expect(cluster.nodes()).toHaveLength(3)
    const ranges = cluster.slots()
    expect(ranges[0]!.start).toBe(0)
    expect(ranges[ranges.length - 1]!.end).toBe(16383)
    expect(ranges.reduce((n, r) => n + r.end - r.start + 1, 0)).toBe(16384)

    const keys = Array.from({ length: 300 }, (_, i) => `spread:${run}:${i}`)
    const owners = new Set(keys.map((k) => ownerOf(keySlot(k)).port))
    expect(owners.size).toBe(3)
    await Promise.all(keys.map((k, i) => cluster.set(k, `v${i}`)))
    expect(await Promise.all(keys.map((k) => cluster.get(k)))).toEqual(keys.map((_, i) => `v${i}`))
    // Each key really is on its slot's node.
    for (const k of keys.slice(0, 30)) expect(await ownerOf(keySlot(k)).c.get(k)).toBe(`v${keys.indexOf(k)}`)
    expect(await Promise.all(keys.map((k) => cluster.del(k)))).toEqual(keys.map(() => 1))
  })

  it('runs multi-key commands whose keys share a hash tag', async () => {
    const t = `{user:${run}}`
    await cluster.call('MSET', `${t}:a`, '1', `${t}:b`, '2', `${t}:c`, '3')
    expect(await cluster.call('MGET', `${t}:a`, `${t}:b`, `${t}:c`)).toEqual(['1', '2', '3'])
    expect(await cluster.call('SINTERSTORE', `${t}:s`, `${t}:none`)).toBe(0)
    // A command the static table does not know: its keys come from COMMAND INFO.
    expect(await cluster.call('BITOP', 'OR', `${t}:dest`, `${t}:a`, `${t}:b`)).toBe(1)
    expect(await cluster.call('EVAL', 'return redis.call("GET", KEYS[1]) .. ARGV[1]', 1, `${t}:c`, '!')).toBe('3!')
    const tx = await cluster.multi().set(`${t}:a`, 'x').incr(`${t}:b`).get(`${t}:a`).exec()
    expect(tx).toEqual(['OK', 3, 'x'])
    expect(await cluster.del([`${t}:a`, `${t}:b`, `${t}:c`, `${t}:dest`])).toBe(4)
  })

  it('refuses keys in different slots without sending them', async () => {
    const a = `cross:${run}:a`
    let b = `cross:${run}:b`
    for (let i = 0; keySlot(b) === keySlot(a); i++) b = `cross:${run}:b${i}`
    const err = await cluster.call('MSET', a, '1', b, '2').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: RedisErrorCodes.CLUSTER })
    expect((err as Error).message).toMatch(/CROSSSLOT/)
    expect(await cluster.get(a)).toBeNull()
    await expect(cluster.call('BITOP', 'AND', a, a, b)).rejects.toMatchObject({ code: RedisErrorCodes.CLUSTER })
    await expect(cluster.multi().set(a, '1').set(b, '2').exec()).rejects.toMatchObject({ code: RedisErrorCodes.CLUSTER })
    expect(await cluster.get(a)).toBeNull()
  })

  it('runs a pipeline across nodes with the replies in order', async () => {
    const p = cluster.pipeline()
    const keys = Array.from({ length: 60 }, (_, i) => `pipe:${run}:${i}`)
    for (const [i, k] of keys.entries()) p.set(k, i).get(k).incr(k)
    p.call('NOSUCHCOMMAND-' + run)
    const r = await p.exec()
    const want: unknown[] = keys.flatMap((_, i) => ['OK', String(i), i + 1])
    expect(r.slice(0, -1)).toEqual(want)
    expect(r[r.length - 1]).toMatchObject({ name: 'ReplyError' })
    await cluster.del(keys.slice(0, 1))
    for (const k of keys.slice(1)) await cluster.del(k)
  })

  it('runs blocking commands on connections of their own', async () => {
    const k = `{blk:${run}}:list`
    const popped = cluster.blpop(k, 2)
    await sleep(50)
    expect(await cluster.call('RPUSH', k, 'x')).toBe(1)
    expect(await popped).toEqual([k, 'x'])
    expect(await cluster.get(`{blk:${run}}:other`)).toBeNull() // the shared connection was never blocked
  })

  it('follows ASK during a slot migration and MOVED after it', async () => {
    const a = admins[0]!
    const b = admins[1]!
    const tag = tagOn(a, 'mig')
    const slot = keySlot(tag)
    const keys = Array.from({ length: 6 }, (_, i) => `{${tag}}:${i}`)
    await Promise.all(keys.map((k) => cluster.set(k, 'init')))
    const askingBefore = await commandCalls(b, 'asking')

    let stop = false
    let ops = 0
    const bad: string[] = []
    const loops = keys.map(async (k, i) => {
      for (let n = 0; !stop; n++) {
        const v = `${i}:${n}`
        await cluster.set(k, v)
        const got = await cluster.get(k)
        if (got !== v) bad.push(`${k}: ${got} != ${v}`)
        ops++
      }
    })
    // A multi-key read meets keys split between the nodes: TRYAGAIN, retried.
    const multi = (async () => {
      while (!stop) {
        const r = (await cluster.call('MGET', keys[0]!, keys[5]!)) as unknown[]
        if (r.some((x) => x === null)) bad.push(`MGET saw ${JSON.stringify(r)}`)
      }
    })()
    const sweep = async (from: Admin, to: Admin): Promise<void> => {
      await migrateSlot(slot, from, to, 40)
      await sleep(150) // MOVED for everything now
    }
    try {
      await sweep(a, b)
      expect(cluster.slots().find((r) => slot >= r.start && slot <= r.end)).toMatchObject({ port: b.port })
      expect(await commandCalls(b, 'asking')).toBeGreaterThan(askingBefore)
      expect(await b.c.call('EXISTS', ...keys)).toBe(keys.length)
      // ...and back, so the next run starts from the same layout.
      await sweep(b, a)
    } finally {
      stop = true
      await Promise.all([...loops, multi])
    }
    expect(bad).toEqual([])
    expect(ops).toBeGreaterThan(50)
    expect(cluster.slots().find((r) => slot >= r.start && slot <= r.end)).toMatchObject({ port: a.port })
    expect(await cluster.del(keys)).toBe(keys.length)
  })

  it('follows MOVED with a stale slot map', async () => {
    const a = admins[2]!
    const b = admins[0]!
    const tag = tagOn(a, 'stale')
    const slot = keySlot(tag)
    const k = `{${tag}}:k`
    const stale = createCluster({ nodes: [seeds[1]!] })
    const strict = createCluster({ nodes: seeds, maxRedirections: 0 })
    try {
      await stale.set(k, 'v1')
      expect(await strict.get(k)).toBe('v1')
      await migrateSlot(slot, a, b)
      await expect(strict.get(k)).rejects.toMatchObject({ code: RedisErrorCodes.CLUSTER, message: /redirections/ })
      try {
        expect(await stale.get(k)).toBe('v1')
        expect(stale.slots().find((r) => slot >= r.start && slot <= r.end)).toMatchObject({ port: b.port })
        expect(await stale.set(k, 'v2')).toBe('OK')
        expect(await b.c.get(k)).toBe('v2')
      } finally {
        await migrateSlot(slot, b, a)
      }
      // A pipeline and a transaction are redirected too.
      const [r1, r2] = await stale.pipeline().get(k).set(k, 'v3').exec()
      expect([r1, r2]).toEqual(['v2', 'OK'])
      await migrateSlot(slot, a, b)
      try {
        expect(await stale.multi().get(k).set(k, 'v4').exec()).toEqual(['v3', 'OK'])
      } finally {
        await migrateSlot(slot, b, a)
      }
      expect(await stale.get(k)).toBe('v4')
      await stale.del(k)
    } finally {
      await Promise.all([stale.close(), strict.close()])
    }
  })

  it('delivers shard messages on the slot node and classic ones anywhere', async () => {
    const ch = `{news:${run}}`
    const got: string[] = []
    await cluster.ssubscribe(ch, (m, c) => got.push(`${c}=${String(m)}`))
    expect(await cluster.spublish(ch, 'hello')).toBe(1)
    const classic: string[] = []
    await cluster.subscribe(`classic:${run}`, (m) => classic.push(String(m)))
    // Published on another node than the subscriber's: the cluster bus forwards it.
    const other = createClient({ host: admins[2]!.host, port: admins[2]!.port })
    await other.publish(`classic:${run}`, 'all')
    await other.close()
    for (let i = 0; i < 100 && (got.length < 1 || classic.length < 1); i++) await sleep(10)
    expect(got).toEqual([`${ch}=hello`])
    expect(classic).toEqual(['all'])
    await cluster.sunsubscribe(ch)
    await cluster.unsubscribe(`classic:${run}`)
    expect(await cluster.spublish(ch, 'again')).toBe(0)
  })
})

async function commandCalls(a: Admin, cmd: string): Promise<number> {
  const info = String(await a.c.call('INFO', 'commandstats'))
  const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)
  return m ? Number(m[1]) : 0
}

describe('RedisCluster lifecycle', () => {
  it('close() sends what was issued before it, then refuses commands', async () => {
    const c = createCluster({ nodes: seeds })
    const events: string[] = []
    c.on('ready', () => events.push('ready'))
    c.on('end', () => events.push('end'))
    const k = `close:${run}`
    const set = c.set(k, 'v') // issued before the slot map is even loaded
    const get = c.get(k)
    await c.close()
    expect([await set, await get]).toEqual(['OK', 'v'])
    await expect(c.get(k)).rejects.toMatchObject({ code: RedisErrorCodes.CLOSED })
    expect(events).toEqual(['ready', 'end'])
    await cluster.del(k)
  })

  it('fails fast when no seed answers', async () => {
    const c = createCluster({ nodes: ['redis://127.0.0.1:1'], connectTimeout: 2000 })
    await expect(c.get('x')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await c.close()
  })
})

describe('RedisCluster node loss', () => {
  it('reconnects to a node whose connection was killed', async () => {
    const name = `victim-${run}`
    const c = createCluster({ nodes: seeds, name })
    const disconnects: number[] = []
    c.on('disconnect', (_e, node) => disconnects.push(node.port!))
    try {
      const k = `lost:${run}`
      await c.set(k, 'v')
      const owner = ownerOf(keySlot(k))
      const list = String(await owner.c.call('CLIENT', 'LIST'))
      const ids = [...list.matchAll(new RegExp(`id=(\\d+) [^\\n]*name=${name} `, 'g'))].map((m) => m[1]!)
      expect(ids.length).toBeGreaterThan(0)
      for (const id of ids) await owner.c.call('CLIENT', 'KILL', 'ID', id)
      for (let i = 0; i < 100 && disconnects.length === 0; i++) await sleep(10)
      expect(disconnects).toContain(owner.port)
      expect(await c.get(k)).toBe('v')
      await c.del(k)
    } finally {
      await c.close()
    }
  })
})
