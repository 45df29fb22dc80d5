#!/usr/bin/env node
// COPY in and out: loads 100,000 CSV rows into a temporary table with COPY FROM STDIN,
// then streams them back out with COPY TO STDOUT.
//   node examples/postgres/copy.mjs --url postgres://USER:PASS@HOST:PORT/DB
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { connect } from '@iocrate/postgres'

const { values } = parseArgs({ options: { url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' } } })
const N = 100_000

let db
try {
  db = await connect({ url: values.url, connectTimeout: 5000 })
  await db.query('create temp table measurements (id int, sensor text, value float8)')

  function* csv() {
    for (let i = 0; i < N; i++) yield `${i},sensor-${i % 10},${(Math.sin(i) * 100).toFixed(3)}\n`
  }
  let t0 = performance.now()
  await pipeline(Readable.from(csv()), await db.copyFrom('copy measurements from stdin with (format csv)'))
  const [{ n }] = await db.sql`select count(*)::int as n from measurements`
  console.log(`COPY FROM: ${n} rows in ${(performance.now() - t0).toFixed(0)} ms`)

  t0 = performance.now()
  let bytes = 0
  let lines = 0
  for await (const chunk of db.copyTo('copy (select * from measurements order by id) to stdout with (format csv)')) {
    bytes += chunk.length
    for (const b of chunk) if (b === 10) lines++
  }
  console.log(`COPY TO: ${lines} lines, ${bytes} bytes in ${(performance.now() - t0).toFixed(0)} ms`)
  if (lines !== N) throw new Error(`expected ${N} lines, got ${lines}`)
  await db.end()
  console.log('ok')
} catch (err) {
  console.error(`copy.mjs: ${err.code ?? 'error'}: ${err.message}`)
  process.exitCode = 1
  db?.end().catch(() => {})
}
