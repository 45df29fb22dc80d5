import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createServer } from '@iocrate/http'
import { closeServers, killChildren, pattern, run, start } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'iocrate-http-curl-'))
afterEach(async () => {
  killChildren()
  await closeServers()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A server that reports what it got: method, url, version, framing headers, body size and sha256. */
async function echoServer(): Promise<{ port: number; log: Record<string, unknown>[] }> {
  const log: Record<string, unknown>[] = []
  const server = createServer(async (req, res) => {
    if (req.url.startsWith('/download/')) {
      const size = +req.url.slice('/download/'.length)
      const block = pattern(1024 * 1024, 5)
      res.setHeader('content-type', 'application/octet-stream')
      let sent = 0
      const pump = (): void => {
        while (sent < size) {
          const n = Math.min(block.length, size - sent)
          sent += n
          if (sent >= size) return void res.end(block.subarray(0, n))
          if (!res.write(block.subarray(0, n))) return void res.once('drain', pump)
        }
      }
      pump()
      return
    }
    const h = createHash('sha256')
    let n = 0
    for await (const c of req) {
      h.update(c as Buffer)
      n += (c as Buffer).length
    }
    const entry = {
      method: req.method,
      url: req.url,
      version: req.httpVersion,
      te: req.headers['transfer-encoding'],
      cl: req.headers['content-length'],
      expect: req.headers.expect,
      port: req.socket.remotePort,
      size: n,
      sha: h.digest('hex'),
    }
    log.push(entry)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(entry))
  })
  return { port: await start(server), log }
}

describe('curl → our server', () => {
  it('keep-alive: two URLs in one curl call reuse the connection', async () => {
    const { port, log } = await echoServer()
    const r = await run('curl', ['-sS', '-v', `http://127.0.0.1:${port}/one`, `http://127.0.0.1:${port}/two`])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/Re-using existing connection/i)
    expect(r.stderr.match(/Connected to/g) ?? []).toHaveLength(1)
    expect(log.map((e) => e.url)).toEqual(['/one', '/two'])
    expect(log[0]!.port).toBe(log[1]!.port)
    const out = r.stdout.toString()
    expect(out).toContain('"url":"/one"')
    expect(out).toContain('"url":"/two"')
  })

  it('--http1.0: answered and the connection closed', async () => {
    const { port, log } = await echoServer()
    const r = await run('curl', ['-sS', '-v', '--http1.0', `http://127.0.0.1:${port}/old`, `http://127.0.0.1:${port}/old2`])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/< HTTP\/1\.[01] 200/)
    expect(log.map((e) => [e.url, e.version])).toEqual([
      ['/old', '1.0'],
      ['/old2', '1.0'],
    ])
    // No keep-alive for 1.0 without `Connection: keep-alive`: two connections.
    expect(r.stderr.match(/Connected to/g) ?? []).toHaveLength(2)
    expect(r.stderr).not.toMatch(/Re-using existing connection/i)
    expect(log[0]!.port).not.toBe(log[1]!.port)
  })

  it('chunked upload with --data-binary @file', async () => {
    const { port, log } = await echoServer()
    const data = pattern(3 * 1024 * 1024 + 17, 11)
    const file = join(dir, 'chunked.bin')
    writeFileSync(file, data)
    const r = await run('curl', ['-sS', '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `http://127.0.0.1:${port}/chunked`])
    expect(r.code, r.stderr).toBe(0)
    const e = JSON.parse(r.stdout.toString()) as Record<string, unknown>
    expect(e.te).toBe('chunked')
    expect(e.cl).toBeUndefined()
    expect(e.size).toBe(data.length)
    expect(e.sha).toBe(createHash('sha256').update(data).digest('hex'))
    expect(log).toHaveLength(1)
  })

  it('Expect: 100-continue with a 3 MB body', async () => {
    const { port } = await echoServer()
    const data = pattern(3 * 1000 * 1000, 13)
    const file = join(dir, 'expect.bin')
    writeFileSync(file, data)
    // A long --expect100-timeout: curl must not fall back to sending without the 100.
    const r = await run('curl', ['-sS', '-v', '--expect100-timeout', '20', '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, `http://127.0.0.1:${port}/expect`])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/< HTTP\/1\.1 100 Continue/)
    expect(r.ms).toBeLessThan(15_000)
    const e = JSON.parse(r.stdout.toString()) as Record<string, unknown>
    expect(e.expect).toBe('100-continue')
    expect(e.size).toBe(data.length)
    expect(e.sha).toBe(createHash('sha256').update(data).digest('hex'))
  }, 30_000)

  it('a 64 MiB download, checked by size and sha256', async () => {
    const { port } = await echoServer()
    const SIZE = 64 * 1024 * 1024
    const block = pattern(1024 * 1024, 5)
    const h = createHash('sha256')
    for (let i = 0; i < 64; i++) h.update(block)
    const file = join(dir, 'download.bin')
    const r = await run('curl', ['-sS', '-o', file, '-w', '%{size_download} %{http_code}', `http://127.0.0.1:${port}/download/${SIZE}`], { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toBe(`${SIZE} 200`)
    const s = await run('sha256sum', [file])
    expect(s.stdout.toString().split(' ')[0]).toBe(h.digest('hex'))
  }, 60_000)
})
