#!/usr/bin/env node
// Streams request bodies to files, with backpressure and a size limit.
//   node examples/http/upload.mjs [--host 127.0.0.1] [--port 3000] [--max-bytes 10485760]
//   POST /upload <body> → 201 {"bytes": n, "sha256": "…", "file": "/tmp/…"}
//   a body over --max-bytes → 413 with `Connection: close`:
//     - a declared Content-Length over the limit is refused before any body byte is read;
//     - a chunked body is refused as soon as it passes the limit, and reading stops.
// (`createServer({ maxBodySize })` enforces the same limit in Rust; the example does it
// in JS to show streaming with early refusal.)
// Prints `listening on HOST:PORT` once ready; Ctrl-C (or SIGTERM) closes it gracefully.
import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { createServer } from '@iocrate/http'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '3000' },
    'max-bytes': { type: 'string', default: String(10 * 1024 * 1024) },
  },
})
const maxBytes = Number(values['max-bytes'])
if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
  console.error('usage: upload.mjs [--port P] [--max-bytes N]  (N: a non-negative integer)')
  process.exit(2)
}

function send(res, status, value, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers })
  res.end(JSON.stringify(value))
}

/** Refuses the body: 413, and the connection closes after the answer (nothing more is read). */
function tooLarge(res) {
  if (!res.headersSent) send(res, 413, { error: `body larger than ${maxBytes} bytes` }, { Connection: 'close' })
}

class TooLarge extends Error {}

const server = createServer(async (req, res) => {
  // The connection may go away mid-body: the request stream then fails with ECONNRESET.
  req.on('error', () => {})
  const path = req.url.split('?', 1)[0]
  if (path !== '/upload') return send(res, 404, { error: 'not found' })
  if (req.method !== 'POST' && req.method !== 'PUT') {
    return send(res, 405, { error: 'method not allowed' }, { Allow: 'POST, PUT' })
  }

  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > maxBytes) return tooLarge(res)

  const file = join(tmpdir(), `iocrate-upload-${randomUUID()}`)
  const hash = createHash('sha256')
  let bytes = 0
  const meter = new Transform({
    transform(chunk, _encoding, callback) {
      bytes += chunk.length
      if (bytes > maxBytes) {
        tooLarge(res)
        callback(new TooLarge())
        return
      }
      hash.update(chunk)
      callback(null, chunk)
    },
  })

  try {
    // pipeline() applies backpressure end to end: when the file falls behind, the
    // request stream stops pulling and the server stops reading the socket.
    await pipeline(req, meter, createWriteStream(file))
  } catch (err) {
    await unlink(file).catch(() => {})
    if (err instanceof TooLarge) return
    if (req.aborted) return // the client went away; nobody to answer
    throw err // the server answers 500
  }
  send(res, 201, { bytes, sha256: hash.digest('hex'), file })
})

server.on('error', (err) => {
  console.error(`server error: ${err.code ?? ''} ${err.message}`)
  process.exitCode = 1
})

server.listen(Number(values.port), values.host, () => {
  const a = server.address()
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
  console.log(`listening on ${host}:${a.port}`)
})

for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => server.close())
