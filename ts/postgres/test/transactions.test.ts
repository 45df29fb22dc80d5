// Transactions on the pool against the real server: commit, rollback on throw, isolation and
// access modes, nested savepoints, a failed statement inside a savepoint, reserve().
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createPool, PgErrorCodes, PoolErrorCodes, type Sql, type Transaction } from '@iocrate/postgres'
import { services } from './helpers.js'

const env = services().postgres
const table = `tx_test_${process.pid}_${Date.now()}`
let db: Sql

async function values(): Promise<string[]> {
  return (await db<{ v: string }>`select v from ${db.id(table)} order by id`).map((r) => r.v)
}

beforeAll(async () => {
  db = createPool({ url: env.url, max: 3 })
  await db`create table ${db.id(table)} (id serial primary key, v text unique)`
})

beforeEach(async () => {
  await db`truncate ${db.id(table)}`
})

afterAll(async () => {
  await db`drop table if exists ${db.id(table)}`
  await db.end()
})

describe('begin()', () => {
  it('commits, and resolves to what fn returned', async () => {
    const out = await db.begin(async (tx) => {
      await tx`insert into ${tx.id(table)} (v) values (${'a'})`
      const [r] = await tx<{ v: string }>`insert into ${tx.id(table)} (v) values (${'b'}) returning v`
      // Not visible outside before COMMIT.
      expect(await db`select v from ${db.id(table)}`).toEqual([])
      return r!.v
    })
    expect(out).toBe('b')
    expect(await values()).toEqual(['a', 'b'])
  })

  it('rolls back when fn throws, and rethrows that error', async () => {
    const boom = new Error('boom')
    await expect(
      db.begin(async (tx) => {
        await tx`insert into ${tx.id(table)} (v) values (${'a'})`
        throw boom
      }),
    ).rejects.toBe(boom)
    await expect(
      db.begin(async (tx) => {
        await tx`insert into ${tx.id(table)} (v) values (${'a'})`
        await tx`insert into ${tx.id(table)} (v) values (${'a'})` // 23505
      }),
    ).rejects.toMatchObject({ name: 'PostgresError', code: '23505' })
    expect(await values()).toEqual([])
  })

  it('sets the isolation level and access mode', async () => {
    for (const isolation of ['read committed', 'repeatable read', 'serializable'] as const) {
      const [r] = await db.begin((tx) => tx<{ transaction_isolation: string }>`show transaction_isolation`, { isolation })
      expect(r!.transaction_isolation).toBe(isolation)
    }
    const modes = await db.begin(
      async (tx) => {
        const [ro] = await tx<{ transaction_read_only: string }>`show transaction_read_only`
        const [df] = await tx<{ transaction_deferrable: string }>`show transaction_deferrable`
        await expect(tx`insert into ${tx.id(table)} (v) values (${'x'})`).rejects.toMatchObject({ code: '25006' })
        return [ro!.transaction_read_only, df!.transaction_deferrable]
      },
      { isolation: 'serializable', readOnly: true, deferrable: true },
    ).catch((e: unknown) => e)
    // The failed insert aborted the transaction: COMMIT answered ROLLBACK.
    expect(modes).toMatchObject({ code: PoolErrorCodes.TX_ROLLED_BACK })
    const [def] = await db.begin((tx) => tx<{ transaction_isolation: string }>`show transaction_isolation`)
    expect(def!.transaction_isolation).toBe('read committed')
  })

  it('refuses an unknown isolation level before taking a connection', async () => {
    await expect(db.begin(() => 1, { isolation: "serializable; drop table x" as 'serializable' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
    expect(db.stats.waiting).toBe(0)
  })

  it('fails COMMIT of a transaction whose statement failed and was caught', async () => {
    await expect(
      db.begin(async (tx) => {
        await tx`insert into ${tx.id(table)} (v) values (${'a'})`
        await tx`select nope`.catch(() => {})
      }),
    ).rejects.toMatchObject({ name: 'PgClientError', code: PoolErrorCodes.TX_ROLLED_BACK })
    expect(await values()).toEqual([])
  })

  it('runs on one connection, and tx is unusable afterwards', async () => {
    let saved: Transaction | undefined
    const pids = await db.begin(async (tx) => {
      saved = tx
      const rs = await Promise.all(Array.from({ length: 10 }, () => tx<{ pid: number }>`select pg_backend_pid() as pid`))
      return new Set(rs.map((r) => r[0]!.pid))
    })
    expect(pids.size).toBe(1)
    await expect(saved!`select 1`).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
    await expect(saved!.query('select 1')).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
    await expect(saved!.savepoint(() => 1)).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
  })

  it('runs many transactions at once on few connections, each isolated', async () => {
    await db`insert into ${db.id(table)} (v) values (${'0'})`
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.begin(async (tx) => {
          const [r] = await tx<{ v: string }>`select v from ${tx.id(table)} for update`
          await tx`update ${tx.id(table)} set v = ${String(Number(r!.v) + 1)}`
        }),
      ),
    )
    expect(await values()).toEqual(['20'])
    expect(db.stats.total).toBeLessThanOrEqual(3)
  })
})

describe('savepoints', () => {
  it('nest: an inner one rolled back, the outer ones kept', async () => {
    await db.begin(async (tx) => {
      await tx`insert into ${tx.id(table)} (v) values (${'outer'})`
      await tx.savepoint(async (sp) => {
        await sp`insert into ${sp.id(table)} (v) values (${'sp1'})`
        await expect(
          sp.savepoint(async (sp2) => {
            await sp2`insert into ${sp2.id(table)} (v) values (${'sp2'})`
            throw new Error('undo sp2')
          }),
        ).rejects.toThrow('undo sp2')
        const r = await sp.savepoint(async (sp3) => {
          await sp3`insert into ${sp3.id(table)} (v) values (${'sp3'})`
          return 'kept'
        })
        expect(r).toBe('kept')
      })
      expect((await tx<{ v: string }>`select v from ${tx.id(table)} order by id`).map((x) => x.v)).toEqual(['outer', 'sp1', 'sp3'])
    })
    expect(await values()).toEqual(['outer', 'sp1', 'sp3'])
  })

  it('a failed statement inside a savepoint is rolled back and leaves the outer transaction usable', async () => {
    await db.begin(async (tx) => {
      await tx`insert into ${tx.id(table)} (v) values (${'a'})`
      await expect(tx.savepoint((sp) => sp`insert into ${sp.id(table)} (v) values (${'a'})`)).rejects.toMatchObject({ code: '23505' })
      await expect(tx.savepoint(async (sp) => sp`select 1/0`)).rejects.toMatchObject({ code: '22012' })
      await tx`insert into ${tx.id(table)} (v) values (${'b'})`
    })
    expect(await values()).toEqual(['a', 'b'])
  })

  it('an error from a savepoint that fn does not catch rolls the whole transaction back', async () => {
    await expect(
      db.begin(async (tx) => {
        await tx`insert into ${tx.id(table)} (v) values (${'a'})`
        await tx.savepoint((sp) => sp`select nope`)
      }),
    ).rejects.toMatchObject({ code: '42703' })
    expect(await values()).toEqual([])
  })
})

describe('reserve()', () => {
  it('keeps session state on one connection until release()', async () => {
    const r = await db.reserve()
    try {
      await r`set application_name = 'reserved-one'`
      const [x] = await r<{ application_name: string }>`show application_name`
      expect(x!.application_name).toBe('reserved-one')
      await r`begin`
      await r`insert into ${r.id(table)} (v) values (${'r'})`
      expect(await db`select v from ${db.id(table)}`).toEqual([])
      await r`commit`
      expect(await values()).toEqual(['r'])
    } finally {
      r.release()
    }
    r.release() // twice: no-op
    await expect(r.query('select 1')).rejects.toMatchObject({ code: PgErrorCodes.CLOSED })
  })

  it('cursor and COPY on a transaction and on a reserved connection', async () => {
    await db.begin(async (tx) => {
      await tx`insert into ${tx.id(table)} (v) select 'c' || i from generate_series(1, 25) i`
      const seen: number[] = []
      for await (const b of tx.cursor<{ v: string }>(`select v from "${table}" order by id`, [], { batchSize: 10 })) seen.push(b.length)
      expect(seen).toEqual([10, 10, 5])
    })
    const r = await db.reserve()
    try {
      const w = await r.copyFrom(`copy "${table}" (v) from stdin`)
      await new Promise<void>((resolve, reject) => {
        w.on('error', reject)
        w.on('finish', resolve)
        w.end('x1\nx2\n')
      })
      const chunks: Buffer[] = []
      for await (const c of r.copyTo(`copy (select v from "${table}" where v like 'x%' order by v) to stdout`)) chunks.push(c as Buffer)
      expect(Buffer.concat(chunks).toString()).toBe('x1\nx2\n')
    } finally {
      r.release()
    }
    expect(() => r.copyTo('copy (select 1) to stdout')).toThrow(expect.objectContaining({ code: PgErrorCodes.CLOSED }))
    expect((await values()).length).toBe(27)
  })

  it('a reservation released inside a transaction closes that connection', async () => {
    const before = db.stats.total
    const r = await db.reserve()
    const [p] = await r<{ pid: number }>`select pg_backend_pid() as pid`
    await r`begin`
    await r`insert into ${r.id(table)} (v) values (${'lost'})`
    r.release()
    const rs = await Promise.all(Array.from({ length: 10 }, () => db<{ pid: number }>`select pg_backend_pid() as pid`))
    expect(rs.every((x) => x[0]!.pid !== p!.pid)).toBe(true)
    expect(await values()).toEqual([])
    expect(db.stats.total).toBeLessThanOrEqual(Math.max(before, 3))
  })
})
