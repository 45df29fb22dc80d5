import { describe, expect, it } from 'vitest'
import { lastJson, runChild } from './helpers.js'

const GiB = 1024 * 1024 * 1024
const MAX_RSS_MB = 300

interface Bulk {
  mode: string
  sentBytes: number
  gotBytes: number
  sentHash: string
  gotHash: string
  maxRssMB: number
  ms: number
}

// Each run is a child process, so its peak RSS is its own: 1 GiB through a slow-then-fast
// reader must stay far below 1 GiB of memory.
describe('1 GiB transfer with backpressure at bounded memory', () => {
  for (const mode of ['ours', 'node-server', 'node-client']) {
    it(`${mode}: bytes intact, peak RSS < ${MAX_RSS_MB} MB`, async () => {
      const r = await runChild('bulk.mjs', [mode, String(GiB)], { timeoutMs: 50_000 })
      const j = lastJson<Bulk>(r)
      expect(r.code, r.stderr).toBe(0)
      expect(j.sentBytes).toBe(GiB)
      expect(j.gotBytes).toBe(GiB)
      expect(j.gotHash).toBe(j.sentHash)
      expect(j.maxRssMB).toBeLessThan(MAX_RSS_MB)
    }, 60_000)
  }
})
