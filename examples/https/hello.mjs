#!/usr/bin/env node
// An HTTPS hello-world server.
//   node examples/https/hello.mjs --port 8443 --cert server.pem --key server.key [--host 127.0.0.1]
// Prints `listening on HOST:PORT` once ready; answers every request with text/plain
// `Hello, World!` over TLS (ALPN http/1.1).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createServer } from '@iocrate/https'

const { values: a } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
})
if (!a.cert || !a.key) {
  console.error('usage: hello.mjs --port P --cert F --key F [--host H]')
  process.exit(2)
}
const server = createServer({ cert: readFileSync(a.cert), key: readFileSync(a.key) }, (req, res) => {
  res.setHeader('Content-Type', 'text/plain')
  res.end('Hello, World!')
})
server.on('error', (err) => {
  console.error(`cannot listen: ${err.code} ${err.message}`)
  process.exit(1)
})
server.listen(Number(a.port), a.host, () => {
  const { address, port } = server.address()
  console.log(`listening on ${address}:${port}`)
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)))
