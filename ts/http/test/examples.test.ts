// Runs the examples in examples/http/ and talks to them with real peers: curl, node's
// fetch (undici) and node:http.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as nodeHttp from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const dir = fileURLToPath(new URL('../../../examples/http/', import.meta.url))
const hasCurl = spawnSync('curl', ['--version']).status === 0

interface Running {
  child: ChildProcess
  port: number
  base: string
  stderr: () => string
}

/** Starts an example on a free port; resolves once it printed `listening on HOST:PORT`. */
async function start(file: string, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [join(dir, file), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /^listening on (\S+):(\d+)$/m.exec(out)
      if (m) resolve(Number(m[2]))
    })
    child.on('exit', (code) => reject(new Error(`${file} exited (${code}) before listening: ${out}${err}`)))
  })
  expect(out.match(/listening on/g)).toHaveLength(1)
  return { child, port, base: `http://127.0.0.1:${port}`, stderr: () => err }
}

/** SIGTERM, then the example must close and exit with 0 on its own. */
async function stop(r: Running): Promise<void> {
  if (r.child.exitCode !== null) throw new Error(`exited early: ${r.stderr()}`)
  const exited = once(r.child, 'exit')
  r.child.kill('SIGTERM')
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000)
  const [code, signal] = await exited
  clearTimeout(timer)
  expect({ code, signal }).toEqual({ code: 0, signal: null })
}

/** Runs curl; returns status, headers (lower-case names) and body. */
function curl(args: string[]): { status: number; headers: Record<string, string>; body: string } {
  const r = spawnSync('curl', ['-sS', '-D', '-', ...args], { encoding: 'utf8', timeout: 20_000 })
  expect(r.status, r.stderr).toBe(0)
  // -D - prints every head (a 100 Continue first, maybe); the last one is the answer.
  const heads = r.stdout.split(/\r\n\r\n/)
  let i = 0
  while (i + 1 < heads.length && /^HTTP\/1\.[01] 1\d\d /.test(heads[i] as string)) i++
  const head = heads[i] as string
  const body = heads.slice(i + 1).join('\r\n\r\n')
  const [statusLine, ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const c = l.indexOf(':')
    headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim()
  }
  return { status: Number((statusLine as string).split(' ')[1]), headers, body }
}

/** node:http request; resolves with status, headers and body. `chunks` are written one by one (chunked). */
function nodeRequest(
  url: string,
  opts: nodeHttp.RequestOptions,
  body?: Buffer | Buffer[],
): Promise<{ status: number; headers: nodeHttp.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(url, { agent: false, ...opts }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body === undefined) {
      req.end()
      return
    }
    if (Buffer.isBuffer(body)) {
      req.end(body)
      return
    }
    // Chunked: write with backpressure; stop once the server answered.
    let i = 0
    let answered = false
    req.once('response', () => (answered = true))
    const pump = (): void => {
      while (i < body.length && !answered) {
        if (!req.write(body[i++])) {
          req.once('drain', pump)
          return
        }
      }
      if (!answered) req.end()
    }
    pump()
  })
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('examples/http/hello.mjs', () => {
  let r: Running
  beforeAll(async () => {
    r = await start('hello.mjs')
  })
  afterAll(async () => {
    await stop(r)
    expect(r.stderr()).toBe('')
  })

  it('answers curl', { skip: !hasCurl }, () => {
    const res = curl([`${r.base}/`])
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.headers['content-length']).toBe('13')
    expect(res.body).toBe('Hello, World!')
  })

  it('answers fetch and node:http', async () => {
    const res = await fetch(`${r.base}/any/path?x=1`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await res.text()).toBe('Hello, World!')
    const n = await nodeRequest(`${r.base}/`, { method: 'GET' })
    expect(n.status).toBe(200)
    expect(n.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(n.body).toBe('Hello, World!')
  })

  it('answers HEAD without a body', async () => {
    const n = await nodeRequest(`${r.base}/`, { method: 'HEAD' })
    expect(n.status).toBe(200)
    expect(n.headers['content-length']).toBe('13')
    expect(n.body).toBe('')
  })
})

