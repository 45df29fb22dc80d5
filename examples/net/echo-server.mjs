#!/usr/bin/env node
// An echo server on @iocrate/net.
//   node examples/net/echo-server.mjs [--host 127.0.0.1] [--port 7000]
// Prints `listening on HOST:PORT` once ready; Ctrl-C (or SIGTERM) closes it gracefully.
import { parseArgs } from 'node:util'
import { createServer } from '@iocrate/net'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '7000' } },
})

const server = createServer((socket) => {
  socket.on('error', (err) => console.error(`connection error: ${err.code ?? err.message}`))
  socket.pipe(socket)
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

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    server.close()
    server.closeAllConnections()
  })
}
