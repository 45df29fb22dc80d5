import { expect, test } from 'tstyche'
import type { Duplex } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { connect, createServer, dial, listen, type Connection, type Listener, type Server, type Socket, type AddressInfo } from '@iocrate/net'

test('Socket is a Node Duplex with net.Socket accessors', () => {
  const s = connect(80, 'localhost')
  expect(s).type.toBe<Socket>()
  expect(s).type.toBeAssignableTo<Duplex>()
  expect(s.remotePort).type.toBe<number | undefined>()
  expect(s.setNoDelay(true)).type.toBe<Socket>()
  expect(connect({ path: '/tmp/x.sock' })).type.toBe<Socket>()
  expect(connect).type.not.toBeCallableWith({ port: '80' })
})

test('Server is an EventEmitter', () => {
  const srv = createServer((socket) => {
    expect(socket).type.toBe<Socket>()
  })
  expect(srv).type.toBe<Server>()
  expect(srv).type.toBeAssignableTo<EventEmitter>()
  expect(srv.address()).type.toBe<AddressInfo | string | null>()
  expect(srv.listen(0, '127.0.0.1')).type.toBe<Server>()
})

test('the fast API is promise-based and async-iterable', () => {
  expect(dial({ port: 1 })).type.toBe<Promise<Connection>>()
  expect(listen({ port: 0 })).type.toBe<Promise<Listener>>()
  expect<Connection>().type.toBeAssignableTo<AsyncIterable<Buffer>>()
  expect<Connection['write']>().type.toBe<(data: Buffer | Uint8Array | string) => boolean>()
  expect<Listener>().type.toBeAssignableTo<AsyncIterable<Connection>>()
  expect<Connection>().type.toBeAssignableTo<AsyncDisposable>()
})
