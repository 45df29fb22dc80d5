import { expect, test } from 'tstyche'
import { Socket } from '@iocrate/net'
import { connect, createServer, type TLSSocket, type TLSServer, type PeerCertificate, type CipherInfo } from '@iocrate/tls'

test('TLSSocket extends the net Socket and exposes what the handshake settled', () => {
  const s = connect({ host: 'localhost', port: 443, alpnProtocols: ['http/1.1'] })
  expect(s).type.toBe<TLSSocket>()
  expect(s).type.toBeAssignableTo<Socket>()
  expect(s.alpnProtocol).type.toBe<string | false>()
  expect(s.getPeerCertificate()).type.toBe<PeerCertificate | Record<string, never>>()
  expect(s.getCipher()).type.toBe<CipherInfo | undefined>()
  expect(s.isSessionReused()).type.toBe<boolean>()
})

test('verification can only be turned off by the loud option', () => {
  expect(connect).type.toBeCallableWith({ host: 'h', port: 1, dangerouslyDisableCertificateVerification: true })
  expect(connect).type.not.toBeCallableWith({ host: 'h', port: 1, dangerouslyDisableCertificateVerification: false })
  expect(connect).type.not.toBeCallableWith({ host: 'h', port: 1, minVersion: 'TLSv1.1' })
})

test('servers hand out TLSSockets', () => {
  const srv = createServer({ cert: '', key: '' }, (socket) => {
    expect(socket).type.toBe<TLSSocket>()
  })
  expect(srv).type.toBe<TLSServer>()
})
