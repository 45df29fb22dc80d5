import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import nodeTls from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tls from '@iocrate/tls'
import { certDir, killAll, pem, sClient, sServer } from './helpers.js'

beforeAll(() => {
  certDir()
})
afterAll(killAll)

const ca = (): Buffer => pem('ca.pem')

/** Connects, sends `msg`, resolves with everything received until the peer closes. */
function roundTrip(opts: tls.ConnectionOptions, msg: string, endAfterLine = false): Promise<{ socket: tls.TLSSocket; got: string }> {
  return new Promise((res, rej) => {
    let got = ''
    const s = tls.connect(opts, () => {
      s.write(msg)
      if (!endAfterLine) s.end()
    })
    s.on('data', (d: Buffer) => {
      got += d.toString()
      if (endAfterLine && got.endsWith('\n')) s.end()
    })
    s.on('error', rej)
    s.on('close', () => res({ socket: s, got }))
  })
}

function connectError(opts: tls.ConnectionOptions): Promise<tls.IocrateError> {
  return new Promise((res, rej) => {
    const s = tls.connect(opts, () => rej(new Error('connected')))
    s.on('error', (e) => res(e as tls.IocrateError))
  })
}

async function echoServer(opts: tls.TlsServerOptions): Promise<{ server: tls.TLSServer; port: number; sockets: tls.TLSSocket[]; clientErrors: Error[] }> {
  const sockets: tls.TLSSocket[] = []
  const clientErrors: Error[] = []
  const server = tls.createServer(opts, (s) => {
    sockets.push(s)
    s.on('error', () => {})
    s.on('data', (d: Buffer) => {
      s.write(d)
      if (d.toString().endsWith('\n')) s.end()
    })
  })
  server.on('tlsClientError', (e) => clientErrors.push(e))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as AddressInfo).port, sockets, clientErrors }
}

describe('client against openssl s_server', () => {
  for (const [flag, ver] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']] as const) {
    it(`speaks ${ver}`, async () => {
      const port = await sServer('server', [flag])
      const { socket, got } = await new Promise<{ socket: tls.TLSSocket; got: string }>((res) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca() }, () => s.write('hello\n'))
        let got = ''
        s.on('data', (d: Buffer) => {
          got += d.toString()
          if (got.endsWith('\n')) {
            res({ socket: s, got })
            s.destroy()
          }
        })
      })
      expect(got).toBe('olleh\n')
      expect(socket.getProtocol()).toBe(ver)
      expect(socket.authorized).toBe(true)
      expect(socket.encrypted).toBe(true)
    })
  }

  it('verifies IP addresses and EC keys', async () => {
    const port = await sServer('ec')
    const e = await new Promise<boolean>((res, rej) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: ca() }, () => {
        res(s.authorized)
        s.destroy()
      })
      s.on('error', rej)
    })
    expect(e).toBe(true)
  })

  it('rejects a wrong CA, a wrong name and an expired certificate with clear codes', async () => {
    const cases = [
      ['other', 'localhost', 'ERR_IOCRATE_TLS_CERT_UNTRUSTED'],
      ['server', 'wrong.example', 'ERR_IOCRATE_TLS_HOSTNAME_MISMATCH'],
      ['expired', 'localhost', 'ERR_IOCRATE_TLS_CERT_EXPIRED'],
    ] as const
    for (const [cert, name, code] of cases) {
      const port = await sServer(cert)
      const err = await connectError({ host: '127.0.0.1', port, servername: name, ca: ca() })
      expect(err.code, `${cert}/${name}`).toBe(code)
    }
  })

  it('rejectUnauthorized: false is not an opt-out; dangerouslyDisableCertificateVerification is', async () => {
    const port = await sServer('other')
    const err = await connectError({ host: '127.0.0.1', port, servername: 'localhost', ca: ca(), rejectUnauthorized: false })
    expect(err.code).toBe('ERR_IOCRATE_TLS_CERT_UNTRUSTED')
    const s = await new Promise<tls.TLSSocket>((res, rej) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca(), dangerouslyDisableCertificateVerification: true }, () => res(s))
      s.on('error', rej)
    })
    expect(s.authorized).toBe(false)
    expect(s.authorizationError).toBe('ERR_IOCRATE_TLS_CERT_UNTRUSTED')
    s.destroy()
  })

  it('reports a TLS alert as a typed error', async () => {
    const port = await sServer('server', ['-Verify', '1', '-CAfile', join(certDir(), 'ca.pem'), '-tls1_2'])
    const err = await connectError({ host: '127.0.0.1', port, servername: 'localhost', ca: ca() })
    expect(['ERR_IOCRATE_TLS_ALERT', 'ECONNRESET']).toContain(err.code)
  })

  it('a write racing the server\'s refusal (TLS 1.3) reports the refusal, not a generic closed socket', async () => {
    const port = await sServer('server', ['-Verify', '1', '-CAfile', join(certDir(), 'ca.pem'), '-tls1_3'])
    // TLS 1.3: the client is connected before the server has read its (missing) certificate.
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca() })
    const err = new Promise<tls.IocrateError>((resolve) => s.once('error', (e) => resolve(e as tls.IocrateError)))
    await once(s, 'secureConnect')
    // Keep writing with the JS thread busy: the refusal closes the connection natively while
    // its events wait, so a later write finds it closed before JS has heard why.
    const until = Date.now() + 500
    while (Date.now() < until && !s.destroyed) {
      s.write('x')
      const t = Date.now() + 1
      while (Date.now() < t) {
        // spin
      }
    }
    expect(['ERR_IOCRATE_TLS_ALERT', 'ECONNRESET']).toContain((await err).code)
  })

  it('reports bad PEM as ERR_IOCRATE_TLS_BAD_CONFIG', async () => {
    expect(() => tls.connect({ port: 1, ca: 'not a pem' })).toThrow(expect.objectContaining({ code: 'ERR_IOCRATE_TLS_BAD_CONFIG' }))
    const bad = tls.createServer({ cert: 'x', key: 'y' })
    bad.listen(0)
    const [err] = await once(bad, 'error')
    expect(err).toMatchObject({ code: 'ERR_IOCRATE_TLS_BAD_CONFIG' })
  })
})

