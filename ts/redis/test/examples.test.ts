// Runs examples/redis/*.mjs against the real server: each must finish by itself with 0,
// and fail fast with 1 and a clear message when the server is unreachable or refuses the
// credentials.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runExample, type ExampleRun } from '../../../scripts/run-example.mjs'
import { freePort, services } from './helpers.js'

const dir = fileURLToPath(new URL('../../../examples/redis/', import.meta.url))
const env = services()

const run = (file: string, args: string[]): Promise<ExampleRun> => runExample(join(dir, file), args)

describe('examples/redis', () => {
  const authed = `redis://iocrate:${env.redis.users.iocrate}@127.0.0.1:${env.redis.port}`
  for (const file of ['basic.mjs', 'pubsub.mjs', 'pipeline.mjs']) {
    it(`${file} runs to completion`, async () => {
      const r = await run(file, ['--url', authed])
      expect(r.err).toBe('')
      expect(r.code).toBe(0)
      expect(r.out).toMatch(/^ok$/m)
    })

    it(`${file} exits 1 fast when the server is unreachable or refuses the credentials`, async () => {
      const down = await run(file, ['--url', `redis://127.0.0.1:${await freePort()}`])
      expect(down.code).toBe(1)
      expect(down.err).toMatch(/ECONNREFUSED/)
      const refused = await run(file, ['--url', `redis://iocrate:wrong@127.0.0.1:${env.redis.port}`])
      expect(refused.code).toBe(1)
      expect(refused.err).toMatch(/ERR_REDIS_AUTH/)
      expect(refused.ms).toBeLessThan(5000)
    })
  }

  it('pipeline.mjs prints what it did', async () => {
    const r = await run('pipeline.mjs', ['--url', env.redis.url, '--count', '2000'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/pipeline: 2000 SETs/)
    expect(r.out).toMatch(/auto-pipelined: 2000 GETs/)
    expect(r.out).toMatch(/mixed pipeline -> \[ 'OK', 'error: ERR value is not an integer/)
  })
})
