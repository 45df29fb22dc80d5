// Large results, COPY and cancellation against the real server: a 1M-row cursor at
// bounded memory, COPY of 1M rows in and out, a real CancelRequest on timeout and abort,
// custom type parsers, the prepared-statement cache.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { connect } from '@iocrate/postgres'
import { services } from './helpers.js'

const env = services().postgres
const MIXED = "select i, md5(i::text) as h, (i * 1.5)::numeric as x, timestamptz '2024-01-01' + i * interval '1 second' as t, i % 2 = 0 as b from generate_series(1, $1::int) i"

describe('cursor', () => {
  it('streams 1M rows in batches with bounded memory, in order', async () => {
    await using c = await connect(env.url)
    let n = 0
    let batches = 0
    let peak = 0
    const base = process.memoryUsage().rss
    for await (const rows of c.cursor<{ i: number; h: string; b: boolean }>(MIXED, [1_000_000], { batchSize: 5000 })) {
      expect(rows[0]!.i).toBe(n + 1)
      n += rows.length
      batches++
      if (batches % 10 === 0) peak = Math.max(peak, process.memoryUsage().rss - base)
    }
    expect(n).toBe(1_000_000)
    expect(batches).toBe(200)
    // One batch of 5,000 rows is a few MB; the whole result as objects would be ~500 MB.
    expect(peak).toBeLessThan(150 * 1024 * 1024)
  })

  it('ends early on break; queries issued meanwhile wait and then run', async () => {
    await using c = await connect(env.url)
    const it = c.cursor<{ i: number }>('select i from generate_series(1, 100000) i', [], { batchSize: 100 })
    const waiting = c.query('select 42 as v')
    for await (const rows of it) {
      expect(rows).toHaveLength(100)
      break
    }
    expect((await waiting).rows).toEqual([{ v: 42 }])
  })

  it('reports a query error through the iterator and stays usable', async () => {
    await using c = await connect(env.url)
    const it = c.cursor('select 1 / (i - 50) from generate_series(1, 100) i', [], { batchSize: 10 })
    const seen: number[] = []
    await expect(
      (async () => {
        for await (const rows of it) seen.push(rows.length)
      })(),
    ).rejects.toMatchObject({ code: '22012' })
    expect((await c.query('select 1 as ok')).rows).toEqual([{ ok: 1 }])
  })
})

describe('COPY', () => {
  it('copies 1M rows in and out', async () => {
    await using c = await connect(env.url)
    await c.query('create temp table copy_t (a int, b text)')
    const w = await c.copyFrom('copy copy_t from stdin')
    await pipeline(
      Readable.from(
        (function* () {
          let chunk = ''
          for (let i = 0; i < 1_000_000; i++) {
            chunk += `${i}\tv${i}\n`
            if (chunk.length > 64 * 1024) {
              yield chunk
              chunk = ''
            }
          }
          yield chunk
        })(),
      ),
      w,
    )
    expect((await c.query('select count(*)::int as n, sum(a)::text as s from copy_t')).rows).toEqual([{ n: 1_000_000, s: '499999500000' }])
    let lines = 0
    let tail = ''
    for await (const chunk of c.copyTo('copy copy_t to stdout')) {
      const s = tail + (chunk as Buffer).toString()
      const parts = s.split('\n')
      tail = parts.pop()!
      lines += parts.length
    }
    expect(lines).toBe(1_000_000)
  })

  it('a bad row fails the COPY with the server error and rolls it back; the connection stays usable', async () => {
    await using c = await connect(env.url)
    await c.query('create temp table copy_bad (a int)')
    const w = await c.copyFrom('copy copy_bad from stdin')
    await expect(pipeline(Readable.from(['1\n2\nnot-a-number\n']), w)).rejects.toMatchObject({ code: '22P02' })
    expect((await c.query('select count(*)::int as n from copy_bad')).rows).toEqual([{ n: 0 }])
  })
})

describe('cancellation', () => {
  it('a timeout sends a CancelRequest: pg_sleep stops and the error says why', async () => {
    await using c = await connect(env.url)
    const t0 = Date.now()
    await expect(c.query('select pg_sleep(10)', [], { timeout: 200 })).rejects.toMatchObject({ code: 'ERR_PG_TIMEOUT', cause: { code: '57014' } })
    expect(Date.now() - t0).toBeLessThan(3000)
    expect((await c.query('select 1 as ok')).rows).toEqual([{ ok: 1 }])
  })

  it('an AbortSignal cancels on the server', async () => {
    await using c = await connect(env.url)
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 100)
    await expect(c.query('select pg_sleep(10)', [], { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR', cause: { code: '57014' } })
  })
})

describe('options', () => {
  it('custom parsers by OID, and the prepared-statement cache (on and off)', async () => {
    await using c = await connect({ url: env.url, types: { 1186: (s) => `interval:${s}` } })
    expect((await c.query("select interval '1 day' as iv")).rows).toEqual([{ iv: 'interval:1 day' }])
    for (let i = 0; i < 3; i++) await c.query('select $1::int as v', [i])
    const prepared = (await c.query<{ n: number }>("select count(*)::int as n from pg_prepared_statements where statement like 'select $1::int as v'")).rows[0]!.n
    expect(prepared).toBe(1)
    await using u = await connect({ url: env.url, prepare: false })
    await u.query('select $1::int as v', [1])
    expect((await u.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements')).rows[0]!.n).toBe(0)
  })
})
