#!/usr/bin/env node
// Publish/subscribe with itself: subscribes to a channel and a pattern, publishes a few
// messages, waits for them all, then unsubscribes and exits.
//   node examples/redis/pubsub.mjs --url redis://127.0.0.1:6379
import { parseArgs } from 'node:util'
import { createClient } from '@iocrate/redis'

const { values } = parseArgs({ options: { url: { type: 'string', default: 'redis://127.0.0.1:6379' } } })
const redis = createClient({ url: values.url, connectTimeout: 5000 })
const channel = `example:pubsub:${process.pid}`

try {
  await redis.connect()
  const expected = 6
  let received = 0
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received} of ${expected} messages arrived`)), 5000)
    const count = () => {
      if (++received === expected) {
        clearTimeout(timer)
        resolve()
      }
    }
    // Subscriptions run on a connection of their own; this client still runs commands.
    redis
      .subscribe(channel, (message, ch) => {
        console.log(`[${ch}] ${message}`)
        count()
      })
      .then(() =>
        redis.psubscribe(`${channel}:*`, (message, ch, pattern) => {
          console.log(`[${pattern} -> ${ch}] ${message}`)
          count()
        }),
      )
      .then(async () => {
        for (let i = 1; i <= 3; i++) {
          await redis.publish(channel, `message ${i}`)
          await redis.publish(`${channel}:news`, `news ${i}`)
        }
      })
      .catch(reject)
  })
  await done
  await redis.unsubscribe(channel)
  await redis.punsubscribe(`${channel}:*`)
  await redis.close()
  console.log('ok')
} catch (err) {
  console.error(`pubsub.mjs: ${err.code ?? 'error'}: ${err.message}`)
  redis.disconnect()
  process.exitCode = 1
}
