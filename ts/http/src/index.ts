/**
 * `@iocrate/http`: an HTTP/1.1 server whose parsing, framing, keep-alive, pipelining
 * and timeouts run in Rust, with Node's `(req, res)` surface or a fetch-style
 * `(request) => Response` handler, and static routes answered without entering JS.
 * @module @iocrate/http
 */
export { Server, createServer, serve } from './server.js'
export type { CompressionOptions, RequestListener, ServerOptions, ServeOptions, StaticRoute } from './server.js'
export { IncomingMessage } from './incoming.js'
export { BodyReadable } from './body.js'
export type { RequestSocketInfo } from './incoming.js'
export { ServerResponse, reasonPhrase } from './response.js'
export type { Chunk } from './response.js'
export type { FetchHandler, FetchInfo } from './fetch.js'
export { Agent, ClientResponse, fetch, globalAgent, request } from './client.js'
export type { AgentOptions, FetchInit, RequestBody, RequestHeaders, RequestOptions } from './client.js'
export { combineHeaders } from './headers.js'
export type { IncomingHttpHeaders, OutgoingHeaderValue, OutgoingHeaders } from './headers.js'
export { STATUS_CODES, METHODS } from 'node:http'
