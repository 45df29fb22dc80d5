import { execFile } from 'node:child_process'
import { request as nodeRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server, type ServerOptions } from '@iocrate/http'

const run = promisify(execFile)
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(200)
let server: Server | undefined
afterEach(async () => {
  if (server) await new Promise<void>((r) => server!.close(() => r()))
  server = undefined
})

async function listen(options: ServerOptions): Promise<string> {
  server = createServer(options, (req, res) => {
    if (req.url === '/png') {
      res.setHeader('content-type', 'image/png')
      res.end(Buffer.alloc(5000, 1))
      return
    }
    if (req.url === '/small') {
      res.setHeader('content-type', 'text/plain')
      res.end('tiny')
      return
    }
    if (req.url === '/encoded') {
      res.setHeader('content-type', 'text/plain')
      res.setHeader('content-encoding', 'identity')
      res.end(TEXT)
      return
    }
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    if (req.url === '/stream') {
      let i = 0
      const tick = (): void => {
        if (i++ === 20) {
          res.end()
          return
        }
        res.write(TEXT.slice(0, 450))
        setTimeout(tick, 2)
      }
      tick()
      return
    }
    res.end(TEXT)
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function get(url: string, acceptEncoding: string | undefined): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }
    nodeRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

describe('response compression (Rust side)', () => {
  it('negotiates br, gzip and deflate and sends a length for whole bodies', async () => {
    const base = await listen({ compression: { codings: ['br', 'gzip', 'deflate'] } })
    const br = await get(`${base}/`, 'gzip, br')
    expect(br.headers['content-encoding']).toBe('br')
    expect(br.headers['vary']).toBe('Accept-Encoding')
    expect(Number(br.headers['content-length'])).toBe(br.body.length)
    expect(br.body.length).toBeLessThan(TEXT.length / 10)
    expect(brotliDecompressSync(br.body).toString()).toBe(TEXT)
    const gz = await get(`${base}/`, 'gzip;q=1, br;q=0.5')
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gz.body).toString()).toBe(TEXT)
    const df = await get(`${base}/`, 'deflate')
    expect(df.headers['content-encoding']).toBe('deflate')
    expect(inflateSync(df.body).toString()).toBe(TEXT)
  })

  it('leaves alone: no Accept-Encoding, q=0, images, small bodies, already-encoded responses', async () => {
    const base = await listen({ compression: true })
    for (const [path, ae] of [['/', undefined], ['/', 'gzip;q=0, br;q=0'], ['/png', 'gzip'], ['/small', 'gzip'], ['/encoded', 'gzip']] as const) {
      const r = await get(`${base}${path}`, ae)
      expect(r.headers['content-encoding'] ?? 'none', `${path} ${ae}`).not.toMatch(/gzip|br/)
    }
    const plain = await get(`${base}/`, 'identity')
    expect(plain.body.toString()).toBe(TEXT)
  })

  it('compresses a streamed response chunk by chunk (chunked, decodable by curl)', async () => {
    const base = await listen({ compression: { codings: ['gzip'] } })
    const r = await get(`${base}/stream`, 'gzip')
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(r.headers['transfer-encoding']).toBe('chunked')
    expect(gunzipSync(r.body).toString()).toBe(TEXT.slice(0, 450).repeat(20))
    const { stdout } = await run('curl', ['-s', '--compressed', `${base}/stream`])
    expect(stdout).toBe(TEXT.slice(0, 450).repeat(20))
  })

  it('refuses an unknown coding in the options', async () => {
    const s = createServer({ compression: { codings: ['zstd' as 'br'] } }, () => {})
    const err = await new Promise<Error>((r) => s.once('error', r).listen(0))
    expect((err as Error & { code: string }).code).toBe('ERR_INVALID_ARG_VALUE')
  })
})
