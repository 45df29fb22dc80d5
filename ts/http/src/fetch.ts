import { Readable } from 'node:stream'
import type { IncomingMessage } from './incoming.js'
import type { ServerResponse } from './response.js'

/** A fetch-style handler, as Hono, itty-router and Bun/Deno servers use: `(request) => Response`. */
export type FetchHandler = (request: Request, info: FetchInfo) => Response | Promise<Response>

/** What a fetch-style handler gets beside the `Request`. */
export interface FetchInfo {
  /** The client's address and port. */
  remoteAddress: string
  remotePort: number
}

const NO_BODY = new Set(['GET', 'HEAD'])

/** Builds a WHATWG `Request` for an incoming request. @internal */
export function toRequest(req: IncomingMessage, encrypted: boolean, signal: AbortSignal): Request {
  const host = (req.headers.host as string | undefined) ?? 'localhost'
  const url = req.url.startsWith('/') ? `${encrypted ? 'https' : 'http'}://${host}${req.url}` : req.url
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, signal }
  if (!NO_BODY.has(req.method) && !req.complete) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
    init.duplex = 'half'
  } else if (!NO_BODY.has(req.method)) {
    req.resume()
  }
  return new Request(url, init)
}

function fields(res: ServerResponse, response: Response): void {
  res.statusCode = response.status
  if (response.statusText) res.statusMessage = response.statusText
  const cookies = response.headers.getSetCookie()
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue
    res.setHeader(name, value)
  }
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
}

/** Writes a `Response` out: one native call when the body fits in one chunk. @internal */
export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  fields(res, response)
  const body = response.body
  if (body === null) {
    res.end()
    return
  }
  const reader = body.getReader()
  try {
    let first = await reader.read()
    if (first.done) {
      res.end()
      return
    }
    let next = await reader.read()
    if (next.done) {
      // The usual case (a string, JSON or buffer body): one call with the length known.
      res.end(Buffer.from(first.value.buffer, first.value.byteOffset, first.value.byteLength))
      return
    }
    const write = (chunk: Uint8Array): Promise<void> | undefined => {
      if (res.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) return undefined
      return new Promise((resolve) => {
        const done = (): void => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    }
    await write(first.value)
    while (!next.done) {
      if (!res.writable) {
        await reader.cancel()
        return
      }
      await write(next.value)
      next = await reader.read()
    }
    first = next
    res.end()
  } catch (err) {
    await reader.cancel(err).catch(() => {})
    throw err
  }
}

/** Adapts a fetch-style handler to `(req, res)`. @internal */
export function toFetchHandler(handler: FetchHandler, encrypted: () => boolean) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ac = new AbortController()
    res.once('close', () => {
      if (!res.writableEnded) ac.abort()
    })
    const request = toRequest(req, encrypted(), ac.signal)
    const response = await handler(request, { remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort })
    if (!(response instanceof Response)) {
      throw new TypeError('The fetch handler must return a Response')
    }
    await sendResponse(res, response)
  }
}
