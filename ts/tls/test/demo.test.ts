// The `npm start` demo (examples/demo.mjs): both echo servers answer, through node:net
// and through `openssl s_client` exactly as the demo tells the user to.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { once } from 'node:events'
import * as nodeNet from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { certDir, path, root } from './helpers.js'

const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
})

describe('examples/demo.mjs (npm start)', () => {
  it('serves TCP and TLS echo and prints how to reach them', async () => {
    certDir()
    const proc = spawn(process.execPath, [join(root, 'examples/demo.mjs'), '--tcp-port', '0', '--tls-port', '0', '--http-port', '0', '--https-port', '0', '--cert', path('server.pem'), '--key', path('server.key')], { cwd: root })
    children.push(proc)
    let out = ''
    const ready = new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('Ctrl-C')) resolve()
      })
      proc.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${out}`)))
    })
    await ready
    const tcp = /TCP echo listening on (\S+):(\d+)/.exec(out)
    const tls = /TLS echo listening on (\S+):(\d+)/.exec(out)
    expect(tcp && tls).toBeTruthy()
    expect(out).toMatch(/nc 127\.0\.0\.1 \d+/)
    expect(out).toMatch(/openssl s_client -connect 127\.0\.0\.1:\d+/)

    const c = nodeNet.connect(Number(tcp![2]), tcp![1])
    let echoed = ''
    c.on('data', (d: Buffer) => (echoed += d.toString()))
    c.end('over tcp\n')
    await once(c, 'close')
    expect(echoed).toBe('over tcp\n')

    // The command the demo prints; s_client keeps the connection after stdin ends
    // (-quiet implies -ign_eof), so stop it once the echo is in.
    const sc = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${tls![2]}`, '-servername', 'localhost', '-CAfile', path('ca.pem'), '-quiet', '-verify_return_error'])
    children.push(sc)
    let tlsOut = ''
    const echoedTls = new Promise<void>((resolve) => {
      sc.stdout!.on('data', (d: Buffer) => {
        tlsOut += d.toString()
        if (tlsOut.includes('over tls')) resolve()
      })
    })
    sc.stdin!.end('over tls\n')
    await echoedTls
    sc.kill()
    expect(tlsOut).toContain('over tls')
    // The HTTP and HTTPS servers: JS route, JSON, and the static route answered in Rust.
    const web = /HTTP listening on (\S+):(\d+)/.exec(out)
    const webs = /HTTPS listening on (\S+):(\d+)/.exec(out)
    expect(web && webs).toBeTruthy()
    const get = promisify(execFile)
    const hello = await get('curl', ['-s', `http://127.0.0.1:${web![2]}/`])
    expect(hello.stdout).toMatch(/^Hello from iocrate over HTTP! \(request \d+\)\n$/)
    const stat = await get('curl', ['-s', '--compressed', `http://127.0.0.1:${web![2]}/static`])
    expect(stat.stdout).toBe('answered in Rust, without JS\n')
    const json = await get('curl', ['-s', '--cacert', path('ca.pem'), `https://localhost:${webs![2]}/json`])
    expect(JSON.parse(json.stdout)).toMatchObject({ method: 'GET', url: '/json' })
    /** The first python3 on the machine that has `websockets` (Debian's, when pyenv's comes first on PATH). */
    const pythonWithWebsockets = (): string =>
      ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import websockets']).status === 0) ?? 'python3'
    // WebSocket echo on both servers, through python's websockets (a real peer, not ours).
    for (const [url, extra] of [
      [`ws://127.0.0.1:${web![2]}/ws`, ''],
      [`wss://localhost:${webs![2]}/ws`, `ssl.create_default_context(cafile=${JSON.stringify(path('ca.pem'))})`],
    ] as const) {
      const py = `import asyncio, ssl, websockets
async def main():
    async with websockets.connect(${JSON.stringify(url)}${extra ? `, ssl=${extra}` : ''}) as ws:
        await ws.send("ws demo")
        print(await ws.recv())
asyncio.run(main())`
      const r = await get(pythonWithWebsockets(), ['-c', py])
      expect(r.stdout).toBe('ws demo\n')
    }
    proc.kill('SIGINT')
    const [code] = await once(proc, 'exit')
    expect(code).toBe(0)
  })
})
