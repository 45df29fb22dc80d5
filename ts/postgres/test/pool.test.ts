// The pool against the real PostgreSQL 15: routing (idle, new, pipelined, never onto a
// reserved connection), acquire timeout, idle timeout, max lifetime, a backend killed mid-query
// (pg_terminate_backend from a superuser), connection errors, and end().
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, createPool, PgErrorCodes, PoolErrorCodes, type Client, type PoolOptions } from '@iocrate/postgres'
import { services, settle, sleep } from './helpers.js'

const env = services().postgres
let admin: Client
let seq = 0

/** A pool whose connections can be found in pg_stat_activity by their application_name. */
function pool(o: Omit<PoolOptions, 'url' | 'applicationName'> = {}): { db: ReturnType<typeof createPool>; app: string } {
  const app = `pool-test-${process.pid}-${++seq}`
  return { db: createPool({ url: env.url, applicationName: app, ...o }), app }
}

async function backends(app: string): Promise<Array<{ pid: number; state: string; query: string }>> {
  return (await admin.query<{ pid: number; state: string; query: string }>('select pid, state, query from pg_stat_activity where application_name = $1 order by pid', [app])).rows
}

/** Polls `f` until it returns true (or fails after `ms`). */
async function until(f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await f())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}

beforeAll(async () => {
  admin = await connect(`postgres://postgres:${env.users.postgres}@127.0.0.1:${env.port}/${env.database}`)
})

afterAll(async () => {
  await admin.end()
})

describe('routing', () => {
  it('answers 200 concurrent queries with max 4, on at most 4 backends', async () => {
    const { db, app } = pool({ max: 4 })
    try {
      const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => db<{ i: number; pid: number }>`select ${i}::int as i, pg_backend_pid() as pid`))
      expect(rs.map((r) => r[0]!.i)).toEqual(Array.from({ length: 200 }, (_, i) => i))
      const pids = new Set(rs.map((r) => r[0]!.pid))
      expect(pids.size).toBeGreaterThan(0)
      expect(pids.size).toBeLessThanOrEqual(4)
      const seen = await backends(app)
      expect(seen.length).toBeLessThanOrEqual(4)
      expect(new Set(seen.map((b) => b.pid))).toEqual(pids)
      expect(db.stats).toEqual({ total: pids.size, idle: pids.size, waiting: 0 })
    } finally {
      await db.end()
    }
  })

  it('pipelines many queries onto a connection instead of waiting (max 1)', async () => {
    const { db } = pool({ max: 1, acquireTimeout: 100 })
    try {
      // Each sleeps 5 ms: 100 of them take ~500 ms, far beyond the acquire timeout, yet none waits for a connection.
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => db<{ i: number }>`select ${i}::int as i, pg_sleep(0.005)`))
      expect(rs.map((r) => r[0]!.i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
      expect(db.stats.total).toBe(1)
    } finally {
      await db.end()
    }
  })

  it('uses an idle connection before opening another', async () => {
    const { db } = pool({ max: 4 })
    try {
      const a = await db<{ pid: number }>`select pg_backend_pid() as pid`
      const b = await db<{ pid: number }>`select pg_backend_pid() as pid`
      expect(b[0]!.pid).toBe(a[0]!.pid)
      expect(db.stats.total).toBe(1)
    } finally {
      await db.end()
    }
  })

  it('never pipelines onto a reserved connection or one inside a transaction', async () => {
    const { db } = pool({ max: 2 })
    try {
      const r = await db.reserve()
      const [own] = await r<{ pid: number }>`select pg_backend_pid() as pid`
      const rs = await Promise.all(Array.from({ length: 30 }, () => db<{ pid: number }>`select pg_backend_pid() as pid`))
      expect(rs.every((x) => x[0]!.pid !== own!.pid)).toBe(true)
      r.release()
      await expect(r`select 1`).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })

      await db.begin(async (tx) => {
        const [t] = await tx<{ pid: number }>`select pg_backend_pid() as pid`
        const others = await Promise.all(Array.from({ length: 30 }, () => db<{ pid: number }>`select pg_backend_pid() as pid`))
        expect(others.every((x) => x[0]!.pid !== t!.pid)).toBe(true)
      })
    } finally {
      await db.end()
    }
  })

  it('gives a waiting reserve() a connection even while queries keep it busy', async () => {
    const { db } = pool({ max: 1 })
    try {
      // Queries run when awaited or on execute(): start them now.
      const burst = Array.from({ length: 20 }, () => db`select pg_sleep(0.005)`.execute())
      const rsv = db.reserve()
      const later = Array.from({ length: 20 }, () => db`select 1`.execute())
      const r = await rsv
      expect(db.stats.waiting).toBeGreaterThan(0) // the later queries wait for the release
      await Promise.all(burst)
      expect(await r`select 2 as two`).toEqual([{ two: 2 }])
      r.release()
      expect((await Promise.all(later)).length).toBe(20)
    } finally {
      await db.end()
    }
  })

  it('closes a connection left inside a transaction by a query of its own', async () => {
    const { db, app } = pool({ max: 2 })
    try {
      await db`begin`
      await until(() => db.stats.total === 0)
      await until(async () => (await backends(app)).length === 0)
      expect(await db`select 1 as one`).toEqual([{ one: 1 }])
    } finally {
      await db.end()
    }
  })
})

