import { describe, expect, it } from 'vitest'
import { runChild } from './helpers.js'

describe('the process exits by itself', () => {
  it('after closing every server and socket (no process.exit)', async () => {
    const r = await runChild('exit.mjs', ['close-all'], { timeoutMs: 5000 })
    expect(r.stdout.trim(), r.stderr).toBe('done')
    expect(r.signal).toBe(null)
    expect(r.code).toBe(0)
    expect(r.ms).toBeLessThan(5000)
  })

  it("while unref()'d servers listen and an unref()'d connection is open", async () => {
    const r = await runChild('exit.mjs', ['unref'], { timeoutMs: 5000 })
    expect(r.stdout.trim(), r.stderr).toBe('done')
    expect(r.signal).toBe(null)
    expect(r.code).toBe(0)
  })
})
