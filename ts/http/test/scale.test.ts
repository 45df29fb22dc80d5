import { describe, expect, it } from 'vitest'
import { createServer } from '@iocrate/http'
import { closeServers, runFixture, sleep, start } from './helpers.js'

const N = 10_000

describe(`${N} concurrent keep-alive connections`, () => {
  it('each does 2 requests; all are answered and the server holds all of them at once', async () => {
    let requests = 0
    // Idle connections must survive until every client has connected.
    const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      requests++
      res.end(req.url.slice(1))
    })
    try {
      const port = await start(server)
      let peak = 0
      let atAllOpen = -1
      const probe = setInterval(() => (peak = Math.max(peak, server.connections)), 25)
      // The clients run in a child (each side needs N descriptors).
      const r = await runFixture('many-http-clients.mjs', [String(port), String(N)], {
        timeoutMs: 50_000,
        onStdout: (line, child) => {
          if (!line.startsWith('allopen')) return
          void (async () => {
            // The server may count the last few a moment later.
            for (let i = 0; i < 100 && server.connections < N; i++) await sleep(20)
            atAllOpen = server.connections
            peak = Math.max(peak, atAllOpen)
            child.stdin!.write('go\n')
          })()
        },
      })
      clearInterval(probe)
      const last = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()
      expect(last, `no result from the client child (code ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBeDefined()
      const res = JSON.parse(last!) as { first: number; ok: number; failed: number; errors: Record<string, number>; allOpen: number; openMs: number; totalMs: number }
      expect(r.code, r.stderr).toBe(0)
      expect(res.failed, JSON.stringify(res.errors)).toBe(0)
      expect(res.allOpen).toBe(N)
      expect(res.first).toBe(N)
      expect(res.ok).toBe(N)
      expect(requests).toBe(2 * N)
      expect(atAllOpen).toBe(N)
      expect(peak).toBe(N)
      // Clients closed: the server lets go of every connection.
      for (let i = 0; i < 250 && server.connections > 0; i++) await sleep(20)
      expect(server.connections).toBe(0)
    } finally {
      await closeServers()
    }
  }, 60_000)
})
