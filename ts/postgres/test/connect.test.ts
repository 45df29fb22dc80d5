// Connecting and authenticating against the real PostgreSQL 15 of scripts/services.sh:
// SCRAM-SHA-256 (and -PLUS over TLS), md5, the unix socket, refused credentials; then
// pipelined queries, a query error that leaves the connection usable.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { connect, PostgresError, type ClientOptions } from '@iocrate/postgres'
import { services } from './helpers.js'

const env = services().postgres

const ways: Array<[string, ClientOptions | string]> = [
  ['SCRAM-SHA-256 over TCP', env.url],
  ['SCRAM-SHA-256-PLUS over TLS (verify-full)', { url: env.url, ssl: { ca: readFileSync(env.tls.ca) } }],
  ['md5', `postgres://md5_user:${env.users.md5_user}@127.0.0.1:${env.port}/${env.database}`],
  ['the unix socket (trust)', { socketDir: env.socketDir, port: env.port, user: 'iocrate', database: env.database }],
]

describe('connecting', () => {
  for (const [name, opts] of ways) {
    it(`authenticates with ${name} and runs queries`, async () => {
      await using c = await connect(opts)
      expect(c.parameters.get('server_version')).toMatch(/^15\./)
      const r = await c.query('select $1::int + 1 as n, $2::text as t', [41, 'hé'])
      expect(r.rows).toEqual([{ n: 42, t: 'hé' }])
      expect(r.command).toBe('SELECT')
      expect(r.count).toBe(1)
    })
  }

  it('binds the SCRAM exchange to the TLS session when the server offers -PLUS', async () => {
    await using c = await connect({ url: env.url, ssl: { ca: readFileSync(env.tls.ca) } })
    const [row] = await c.sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`
    expect(row!.ssl).toBe(true)
  })

  it('refuses a wrong password with the server error 28P01, fast', async () => {
    const t0 = Date.now()
    await expect(connect(`postgres://iocrate:wrong@127.0.0.1:${env.port}/${env.database}`)).rejects.toMatchObject({ name: 'PostgresError', code: '28P01' })
    await expect(connect(`postgres://md5_user:wrong@127.0.0.1:${env.port}/${env.database}`)).rejects.toBeInstanceOf(PostgresError)
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('fails TLS verification against an unknown CA', async () => {
    await expect(connect({ url: env.url, ssl: true })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i)
  })
})

describe('queries', () => {
  it('pipelines queries issued in one tick and answers each in order', async () => {
    await using c = await connect(env.url)
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => c.sql<{ i: number }>`select ${i}::int as i`))
    expect(rs.map((r) => r[0]!.i)).toEqual(Array.from({ length: 200 }, (_, i) => i))
  })

  it('an error fails exactly its query; the ones around it are answered', async () => {
    await using c = await connect(env.url)
    const [a, b, d] = await Promise.allSettled([c.query('select 1 as x'), c.query('select nope'), c.query('select 3 as x')])
    expect(a).toMatchObject({ status: 'fulfilled', value: { rows: [{ x: 1 }] } })
    expect(b).toMatchObject({ status: 'rejected', reason: { name: 'PostgresError', code: '42703', position: 8, severity: 'ERROR' } })
    expect(d).toMatchObject({ status: 'fulfilled', value: { rows: [{ x: 3 }] } })
  })

  it('builds rows for any column names: duplicates (the last wins), quotes, __proto__', async () => {
    await using c = await connect(env.url)
    const r = await c.query('select 1 as a, 2 as a, 3 as "we""ird", 4 as "__proto__"')
    const row = r.rows[0]!
    expect(r.columns).toEqual(['a', 'a', 'we"ird', '__proto__'])
    expect(row.a).toBe(2)
    expect(row['we"ird']).toBe(3)
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe(4)
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
  })

  it('re-prepares a cached statement whose result type changed (0A000), then runs it', async () => {
    await using c = await connect(env.url)
    await c.query('create temp table shape (a int)')
    await c.query('insert into shape values (1)')
    // Twice: the second run uses the statement's known columns (no Describe).
    for (let i = 0; i < 3; i++) expect((await c.query('select * from shape')).rows).toEqual([{ a: 1 }])
    await c.query("alter table shape add column b text default 'x'")
    const changed = await c.query('select * from shape').then(
      (r) => r.rows,
      (e: { code?: string }) => e.code,
    )
    // PostgreSQL either replans (new columns) or refuses the cached plan once.
    if (changed === '0A000') expect((await c.query('select * from shape')).rows).toEqual([{ a: 1, b: 'x' }])
    else expect(changed).toEqual([{ a: 1, b: 'x' }])
    expect((await c.query('select * from shape')).rows).toEqual([{ a: 1, b: 'x' }])
  })

  it('keeps parameters data: injection attempts stay values', async () => {
    await using c = await connect(env.url)
    const evil = "'); drop table pg_class; --"
    const [row] = await c.sql<{ v: string }>`select ${evil}::text as v`
    expect(row!.v).toBe(evil)
  })
})
