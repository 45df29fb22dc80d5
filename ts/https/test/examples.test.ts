import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createServer as nodeHttp } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { certDir, path, root } from '../../tls/test/helpers.js'

const run = promisify(execFile)
const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
})

function start(script: string, args: string[]): Promise<{ host: string; port: number; proc: ChildProcess }> {
  return new Promise((res, rej) => {
    const proc = spawn(process.execPath, [join(root, script), ...args], { cwd: root })
    children.push(proc)
    let out = ''
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (\S+):(\d+)/.exec(out)
      if (m) res({ host: m[1] as string, port: Number(m[2]), proc })
    })
    proc.on('exit', (code) => rej(new Error(`${script} exited with ${code}`)))
  })
}

function fetchExample(args: string[]): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [join(root, 'examples/http/fetch.mjs'), ...args], { cwd: root })
    children.push(c)
    let out = ''
    let err = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.stderr.on('data', (d: Buffer) => (err += d.toString()))
    c.on('close', (code) => res({ out, err, code }))
  })
}

describe('examples/https/hello.mjs', () => {
  it('answers curl --cacert over TLS with keep-alive', async () => {
    certDir()
    const { port, proc } = await start('examples/https/hello.mjs', ['--port', '0', '--cert', path('server.pem'), '--key', path('server.key')])
    const url = `https://localhost:${port}/`
    const { stdout } = await run('curl', ['-s', '--cacert', path('ca.pem'), url, url, '-w', ' %{http_code} %{num_connects} %{content_type}\n'])
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toBe('Hello, World! 200 1 text/plain')
    expect(lines[1]).toBe('Hello, World! 200 0 text/plain')
    // Without the CA, curl refuses the certificate.
    await expect(run('curl', ['-s', '-S', url])).rejects.toThrow(/certificate/i)
    proc.kill('SIGTERM')
  })

  it('fails clearly without --cert', async () => {
    const r = await run(process.execPath, [join(root, 'examples/https/hello.mjs')], { cwd: root }).catch((e: { code: number; stderr: string }) => e)
    expect((r as { code: number }).code).toBe(2)
    expect((r as { stderr: string }).stderr).toMatch(/usage/)
  })
})

describe('examples/http/fetch.mjs', () => {
  it('prints status, headers and body from a node:http server, following a redirect', async () => {
    const server = nodeHttp((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' })
        res.end()
        return
      }
      res.setHeader('x-demo', 'yes')
      res.setHeader('content-type', 'text/plain')
      res.end(`body of ${req.url}`)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    const r = await fetchExample([`http://127.0.0.1:${port}/old`])
    server.close()
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^HTTP 200 OK\n/)
    expect(r.out).toMatch(/\nx-demo: yes\n/)
    expect(r.out.endsWith('\n\nbody of /new')).toBe(true)
  })

  it('fetches from the HTTPS example with --ca, and exits 1 on a refused connection', async () => {
    certDir()
    const { port, proc } = await start('examples/https/hello.mjs', ['--port', '0', '--cert', path('server.pem'), '--key', path('server.key')])
    const ok = await fetchExample([`https://localhost:${port}/`, '--ca', path('ca.pem')])
    expect(ok.code).toBe(0)
    expect(ok.out).toMatch(/^HTTP 200 OK\n/)
    expect(ok.out.endsWith('\n\nHello, World!')).toBe(true)
    const untrusted = await fetchExample([`https://localhost:${port}/`])
    expect(untrusted.code).toBe(1)
    expect(untrusted.err).toMatch(/ERR_IOCRATE_TLS_CERT_UNTRUSTED/)
    proc.kill('SIGTERM')
    const refused = await fetchExample([`http://127.0.0.1:${port}/`])
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/ECONNREFUSED/)
  }, 20_000)
})
