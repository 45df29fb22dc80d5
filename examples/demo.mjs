// The iocrate demo (`npm start`): TCP and TLS echo servers and an HTTP and HTTPS server,
// with the commands to talk to them. Options: --host H --tcp-port P --tls-port P
// --http-port P --https-port P --cert F --key F
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import * as net from '@iocrate/net'
import * as tls from '@iocrate/tls'
import * as http from '@iocrate/http'
import * as https from '@iocrate/https'
import { WebSocketServer } from '@iocrate/websocket'
import { runtimeInfo } from '@iocrate/core'

const { values: o } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'tcp-port': { type: 'string', default: '7000' },
    'tls-port': { type: 'string', default: '7443' },
    'http-port': { type: 'string', default: '8080' },
    'https-port': { type: 'string', default: '8443' },
    cert: { type: 'string', default: '.demo/cert.pem' },
    key: { type: 'string', default: '.demo/key.pem' },
  },
})

function listen(server, port) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      if (err.code === 'EADDRINUSE' && port !== 0) {
        // The preferred port is taken: let the OS pick one.
        server.removeListener('error', onError)
        listen(server, 0).then(resolve, reject)
      } else reject(err)
    }
    server.once('error', onError)
    server.listen(port, o.host, () => {
      server.removeListener('error', onError)
      resolve(server.address())
    })
  })
}

const echo = (socket) => {
  socket.on('error', () => {})
  socket.pipe(socket)
}

const tcp = net.createServer(echo)
const secure = tls.createServer({ cert: readFileSync(o.cert), key: readFileSync(o.key) }, echo)
const a = await listen(tcp, Number(o['tcp-port']))
const b = await listen(secure, Number(o['tls-port']))

// HTTP: a JS handler, a JSON echo of the request, and a static route answered in Rust.
let hits = 0
const app = (req, res) => {
  if (req.url === '/json') {
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, hits: ++hits }))
    return
  }
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.end(`Hello from iocrate over ${req.socket.encrypted ? 'HTTPS' : 'HTTP'}! (request ${++hits})\n`)
}
const routes = [{ path: '/static', headers: { 'Content-Type': 'text/plain' }, body: 'answered in Rust, without JS\n' }]
const web = http.createServer({ routes, compression: true }, app)
const webs = https.createServer({ routes, compression: true, cert: readFileSync(o.cert), key: readFileSync(o.key) }, app)
// WebSocket echo at /ws on both: the upgrade is handed over in Rust (wss: over the HTTPS server's TLS).
const sockets = [web, webs].map((server) => {
  const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: true })
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
  return wss
})
const c = await listen(web, Number(o['http-port']))
const d = await listen(webs, Number(o['https-port']))
const rt = runtimeInfo()

console.log(`iocrate demo (addon ${rt.version}, ${rt.workers} I/O worker thread(s))`)
console.log(`TCP echo listening on ${a.address}:${a.port}`)
console.log(`  try:  nc ${a.address} ${a.port}`)
console.log(`TLS echo listening on ${b.address}:${b.port}`)
console.log(`  try:  openssl s_client -connect ${b.address}:${b.port} -servername localhost -CAfile ${o.cert} -quiet`)
console.log('Type a line and it comes back.')
console.log(`HTTP listening on ${c.address}:${c.port}`)
console.log(`  try:  curl http://${c.address}:${c.port}/  /json  /static`)
console.log(`HTTPS listening on ${d.address}:${d.port}`)
console.log(`  try:  curl --cacert ${o.cert} https://localhost:${d.port}/json`)
console.log(`WebSocket echo at ws://${c.address}:${c.port}/ws and wss://localhost:${d.port}/ws`)
console.log(`  try:  node examples/websocket/client.mjs ws://${c.address}:${c.port}/ws`)
console.log('Ctrl-C stops the demo.')

const stop = () => {
  for (const wss of sockets) {
    wss.closeAll(1001, 'demo stopping')
    wss.close()
  }
  tcp.close()
  secure.close()
  web.close()
  webs.close()
  tcp.closeAllConnections()
  secure.closeAllConnections()
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
