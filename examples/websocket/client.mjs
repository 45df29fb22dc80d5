#!/usr/bin/env node
// A line-oriented WebSocket client: sends each line of stdin as a text message and
// prints every reply. Exits once stdin has ended and a reply came for every line sent.
//   node examples/websocket/client.mjs ws://127.0.0.1:8080/
//   echo hello | node examples/websocket/client.mjs ws://127.0.0.1:8080/
import { createInterface } from 'node:readline'
import { connect } from '@iocrate/websocket'

const url = process.argv[2]
if (!url) {
  console.error('usage: client.mjs ws://HOST:PORT/PATH')
  process.exit(2)
}

let ws
try {
  ws = await connect(url)
} catch (err) {
  console.error(`cannot connect to ${url}: ${err.code ?? ''} ${err.message}`)
  process.exit(1)
}

let sent = 0
let received = 0
let inputDone = false
const maybeFinish = () => {
  if (inputDone && received >= sent) ws.close(1000, 'done')
}

ws.on('message', (data) => {
  received++
  console.log(typeof data === 'string' ? data : `<${data.length} bytes>`)
  maybeFinish()
})
ws.on('error', (err) => console.error(`error: ${err.code ?? ''} ${err.message}`))
ws.on('close', (code, reason) => {
  if (code !== 1000 && code !== 1005) {
    console.error(`closed: ${code} ${reason}`)
    process.exitCode = 1
  }
})

const rl = createInterface({ input: process.stdin, terminal: false })
rl.on('line', (line) => {
  if (ws.readyState !== ws.OPEN) return
  sent++
  ws.send(line)
})
rl.on('close', () => {
  inputDone = true
  maybeFinish()
})
