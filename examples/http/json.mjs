#!/usr/bin/env node
// A small JSON API on @iocrate/http.
//   node examples/http/json.mjs [--host 127.0.0.1] [--port 3000]
//   GET  /items        → 200 [{ id, name }, …]
//   POST /items {name} → 201 { id, name }; 400 on invalid JSON or a missing name
//   anything else      → 404
// Prints `listening on HOST:PORT` once ready; Ctrl-C (or SIGTERM) closes it gracefully.
import { parseArgs } from 'node:util'
import { createServer } from '@iocrate/http'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '3000' } },
})

const items = []
let nextId = 1

function send(res, status, value) {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(body)
}

// `maxBodySize` makes the server answer 413 in Rust for a larger body.
const server = createServer({ maxBodySize: 64 * 1024 }, async (req, res) => {
  const path = req.url.split('?', 1)[0]
  if (path !== '/items') return send(res, 404, { error: 'not found' })

  if (req.method === 'GET' || req.method === 'HEAD') return send(res, 200, items)

  if (req.method === 'POST') {
    let input
    try {
      input = await req.json()
    } catch {
      return send(res, 400, { error: 'invalid JSON' })
    }
    if (typeof input !== 'object' || input === null || typeof input.name !== 'string' || input.name === '') {
      return send(res, 400, { error: 'expected {"name": "<non-empty string>"}' })
    }
    const item = { id: nextId++, name: input.name }
    items.push(item)
    res.setHeader('Location', `/items/${item.id}`)
    return send(res, 201, item)
  }

  send(res, 404, { error: 'not found' })
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
