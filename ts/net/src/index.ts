/**
 * `@iocrate/net`: TCP and Unix domain sockets. A Node-compatible surface ({@link Socket}
 * is a `Duplex`, {@link Server} an `EventEmitter`) and a lower-level fast API
 * ({@link dial}, {@link listen}, {@link Connection}).
 * @module @iocrate/net
 */
export { Socket, connect, createConnection } from './socket.js'
export type { ConnectOptions, SocketOptions } from './socket.js'
export { Server, createServer, listenArgs, rawListenOptions } from './server.js'
export type { ServerOptions, ListenOptions } from './server.js'
export { Connection, Listener, dial, listen } from './connection.js'
export type { DialOptions } from './connection.js'
export type { AddressInfo, NativeStream, NativeServer } from './handle.js'
export { IocrateError } from '@iocrate/core'
