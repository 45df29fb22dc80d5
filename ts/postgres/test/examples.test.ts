// Runs examples/postgres/*.mjs against the real server: each must finish by itself with 0,
// and fail fast with 1 and a clear message when the server is unreachable or refuses the
// credentials.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runExample, type ExampleRun } from '../../../scripts/run-example.mjs'
import { freePort, services } from './helpers.js'

const dir = fileURLToPath(new URL('../../../examples/postgres/', import.meta.url))
const env = services().postgres

const run = (file: string, args: string[]): Promise<ExampleRun> => runExample(join(dir, file), args)

describe('examples/postgres', () => {
  for (const file of ['query.mjs', 'stream-large.mjs', 'copy.mjs', 'listen.mjs']) {
    it(`${file} runs to completion`, async () => {
      const r = await run(file, ['--url', env.url])
      expect(r.err).toBe('')
      expect(r.code).toBe(0)
      expect(r.out).toMatch(/^ok$/m)
    })

    it(`${file} exits 1 fast when the server is unreachable or refuses the credentials`, async () => {
      const down = await run(file, ['--url', `postgres://iocrate:x@127.0.0.1:${await freePort()}/iocrate`])
      expect(down.code).toBe(1)
      expect(down.err).toMatch(/ECONNREFUSED/)
      const refused = await run(file, ['--url', `postgres://iocrate:wrong@127.0.0.1:${env.port}/${env.database}`])
      expect(refused.code).toBe(1)
      expect(refused.err).toMatch(/28P01/)
      expect(refused.ms).toBeLessThan(5000)
    })
  }

  it('stream-large.mjs counts every row of the generated result', async () => {
    const r = await run('stream-large.mjs', ['--url', env.url])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^rows: 1000000 \(sum of i: 500000500000\)/m)
  })
})
