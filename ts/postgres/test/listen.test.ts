// LISTEN/NOTIFY through the pool against the real server: payloads, several listeners,
// unlisten, channel names that need quoting, and re-LISTEN after the listening connection is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, createPool, PgErrorCodes, type Client, type Sql } from '@iocrate/postgres'
import { services, sleep } from './helpers.js'

const env = services().postgres
let admin: Client
let seq = 0

function pool(): { db: Sql; app: string } {
  const app = `listen-test-${process.pid}-${++seq}`
  return { db: createPool({ url: env.url, applicationName: app, max: 2 }), app }
}

async function until(f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await f())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}

async function listenerBackend(app: string): Promise<number | undefined> {
  const r = await admin.query<{ pid: number }>(`select pid from pg_stat_activity where application_name = $1 and query ilike 'listen %'`, [app])
  return r.rows[0]?.pid
}

beforeAll(async () => {
  admin = await connect(`postgres://postgres:${env.users.postgres}@127.0.0.1:${env.port}/${env.database}`)
})

afterAll(async () => {
  await admin.end()
})

describe('listen / notify', () => {
  it('delivers payloads (unicode included) with the channel and the notifying backend', async () => {
    const { db } = pool()
    try {
      const got: Array<[string, string, number]> = []
      await db.listen('news', (payload, channel, pid) => got.push([payload, channel, pid]))
      const payloads = ['héllo', '日本語 ✓', '🐘 emoji', '', "quote ' and \" \\"]
      for (const p of payloads) await db.notify('news', p)
      await until(() => got.length === payloads.length)
      expect(got.map((g) => g[0])).toEqual(payloads)
      expect(got.every((g) => g[1] === 'news' && Number.isInteger(g[2]) && g[2] > 0)).toBe(true)
      // From any other session too.
      await admin.query(`notify news, 'from admin'`)
      await until(() => got.length === payloads.length + 1)
      expect(got.at(-1)![0]).toBe('from admin')
    } finally {
      await db.end()
    }
  })

  it('two listeners on a channel both get it; unlisten stops one, then the channel', async () => {
    const { db, app } = pool()
    try {
      const a: string[] = []
      const b: string[] = []
      const other: string[] = []
      const la = await db.listen('two', (p) => a.push(p))
      const lb = await db.listen('two', (p) => b.push(p))
      await db.listen('other', (p) => other.push(p))
      await db.notify('two', '1')
      await until(() => a.length === 1 && b.length === 1)
      await la.unlisten()
      await la.unlisten() // twice: no-op
      await db.notify('two', '2')
      await until(() => b.length === 2)
      expect(a).toEqual(['1'])
      await lb.unlisten()
      await db.notify('two', '3')
      await db.notify('other', 'x')
      await until(() => other.length === 1)
      expect(b).toEqual(['1', '2'])
      // The server no longer sends 'two' to that connection.
      const [chans] = (await admin.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where application_name = $1 and query ilike 'unlisten %'`, [app])).rows
      expect(chans!.n).toBe(1)
    } finally {
      await db.end()
    }
  })

  it('quotes channel names: case, spaces and quotes are kept', async () => {
    const { db } = pool()
    try {
      const names = ['MixedCase', 'with space', 'q"uote; select 1']
      const got: string[] = []
      for (const n of names) await db.listen(n, (p, ch) => got.push(`${ch}=${p}`))
      for (const n of names) await db.notify(n, 'v')
      await until(() => got.length === names.length)
      expect(got.sort()).toEqual(names.map((n) => `${n}=v`).sort())
      await expect(db.listen('', () => {})).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
    } finally {
      await db.end()
    }
  })

  it('uses one connection of its own, outside the pool, and closes it once nothing listens', async () => {
    const { db, app } = pool()
    try {
      const l1 = await db.listen('c1', () => {})
      const l2 = await db.listen('c2', () => {})
      expect(db.stats.total).toBe(0) // not a pool connection
      const listeners = (await admin.query<{ pid: number }>(`select pid from pg_stat_activity where application_name = $1 and query ilike '%listen %'`, [app])).rows
      expect(listeners).toHaveLength(1)
      await l1.unlisten()
      await l2.unlisten()
      await until(async () => (await listenerBackend(app)) === undefined)
      // And opens again on demand.
      const got: string[] = []
      await db.listen('c3', (p) => got.push(p))
      await db.notify('c3', 'again')
      await until(() => got.length === 1)
    } finally {
      await db.end()
    }
  })

  it('LISTENs again after its connection is replaced (backend killed)', async () => {
    const { db, app } = pool()
    try {
      const got: string[] = []
      await db.listen('survive', (p) => got.push(p))
      await db.listen('survive2', (p) => got.push(p))
      const pid = await listenerBackend(app)
      expect(pid).toBeDefined()
      await admin.query('select pg_terminate_backend($1)', [pid])
      await until(async () => {
        const now = await listenerBackend(app)
        return now !== undefined && now !== pid
      })
      // Notify until both channels are heard again (the re-LISTEN may still be under way).
      await until(async () => {
        await db.notify('survive', 'a')
        await db.notify('survive2', 'b')
        await sleep(20)
        return got.includes('a') && got.includes('b')
      })
    } finally {
      await db.end()
    }
  })

  it('refuses listen() after end()', async () => {
    const { db } = pool()
    await db.listen('gone', () => {})
    await db.end()
    await expect(db.listen('gone', () => {})).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
    await expect(db.notify('gone', 'x')).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
  })
})
