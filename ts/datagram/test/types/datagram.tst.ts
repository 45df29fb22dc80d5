import { expect, test } from 'tstyche'
import type { EventEmitter } from 'node:events'
import { createSocket, type Socket, type Datagram, type RemoteInfo } from '@iocrate/datagram'

test('createSocket takes a type or options', () => {
  expect(createSocket('udp4')).type.toBe<Socket>()
  expect(createSocket({ type: 'udp6', maxMessageSize: 1500 })).type.toBe<Socket>()
  expect(createSocket).type.not.toBeCallableWith('udp5')
  expect(createSocket('udp4')).type.toBeAssignableTo<EventEmitter>()
})

test('messages carry truncation, as events and as an async iterable', () => {
  const s = createSocket('udp4')
  expect<RemoteInfo['truncated']>().type.toBe<boolean>()
  expect(s).type.toBeAssignableTo<AsyncIterable<Datagram>>()
  expect(s.sendTo(Buffer.from('x'), 1, '127.0.0.1')).type.toBe<Promise<number>>()
  expect(s).type.toBeAssignableTo<AsyncDisposable>()
})
