// @iocrate/https servers against real clients (curl, node:https, openssl s_client) and the
// @iocrate/http client against our https server and node:https, with the test PKI.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import * as nodeHttps from 'node:https'
import * as nodeNet from 'node:net'
import * as nodeTls from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Agent, fetch, request, type IncomingMessage, type RequestListener } from '@iocrate/http'
import { createServer, Server } from '@iocrate/https'
import { certDir, pem, pkiPath, rejection, within } from '../../http/test/client-helpers.js'

beforeAll(() => {
  certDir()
})

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})
afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

/** Starts one of our https servers on 127.0.0.1 and returns its port. */
async function start(opts: Parameters<typeof createServer>[0], handler?: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(opts, handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
        setTimeout(r, 3000).unref()
      }),
  )
  return { server, port }
}

const serverCert = (): { cert: Buffer; key: Buffer } => ({ cert: pem('server.pem'), key: pem('server.key') })

/** A server describing each request as JSON. */
function describer(): Promise<{ server: Server; port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = []
  return start(serverCert(), (req, res) => {
    seen.push(req)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, encrypted: req.socket.encrypted, host: req.headers.host, body: Buffer.concat(chunks).toString() }))
    })
  }).then((s) => ({ ...s, seen }))
}

function run(cmd: string, args: string[], input?: string, ms = 20_000): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const t = setTimeout(() => c.kill('SIGKILL'), ms)
    c.on('close', (code) => {
      clearTimeout(t)
      res({ out, err, code })
    })
    c.stdin.end(input ?? '')
  })
}

function nodeGet(opts: nodeHttps.RequestOptions): Promise<{ status: number; body: string; socket: nodeTls.TLSSocket }> {
  return new Promise((res, rej) => {
    const req = nodeHttps.request({ host: '127.0.0.1', agent: false, ...opts }, (r) => {
      let body = ''
      r.setEncoding('utf8')
      r.on('data', (d: string) => (body += d))
      r.on('end', () => res({ status: r.statusCode ?? 0, body, socket: r.socket as nodeTls.TLSSocket }))
    })
    req.on('error', rej)
    req.end()
  })
}

/** The certificate a TLS server presents for `servername`, as node:tls sees it (verified against the test CA). */
function peerCert(port: number, servername: string): Promise<nodeTls.PeerCertificate> {
  return new Promise((res, rej) => {
    const s = nodeTls.connect({ host: '127.0.0.1', port, servername, ca: pem('ca.pem') }, () => {
      const c = s.getPeerCertificate()
      s.end()
      res(c)
    })
    s.on('error', rej)
  })
}

