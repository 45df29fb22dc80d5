// UDP echo server: node examples/datagram/echo.mjs [--port P] [--host H] [--type udp4|udp6]
// Prints `listening on HOST:PORT` when ready and sends every datagram back to its sender.
import { createSocket } from '@iocrate/datagram'

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

const type = arg('type', 'udp4')
const host = arg('host', type === 'udp6' ? '::1' : '127.0.0.1')
const port = Number(arg('port', '0'))

const socket = createSocket({ type })
socket.on('message', (msg, rinfo) => {
  socket.send(msg, rinfo.port, rinfo.address)
})
socket.on('warning', (w) => console.error(`warning: ${w.code}: ${w.message}`))
socket.on('error', (err) => {
  console.error(`error: ${err.code}: ${err.message}`)
})
socket.bind(port, host, () => {
  const a = socket.address()
  console.log(`listening on ${a.address}:${a.port}`)
})
process.on('SIGTERM', () => socket.close())
process.on('SIGINT', () => socket.close())
