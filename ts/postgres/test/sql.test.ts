// The sql tag and its fragments: the text and parameters they compile to, then against the
// real server — identifiers and values that try to inject stay one identifier / one value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, PendingQuery, sql, SqlFragment, type Sql } from '@iocrate/postgres'
import { services } from './helpers.js'

const env = services().postgres

describe('sql fragments (compiled text)', () => {
  it('compiles identifiers, lists and values to one parameterized text', () => {
    const name = 'ann'
    const q = sql`select * from ${sql.id('users')} where id in ${sql.list([1, 2])} and name = ${name}`
    expect(q).toBeInstanceOf(SqlFragment)
    expect(q.toQuery()).toEqual({ text: 'select * from "users" where id in ($1, $2) and name = $3', params: [1, 2, 'ann'] })
  })

  it('quotes identifiers, doubling inner quotes; schema-qualified names', () => {
    expect(sql`${sql.id('we"ird "name')}`.toQuery().text).toBe('"we""ird ""name"')
    expect(sql`${sql.id(['app', 'Users'])}`.toQuery().text).toBe('"app"."Users"')
    expect(sql`${sql.id('a; drop table x; --')}`.toQuery()).toEqual({ text: '"a; drop table x; --"', params: [] })
    expect(() => sql.id('')).toThrow(/non-empty/)
    expect(() => sql.id('a\0b')).toThrow(/NUL/)
    expect(() => sql.id([])).toThrow(/non-empty array/)
  })

  it('lists: one placeholder per element, fragments expanded, empty → (NULL)', () => {
    expect(sql`x in ${sql.list(['a'])}`.toQuery()).toEqual({ text: 'x in ($1)', params: ['a'] })
    expect(sql`x in ${sql.list([])}`.toQuery()).toEqual({ text: 'x in (NULL)', params: [] })
    expect(sql`select ${sql.list([sql.id('a'), sql`${5}::int`, 'z'])}`.toQuery()).toEqual({ text: 'select ("a", $1::int, $2)', params: [5, 'z'] })
  })

  it('renumbers the parameters of nested fragments in order', () => {
    const inner = sql`c = ${3}`
    const mid = sql`b = ${2} and ${inner}`
    const q = sql`a = ${1} and ${mid} and d = ${4} or ${inner}`
    expect(q.toQuery()).toEqual({ text: 'a = $1 and b = $2 and c = $3 and d = $4 or c = $5', params: [1, 2, 3, 4, 3] })
    // Fragments are values: compiling twice gives the same.
    expect(q.toQuery()).toEqual(q.toQuery())
  })

  it('turns every non-fragment value into a parameter, whatever it looks like', () => {
    const q = sql`select ${'$1'}, ${null}, ${[1, 2]}, ${{ a: 1 }}, ${Buffer.from('x')}`
    expect(q.toQuery().text).toBe('select $1, $2, $3, $4, $5')
    expect(q.toQuery().params).toHaveLength(5)
  })

  it('offers no raw(): text is never spliced', () => {
    expect((sql as unknown as Record<string, unknown>).raw).toBeUndefined()
  })
})