describe('our https server against curl, node:https and openssl', () => {
  it('curl --cacert: two URLs in one run reuse one connection (keep-alive)', async () => {
    const { port, seen } = await describer()
    const r = await run('curl', ['-sS', '--cacert', pkiPath('ca.pem'), '-w', '\n%{http_code} %{num_connects}\n', `https://localhost:${port}/one`, `https://localhost:${port}/two`])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const lines = r.out.split('\n').filter(Boolean)
    expect(lines).toHaveLength(4)
    expect(JSON.parse(lines[0] as string)).toMatchObject({ method: 'GET', url: '/one', encrypted: true })
    expect(lines[1]).toBe('200 1')
    expect(JSON.parse(lines[2] as string)).toMatchObject({ url: '/two', encrypted: true })
    // The second transfer made no new connection.
    expect(lines[3]).toBe('200 0')
    expect(seen).toHaveLength(2)
    expect(seen[0]?.socket.remotePort).toBe(seen[1]?.socket.remotePort)
  })

  it('curl POST with a body and without the CA (rejected by curl)', async () => {
    const { port } = await describer()
    const ok = await run('curl', ['-sS', '--cacert', pkiPath('ca.pem'), '--data-binary', 'posted', `https://127.0.0.1:${port}/p`])
    expect(JSON.parse(ok.out)).toMatchObject({ method: 'POST', body: 'posted', encrypted: true })
    const bad = await run('curl', ['-sS', `https://localhost:${port}/`])
    expect(bad.code).toBe(60) // peer certificate cannot be authenticated
  })

  it('node:https with ca succeeds; without ca it is rejected', async () => {
    const { port } = await describer()
    const ok = await nodeGet({ port, path: '/node', ca: pem('ca.pem'), servername: 'localhost' })
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body)).toMatchObject({ url: '/node', encrypted: true })
    expect(ok.socket.getPeerCertificate().subject.CN).toBe('localhost')
    expect(ok.socket.alpnProtocol === false || ok.socket.alpnProtocol === 'http/1.1').toBe(true)
    const err = await rejection(nodeGet({ port, path: '/', servername: 'localhost' }))
    expect(err.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|DEPTH_ZERO_SELF_SIGNED_CERT/)
    // The server survives the rejected handshake.
    expect((await nodeGet({ port, path: '/again', ca: pem('ca.pem') })).status).toBe(200)
  })

  it('ALPN: openssl s_client -alpn http/1.1 negotiates http/1.1', async () => {
    const { port } = await describer()
    const r = await run('openssl', ['s_client', '-ign_eof', '-connect', `127.0.0.1:${port}`, '-alpn', 'http/1.1', '-CAfile', pkiPath('ca.pem'), '-servername', 'localhost'], 'GET /alpn HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    const all = r.out + r.err
    expect(all).toContain('ALPN protocol: http/1.1')
    expect(all).toContain('Verify return code: 0 (ok)')
    expect(all).toContain('"url":"/alpn"')
    // node:tls asking for h2 and http/1.1 gets http/1.1.
    const proto = await new Promise<string | false | null>((res, rej) => {
      const s = nodeTls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pem('ca.pem'), ALPNProtocols: ['h2', 'http/1.1'] }, () => {
        res(s.alpnProtocol)
        s.end()
      })
      s.on('error', rej)
    })
    expect(proto).toBe('http/1.1')
  })

  it('SNI: the certificate matches the requested name (node:tls, node:https, curl --resolve)', async () => {
    const { port } = await start(
      {
        sni: {
          'a.sni.test': { cert: pem('sni-a.pem'), key: pem('sni-a.key') },
          'b.sni.test': { cert: pem('sni-b.pem'), key: pem('sni-b.key') },
        },
      },
      (req, res) => res.end(`host=${req.headers.host}`),
    )
    const a = await peerCert(port, 'a.sni.test')
    expect(a.subject.CN).toBe('a.sni.test')
    expect(a.subjectaltname).toBe('DNS:a.sni.test')
    const b = await peerCert(port, 'b.sni.test')
    expect(b.subject.CN).toBe('b.sni.test')
    expect(b.subjectaltname).toBe('DNS:b.sni.test')
    const nb = await nodeGet({ port, servername: 'b.sni.test', headers: { host: 'b.sni.test' }, ca: pem('ca.pem'), path: '/' })
    expect(nb.body).toBe('host=b.sni.test')
    expect(nb.socket.getPeerCertificate().subject.CN).toBe('b.sni.test')
    const c = await run('curl', ['-sS', '-v', '--cacert', pkiPath('ca.pem'), '--resolve', `a.sni.test:${port}:127.0.0.1`, `https://a.sni.test:${port}/`])
    expect(c.code).toBe(0)
    expect(c.out).toBe(`host=a.sni.test:${port}`)
    expect(c.err).toMatch(/subject: .*CN=a\.sni\.test/)
  })

  it('SNI: an unknown name or no SNI at all fails that handshake only', async () => {
    const { port } = await start(
      { sni: { 'a.sni.test': { cert: pem('sni-a.pem'), key: pem('sni-a.key') } } },
      (_req, res) => res.end('sni ok'),
    )
    const unknown = await rejection(peerCert(port, 'c.sni.test'))
    expect(unknown).toBeInstanceOf(Error)
    const none = await rejection(
      new Promise((res, rej) => {
        // An IP as servername: node sends no SNI.
        const s = nodeTls.connect({ host: '127.0.0.1', port, ca: pem('ca.pem'), checkServerIdentity: () => undefined }, () => {
          res(s.getPeerCertificate().subject?.CN)
          s.end()
        })
        s.on('error', rej)
      }),
    )
    expect(none).toBeInstanceOf(Error)
    const ok = await nodeGet({ port, servername: 'a.sni.test', ca: pem('ca.pem'), path: '/' })
    expect(ok.body).toBe('sni ok')
  })

  it('handlers see req.socket.encrypted === true; fetch-style handlers see an https:// URL', async () => {
    let url = ''
    const { port } = await start({ ...serverCert(), fetch: (r) => ((url = r.url), new Response(`fetch saw ${new URL(r.url).protocol}`)) })
    const a = new Agent({ ca: pem('ca.pem') })
    closers.push(() => a.destroy())
    const res = await request(`https://localhost:${port}/f?x=1`, { agent: a })
    expect(await res.text()).toBe('fetch saw https:')
    expect(url).toBe(`https://localhost:${port}/f?x=1`)
    const d = await describer()
    const j = await (await request(`https://127.0.0.1:${d.port}/`, { agent: a })).json<{ encrypted: boolean }>()
    expect(j.encrypted).toBe(true)
    expect(d.seen[0]?.socket.encrypted).toBe(true)
  })

  it('a plain-HTTP client on the HTTPS port does not break the server', async () => {
    const { port } = await describer()
    const plain = await new Promise<string>((res) => {
      const s = nodeNet.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
      let got = ''
      s.on('data', (d: Buffer) => (got += d.toString('latin1')))
      s.on('error', () => {})
      s.on('close', () => res(got))
      setTimeout(() => s.destroy(), 5000)
    })
    // Whatever it got (nothing, or a TLS alert), it is not an HTTP response.
    expect(plain.startsWith('HTTP/')).toBe(false)
    // A handshake-less client holding a connection open does not block others either.
    const idle = nodeNet.connect(port, '127.0.0.1')
    idle.on('error', () => {})
    closers.push(() => void idle.destroy())
    const a = new Agent({ ca: pem('ca.pem') })
    closers.push(() => a.destroy())
    for (let i = 0; i < 3; i++) {
      const r = await within(request(`https://localhost:${port}/after/${i}`, { agent: a }), 15_000, 'request after garbage')
      expect(((await r.json()) as { url: string }).url).toBe(`/after/${i}`)
    }
    const c = await run('curl', ['-sS', '--cacert', pkiPath('ca.pem'), `https://localhost:${port}/curl`])
    expect(JSON.parse(c.out)).toMatchObject({ url: '/curl' })
  })
})

