import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { closeNode, nodeEchoServer, portOf } from './helpers.js'

const dir = fileURLToPath(new URL('../../../examples/net/', import.meta.url))

/** Starts the example server; resolves with it and the port from its `listening on` line. */
async function startServer(host: string) {
  const child = spawn(process.execPath, [dir + 'echo-server.mjs', '--host', host, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /listening on (\S+):(\d+)/.exec(out)
      if (m) resolve(Number(m[2]))
    })
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)))
  })
  return { child, port }
}

/** Runs the example client with `input` on stdin; resolves with its output. */
async function runClient(host: string, port: number, input: string) {
  const child = spawn(process.execPath, [dir + 'echo-client.mjs', '--host', host, '--port', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  child.stdin!.end(input)
  const [code] = await once(child, 'exit')
  return { code: code as number, stdout, stderr }
}

const input = Array.from({ length: 2000 }, (_, i) => `line ${i}: ${'x'.repeat(i % 80)}`).join('\n') + '\n'

describe('examples/net', () => {
  it('echo-client ↔ echo-server', async () => {
    const { child, port } = await startServer('127.0.0.1')
    try {
      const r = await runClient('127.0.0.1', port, input)
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(r.stdout).toBe(input)
    } finally {
      child.kill('SIGTERM')
      const [code] = await once(child, 'exit')
      expect(code).toBe(0)
    }
  })

  it('echo-client ↔ a node:net echo server', async () => {
    const srv = await nodeEchoServer({ allowHalfOpen: false })
    const r = await runClient('127.0.0.1', portOf(srv), input)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(input)
    await closeNode(srv)
  })
})
