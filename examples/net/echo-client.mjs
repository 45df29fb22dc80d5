#!/usr/bin/env node
// Sends stdin to an echo server and prints what comes back; exits once stdin has ended
// and every reply is in.
//   printf 'hello\n' | node examples/net/echo-client.mjs [--host 127.0.0.1] [--port 7000]
import { parseArgs } from 'node:util'
import { connect } from '@iocrate/net'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '7000' } },
})

// allowHalfOpen: our end of input ends our side only; replies still come until the server ends.
const socket = connect({ host: values.host, port: Number(values.port), allowHalfOpen: true })
socket.on('error', (err) => {
  console.error(`error: ${err.code ?? ''} ${err.message}`)
  process.exitCode = 1
})
socket.once('connect', () => process.stdin.pipe(socket))
socket.pipe(process.stdout)
