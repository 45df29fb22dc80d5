import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from '@iocrate/http'
import { closeServers, parseResponses, raw, sleep, start } from './helpers.js'

// One server for the whole file; every handler invocation is recorded.
let server: Server
let port: number
let calls: string[] = []
const allCalls: string[] = []

beforeAll(async () => {
  server = createServer({ maxHeaderSize: 4096, onError: () => {} }, async (req, res) => {
    calls.push(`${req.method} ${req.url}`)
    allCalls.push(`${req.method} ${req.url}`)
    const body = await req.text()
    if (req.url.startsWith('/pipe/')) await sleep(Math.floor(Math.random() * 40))
    res.end(`${req.method} ${req.url} ${body.length}`)
  })
  port = await start(server)
})
afterAll(closeServers)
beforeEach(() => {
  calls = []
})

const H = 'Host: x\r\n'
const SMUGGLED = 'GET /smuggled/@ HTTP/1.1\r\nHost: x\r\n\r\n'

/**
 * Payloads that must be refused: status allowed, the connection closed, no handler run
 * (for a bad body after a valid head, `body`: the first request reached the handler,
 * but nothing after it did).
 */
const cases: [name: string, payload: string, statuses?: number[], body?: 'body'][] = [
  ['CL.TE (Content-Length and Transfer-Encoding together)', `POST /a/@ HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.CL (Transfer-Encoding first, then Content-Length)', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['Transfer-Encoding: xchunked', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, [400, 501]],
  ['Transfer-Encoding: chunked, identity', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`, [400, 501]],
  ['Transfer-Encoding: identity, chunked ... (chunked not last twice)', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`, [400, 501]],
  ['Transfer-Encoding with a space before the colon', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding with a tab before the colon', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding value with a vertical tab', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, [400, 501]],
  ['Transfer-Encoding: chunked with a leading space line (obs-fold of the value)', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['duplicate Content-Length with different values', `POST /a/@ HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 40\r\n\r\nhello${SMUGGLED}`],
  ['Content-Length list with different values', `POST /a/@ HTTP/1.1\r\n${H}Content-Length: 5, 40\r\n\r\nhello${SMUGGLED}`],
  ['negative Content-Length', `POST /a/@ HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n${SMUGGLED}`],
  ['Content-Length with a plus sign', `POST /a/@ HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello${SMUGGLED}`],
  ['negative chunk size', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`, [400], 'body'],
  ['overflowing chunk size', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000000000001\r\nhello\r\n0\r\n\r\n${SMUGGLED}`, [400, 413], 'body'],
  ['chunk size with a 0x prefix', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`, [400], 'body'],
  ['chunk data longer than its size', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n${SMUGGLED}`, [400], 'body'],
  ['bare LF line endings in the head', `GET /a/@ HTTP/1.1\n${H.replace('\r\n', '\n')}X-A: b\n\n${SMUGGLED}`],
  ['bare LF after a chunk size', `POST /a/@ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n${SMUGGLED}`, [400], 'body'],
  ['bare CR in a header', `GET /a/@ HTTP/1.1\r\n${H}X-A: b\rX-B: c\r\n\r\n${SMUGGLED}`],
  ['obs-fold (a continuation line)', `GET /a/@ HTTP/1.1\r\n${H}X-A: one\r\n  two\r\n\r\n${SMUGGLED}`],
  ['NUL byte in a header value', `GET /a/@ HTTP/1.1\r\n${H}X-A: b\x00c\r\n\r\n${SMUGGLED}`],
  ['NUL byte in a header name', `GET /a/@ HTTP/1.1\r\n${H}X-\x00A: b\r\n\r\n${SMUGGLED}`],
  ['space inside a header name', `GET /a/@ HTTP/1.1\r\n${H}X A: b\r\n\r\n${SMUGGLED}`],
  ['header line without a colon', `GET /a/@ HTTP/1.1\r\n${H}NoColonHere\r\n\r\n${SMUGGLED}`],
  ['missing Host in HTTP/1.1', `GET /a/@ HTTP/1.1\r\nX-A: b\r\n\r\n${SMUGGLED}`],
  ['two Host fields', `GET /a/@ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n${SMUGGLED}`],
  ['bad HTTP version', `GET /a/@ HTTP/1.7\r\n${H}\r\n${SMUGGLED}`, [400, 505]],
  ['garbage request line', `GARBAGE\r\n${H}\r\n${SMUGGLED}`],
  ['oversized headers', `GET /a/@ HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(8000)}\r\n\r\n${SMUGGLED}`, [431]],
]

describe('request smuggling and malformed requests over raw sockets', () => {
  cases.forEach(([name, template, statuses = [400], body], i) => {
    it(name, async () => {
      // Unique paths per case: a late handler call from one case cannot be blamed on another.
      const payload = template.replaceAll('@', String(i))
      const r = await raw(port, payload, { waitMs: 10_000 })
      expect(r.closed, 'connection left open').toBe(true)
      const rs = parseResponses(r.data)
      expect(rs.length, `responses: ${JSON.stringify(r.text.slice(0, 300))}`).toBe(1)
      expect(statuses).toContain(rs[0]!.status)
      expect(rs[0]!.headers.connection?.[0]?.toLowerCase()).toBe('close')
      // Give a request event that was in flight time to arrive.
      await sleep(100)
      const mine = allCalls.filter((c) => c.endsWith(`/${i}`))
      expect(mine).toEqual(body ? ['POST /a/' + i] : [])
      expect(allCalls.filter((c) => c.includes('/smuggled/'))).toEqual([])
    })
  })

  it('a valid chunked request with chunk extensions and trailers is accepted (the parser is not just rejecting all)', async () => {
    const r = await raw(
      port,
      `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: v\r\n\r\nGET /second HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    )
    expect(r.closed).toBe(true)
    expect(parseResponses(r.data).map((x) => x.body.toString())).toEqual(['POST /ok 11', 'GET /second 0'])
    expect(calls).toEqual(['POST /ok', 'GET /second'])
  })

  it('Transfer-Encoding values are case-insensitive and whitespace around them is fine', async () => {
    const r = await raw(port, `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding:  Chunked \r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`)
    expect(parseResponses(r.data).map((x) => x.body.toString())).toEqual(['POST /ok 3'])
  })

  it('pipelining: 16 requests in one write, answered out of order by the handler, come back in order', async () => {
    const N = 16
    let payload = ''
    for (let i = 0; i < N; i++) {
      payload += i % 3 === 1 ? `POST /pipe/${i} HTTP/1.1\r\n${H}Content-Length: ${i}\r\n\r\n${'z'.repeat(i)}` : `GET /pipe/${i} HTTP/1.1\r\n${H}\r\n`
    }
    const r = await raw(port, payload, {
      waitMs: 15_000,
      until: (s) => parseResponses(Buffer.from(s, 'latin1')).length >= N,
    })
    const rs = parseResponses(r.data)
    expect(rs).toHaveLength(N)
    expect(rs.map((x) => x.body.toString())).toEqual(
      Array.from({ length: N }, (_, i) => (i % 3 === 1 ? `POST /pipe/${i} ${i}` : `GET /pipe/${i} 0`)),
    )
    expect(rs.every((x) => x.status === 200)).toBe(true)
    expect(calls).toHaveLength(N)
    // The handler saw them all before the first answer could go out (random delays): it ran them concurrently.
    expect(new Set(calls).size).toBe(N)
  }, 30_000)
})
