#!/usr/bin/env node
// Hello world on @iocrate/http.
//   node examples/http/hello.mjs [--host 127.0.0.1] [--port 3000]
// Prints `listening on HOST:PORT` once ready; Ctrl-C (or SIGTERM) closes it gracefully.
import { parseArgs } from 'node:util'
import { createServer } from '@iocrate/http'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '3000' } },
})

const server = createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.end('Hello, World!')
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
