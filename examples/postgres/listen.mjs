#!/usr/bin/env node
// LISTEN/NOTIFY with itself: one connection listens, another notifies; exits once every
// notification arrived.
//   node examples/postgres/listen.mjs --url postgres://USER:PASS@HOST:PORT/DB
import { parseArgs } from 'node:util'
import { connect } from '@iocrate/postgres'

const { values } = parseArgs({ options: { url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' } } })
const channel = `example_${process.pid}`

let listener
let notifier
try {
  listener = await connect({ url: values.url, connectTimeout: 5000 })
  notifier = await connect({ url: values.url, connectTimeout: 5000 })
  const expected = ['hello', 'wörld', JSON.stringify({ order: 42 })]
  const got = []
  const all = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${expected.length} notifications arrived`)), 5000)
    listener
      .listen(channel, (payload, ch) => {
        console.log(`[${ch}] ${payload}`)
        got.push(payload)
        if (got.length === expected.length) {
          clearTimeout(timer)
          resolve()
        }
      })
      .then(async () => {
        for (const p of expected) await notifier.notify(channel, p)
      })
      .catch(reject)
  })
  await all
  await Promise.all([listener.end(), notifier.end()])
  console.log('ok')
} catch (err) {
  console.error(`listen.mjs: ${err.code ?? 'error'}: ${err.message}`)
  process.exitCode = 1
  listener?.end().catch(() => {})
  notifier?.end().catch(() => {})
}
