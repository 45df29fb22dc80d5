#!/usr/bin/env node
// Broadcast chat: an HTTP server serves a small HTML page at `/`, and WebSocket
// connections at `/chat` join the room `chat`; every message is published to the room
// (fan-out in Rust, one call per message). Open http://HOST:PORT/ in two browser tabs.
//   node examples/websocket/chat.mjs [--host 127.0.0.1] [--port 8080]
// Prints `listening on HOST:PORT` once ready; Ctrl-C (or SIGTERM) closes it.
import { parseArgs } from 'node:util'
import { createServer } from '@iocrate/http'
import { WebSocketServer } from '@iocrate/websocket'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' } },
})

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>iocrate chat</title>
<style>body{font:16px system-ui;max-width:40rem;margin:2rem auto}#log{border:1px solid #ccc;height:20rem;overflow:auto;padding:.5rem}</style>
</head><body>
<h1>iocrate chat</h1>
<div id="log"></div>
<form id="f"><input id="msg" autocomplete="off" autofocus placeholder="say something" style="width:80%"><button>Send</button></form>
<script>
const log = document.getElementById('log')
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat')
const show = (t) => { const p = document.createElement('div'); p.textContent = t; log.append(p); log.scrollTop = log.scrollHeight }
ws.onopen = () => show('* connected')
ws.onmessage = (e) => show(e.data)
ws.onclose = (e) => show('* disconnected (' + e.code + ')')
document.getElementById('f').onsubmit = (e) => {
  e.preventDefault()
  const m = document.getElementById('msg')
  if (m.value) ws.send(m.value)
  m.value = ''
}
</script></body></html>`

// The page is a static route: answered in Rust, without entering JS.
const server = createServer({
  routes: [{ method: 'GET', path: '/', status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: page }],
}, (req, res) => {
  res.statusCode = 404
  res.end('not found')
})

const wss = new WebSocketServer({ server, path: '/chat', pingInterval: 30_000 })
let next = 1
wss.on('connection', (ws) => {
  const name = `guest${next++}`
  ws.subscribe('chat')
  wss.publish('chat', `* ${name} joined (${wss.subscribers('chat')} here)`)
  ws.on('message', (data) => {
    const text = typeof data === 'string' ? data : data.toString('utf8')
    wss.publish('chat', `${name}: ${text.slice(0, 1000)}`)
  })
  ws.on('close', () => wss.publish('chat', `* ${name} left`))
})

server.on('error', (err) => {
  console.error(`server error: ${err.code ?? ''} ${err.message}`)
  process.exit(1)
})

server.listen(Number(values.port), values.host, () => {
  const a = server.address()
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
  console.log(`listening on ${host}:${a.port}`)
})

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    wss.closeAll(1001, 'server shutting down')
    wss.close()
    server.close()
  })
}
