#!/usr/bin/env node
// A WebSocket echo server on @iocrate/websocket: every message comes back as it came
// (text as text, binary as binary); permessage-deflate is accepted.
//   node examples/websocket/echo-server.mjs [--host 127.0.0.1] [--port 8080]
// Prints `listening on HOST:PORT` once ready; Ctrl-C (or SIGTERM) closes it.
import { parseArgs } from 'node:util'
import { WebSocketServer } from '@iocrate/websocket'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' } },
})

const wss = new WebSocketServer({ host: values.host, port: Number(values.port), perMessageDeflate: true })

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
})

wss.on('error', (err) => {
  console.error(`server error: ${err.code ?? ''} ${err.message}`)
  process.exit(1)
})

wss.on('listening', () => {
  const a = wss.address()
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
  console.log(`listening on ${host}:${a.port}`)
})

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    wss.closeAll(1001, 'server shutting down')
    wss.close()
  })
}
