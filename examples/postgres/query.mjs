#!/usr/bin/env node
// Queries: parameters (never spliced into the text), pipelining, errors that leave the
// connection usable.
//   node examples/postgres/query.mjs --url postgres://USER:PASS@HOST:PORT/DB
import { parseArgs } from 'node:util'
import { connect } from '@iocrate/postgres'

const { values } = parseArgs({ options: { url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' } } })

let db
try {
  db = await connect({ url: values.url, connectTimeout: 5000 })
  console.log('connected to PostgreSQL', db.parameters.get('server_version'))

  await db.query('create temp table users (id serial primary key, name text not null, tags text[], meta jsonb)')
  const name = "Robert'); drop table users; --"
  await db.query('insert into users (name, tags, meta) values ($1, $2, $3)', [name, ['admin', 'ops'], { since: 2024 }])
  await db.query('insert into users (name) values ($1)', ['Ada'])

  // A tagged template: every ${value} is a parameter.
  const rows = await db.sql`select id, name, tags, meta from users order by id`
  console.log(rows)

  // Issued in one tick: one write, answered in order.
  const counts = await Promise.all([1, 2, 3].map((n) => db.sql`select count(*)::int as n from users where id <= ${n}`))
  console.log('counts', counts.map((r) => r[0].n))

  // A server error rejects that query only, with every field of the error.
  await db.query('insert into users (name) values (null)').catch((e) => console.log(`error ${e.code}: ${e.message} (column ${e.column})`))
  console.log('still usable:', (await db.query('select 1 as one')).rows)

  await db.end()
  console.log('ok')
} catch (err) {
  console.error(`query.mjs: ${err.code ?? 'error'}: ${err.message}`)
  process.exitCode = 1
  db?.end().catch(() => {})
}
