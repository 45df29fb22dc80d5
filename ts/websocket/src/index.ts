/**
 * `@iocrate/websocket`: WebSocket (RFC 6455, permessage-deflate RFC 7692) servers and
 * clients with the API of the `ws` package and of the browser's `WebSocket`, framing and
 * fan-out in Rust.
 *
 * ```ts
 * import { WebSocketServer } from '@iocrate/websocket'
 * const wss = new WebSocketServer({ port: 8080 })
 * wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)))
 * ```
 * @module @iocrate/websocket
 */
export { WebSocket, WebSocketError, WebSocketErrorCodes, connect } from './socket.js'
export type {
  BinaryData,
  BinaryType,
  ConnectionOptions,
  PerMessageDeflateOptions,
  SendOptions,
  UpgradeRequest,
  WebSocketData,
  WebSocketOptions,
} from './socket.js'
export { WebSocketServer } from './server.js'
export type { VerifyInfo, WebSocketServerOptions } from './server.js'
export { CloseEvent, ErrorEvent } from './events.js'
export type { CloseEventInit, ErrorEventInit } from './events.js'
