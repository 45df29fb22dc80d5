import { expect, test } from 'tstyche'
import type { Readable } from 'node:stream'
import { Agent, ClientResponse, fetch, globalAgent, request, type AgentOptions, type FetchInit, type IncomingHttpHeaders, type RequestBody, type RequestOptions } from '@iocrate/http'

test('request() resolves with a ClientResponse, a Readable with body helpers', () => {
  expect(request('http://x/')).type.toBe<Promise<ClientResponse>>()
  expect(request(new URL('http://x/'), { method: 'POST', body: 'x', timeout: 1, maxRedirects: 2, decompress: true })).type.toBe<Promise<ClientResponse>>()
  expect<ClientResponse>().type.toBeAssignableTo<Readable>()
  expect<ClientResponse['statusCode']>().type.toBe<number>()
  expect<ClientResponse['statusMessage']>().type.toBe<string>()
  expect<ClientResponse['headers']>().type.toBe<IncomingHttpHeaders>()
  expect<ClientResponse['trailers']>().type.toBe<IncomingHttpHeaders>()
  expect<ClientResponse['rawHeaders']>().type.toBe<string[]>()
  expect<ClientResponse['url']>().type.toBe<string>()
  expect<ClientResponse['redirected']>().type.toBe<number>()
  expect<ClientResponse['complete']>().type.toBe<boolean>()
  expect<ReturnType<ClientResponse['text']>>().type.toBe<Promise<string>>()
  expect<ReturnType<ClientResponse['buffer']>>().type.toBe<Promise<Buffer>>()
  expect<ReturnType<ClientResponse['arrayBuffer']>>().type.toBe<Promise<ArrayBuffer>>()
  const res = {} as ClientResponse
  expect(res.json<{ a: number }>()).type.toBe<Promise<{ a: number }>>()
  expect(res.json()).type.toBe<Promise<unknown>>()
})

test('request bodies: strings, bytes, streams and async iterables', () => {
  expect<string>().type.toBeAssignableTo<RequestBody>()
  expect<Buffer>().type.toBeAssignableTo<RequestBody>()
  expect<Uint8Array>().type.toBeAssignableTo<RequestBody>()
  expect<ArrayBuffer>().type.toBeAssignableTo<RequestBody>()
  expect<Readable>().type.toBeAssignableTo<RequestBody>()
  expect<AsyncIterable<Uint8Array>>().type.toBeAssignableTo<RequestBody>()
  expect<AsyncGenerator<string>>().type.toBeAssignableTo<RequestBody>()
  expect<null>().type.toBeAssignableTo<RequestBody>()
  expect<number>().type.not.toBeAssignableTo<RequestBody>()
  expect<{ a: 1 }>().type.not.toBeAssignableTo<RequestBody>()
  expect(request).type.not.toBeCallableWith('http://x/', { body: 42 })
})

test('request headers: a record, Headers or entries', () => {
  expect(request).type.toBeCallableWith('http://x/', { headers: { a: '1', b: ['x', 'y'], c: 3, d: undefined } })
  expect(request).type.toBeCallableWith('http://x/', { headers: new Headers() })
  expect(request).type.toBeCallableWith('http://x/', { headers: [['a', 'b']] as [string, string][] })
  expect(request).type.toBeCallableWith('http://x/', { signal: AbortSignal.timeout(1), agent: new Agent() })
  expect(request).type.not.toBeCallableWith('http://x/', { timeout: '1s' })
  expect(request).type.not.toBeCallableWith(42)
})

test('Agent options', () => {
  expect(new Agent()).type.toBe<Agent>()
  expect(globalAgent()).type.toBe<Agent>()
  expect<Agent>().type.toBeAssignableTo<AsyncDisposable>()
  const all: AgentOptions = {
    maxSockets: 4,
    maxFreeSockets: 2,
    keepAliveTimeout: 1000,
    pipelining: 2,
    connectTimeout: 1,
    headersTimeout: 1,
    maxHeaderSize: 1,
    proxy: new URL('http://p:3128'),
    ca: [Buffer.alloc(0), ''],
    cert: '',
    key: Buffer.alloc(0),
    servername: 'x',
    dangerouslyDisableCertificateVerification: true,
  }
  expect(new Agent(all)).type.toBe<Agent>()
  // Verification is turned off only by the loud `true`.
  expect(Agent).type.not.toBeConstructableWith({ dangerouslyDisableCertificateVerification: false })
  expect(Agent).type.not.toBeConstructableWith({ rejectUnauthorized: false })
  expect(Agent).type.not.toBeConstructableWith({ maxSockets: '4' })
  expect<Agent['close']>().type.toBe<() => void>()
  expect<Agent['destroy']>().type.toBe<() => void>()
})

test('fetch() is WHATWG-shaped and takes an agent', () => {
  expect(fetch('http://x/')).type.toBe<Promise<Response>>()
  expect(fetch(new URL('http://x/'))).type.toBe<Promise<Response>>()
  expect(fetch(new Request('http://x/'), { agent: new Agent(), redirect: 'manual' })).type.toBe<Promise<Response>>()
  expect<FetchInit>().type.toBeAssignableTo<RequestInit>()
  expect(fetch).type.toBeCallableWith('http://x/', { method: 'POST', body: new FormData() })
  expect(fetch).type.toBeCallableWith('http://x/', { body: new URLSearchParams() })
  expect(fetch).type.not.toBeCallableWith('http://x/', { redirect: 'sometimes' })
  expect(fetch).type.not.toBeCallableWith('http://x/', { agent: {} })
})

test('RequestOptions fields', () => {
  expect<RequestOptions['maxRedirects']>().type.toBe<number | undefined>()
  expect<RequestOptions['signal']>().type.toBe<AbortSignal | undefined>()
})
