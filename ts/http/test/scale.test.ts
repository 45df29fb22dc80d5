import { describe, expect, it } from 'vitest'
import type { ChildProcess } from 'node:child_process'
import { runFixture, sleep } from './helpers.js'

const N = 10_000

/**
 * Server and clients each run in a child process with `ulimit -n` raised (each side needs
 * N descriptors; the hard limit may be 20000, too few for both in one process).
 */
describe(`${N} concurrent keep-alive connections`, () => {
  it('each does 2 requests; all are answered and server.connections reaches N at the peak', async () => {
    let serverChild: ChildProcess | undefined
    let port = 0
    const lines: string[] = []
    const server = runFixture('many-http-server.mjs', [], {
      timeoutMs: 55_000,
      onStdout: (line, child) => {
        serverChild = child
        lines.push(line)
        const m = /^listening (\d+)/.exec(line)
        if (m) port = +m[1]!
      },
    })
    for (let i = 0; i < 500 && port === 0; i++) await sleep(20)
    expect(port, 'the server child did not start').toBeGreaterThan(0)
    /** Asks the server child for server.connections. */
    const count = async (): Promise<number> => {
      const before = lines.length
      serverChild!.stdin!.write('count\n')
      for (let i = 0; i < 250; i++) {
        const l = lines.slice(before).find((x) => x.startsWith('connections '))
        if (l) return +l.split(' ')[1]!
        await sleep(20)
      }
      throw new Error('no answer from the server child')
    }
    let atAllOpen = -1
    let stepError: unknown
    const clients = await runFixture('many-http-clients.mjs', [String(port), String(N)], {
      timeoutMs: 50_000,
      onStdout: (line, child) => {
        if (!line.startsWith('allopen')) return
        void (async () => {
          try {
            // The server may count the last few a moment later.
            for (let i = 0; i < 50; i++) {
              atAllOpen = await count()
              if (atAllOpen >= N) break
              await sleep(50)
            }
          } catch (e) {
            stepError = e
          }
          child.stdin!.write('go\n')
        })()
      },
    })
    expect(stepError).toBeUndefined()
    const last = clients.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()
    expect(last, `no result from the client child (code ${clients.code}):\n${clients.stdout.slice(-2000)}\n${clients.stderr.slice(-2000)}`).toBeDefined()
    const c = JSON.parse(last!) as { first: number; ok: number; failed: number; errors: Record<string, number>; allOpen: number }
    expect(clients.code, clients.stderr).toBe(0)
    expect(c.failed, JSON.stringify(c.errors)).toBe(0)
    expect(c.allOpen).toBe(N)
    expect(c.first).toBe(N)
    expect(c.ok).toBe(N)
    expect(atAllOpen).toBe(N)
    // The clients closed: the server lets go of every connection.
    let left = -1
    for (let i = 0; i < 100; i++) {
      left = await count()
      if (left === 0) break
      await sleep(50)
    }
    expect(left).toBe(0)
    serverChild!.stdin!.write('close\n')
    const s = await server
    const sj = JSON.parse(s.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? 'null') as { requests: number; peak: number } | null
    expect(s.code, s.stderr).toBe(0)
    expect(sj?.requests).toBe(2 * N)
    expect(sj?.peak).toBe(N)
  }, 60_000)
})
