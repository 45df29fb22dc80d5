#!/usr/bin/env node
// Explicit pipelines and automatic pipelining, timed: 10,000 SETs and GETs.
//   node examples/redis/pipeline.mjs --url redis://127.0.0.1:6379 [--count 10000]
import { parseArgs } from 'node:util'
import { createClient } from '@iocrate/redis'

const { values } = parseArgs({
  options: { url: { type: 'string', default: 'redis://127.0.0.1:6379' }, count: { type: 'string', default: '10000' } },
})
const n = Number(values.count)
const redis = createClient({ url: values.url, connectTimeout: 5000 })
const key = (i) => `example:pipeline:${process.pid}:${i}`

try {
  await redis.connect()

  // 1. An explicit pipeline: queue, then one write; replies come back in order.
  let t0 = performance.now()
  const pipe = redis.pipeline()
  for (let i = 0; i < n; i++) pipe.set(key(i), `value ${i}`)
  const setReplies = await pipe.exec()
  console.log(`pipeline: ${setReplies.length} SETs in ${(performance.now() - t0).toFixed(1)} ms`)

  // 2. Automatic pipelining: plain awaits issued in the same tick share writes.
  t0 = performance.now()
  const values2 = await Promise.all(Array.from({ length: n }, (_, i) => redis.get(key(i))))
  console.log(`auto-pipelined: ${values2.length} GETs in ${(performance.now() - t0).toFixed(1)} ms`)

  const wrong = values2.findIndex((v, i) => v !== `value ${i}`)
  if (wrong >= 0) throw new Error(`GET ${key(wrong)} returned ${values2[wrong]}`)

  // 3. Errors stay in their place in a pipeline.
  const mixed = await redis.pipeline().set(key('x'), 'text').call('INCR', key('x')).get(key('x')).exec()
  console.log('mixed pipeline ->', mixed.map((r) => (r instanceof Error ? `error: ${r.message}` : r)))

  const del = redis.pipeline()
  for (let i = 0; i < n; i++) del.del(key(i))
  del.del(key('x'))
  await del.exec()
  await redis.close()
  console.log('ok')
} catch (err) {
  console.error(`pipeline.mjs: ${err.code ?? 'error'}: ${err.message}`)
  redis.disconnect()
  process.exitCode = 1
}
