#!/usr/bin/env node
// The basics: strings, a counter, a hash, a list, expiry, and a transaction.
//   node examples/redis/basic.mjs --url redis://127.0.0.1:6379
//   node examples/redis/basic.mjs --url redis://USER:PASS@HOST:PORT
// Exits 0 when everything worked; 1 with a one-line reason when the server is unreachable
// or refuses the credentials.
import { parseArgs } from 'node:util'
import { createClient } from '@iocrate/redis'

const { values } = parseArgs({ options: { url: { type: 'string', default: 'redis://127.0.0.1:6379' } } })
// The first connection fails fast; give the example a bounded connect time.
const redis = createClient({ url: values.url, connectTimeout: 5000 })
const key = (name) => `example:basic:${process.pid}:${name}`

try {
  await redis.connect()
  await redis.set(key('greeting'), 'hello from iocrate')
  console.log('GET greeting ->', await redis.get(key('greeting')))

  await redis.set(key('visits'), 0)
  // These three are sent in one write: commands issued in the same tick are pipelined.
  const [a, b, c] = await Promise.all([redis.incr(key('visits')), redis.incr(key('visits')), redis.incr(key('visits'))])
  console.log('INCR x3 ->', a, b, c)

  await redis.call('HSET', key('user'), 'name', 'Ada', 'lang', 'en')
  console.log('HGETALL user ->', await redis.hgetall(key('user')))

  await redis.call('RPUSH', key('queue'), 'first', 'second')
  console.log('BLPOP queue ->', await redis.blpop(key('queue'), 1))

  await redis.set(key('temp'), 'soon gone', { px: 50 })
  await new Promise((r) => setTimeout(r, 100))
  console.log('GET temp after expiry ->', await redis.get(key('temp')))

  const tx = await redis.multi().incr(key('visits')).get(key('visits')).exec()
  console.log('MULTI/EXEC ->', tx)

  await redis.del([key('greeting'), key('visits'), key('user'), key('queue')])
  await redis.close()
  console.log('ok')
} catch (err) {
  console.error(`basic.mjs: ${err.code ?? 'error'}: ${err.message}`)
  redis.disconnect()
  process.exitCode = 1
}
