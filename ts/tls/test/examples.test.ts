import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certDir, path, root } from './helpers.js'

const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
})
beforeAll(() => {
  certDir()
})

function startServer(extra: string[]): Promise<{ port: number; proc: ChildProcess }> {
  return new Promise((res, rej) => {
    const proc = spawn(process.execPath, [join(root, 'examples/tls/echo-server.mjs'), '--port', '0', '--cert', path('server.pem'), '--key', path('server.key'), ...extra], { cwd: root })
    children.push(proc)
    let out = ''
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (\S+):(\d+)/.exec(out)
      if (m) res({ port: Number(m[2]), proc })
    })
    proc.on('exit', (code) => rej(new Error(`echo-server exited with ${code}`)))
  })
}

function runClient(args: string[], input: string): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [join(root, 'examples/tls/client.mjs'), ...args], { cwd: root })
    children.push(c)
    let out = ''
    let err = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.stderr.on('data', (d: Buffer) => (err += d.toString()))
    c.on('close', (code) => res({ out, err, code }))
    c.stdin.end(input)
  })
}

describe('examples/tls', () => {
  it('client.mjs talks to echo-server.mjs', async () => {
    const { port, proc } = await startServer([])
    const r = await runClient(['--host', '127.0.0.1', '--port', String(port), '--ca', path('ca.pem'), '--servername', 'localhost'], 'hello tls\n')
    expect(r.out).toBe('hello tls\n')
    expect(r.code).toBe(0)
    proc.kill('SIGTERM')
  })

  it('echo-server.mjs --require-client-cert refuses a client without one', async () => {
    const { port, proc } = await startServer(['--ca', path('ca.pem'), '--require-client-cert'])
    const r = await runClient(['--host', '127.0.0.1', '--port', String(port), '--ca', path('ca.pem'), '--servername', 'localhost'], 'x\n')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/ERR_IOCRATE_TLS_ALERT|ECONNRESET/)
    proc.kill('SIGTERM')
  })
})
