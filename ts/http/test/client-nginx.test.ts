// The @iocrate/http client against a real nginx (started from a config written into a temp dir).
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as nodeNet from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, fetch, request } from '@iocrate/http'
import { freePort, pattern, sleep } from './client-helpers.js'

const NGINX = '/usr/sbin/nginx'
const have = existsSync(NGINX)
if (!have) console.warn(`client-nginx.test.ts: skipped, nginx is not installed at ${NGINX}`)

const TEXT = 'nginx says hello. '.repeat(4000)

describe.skipIf(!have)('client against nginx', () => {
  let dir: string
  let port: number
  let origin: string
  let nginx: ChildProcess | undefined
  let stderr = ''
  const big = pattern(1024 * 1024, 77)

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iocrate-client-nginx-'))
    const www = join(dir, 'www')
    mkdirSync(www)
    writeFileSync(join(www, 'big.bin'), big)
    writeFileSync(join(www, 'text.txt'), TEXT)
    port = await freePort()
    origin = `http://127.0.0.1:${port}`
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${dir}/${t}_temp;`).join('\n')
    const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
    log_format conn '$connection $connection_requests $status "$request"';
    access_log ${dir}/access.log conn;
${temp}
    types { text/plain txt; application/octet-stream bin; }
    default_type application/octet-stream;
    keepalive_timeout 65s;
    keepalive_requests 100000;
    gzip on;
    gzip_min_length 100;
    gzip_types text/plain;
    server {
        listen 127.0.0.1:${port};
        server_name localhost;
        root ${www};
        location = /hello { default_type text/plain; return 200 'hello from nginx'; }
        location = /old { return 301 /hello; }
        location = /noka { keepalive_timeout 0; default_type text/plain; return 200 'no keep-alive'; }
        location = /noka-slow.bin { keepalive_timeout 0; limit_rate 4m; alias ${www}/big.bin; }
        location = /echo-method { default_type text/plain; return 200 $request_method; }
        location /files/ { alias ${www}/; }
    }
}
`
    writeFileSync(join(dir, 'nginx.conf'), conf)
    nginx = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
    nginx.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((res) => {
        const s = nodeNet.connect(port, '127.0.0.1', () => {
          s.destroy()
          res(true)
        })
        s.on('error', () => res(false))
      })
      if (ok) break
      if (i > 400 || nginx.exitCode !== null) {
        const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''
        throw new Error(`nginx did not start: ${stderr}\n${log}`)
      }
      await sleep(25)
    }
  })

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGTERM')
      const gone = await Promise.race([new Promise((r) => nginx?.once('exit', () => r(true))), sleep(5000).then(() => false)])
      if (!gone) nginx.kill('SIGKILL')
    }
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Access log lines: `[connection serial, request number on it, status, request line]`. */
  function accessLines(): string[][] {
    return readFileSync(join(dir, 'access.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
  }
  const connectionsIn = (lines: string[][]): number => new Set(lines.map((l) => l[0])).size
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
  // nginx writes a log line just after the response went out: wait for the log to settle
  // before counting from it, and for the expected lines to land before reading them.
  async function settledCount(): Promise<number> {
    let n = accessLines().length
    for (let i = 0; i < 40; i++) {
      await pause(25)
      const m = accessLines().length
      if (m === n) break
      n = m
    }
    return n
  }
  async function linesSince(before: number, want: number): Promise<string[][]> {
    let lines = accessLines().slice(before)
    for (let i = 0; i < 100 && lines.length < want; i++) {
      await pause(20)
      lines = accessLines().slice(before)
    }
    return lines
  }

  it('keep-alive GETs of a `return 200` location reuse one connection', async () => {
    const a = new Agent()
    try {
      const before = await settledCount()
      for (let i = 0; i < 10; i++) {
        const res = await request(`${origin}/hello`, { agent: a })
        expect(res.statusCode).toBe(200)
        expect(res.headers.server).toMatch(/^nginx/)
        expect(res.headers.connection).toBe('keep-alive')
        expect(await res.text()).toBe('hello from nginx')
      }
      const r = await request(`${origin}/echo-method`, { agent: a, method: 'OPTIONS' })
      expect(await r.text()).toBe('OPTIONS')
      const lines = await linesSince(before, 11)
      expect(lines).toHaveLength(11)
      expect(connectionsIn(lines)).toBe(1)
      expect(lines.map((l) => Number(l[1]))).toEqual(Array.from({ length: 11 }, (_, i) => i + 1))
    } finally {
      a.close()
    }
  })

  it('the 1 MiB static file arrives byte-exact (request and fetch)', async () => {
    const a = new Agent()
    try {
      const res = await request(`${origin}/big.bin`, { agent: a })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-length']).toBe(String(big.length))
      expect(res.headers['content-type']).toBe('application/octet-stream')
      const body = await res.buffer()
      expect(body.length).toBe(big.length)
      expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'))
      const f = await fetch(`${origin}/files/big.bin`, { agent: a })
      expect(Buffer.from(await f.arrayBuffer()).equals(big)).toBe(true)
    } finally {
      a.close()
    }
  })

  it('gzip: nginx compresses text, fetch decodes it; request() without decompress gets the gzip bytes', async () => {
    const a = new Agent()
    try {
      const f = await fetch(`${origin}/text.txt`, { agent: a })
      expect(f.status).toBe(200)
      expect(f.headers.get('content-encoding')).toBeNull()
      expect(await f.text()).toBe(TEXT)
      const raw = await request(`${origin}/text.txt`, { agent: a, headers: { 'accept-encoding': 'gzip' } })
      expect(raw.headers['content-encoding']).toBe('gzip')
      const bytes = await raw.buffer()
      expect(bytes.length).toBeLessThan(TEXT.length / 10)
      const { gunzipSync } = await import('node:zlib')
      expect(gunzipSync(bytes).toString()).toBe(TEXT)
    } finally {
      a.close()
    }
  })

  it('a 301 redirect is followed by fetch and by request() with maxRedirects', async () => {
    const a = new Agent()
    try {
      const m = await request(`${origin}/old`, { agent: a })
      expect(m.statusCode).toBe(301)
      expect(m.headers.location).toMatch(/\/hello$/)
      await m.buffer()
      const f = await fetch(`${origin}/old`, { agent: a })
      expect(f.redirected).toBe(true)
      expect(f.url).toBe(`${origin}/hello`)
      expect(await f.text()).toBe('hello from nginx')
      const r = await request(`${origin}/old`, { agent: a, maxRedirects: 2 })
      expect(r.statusCode).toBe(200)
      expect(r.redirected).toBe(1)
      expect(await r.text()).toBe('hello from nginx')
    } finally {
      a.close()
    }
  })

  it('HEAD of the static file: length without body; the connection stays usable', async () => {
    const a = new Agent({ maxSockets: 1 })
    try {
      const h = await request(`${origin}/big.bin`, { agent: a, method: 'HEAD' })
      expect(h.statusCode).toBe(200)
      expect(h.headers['content-length']).toBe(String(big.length))
      expect((await h.buffer()).length).toBe(0)
      const g = await request(`${origin}/hello`, { agent: a })
      expect(await g.text()).toBe('hello from nginx')
      const fh = await fetch(`${origin}/big.bin`, { agent: a, method: 'HEAD' })
      expect(fh.body).toBeNull()
    } finally {
      a.close()
    }
  })

  it('404 from nginx comes back as a response, not an error', async () => {
    const r = await fetch(`${origin}/nope`, { agent: new Agent() })
    expect(r.status).toBe(404)
    expect(await r.text()).toMatch(/404/)
  })

  it('pipelining: 2 with 2 sockets: 200 requests all succeed over the two connections', async () => {
    const a = new Agent({ maxSockets: 2, pipelining: 2 })
    try {
      const before = await settledCount()
      const out = await Promise.all(Array.from({ length: 200 }, async (_, i) => (await request(`${origin}/hello?i=${i}`, { agent: a })).text()))
      expect(out.every((t) => t === 'hello from nginx')).toBe(true)
      const lines = await linesSince(before, 200)
      expect(lines).toHaveLength(200)
      expect(connectionsIn(lines)).toBeLessThanOrEqual(2)
    } finally {
      a.close()
    }
  })

  it('a location without keep-alive (Connection: close): sequential requests each get a new connection', async () => {
    const a = new Agent()
    try {
      const before = await settledCount()
      for (let i = 0; i < 3; i++) {
        const r = await request(`${origin}/noka`, { agent: a })
        expect(r.headers.connection).toBe('close')
        expect(await r.text()).toBe('no keep-alive')
      }
      expect(connectionsIn(await linesSince(before, 3))).toBe(3)
    } finally {
      a.close()
    }
  })

  it('pipelining against a location without keep-alive: every request succeeds', async () => {
    // Rate-limited 1 MiB answers (~250 ms each): the second request is surely written before the
    // first response (with Connection: close) is complete.
    const a = new Agent({ maxSockets: 1, pipelining: 2 })
    try {
      const out = await Promise.all(Array.from({ length: 3 }, async () => (await request(`${origin}/noka-slow.bin`, { agent: a })).buffer()))
      expect(out.map((b) => b.equals(big))).toEqual([true, true, true])
    } finally {
      a.close()
    }
  })

  it('1000 requests with 32 concurrency all succeed, on at most 32 connections', async () => {
    const a = new Agent({ maxSockets: 32 })
    try {
      // Let the log lines of earlier tests land first, so they are not counted here.
      const before = await settledCount()
      let next = 0
      let ok = 0
      const paths = ['/hello', '/echo-method', '/text.txt']
      const worker = async (): Promise<void> => {
        while (next < 1000) {
          const i = next++
          const p = paths[i % 3] as string
          const res = await request(`${origin}${p}`, { agent: a })
          const body = await res.text()
          if (res.statusCode === 200 && body === (p === '/hello' ? 'hello from nginx' : p === '/echo-method' ? 'GET' : TEXT)) ok++
        }
      }
      await Promise.all(Array.from({ length: 32 }, worker))
      expect(ok).toBe(1000)
      const lines = await linesSince(before, 1000)
      expect(lines).toHaveLength(1000)
      expect(lines.every((l) => l[2] === '200')).toBe(true)
      expect(connectionsIn(lines)).toBeLessThanOrEqual(32)
    } finally {
      a.close()
    }
  })
})
