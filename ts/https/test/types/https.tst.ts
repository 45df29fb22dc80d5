import { expect, test } from 'tstyche'
import type { EventEmitter } from 'node:events'
import { Server as HttpServer, type IncomingMessage as HttpIncomingMessage, type RequestListener as HttpRequestListener, type ServerResponse as HttpServerResponse } from '@iocrate/http'
import { IncomingMessage, Server, ServerResponse, createServer, type RequestListener, type ServerOptions } from '@iocrate/https'

test('createServer returns an https Server, which is the http Server over TLS', () => {
  const srv = createServer({ cert: '', key: '' }, (req, res) => {
    expect(req).type.toBe<IncomingMessage>()
    expect(res).type.toBe<ServerResponse>()
    expect(req.socket.encrypted).type.toBe<boolean>()
  })
  expect(srv).type.toBe<Server>()
  expect(srv).type.toBeAssignableTo<HttpServer>()
  expect(srv).type.toBeAssignableTo<EventEmitter>()
  expect(srv.listen(0, '127.0.0.1')).type.toBe<Server>()
  expect<IncomingMessage>().type.toBe<HttpIncomingMessage>()
  expect(new Server({ cert: Buffer.alloc(0), key: Buffer.alloc(0) })).type.toBe<Server>()
})

test('TLS options: cert/key, sni, ca, requestCert next to the http options', () => {
  const o: ServerOptions = {
    cert: Buffer.alloc(0),
    key: '',
    sni: { 'a.example': { cert: '', key: Buffer.alloc(0) } },
    ca: '',
    requestCert: true,
    keepAliveTimeout: 1000,
    maxBodySize: 1,
    routes: [{ path: '/health', body: 'ok' }],
    fetch: (request) => {
      expect(request).type.toBe<Request>()
      return new Response('x')
    },
  }
  expect(createServer(o)).type.toBe<Server>()
  expect(createServer).type.toBeCallableWith({ sni: { 'a.example': { cert: '', key: '' } } })
  expect(createServer).type.not.toBeCallableWith({ cert: 1, key: 2 })
  expect(createServer).type.not.toBeCallableWith({ sni: { 'a.example': { cert: '' } } })
  expect(createServer).type.not.toBeCallableWith({ cert: '', key: '' }, 'not a handler')
})

test('RequestListener is the http one', () => {
  expect<RequestListener>().type.toBe<HttpRequestListener>()
  expect<ServerResponse>().type.toBe<HttpServerResponse>()
  expect<(req: IncomingMessage, res: ServerResponse) => void>().type.toBeAssignableTo<RequestListener>()
})