describe('our server', () => {
  for (const [flag, ver] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']] as const) {
    it(`serves openssl s_client over ${ver}`, async () => {
      const { server, port, sockets } = await echoServer({ cert: pem('server.pem'), key: pem('server.key') })
      const { out } = await sClient(port, [flag, '-servername', 'localhost', '-verify_hostname', 'localhost'], 'ping over tls\n')
      expect(out).toContain('ping over tls')
      expect(sockets[0]?.getProtocol()).toBe(ver)
      expect(sockets[0]?.servername).toBe('localhost')
      server.close()
    })
  }

  it('serves node:tls, and our client talks to a node:tls server', async () => {
    const { server, port } = await echoServer({ cert: pem('server.pem'), key: pem('server-rsa.key') })
    const got = await new Promise<string>((res, rej) => {
      const s = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: ca() }, () => s.write('from node\n'))
      let g = ''
      s.on('data', (d: Buffer) => (g += d.toString()))
      s.on('end', () => res(g))
      s.on('error', rej)
    })
    expect(got).toBe('from node\n')
    server.close()

    const ns = nodeTls.createServer({ cert: pem('server.pem'), key: pem('server.key'), ALPNProtocols: ['b', 'a'] }, (s) => s.pipe(s))
    ns.listen(0, '127.0.0.1')
    await once(ns, 'listening')
    const { socket, got: g2 } = await roundTrip(
      { host: '127.0.0.1', port: (ns.address() as AddressInfo).port, servername: 'localhost', ca: ca(), alpnProtocols: ['a'] },
      'to node\n',
    )
    expect(g2).toBe('to node\n')
    expect(socket.alpnProtocol).toBe('a')
    ns.close()
  })

  it('forces versions, negotiates ALPN and picks certificates by SNI', async () => {
    const { server, port, sockets } = await echoServer({
      cert: pem('server.pem'),
      key: pem('server.key'),
      sni: { 'a.sni.test': { cert: pem('sni-a.pem'), key: pem('sni-a.key') }, 'b.sni.test': { cert: pem('sni-b.pem'), key: pem('sni-b.key') } },
      alpnProtocols: ['h2', 'http/1.1'],
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
    })
    for (const name of ['a.sni.test', 'b.sni.test', 'localhost']) {
      const { socket, got } = await roundTrip({ host: '127.0.0.1', port, servername: name, ca: ca(), alpnProtocols: ['http/1.1'] }, 'x\n', true)
      expect(got).toBe('x\n')
      expect(socket.getPeerCertificate().subject?.CN).toBe(name === 'localhost' ? 'localhost' : name)
      expect(socket.alpnProtocol).toBe('http/1.1')
      expect(socket.getProtocol()).toBe('TLSv1.2')
    }
    expect(sockets.map((s) => s.servername)).toEqual(['a.sni.test', 'b.sni.test', 'localhost'])
    server.close()
  })

  it('requires a client certificate when asked: rejected without, accepted with', async () => {
    const { server, port, sockets, clientErrors } = await echoServer({
      cert: pem('server.pem'),
      key: pem('server.key'),
      ca: ca(),
      requestCert: true,
      rejectUnauthorized: true,
    })
    const err = await connectError({ host: '127.0.0.1', port, servername: 'localhost', ca: ca(), maxVersion: 'TLSv1.2' })
    expect(['ERR_IOCRATE_TLS_ALERT', 'ECONNRESET']).toContain(err.code)
    const { got } = await roundTrip({ host: '127.0.0.1', port, servername: 'localhost', ca: ca(), cert: pem('client.pem'), key: pem('client.key') }, 'authed\n', true)
    expect(got).toBe('authed\n')
    expect(sockets[0]?.authorized).toBe(true)
    expect(sockets[0]?.getPeerCertificate().subject?.CN).toBe('iocrate-test-client')
    expect(clientErrors[0]).toMatchObject({ code: 'ERR_IOCRATE_TLS_HANDSHAKE' })
    server.close()
  })

  it('survives garbage instead of a handshake (typed tlsClientError)', async () => {
    const { server, port, clientErrors } = await echoServer({ cert: pem('server.pem'), key: pem('server.key') })
    const net = await import('node:net')
    const raw = net.connect(port, '127.0.0.1', () => raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    raw.on('error', () => {})
    raw.resume()
    await once(raw, 'close')
    await new Promise((r) => setTimeout(r, 50))
    expect(clientErrors[0]).toMatchObject({ code: 'ERR_IOCRATE_TLS_HANDSHAKE' })
    const { got } = await roundTrip({ host: '127.0.0.1', port, servername: 'localhost', ca: ca() }, 'alive\n', true)
    expect(got).toBe('alive\n')
    server.close()
  })

  it('resumes sessions on the second connect (TLS 1.2 and 1.3)', async () => {
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const { server, port } = await echoServer({ cert: pem('server.pem'), key: pem('server.key'), minVersion: v, maxVersion: v })
      const opts = { host: '127.0.0.1', port, servername: 'localhost', ca: ca(), alpnProtocols: [`resume-${v}`, 'x'] }
      const reused: boolean[] = []
      for (let i = 0; i < 2; i++) {
        const { socket } = await roundTrip(opts, 'r\n', true)
        reused.push(socket.isSessionReused())
      }
      expect(reused, v).toEqual([false, true])
      server.close()
    }
  })

  it('reports peer certificate details like Node', async () => {
    const { server, port } = await echoServer({ cert: pem('server.pem'), key: pem('server.key') })
    const { socket } = await roundTrip({ host: '127.0.0.1', port, servername: 'localhost', ca: ca() }, 'c\n', true)
    const mine = socket.getPeerCertificate(true) as tls.PeerCertificate
    const theirs = await new Promise<nodeTls.DetailedPeerCertificate>((res) => {
      const s = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: ca() }, () => {
        res(s.getPeerCertificate(true))
        s.destroy()
      })
    })
    expect(mine.subject).toEqual({ ...theirs.subject })
    expect(mine.issuer).toEqual({ ...theirs.issuer })
    expect(mine.subjectaltname).toBe(theirs.subjectaltname)
    expect(mine.valid_from).toBe(theirs.valid_from)
    expect(mine.valid_to).toBe(theirs.valid_to)
    expect(mine.fingerprint256).toBe(theirs.fingerprint256)
    expect(mine.serialNumber).toBe(theirs.serialNumber)
    expect(mine.raw.equals(theirs.raw)).toBe(true)
    server.close()
  })

  it('writes SSLKEYLOGFILE lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocrate-keylog-'))
    const file = join(dir, 'keys.log')
    process.env.SSLKEYLOGFILE = file
    try {
      const { server, port } = await echoServer({ cert: pem('server.pem'), key: pem('server.key') })
      // Fresh options → a fresh client config, which opens the key log file.
      await roundTrip({ host: '127.0.0.1', port, servername: 'localhost', ca: ca(), alpnProtocols: ['keylog-test'] }, 'k\n', true)
      server.close()
      expect(existsSync(file)).toBe(true)
      expect(readFileSync(file, 'utf8')).toMatch(/^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM|SERVER_HANDSHAKE_TRAFFIC_SECRET) [0-9a-f]+ [0-9a-f]+$/m)
    } finally {
      delete process.env.SSLKEYLOGFILE
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('idle timeout', () => {
  it('fires once per idle period, like node:tls, and re-arms on activity', async () => {
    const { server, port } = await echoServer({ cert: pem('server.pem'), key: pem('server.key') })
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca() })
    await once(c, 'secureConnect')
    let fired = 0
    c.setTimeout(100, () => fired++)
    c.on('timeout', () => {})
    await new Promise((r) => setTimeout(r, 450))
    expect(fired).toBe(1)
    expect(c.destroyed).toBe(false)
    c.write('ping')
    await once(c, 'data')
    const again = once(c, 'timeout')
    await again
    c.destroy()
    server.close()
  })
})
