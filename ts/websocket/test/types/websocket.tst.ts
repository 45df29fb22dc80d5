import { expect, test } from 'tstyche'
import type { EventEmitter } from 'node:events'
import { createServer } from '@iocrate/http'
import {
  CloseEvent,
  WebSocket,
  WebSocketError,
  WebSocketErrorCodes,
  WebSocketServer,
  connect,
  type BinaryType,
  type WebSocketOptions,
  type WebSocketServerOptions,
} from '@iocrate/websocket'

test('WebSocketServer: standalone or attached, typed options', () => {
  expect(new WebSocketServer({ port: 0 })).type.toBe<WebSocketServer>()
  expect(new WebSocketServer({ server: createServer(), path: '/ws' })).type.toBeAssignableTo<EventEmitter>()
  expect<WebSocketServerOptions>().type.toBeAssignableWith({
    port: 8080,
    perMessageDeflate: { threshold: 256 },
    verifyClient: async ({ origin }: { origin: string | undefined }) => origin === 'https://ok',
    handleProtocols: (p: Set<string>) => (p.has('chat') ? 'chat' : false),
    maxBackpressure: 1024,
  })
  expect<WebSocketServerOptions>().type.not.toBeAssignableWith({ port: '8080' })
  const wss = new WebSocketServer({ port: 0 })
  expect(wss.publish('room', 'text')).type.toBe<number>()
  expect(wss.publish('room', new Uint8Array(2), { binary: true })).type.toBe<number>()
  expect(wss.clients).type.toBe<Set<WebSocket>>()
})

test('WebSocket: ws-style and WHATWG API', () => {
  const ws = new WebSocket('ws://localhost:8080', ['chat'], { headers: { Authorization: 'x' } })
  expect(ws.readyState).type.toBe<number>()
  expect(ws.bufferedAmount).type.toBe<number>()
  expect(ws.binaryType).type.toBe<BinaryType>()
  expect(ws.send('x')).type.toBe<void>()
  expect(ws.send(Buffer.from('x'), { binary: false }, (err) => void err)).type.toBe<void>()
  expect(ws.send).type.not.toBeCallableWith({ not: 'data' })
  expect(ws.close(1000, 'bye')).type.toBe<void>()
  expect(ws[Symbol.asyncIterator]()).type.toBe<AsyncIterableIterator<string | Buffer>>()
  expect(ws.upgradeHeaders).type.toBe<Record<string, string>>()
  expect(connect('wss://x', { signal: AbortSignal.timeout(10) })).type.toBe<Promise<WebSocket>>()
  expect<WebSocketOptions>().type.not.toBeAssignableWith({ headers: { a: 1 } })
  expect(new CloseEvent('close', { code: 1000 }).wasClean).type.toBe<boolean>()
  expect(new WebSocketError('ERR_X', 'm').closeCode).type.toBe<number | undefined>()
  expect(WebSocketErrorCodes.PROTOCOL).type.toBe<'ERR_WEBSOCKET_PROTOCOL'>()
})
