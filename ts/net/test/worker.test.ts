// Environment teardown: a worker thread that ends without closing its sockets must not
// leave them open in the shared runtime — its server stops listening and its accepted
// connection is closed.
import * as nodeNet from 'node:net'
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURES } from './helpers.js'

describe('worker threads', () => {
  it('closes what a worker opened when the worker ends', async () => {
    const w = new Worker(join(FIXTURES, 'worker-env.mjs'))
    const [{ port }] = (await once(w, 'message')) as [{ port: number }]
    const c = nodeNet.connect(port, '127.0.0.1')
    c.on('error', () => {})
    await once(c, 'connect')
    await once(w, 'message') // accepted
    const closed = once(c, 'close')
    w.postMessage('exit')
    await once(w, 'exit')
    await closed // the worker's connection was closed by the teardown
    const again = nodeNet.connect(port, '127.0.0.1')
    const [err] = (await once(again, 'error')) as [NodeJS.ErrnoException]
    expect(err.code).toBe('ECONNREFUSED')
  })
})
