#!/usr/bin/env node
// Fetches a URL with iocrate's client and prints the status line, the headers and the body.
//   node examples/http/fetch.mjs URL [--method POST --data TEXT] [--header 'Name: value']...
//        [--ca ca.pem] [--max-redirects N]
// Exits 0 when a response arrived (any status), 1 on a network or TLS error.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Agent, fetch } from '@iocrate/http'

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    method: { type: 'string', default: 'GET' },
    data: { type: 'string' },
    header: { type: 'string', multiple: true, default: [] },
    ca: { type: 'string' },
    'max-redirects': { type: 'string', default: '20' },
  },
})
const url = positionals[0]
if (!url) {
  console.error('usage: fetch.mjs URL [--method M] [--data TEXT] [--header "Name: value"]... [--ca F]')
  process.exit(2)
}
const headers = new Headers()
for (const h of a.header) {
  const i = h.indexOf(':')
  if (i <= 0) {
    console.error(`bad header (want "Name: value"): ${h}`)
    process.exit(2)
  }
  headers.append(h.slice(0, i).trim(), h.slice(i + 1).trim())
}
const agent = new Agent(a.ca ? { ca: readFileSync(a.ca) } : {})
const init = { method: a.method, headers, agent, redirect: Number(a['max-redirects']) > 0 ? 'follow' : 'manual' }
if (a.data !== undefined) init.body = a.data
try {
  const res = await fetch(url, init)
  console.log(`HTTP ${res.status} ${res.statusText}`)
  for (const [name, value] of res.headers) console.log(`${name}: ${value}`)
  console.log('')
  process.stdout.write(Buffer.from(await res.arrayBuffer()))
  agent.close()
} catch (err) {
  console.error(`fetch failed: ${err.code ?? err.name}: ${err.message}`)
  process.exit(1)
}
