import { describe, expect, it } from 'vitest'
import { lastJson, runChild, type ChildResult } from './helpers.js'

const N = 10_000

/**
 * Server and clients run in two children (each needs N descriptors; the hard limit here
 * may be 20000), each with `ulimit -n` raised. The server child closes and exits by itself
 * once all N connections have come and gone.
 */
async function many(serverKind: 'ours' | 'node', clientKind: 'ours' | 'node') {
  let clients: Promise<ChildResult> | undefined
  const server = runChild('many-server.mjs', [serverKind, String(N)], {
    timeoutMs: 60_000,
    onStdout: (line) => {
      const m = /^listening (\d+)/.exec(line)
      if (m) clients = runChild('many-clients.mjs', [clientKind, m[1]!, String(N)], { timeoutMs: 55_000 })
    },
  })
  const s = await server
  expect(clients, `server did not start:\n${s.stdout}\n${s.stderr}`).toBeDefined()
  const c = await clients!
  const cj = lastJson<{ ok: number; failed: number; errors: Record<string, number>; allOpen: number }>(c)
  const sj = lastJson<{ accepted: number; peak: number; bytes: number }>(s)
  expect(c.code, c.stderr).toBe(0)
  expect(s.code, s.stderr).toBe(0)
  expect(cj.failed, JSON.stringify(cj.errors)).toBe(0)
  expect(cj.ok).toBe(N)
  expect(cj.allOpen).toBe(N)
  expect(sj.accepted).toBe(N)
  expect(sj.peak).toBe(N)
}

describe(`${N} concurrent connections`, () => {
  it('our server, node:net clients', () => many('ours', 'node'), 70_000)
  it('our clients, node:net server', () => many('node', 'ours'), 70_000)
})
