/**
 * `@iocrate/datagram`: UDP sockets with Node's `dgram` API, driven by iocrate's native
 * runtime. Datagrams are read many per wake-up and cross to JS in batches; sends go
 * straight to the kernel from the JS thread. Truncated datagrams are flagged and warned
 * about, never silently cut.
 * @module
 */
export { Socket, createSocket } from './socket.js'
export type { AddressInfo, BindOptions, Datagram, MessageInput, RemoteInfo, SendCallback, SocketOptions, SocketType } from './types.js'
