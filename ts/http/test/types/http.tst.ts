import { expect, test } from 'tstyche'
import type { EventEmitter } from 'node:events'
import type { Readable, Stream } from 'node:stream'
import {
  combineHeaders,
  createServer,
  serve,
  IncomingMessage,
  Server,
  ServerResponse,
  type FetchHandler,
  type FetchInfo,
  type IncomingHttpHeaders,
  type OutgoingHeaderValue,
  type RequestListener,
  type ServerOptions,
  type StaticRoute,
} from '@iocrate/http'

test('createServer: handler, options + handler, or a fetch handler', () => {
  const s = createServer((req, res) => {
    expect(req).type.toBe<IncomingMessage>()
    expect(res).type.toBe<ServerResponse>()
  })
  expect(s).type.toBe<Server>()
  expect(s).type.toBeAssignableTo<EventEmitter>()
  expect(createServer({ maxBodySize: 1024, keepAliveTimeout: 1000 }, async (_req, res) => void res.end())).type.toBe<Server>()
  expect(createServer({ fetch: (request) => new Response(request.url) })).type.toBe<Server>()
  expect(createServer).type.not.toBeCallableWith({ maxBodySize: '1k' })
  expect(createServer).type.not.toBeCallableWith((req: string) => req.length)
  expect<RequestListener>().type.toBe<(req: IncomingMessage, res: ServerResponse) => void>()
  // The Node idioms: an arrow returning `res.end()`'s value, and an async handler.
  expect(createServer).type.toBeCallableWith((_req: IncomingMessage, res: ServerResponse) => res.end())
  expect(createServer).type.toBeCallableWith({ maxBodySize: 1 }, (_req: IncomingMessage, res: ServerResponse) => res.end('x'))
  expect(createServer).type.toBeCallableWith(async (req: IncomingMessage, res: ServerResponse) => {
    res.end(await req.text())
  })
})

test('Server surface', () => {
  const s = createServer()
  expect(s.listen(0, '127.0.0.1')).type.toBe<Server>()
  expect(s.listen({ port: 0, host: '::1' }, () => {})).type.toBe<Server>()
  expect(s.listen('/tmp/x.sock')).type.toBe<Server>()
  expect(s.address()).type.toBe<{ address: string; family: string; port: number } | string | null>()
  expect(s.connections).type.toBe<number>()
  expect(s.close()).type.toBe<Server>()
  expect(s.close((err) => expect(err).type.toBe<Error | undefined>())).type.toBe<Server>()
  expect<Server>().type.toBeAssignableTo<AsyncDisposable>()
  expect(s.maxConnections).type.toBe<number | undefined>()
})

test('IncomingMessage is a Readable with Node fields and body helpers', () => {
  const req = {} as IncomingMessage
  expect(req).type.toBeAssignableTo<Readable>()
  expect(req.method).type.toBe<string>()
  expect(req.headers).type.toBe<IncomingHttpHeaders>()
  expect(req.headers['set-cookie']).type.toBe<string | string[] | undefined>()
  expect(req.rawHeaders).type.toBe<string[]>()
  expect(req.socket.remoteAddress).type.toBe<string>()
  expect(req.text()).type.toBe<Promise<string>>()
  expect(req.json<{ a: number }>()).type.toBe<Promise<{ a: number }>>()
  expect(req.arrayBuffer()).type.toBe<Promise<ArrayBuffer>>()
  expect(req.buffer()).type.toBe<Promise<Buffer>>()
})

test('ServerResponse has the Node shape', () => {
  const res = {} as ServerResponse
  expect(res).type.toBeAssignableTo<Stream>()
  expect(res.setHeader('a', 'b')).type.toBe<ServerResponse>()
  expect(res.setHeader('a', ['b', 'c'])).type.toBe<ServerResponse>()
  expect(res.setHeader('a', 1)).type.toBe<ServerResponse>()
  expect(res.setHeader).type.not.toBeCallableWith('a', { b: 1 })
  expect(res.getHeader('a')).type.toBe<OutgoingHeaderValue | undefined>()
  expect(res.writeHead(200, { a: 'b' })).type.toBe<ServerResponse>()
  expect(res.writeHead(200, 'OK', ['a', 'b'])).type.toBe<ServerResponse>()
  expect(res.writeHead(200, [['a', 'b']])).type.toBe<ServerResponse>()
  expect(res.write('x')).type.toBe<boolean>()
  expect(res.write(new Uint8Array(1))).type.toBe<boolean>()
  expect(res.end()).type.toBe<ServerResponse>()
  expect(res.write).type.not.toBeCallableWith(123)
  expect(res.headersSent).type.toBe<boolean>()
})

test('fetch-style: serve() resolves to a Server', () => {
  const h: FetchHandler = (request, info) => {
    expect(request).type.toBe<Request>()
    expect(info).type.toBe<FetchInfo>()
    return new Response('x')
  }
  expect(serve({ fetch: h, port: 0 })).type.toBe<Promise<Server>>()
  expect(serve).type.not.toBeCallableWith({ port: 0 })
  expect(serve).type.not.toBeCallableWith({ fetch: () => 'x', port: 0 })
})

test('options and routes', () => {
  expect({ path: '/h', body: 'ok' }).type.toBeAssignableTo<StaticRoute>()
  expect({ path: '/f', file: '/tmp/f.json', headers: { 'x-a': ['1', '2'] } }).type.toBeAssignableTo<StaticRoute>()
  expect({ routes: [{ path: '/h', status: 204 }], onError: (e: unknown) => void e }).type.toBeAssignableTo<ServerOptions>()
  expect({ routes: [{ body: 'no path' }] }).type.not.toBeAssignableTo<ServerOptions>()
  expect({ maxHeaderSize: '16k' }).type.not.toBeAssignableTo<ServerOptions>()
  expect(combineHeaders(['a', 'b'])).type.toBe<IncomingHttpHeaders>()
})
