#!/usr/bin/env node
// A TLS echo server.
//   node examples/tls/echo-server.mjs --port 8443 --cert server.pem --key server.key \
//        [--host 127.0.0.1] [--ca ca.pem --require-client-cert]
// Prints `listening on HOST:PORT` once ready.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createServer } from '@iocrate/tls'

const { values: a } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
    ca: { type: 'string' },
    'require-client-cert': { type: 'boolean', default: false },
  },
})
if (!a.cert || !a.key) {
  console.error('usage: echo-server.mjs --port P --cert F --key F [--ca F --require-client-cert]')
  process.exit(2)
}
const options = { cert: readFileSync(a.cert), key: readFileSync(a.key) }
if (a.ca) options.ca = readFileSync(a.ca)
if (a['require-client-cert']) Object.assign(options, { requestCert: true, rejectUnauthorized: true })

const server = createServer(options, (socket) => {
  const who = socket.getPeerCertificate().subject?.CN
  console.error(`secure connection from ${socket.remoteAddress}${who ? ` (client cert CN=${who})` : ''}, ${socket.getProtocol()}`)
  socket.on('error', (e) => console.error(`socket error: ${e.code ?? ''} ${e.message}`))
  socket.pipe(socket)
})
server.on('tlsClientError', (e) => console.error(`handshake failed: ${e.code} ${e.message}`))
server.listen(Number(a.port), a.host, () => {
  const { address, port } = server.address()
  console.log(`listening on ${address}:${port}`)
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)))