describe('our client over https', () => {
  it('Agent({ ca }) → our https server: GET, POST, keep-alive, fetch', async () => {
    const { port, seen } = await describer()
    const a = new Agent({ ca: pem('ca.pem') })
    closers.push(() => a.destroy())
    for (let i = 0; i < 5; i++) {
      const r = await request(`https://localhost:${port}/k${i}`, { agent: a })
      expect(r.statusCode).toBe(200)
      expect((await r.json<{ url: string }>()).url).toBe(`/k${i}`)
    }
    expect(new Set(seen.map((s) => s.socket.remotePort)).size).toBe(1)
    const p = await request(`https://localhost:${port}/post`, { agent: a, method: 'POST', body: Buffer.alloc(200_000, 7) })
    expect((await p.json<{ body: string }>()).body.length).toBe(200_000)
    const f = await fetch(`https://127.0.0.1:${port}/fetch`, { agent: a, method: 'POST', body: 'via fetch' })
    expect(await f.json()).toMatchObject({ url: '/fetch', body: 'via fetch', encrypted: true })
  })

  it('Agent({ ca }) → a node:https server (TLS 1.2 and 1.3)', async () => {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      let proto = ''
      const srv = nodeHttps.createServer({ cert: pem('server.pem'), key: pem('server.key'), maxVersion }, (req, res) => {
        proto = (req.socket as nodeTls.TLSSocket).getProtocol() ?? ''
        res.end(`node https ${req.url}`)
      })
      srv.listen(0, '127.0.0.1')
      await once(srv, 'listening')
      closers.push(
        () =>
          new Promise<void>((r) => {
            srv.closeAllConnections()
            srv.close(() => r())
          }),
      )
      const port = (srv.address() as nodeNet.AddressInfo).port
      const a = new Agent({ ca: pem('ca.pem') })
      closers.push(() => a.destroy())
      expect(await (await request(`https://localhost:${port}/x`, { agent: a })).text()).toBe('node https /x')
      expect(proto).toBe(maxVersion)
      expect(await (await fetch(`https://127.0.0.1:${port}/y`, { agent: a })).text()).toBe('node https /y')
    }
  })

  it('big bodies both ways over TLS: 8 MiB upload and download, byte-exact', async () => {
    const { createHash } = await import('node:crypto')
    const up = Buffer.alloc(8 * 1024 * 1024)
    for (let i = 0; i < up.length; i += 4) up.writeUInt32LE((i * 2654435761) >>> 0, i)
    const { port } = await start(serverCert(), (req, res) => {
      const h = createHash('sha256')
      let n = 0
      req.on('data', (c: Buffer) => {
        h.update(c)
        n += c.length
      })
      req.on('end', () => {
        res.setHeader('x-sha', h.digest('hex'))
        res.setHeader('x-len', String(n))
        res.end(up)
      })
    })
    const a = new Agent({ ca: pem('ca.pem') })
    closers.push(() => a.destroy())
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < up.length; i += 300_000) yield up.subarray(i, Math.min(up.length, i + 300_000))
    }
    const r = await request(`https://localhost:${port}/big`, { agent: a, method: 'PUT', body: chunks() })
    expect(r.headers['x-len']).toBe(String(up.length))
    expect(r.headers['x-sha']).toBe(createHash('sha256').update(up).digest('hex'))
    const down = await r.buffer()
    expect(down.length).toBe(up.length)
    expect(down.equals(up)).toBe(true)
  })

  it('our client offers ALPN http/1.1 and no SNI for an IP literal', async () => {
    const seen: { alpn: string | false | null; sni: string | false }[] = []
    const srv = nodeHttps.createServer({ cert: pem('server.pem'), key: pem('server.key'), ALPNProtocols: ['http/1.1'] }, (req, res) => {
      const s = req.socket as nodeTls.TLSSocket & { servername?: string | false }
      seen.push({ alpn: s.alpnProtocol, sni: s.servername ?? false })
      res.end('ok')
    })
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    closers.push(
      () =>
        new Promise<void>((r) => {
          srv.closeAllConnections()
          srv.close(() => r())
        }),
    )
    const port = (srv.address() as nodeNet.AddressInfo).port
    const a = new Agent({ ca: pem('ca.pem') })
    closers.push(() => a.destroy())
    await (await request(`https://localhost:${port}/`, { agent: a })).text()
    const b = new Agent({ ca: pem('ca.pem') })
    closers.push(() => b.destroy())
    await (await request(`https://127.0.0.1:${port}/`, { agent: b })).text()
    expect(seen[0]).toEqual({ alpn: 'http/1.1', sni: 'localhost' })
    expect(seen[1]?.alpn).toBe('http/1.1')
    expect(seen[1]?.sni).toBe(false)
  })

  it('without the CA: ERR_IOCRATE_TLS_CERT_UNTRUSTED', async () => {
    const { port } = await describer()
    const a = new Agent()
    closers.push(() => a.destroy())
    const err = await rejection(request(`https://localhost:${port}/`, { agent: a }))
    expect(err.code).toBe('ERR_IOCRATE_TLS_CERT_UNTRUSTED')
    // A CA that did not sign it is no better.
    const b = new Agent({ ca: pem('other-ca.pem') })
    closers.push(() => b.destroy())
    expect((await rejection(request(`https://localhost:${port}/`, { agent: b }))).code).toBe('ERR_IOCRATE_TLS_CERT_UNTRUSTED')
  })

  it('wrong hostname: ERR_IOCRATE_TLS_HOSTNAME_MISMATCH', async () => {
    const { port } = await describer()
    const a = new Agent({ ca: pem('ca.pem'), servername: 'not-localhost.example' })
    closers.push(() => a.destroy())
    expect((await rejection(request(`https://localhost:${port}/`, { agent: a }))).code).toBe('ERR_IOCRATE_TLS_HOSTNAME_MISMATCH')
    // A server whose only certificate is for a.sni.test, reached as 127.0.0.1.
    const s = await start({ cert: pem('sni-a.pem'), key: pem('sni-a.key') }, (_req, res) => res.end('a'))
    const b = new Agent({ ca: pem('ca.pem') })
    closers.push(() => b.destroy())
    expect((await rejection(request(`https://127.0.0.1:${s.port}/`, { agent: b }))).code).toBe('ERR_IOCRATE_TLS_HOSTNAME_MISMATCH')
    // With servername the same connection verifies.
    const c = new Agent({ ca: pem('ca.pem'), servername: 'a.sni.test' })
    closers.push(() => c.destroy())
    expect(await (await request(`https://127.0.0.1:${s.port}/`, { agent: c })).text()).toBe('a')
  })

  it('servername selects the SNI certificate of our server', async () => {
    const { port } = await start(
      {
        sni: {
          'a.sni.test': { cert: pem('sni-a.pem'), key: pem('sni-a.key') },
          'b.sni.test': { cert: pem('sni-b.pem'), key: pem('sni-b.key') },
        },
      },
      (req, res) => res.end(`host=${req.headers.host}`),
    )
    for (const n of ['a', 'b']) {
      const a = new Agent({ ca: pem('ca.pem'), servername: `${n}.sni.test` })
      closers.push(() => a.destroy())
      const r = await request(`https://127.0.0.1:${port}/`, { agent: a, headers: { host: `${n}.sni.test` } })
      expect(await r.text()).toBe(`host=${n}.sni.test`)
    }
  })

  it('an expired certificate is refused', async () => {
    const { port } = await start({ cert: pem('expired.pem'), key: pem('expired.key') }, (_req, res) => res.end())
    const a = new Agent({ ca: pem('ca.pem') })
    closers.push(() => a.destroy())
    const err = await rejection(request(`https://localhost:${port}/`, { agent: a }))
    expect(err.code).toBe('ERR_IOCRATE_TLS_CERT_EXPIRED')
  })

  it('dangerouslyDisableCertificateVerification: true accepts an untrusted certificate', async () => {
    const { port } = await start({ cert: pem('other.pem'), key: pem('other.key') }, (_req, res) => res.end('trusted anyway'))
    const a = new Agent({ dangerouslyDisableCertificateVerification: true })
    closers.push(() => a.destroy())
    expect(await (await request(`https://localhost:${port}/`, { agent: a })).text()).toBe('trusted anyway')
    // And a wrong name.
    const b = new Agent({ dangerouslyDisableCertificateVerification: true, servername: 'whatever.example' })
    closers.push(() => b.destroy())
    expect(await (await request(`https://localhost:${port}/`, { agent: b })).text()).toBe('trusted anyway')
  })

  it('client certificates: a server with requestCert accepts our client with cert/key and refuses it without', async () => {
    const { port } = await start({ ...serverCert(), ca: pem('ca.pem'), requestCert: true }, (_req, res) => res.end('mtls ok'))
    const withCert = new Agent({ ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') })
    closers.push(() => withCert.destroy())
    expect(await (await request(`https://localhost:${port}/`, { agent: withCert })).text()).toBe('mtls ok')
    const without = new Agent({ ca: pem('ca.pem') })
    closers.push(() => without.destroy())
    const err = await rejection(request(`https://localhost:${port}/`, { agent: without }))
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toMatch(/certificate_required/)
    // node:https presenting the client certificate is accepted too.
    const ok = await nodeGet({ port, ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key'), servername: 'localhost' })
    expect(ok.body).toBe('mtls ok')
  })

  it('a refused client certificate is reported as ERR_IOCRATE_TLS_ALERT', async () => {
    const { port } = await start({ ...serverCert(), ca: pem('ca.pem'), requestCert: true }, (_req, res) => res.end('mtls ok'))
    const without = new Agent({ ca: pem('ca.pem') })
    closers.push(() => without.destroy())
    const err = await rejection(request(`https://localhost:${port}/`, { agent: without }))
    expect(['ERR_IOCRATE_TLS_ALERT', 'ECONNRESET']).toContain(err.code)
  })

  it('https through a CONNECT proxy', async () => {
    const { port } = await describer()
    const { createServer: httpServer } = await import('node:http')
    const connects: string[] = []
    const sockets: nodeNet.Socket[] = []
    const proxy = httpServer((_q, s) => s.writeHead(405).end())
    proxy.on('connect', (req: import('node:http').IncomingMessage, client: nodeNet.Socket, head: Buffer) => {
      connects.push(req.url ?? '')
      const [h, p] = (req.url ?? '').split(':')
      const up = nodeNet.connect(Number(p), h === 'localhost' ? '127.0.0.1' : h, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (head.length) up.write(head)
        up.pipe(client)
        client.pipe(up)
      })
      sockets.push(up, client)
      up.on('error', () => client.destroy())
      client.on('error', () => up.destroy())
    })
    proxy.listen(0, '127.0.0.1')
    await once(proxy, 'listening')
    closers.push(
      () =>
        new Promise<void>((r) => {
          sockets.forEach((s) => s.destroy())
          proxy.close(() => r())
        }),
    )
    const a = new Agent({ ca: pem('ca.pem'), proxy: `http://127.0.0.1:${(proxy.address() as nodeNet.AddressInfo).port}` })
    closers.push(() => a.destroy())
    const r = await request(`https://localhost:${port}/tunneled`, { agent: a })
    expect(await r.json()).toMatchObject({ url: '/tunneled', encrypted: true })
    expect(connects).toEqual([`localhost:${port}`])
  })
})

describe('server options and errors', () => {
  it('createServer without cert or sni throws ERR_IOCRATE_TLS_BAD_CONFIG', () => {
    expect(() => createServer({}, () => {})).toThrow(expect.objectContaining({ code: 'ERR_IOCRATE_TLS_BAD_CONFIG' }))
  })

  it('a garbage certificate is refused', async () => {
    const got = await new Promise<unknown>((res) => {
      try {
        const s = createServer({ cert: 'not a pem', key: 'nor this' }, () => {})
        s.on('error', res)
        s.on('listening', () => {
          res('listening')
          s.close()
        })
        s.listen(0, '127.0.0.1')
      } catch (e) {
        res(e)
      }
    })
    expect(got).toBeInstanceOf(Error)
    expect((got as { code?: string }).code).toMatch(/^ERR_IOCRATE_TLS_/)
  })

  it('static routes are served over TLS', async () => {
    const { port } = await start({ ...serverCert(), routes: [{ path: '/health', body: 'ok', headers: { 'content-type': 'text/plain' } }] }, (_req, res) => res.end('js'))
    const r = await run('curl', ['-sS', '--cacert', pkiPath('ca.pem'), `https://localhost:${port}/health`, `https://localhost:${port}/js`])
    expect(r.out).toBe('okjs')
  })

  it('many concurrent TLS handshakes from node:https', async () => {
    const { port } = await describer()
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => nodeGet({ port, path: `/c${i}`, ca: pem('ca.pem'), servername: 'localhost' })))
    expect(results.map((r) => (JSON.parse(r.body) as { url: string }).url)).toEqual(Array.from({ length: 30 }, (_, i) => `/c${i}`))
  })
})
