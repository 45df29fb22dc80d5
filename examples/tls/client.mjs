#!/usr/bin/env node
// A TLS client: sends stdin, prints what comes back, exits when stdin has ended and the
// server has closed its side.
//   echo hi | node examples/tls/client.mjs --host localhost --port 8443 [--ca ca.pem] [--servername N]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { connect } from '@iocrate/tls'

const { values: a } = parseArgs({
  options: {
    host: { type: 'string', default: 'localhost' },
    port: { type: 'string' },
    ca: { type: 'string' },
    servername: { type: 'string' },
  },
})
if (!a.port) {
  console.error('usage: client.mjs --host H --port P [--ca F] [--servername N]')
  process.exit(2)
}
const options = { host: a.host, port: Number(a.port) }
if (a.ca) options.ca = readFileSync(a.ca)
if (a.servername) options.servername = a.servername

const socket = connect(options, () => {
  console.error(`connected: ${socket.getProtocol()} ${socket.getCipher()?.name}, authorized=${socket.authorized}`)
  process.stdin.pipe(socket)
})
socket.pipe(process.stdout)
socket.on('error', (e) => {
  console.error(`error: ${e.code} ${e.message}`)
  process.exitCode = 1
})