describe('sql tag on a pool (real server)', () => {
  let db: Sql
  const table = `sql_test_${process.pid}_${Date.now()}`
  const victim = `${table}_victim`

  beforeAll(async () => {
    db = createPool({ url: env.url, max: 3 })
    await db`create table ${db.id(table)} (id serial primary key, v text)`
    await db`create table ${db.id(victim)} (id int)`
  })

  afterAll(async () => {
    await db`drop table if exists ${db.id(table)}`
    await db`drop table if exists ${db.id(victim)}`
    await db.end()
  })

  it('resolves to the rows, carrying count, command and columns', async () => {
    const ins = await db<{ id: number }>`insert into ${db.id(table)} (v) values (${'a'}), (${'b'}) returning id`
    expect(ins.command).toBe('INSERT')
    expect(ins.count).toBe(2)
    expect(ins.columns).toEqual(['id'])
    expect(ins).toHaveLength(2)
    const rows = await db<{ v: string }>`select v from ${db.id(table)} where v in ${db.list(['a', 'b', 'zz'])} order by v`
    expect(rows).toEqual([{ v: 'a' }, { v: 'b' }])
    const none = await db`select v from ${db.id(table)} where v in ${db.list([])}`
    expect(none.count).toBe(0)
    const del = await db`delete from ${db.id(table)}`
    expect([del.command, del.count]).toEqual(['DELETE', 2])
  })

  it('keeps values that try to inject as data', async () => {
    const evil = `x'); drop table "${victim}"; --`
    const [row] = await db<{ v: string }>`insert into ${db.id(table)} (v) values (${evil}) returning v`
    expect(row!.v).toBe(evil)
    const [count] = await db<{ n: number }>`select count(*)::int as n from ${db.id(victim)}`
    expect(count!.n).toBe(0) // the table still exists
  })

  it('keeps identifiers that try to inject as one identifier', async () => {
    const weird = `t"; drop table "${victim}"; --`
    await db`create table ${db.id(weird)} (x int)`
    try {
      const found = await db<{ relname: string }>`select relname from pg_class where relname = ${weird}`
      expect(found).toEqual([{ relname: weird }])
      await db`insert into ${db.id(weird)} values (${1})`
      expect(await db`select x from ${db.id(weird)}`).toEqual([{ x: 1 }])
      expect(await db`select to_regclass(${`"${victim}"`}) is not null as ok`).toEqual([{ ok: true }])
    } finally {
      await db`drop table ${db.id(weird)}`
    }
  })

  it('expands a pool query used inside another, which then does not run on its own', async () => {
    const where = db`v = ${'nested'}`
    expect(where).toBeInstanceOf(PendingQuery)
    await db`insert into ${db.id(table)} (v) values (${'nested'})`
    const rows = await db`select v from ${db.id(table)} where ${where} and id > ${0}`
    expect(rows).toEqual([{ v: 'nested' }])
    expect(db`select ${1} where ${where}`.toQuery()).toEqual({ text: 'select $1 where v = $2', params: [1, 'nested'] })
  })

  it('runs lazily: only when awaited, or on execute()', async () => {
    const marker = `lazy-${Date.now()}`
    void db`insert into ${db.id(table)} (v) values (${marker})`
    await new Promise((r) => setTimeout(r, 50))
    expect((await db`select 1 from ${db.id(table)} where v = ${marker}`).count).toBe(0)
    const q = db`insert into ${db.id(table)} (v) values (${marker})`.execute()
    await new Promise((r) => setTimeout(r, 50))
    expect((await db`select 1 from ${db.id(table)} where v = ${marker}`).count).toBe(1)
    expect((await q).count).toBe(1) // awaiting it afterwards does not run it again
    expect((await db`select 1 from ${db.id(table)} where v = ${marker}`).count).toBe(1)
  })

  it('rejects with the server error; catch and finally work on a pending query', async () => {
    await expect(db`select nope`).rejects.toMatchObject({ name: 'PostgresError', code: '42703' })
    let fin = false
    const err = await db`select 1/0`.catch((e: { code: string }) => e.code).finally(() => (fin = true))
    expect(err).toBe('22012')
    expect(fin).toBe(true)
  })

  it('sends values of every kind as parameters', async () => {
    const d = new Date('2024-02-03T04:05:06.789Z')
    const [r] = await db`select ${42}::int as i, ${'é'}::text as t, ${true}::bool as b, ${d}::timestamptz as d, ${Buffer.from([1, 2])}::bytea as y, ${[1, 2]}::int[] as a, ${{ k: [1] }}::jsonb as j, ${null}::text as n`
    expect(r).toEqual({ i: 42, t: 'é', b: true, d, y: Buffer.from([1, 2]), a: [1, 2], j: { k: [1] }, n: null })
  })
})