describe('examples/http/json.mjs', () => {
  let r: Running
  beforeAll(async () => {
    r = await start('json.mjs')
  })
  afterAll(async () => {
    await stop(r)
    expect(r.stderr()).toBe('')
  })

  it('GET, POST, 400 and 404 over fetch', async () => {
    let res = await fetch(`${r.base}/items`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual([])

    res = await fetch(`${r.base}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'first' }),
    })
    expect(res.status).toBe(201)
    const created = (await res.json()) as { id: number; name: string }
    expect(created).toEqual({ id: expect.any(Number), name: 'first' })
    expect(res.headers.get('location')).toBe(`/items/${created.id}`)

    res = await fetch(`${r.base}/items`)
    expect(await res.json()).toEqual([created])

    res = await fetch(`${r.base}/items`, { method: 'POST', body: '{"name": "unterminated' })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'invalid JSON' })

    res = await fetch(`${r.base}/items`, { method: 'POST', body: '{"nom": 1}' })
    expect(res.status).toBe(400)
    await res.text()

    res = await fetch(`${r.base}/nothing-here`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'not found' })

    res = await fetch(`${r.base}/items`, { method: 'DELETE' })
    expect(res.status).toBe(404)
    await res.text()
  })

  it('POST with a chunked body over node:http', async () => {
    const parts = [Buffer.from('{"name":'), Buffer.from(' "second"'), Buffer.from('}')]
    const res = await nodeRequest(`${r.base}/items`, { method: 'POST', headers: { 'content-type': 'application/json' } }, parts)
    expect(res.status).toBe(201)
    expect(JSON.parse(res.body)).toMatchObject({ name: 'second' })
  })

  it('GET, POST, 400 and 404 over curl', { skip: !hasCurl }, () => {
    const post = curl(['-H', 'content-type: application/json', '--data', '{"name":"third"}', `${r.base}/items`])
    expect(post.status).toBe(201)
    expect(JSON.parse(post.body)).toMatchObject({ name: 'third' })
    const list = curl([`${r.base}/items`])
    expect(list.status).toBe(200)
    expect((JSON.parse(list.body) as { name: string }[]).map((i) => i.name)).toContain('third')
    expect(curl(['--data', 'not json', `${r.base}/items`]).status).toBe(400)
    expect(curl([`${r.base}/missing`]).status).toBe(404)
  })
})

describe('examples/http/upload.mjs', () => {
  const max = 1024 * 1024
  const oneMiB = Buffer.alloc(max)
  for (let i = 0; i < oneMiB.length; i++) oneMiB[i] = (i * 2654435761) >>> 24
  const tooBig = Buffer.concat([oneMiB, Buffer.from('!')])
  const work = mkdtempSync(join(tmpdir(), 'iocrate-http-examples-'))
  const okFile = join(work, 'ok.bin')
  const bigFile = join(work, 'big.bin')
  writeFileSync(okFile, oneMiB)
  writeFileSync(bigFile, tooBig)
  /** 64 KiB pieces of `b`, sent as a chunked body. */
  const pieces = (b: Buffer): Buffer[] => Array.from({ length: Math.ceil(b.length / 65536) }, (_, i) => b.subarray(i * 65536, (i + 1) * 65536))

  let r: Running
  const stored: string[] = []
  beforeAll(async () => {
    r = await start('upload.mjs', ['--max-bytes', String(max)])
  })
  afterAll(async () => {
    await stop(r)
    expect(r.stderr()).toBe('')
    for (const f of stored) rmSync(f, { force: true })
    rmSync(work, { recursive: true, force: true })
  })

  /** Checks a 201 answer and remembers the stored file for cleanup. */
  const created = (status: number, body: string): void => {
    expect(status, body).toBe(201)
    const info = JSON.parse(body) as { bytes: number; sha256: string; file: string }
    stored.push(info.file)
    expect(info.bytes).toBe(max)
    expect(info.sha256).toBe(sha256(oneMiB))
    expect(existsSync(info.file)).toBe(true)
  }

  it('stores 1 MiB sent by fetch (Content-Length) and node:http (chunked)', async () => {
    const res = await fetch(`${r.base}/upload`, { method: 'POST', body: oneMiB })
    created(res.status, await res.text())
    const n = await nodeRequest(`${r.base}/upload`, { method: 'POST' }, pieces(oneMiB))
    expect(n.headers['transfer-encoding']).toBeUndefined()
    created(n.status, n.body)
  })

  it('refuses N+1 bytes with 413 and Connection: close (fetch, node:http)', async () => {
    // Declared: refused before the body is read.
    const res = await fetch(`${r.base}/upload`, { method: 'POST', body: tooBig })
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe('close')
    await res.text()
    const declared = await nodeRequest(`${r.base}/upload`, { method: 'PUT' }, tooBig)
    expect(declared.status).toBe(413)
    expect(declared.headers.connection).toBe('close')
    // Chunked: refused once the body passes the limit.
    const chunked = await nodeRequest(`${r.base}/upload`, { method: 'POST' }, pieces(tooBig))
    expect(chunked.status).toBe(413)
    expect(chunked.headers.connection).toBe('close')
    // The server is still fine.
    const again = await fetch(`${r.base}/upload`, { method: 'POST', body: oneMiB })
    created(again.status, await again.text())
  })

  it('works with curl, declared and chunked', { skip: !hasCurl }, () => {
    const ok = curl(['--data-binary', `@${okFile}`, `${r.base}/upload`])
    created(ok.status, ok.body)
    const okChunked = curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${okFile}`, `${r.base}/upload`])
    created(okChunked.status, okChunked.body)
    const big = curl(['--data-binary', `@${bigFile}`, `${r.base}/upload`])
    expect(big.status).toBe(413)
    expect(big.headers.connection).toBe('close')
    const bigChunked = curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${bigFile}`, `${r.base}/upload`])
    expect(bigChunked.status).toBe(413)
    expect(bigChunked.headers.connection).toBe('close')
  })

  it('answers 404 elsewhere', async () => {
    const res = await fetch(`${r.base}/elsewhere`, { method: 'POST', body: 'x' })
    expect(res.status).toBe(404)
    await res.text()
  })
})
