import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createServer } from '@iocrate/http'
import { closeServers, killChildren, parseResponses, raw, start } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'iocrate-http-routes-'))
afterEach(async () => {
  killChildren()
  await closeServers()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function routesServer(jsCalls: string[]) {
  const file = join(dir, 'data.json')
  writeFileSync(file, JSON.stringify({ from: 'file', n: [1, 2, 3] }))
  const bin = join(dir, 'blob.weird')
  writeFileSync(bin, Buffer.from([0, 1, 2, 255]))
  return createServer(
    {
      routes: [
        { path: '/health', body: 'ok', headers: { 'X-Route': 'static', 'Cache-Control': ['no-store', 'private'] } },
        { path: '/created', method: 'POST', status: 201, body: Buffer.from('made') },
        { path: '/data.json', file },
        { path: '/blob', file: bin },
        { path: '/typed', file, headers: { 'content-type': 'text/x-custom' } },
      ],
    },
    (req, res) => {
      jsCalls.push(`${req.method} ${req.url}`)
      res.end(`js:${req.method} ${req.url}`)
    },
  )
}

describe('static routes (answered in Rust)', () => {
  it('body and file routes; query strings, other methods and other paths go to JS', async () => {
    const js: string[] = []
    const port = await start(routesServer(js))
    const H = 'Host: x\r\n'
    const req = [
      `GET /health HTTP/1.1\r\n${H}\r\n`,
      `GET /data.json HTTP/1.1\r\n${H}\r\n`,
      `GET /blob HTTP/1.1\r\n${H}\r\n`,
      `GET /typed HTTP/1.1\r\n${H}\r\n`,
      `POST /created HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
      `GET /health?x=1 HTTP/1.1\r\n${H}\r\n`,
      `POST /health HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhi`,
      `GET /created HTTP/1.1\r\n${H}\r\n`,
      `GET /healthz HTTP/1.1\r\n${H}\r\n`,
      `HEAD /health HTTP/1.1\r\n${H}\r\n`,
      `GET /other HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    ]
    const methods = req.map((r) => r.split(' ')[0]!)
    const r = await raw(port, req.join(''), { waitMs: 10_000 })
    expect(r.closed).toBe(true)
    const rs = parseResponses(r.data, methods)
    expect(rs).toHaveLength(req.length)
    const [health, data, blob, typed, created, query, post, getCreated, healthz, head, other] = rs as [typeof rs[0], ...typeof rs]
    expect(health.status).toBe(200)
    expect(health.body.toString()).toBe('ok')
    expect(health.headers['x-route']).toEqual(['static'])
    expect(health.headers['cache-control']).toEqual(['no-store', 'private'])
    expect(health.headers['content-length']).toEqual(['2'])
    expect(data!.headers['content-type']).toEqual(['application/json'])
    expect(JSON.parse(data!.body.toString())).toEqual({ from: 'file', n: [1, 2, 3] })
    expect(blob!.headers['content-type']).toEqual(['application/octet-stream'])
    expect([...blob!.body]).toEqual([0, 1, 2, 255])
    expect(typed!.headers['content-type']).toEqual(['text/x-custom'])
    expect(created!.status).toBe(201)
    expect(created!.body.toString()).toBe('made')
    expect(query!.body.toString()).toBe('js:GET /health?x=1')
    expect(post!.body.toString()).toBe('js:POST /health')
    expect(getCreated!.body.toString()).toBe('js:GET /created')
    expect(healthz!.body.toString()).toBe('js:GET /healthz')
    expect(head!.body.length).toBe(0)
    expect(other!.body.toString()).toBe('js:GET /other')
    // A route matches its method only: HEAD of a GET route is the JS handler's (no body on the wire).
    expect(head!.headers['content-length']).toEqual([String('js:HEAD /health'.length)])
    expect(js).toEqual(['GET /health?x=1', 'POST /health', 'GET /created', 'GET /healthz', 'HEAD /health', 'GET /other'])
  })

  it('a static route answers while the JS thread is blocked; a JS route waits for it', async () => {
    const js: string[] = []
    const port = await start(routesServer(js))
    const BLOCK = 2500
    // The child curls the static route, prints when it finished, then a JS route.
    const script = `sleep 0.3
      curl -sS -m 20 http://127.0.0.1:${port}/health; echo " static_done=$(date +%s%3N)"
      curl -sS -m 20 http://127.0.0.1:${port}/js; echo " js_done=$(date +%s%3N)"`
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    const exited = new Promise<number | null>((r) => child.on('close', r))
    const t0 = Date.now()
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BLOCK)
    const blockEnd = Date.now()
    expect(await exited).toBe(0)
    const staticDone = +/static_done=(\d+)/.exec(out)![1]!
    const jsDone = +/js_done=(\d+)/.exec(out)![1]!
    expect(out).toMatch(/^ok static_done=/)
    expect(out).toContain('js:GET /js js_done=')
    // Answered inside the block (by Rust), while the JS route had to wait for it to end.
    expect(staticDone).toBeGreaterThan(t0)
    expect(staticDone).toBeLessThan(blockEnd)
    expect(jsDone).toBeGreaterThanOrEqual(blockEnd - 5)
    expect(js).toEqual(['GET /js'])
  }, 30_000)

  it('an invalid route header is rejected at listen', async () => {
    const server = createServer({ routes: [{ path: '/x', headers: { 'bad name': 'v' } }] })
    const err = await new Promise<{ code?: string }>((resolve) => {
      server.once('error', resolve)
      server.listen(0, '127.0.0.1')
    })
    expect(err.code).toBe('ERR_INVALID_HTTP_TOKEN')
  })
})