describe('cursor()', () => {
  it('runs on a connection of its own until the loop ends; other queries never join it', async () => {
    const { db } = pool({ max: 1 })
    try {
      const sizes: number[] = []
      let total = 0
      let other: Promise<unknown> | undefined
      for await (const batch of db.cursor<{ i: number }>('select i from generate_series(1, 2500) i', [], { batchSize: 1000 })) {
        sizes.push(batch.length)
        total += batch.reduce((a, r) => a + r.i, 0)
        other ??= db`select 1 as one`.execute()
        await sleep(5)
        expect(db.stats.waiting).toBe(1) // the query waits for the cursor's connection
      }
      expect(sizes).toEqual([1000, 1000, 500])
      expect(total).toBe((2500 * 2501) / 2)
      expect(await other).toEqual([{ one: 1 }])
      // Breaking out releases the connection too.
      for await (const batch of db.cursor('select i from generate_series(1, 5000) i', [], { batchSize: 10 })) {
        expect(batch).toHaveLength(10)
        break
      }
      expect(await db`select 2 as two`).toEqual([{ two: 2 }])
      expect(db.stats).toMatchObject({ total: 1, waiting: 0 })
    } finally {
      await db.end()
    }
  })
})

describe('timeouts and lifetimes', () => {
  it('fails with ERR_PG_ACQUIRE_TIMEOUT when no connection frees up in time', async () => {
    const { db } = pool({ max: 1, acquireTimeout: 150 })
    try {
      const r = await db.reserve()
      const t0 = Date.now()
      const [q, s, b] = await Promise.all([settle(db`select 1`), settle(db.reserve()), settle(db.begin(() => 1))])
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
      for (const x of [q, s, b]) expect(x).toMatchObject({ ok: false, error: { name: 'PgClientError', code: PoolErrorCodes.ACQUIRE_TIMEOUT } })
      expect(db.stats.waiting).toBe(0)
      r.release()
      expect(await db`select 1 as one`).toEqual([{ one: 1 }])
    } finally {
      await db.end()
    }
  })

  it('closes connections idle longer than idleTimeout', async () => {
    const { db, app } = pool({ max: 3, idleTimeout: 150 })
    try {
      await Promise.all([db`select pg_sleep(0.05)`, db`select pg_sleep(0.05)`, db`select pg_sleep(0.05)`])
      expect(db.stats.total).toBe(3)
      expect((await backends(app)).length).toBe(3)
      await until(() => db.stats.total === 0, 2000)
      await until(async () => (await backends(app)).length === 0, 2000)
      expect(await db`select 1 as one`).toEqual([{ one: 1 }])
    } finally {
      await db.end()
    }
  })

  it('replaces a connection past maxLifetime once it is idle', async () => {
    const { db, app } = pool({ max: 1, maxLifetime: 200, idleTimeout: 0 })
    try {
      const [a] = await db<{ pid: number }>`select pg_backend_pid() as pid`
      // Busy past its lifetime: kept until the query is answered.
      const [b] = await db<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.3)`
      expect(b!.pid).toBe(a!.pid)
      await until(() => db.stats.total === 0, 2000)
      const [c] = await db<{ pid: number }>`select pg_backend_pid() as pid`
      expect(c!.pid).not.toBe(a!.pid)
      await until(async () => (await backends(app)).every((x) => x.pid !== a!.pid))
    } finally {
      await db.end()
    }
  })

  it('health-checks a connection idle longer than healthCheck before using it', async () => {
    const { db } = pool({ max: 1, healthCheck: 30 })
    try {
      const [a] = await db<{ pid: number }>`select pg_backend_pid() as pid`
      await sleep(60)
      const [b] = await db<{ pid: number }>`select pg_backend_pid() as pid`
      expect(b!.pid).toBe(a!.pid)
    } finally {
      await db.end()
    }
  })
})

describe('lost connections', () => {
  it('a backend killed mid-query fails its queries with ERR_PG_CONNECTION_LOST; the pool recovers', async () => {
    const { db, app } = pool({ max: 1 })
    try {
      const [first] = await db<{ pid: number }>`select pg_backend_pid() as pid`
      const slow = settle(db`select pg_sleep(30)`)
      const behind = settle(db`select 2`) // pipelined behind it on the same connection
      await until(async () => (await backends(app)).some((b) => b.state === 'active' && b.query.includes('pg_sleep')))
      const t0 = Date.now()
      await admin.query('select pg_terminate_backend($1)', [first!.pid])
      for (const r of [await slow, await behind]) expect(r).toMatchObject({ ok: false, error: { name: 'PgClientError', code: PgErrorCodes.CONNECTION_LOST } })
      expect(Date.now() - t0).toBeLessThan(2000)
      expect(db.stats.total).toBe(0)
      const [next] = await db<{ pid: number }>`select pg_backend_pid() as pid`
      expect(next!.pid).not.toBe(first!.pid)
      expect(db.stats.total).toBe(1)
    } finally {
      await db.end()
    }
  })

  it('an idle connection killed by the server is dropped, not handed out', async () => {
    const { db } = pool({ max: 2 })
    try {
      const [a] = await db<{ pid: number }>`select pg_backend_pid() as pid`
      await admin.query('select pg_terminate_backend($1)', [a!.pid])
      await until(() => db.stats.total === 0)
      expect((await db<{ pid: number }>`select pg_backend_pid() as pid`)[0]!.pid).not.toBe(a!.pid)
    } finally {
      await db.end()
    }
  })

  it('a transaction whose backend is killed rejects with ERR_PG_CONNECTION_LOST and frees its slot', async () => {
    const { db } = pool({ max: 1 })
    try {
      const r = await settle(
        db.begin(async (tx) => {
          const [t] = await tx<{ pid: number }>`select pg_backend_pid() as pid`
          await admin.query('select pg_terminate_backend($1)', [t!.pid])
          await tx`select pg_sleep(5)`
        }),
      )
      expect(r).toMatchObject({ ok: false, error: { code: PgErrorCodes.CONNECTION_LOST } })
      expect(await db`select 1 as one`).toEqual([{ one: 1 }])
    } finally {
      await db.end()
    }
  })

  it('rejects the queries that needed a connection that could not be opened', async () => {
    const bad = createPool({ url: `postgres://iocrate:wrong@127.0.0.1:${env.port}/${env.database}`, max: 2 })
    await expect(bad`select 1`).rejects.toMatchObject({ name: 'PostgresError', code: '28P01' })
    await expect(bad.begin(() => 1)).rejects.toMatchObject({ code: '28P01' })
    expect(bad.stats.total).toBe(0)
    await bad.end()

    const refused = createPool({ host: '127.0.0.1', port: 1, user: 'x', password: 'y', max: 1 })
    const rs = await Promise.all([settle(refused`select 1`), settle(refused`select 2`)])
    for (const r of rs) expect(r).toMatchObject({ ok: false, error: { code: 'ECONNREFUSED' } })
    await refused.end()
  })
})

