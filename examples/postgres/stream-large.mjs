#!/usr/bin/env node
// Streams a generated 1M-row result in batches and prints the count: the next batch is
// fetched only when the last one was taken, so memory stays flat.
//   node examples/postgres/stream-large.mjs --url postgres://USER:PASS@HOST:PORT/DB [--rows 1000000]
import { parseArgs } from 'node:util'
import { connect } from '@iocrate/postgres'

const { values } = parseArgs({
  options: { url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' }, rows: { type: 'string', default: '1000000' } },
})

let db
try {
  db = await connect({ url: values.url, connectTimeout: 5000 })
  const t0 = performance.now()
  let count = 0
  let sum = 0
  let peak = 0
  const text = "select i, md5(i::text) as hash, now() + i * interval '1 second' as at from generate_series(1, $1::int) i"
  for await (const batch of db.cursor(text, [Number(values.rows)], { batchSize: 5000 })) {
    count += batch.length
    for (const row of batch) sum += row.i
    peak = Math.max(peak, process.memoryUsage().rss)
  }
  const s = (performance.now() - t0) / 1000
  console.log(`rows: ${count} (sum of i: ${sum}) in ${s.toFixed(2)} s, ${Math.round(count / s)} rows/s, peak RSS ${Math.round(peak / 1048576)} MiB`)
  await db.end()
  console.log('ok')
} catch (err) {
  console.error(`stream-large.mjs: ${err.code ?? 'error'}: ${err.message}`)
  process.exitCode = 1
  db?.end().catch(() => {})
}