describe('end()', () => {
  it('waits for running queries and open transactions, then refuses new ones', async () => {
    const { db, app } = pool({ max: 2 })
    const running = db<{ done: boolean }>`select true as done, pg_sleep(0.2)`.execute()
    const tx = db.begin(async (t) => {
      await sleep(100)
      return (await t`select 3 as n`)[0]
    })
    await sleep(20)
    await db.end()
    expect(await running).toEqual([{ done: true, pg_sleep: '' }])
    expect(await tx).toEqual({ n: 3 })
    expect(db.stats.total).toBe(0)
    await expect(db`select 1`).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
    await expect(db.begin(() => 1)).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
    await until(async () => (await backends(app)).length === 0)
  })

  it('destroys what is still running after the timeout', async () => {
    const { db, app } = pool({ max: 1 })
    const slow = settle(db`select pg_sleep(30)`)
    await until(async () => (await backends(app)).some((b) => b.query.includes('pg_sleep')))
    const t0 = Date.now()
    await db.end({ timeout: 100 })
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(await slow).toMatchObject({ ok: false, error: { code: PgErrorCodes.CONNECTION_LOST } })
  })

  it('rejects queries waiting for a connection; await using ends the pool', async () => {
    let waiting: Promise<unknown> | undefined
    {
      await using db = createPool({ url: env.url, max: 1 })
      const r = await db.reserve()
      waiting = settle(db`select 1`)
      await sleep(10)
      expect(db.stats.waiting).toBe(1)
      r.release()
    }
    expect(await waiting).toMatchObject({ ok: true })
    const db = createPool({ url: env.url, max: 1 })
    const r = await db.reserve()
    const w = settle(db`select 1`)
    const ended = db.end({ timeout: 50 })
    expect(await w).toMatchObject({ ok: false, error: { code: PgErrorCodes.CLOSED } })
    await ended
    await expect(r`select 1`).rejects.toMatchObject({ code: PgErrorCodes.CONNECTION_LOST })
  })

  it('validates its options', () => {
    expect(() => createPool({ url: env.url, max: 0 })).toThrow(/max/)
    expect(() => createPool({ url: env.url, idleTimeout: -1 })).toThrow(/idleTimeout/)
  })
})
