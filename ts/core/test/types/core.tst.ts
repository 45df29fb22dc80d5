import { expect, test } from 'tstyche'
import { IocrateError, ErrorCodes, configure, runtimeInfo, type RuntimeInfo, type IocrateErrorCode } from '@iocrate/core'

test('runtime API', () => {
  expect(runtimeInfo()).type.toBe<RuntimeInfo>()
  expect(configure({ workers: 2 })).type.toBe<void>()
  expect(configure).type.not.toBeCallableWith({ workers: '2' })
})

test('errors carry a string code and Node-style fields', () => {
  const e = new IocrateError('ECONNREFUSED', 'refused', { errno: -111, syscall: 'connect' })
  expect(e.code).type.toBe<string>()
  expect(e.errno).type.toBe<number | undefined>()
  expect(e).type.toBeAssignableTo<Error>()
  expect(ErrorCodes.TLS_CERT_UNTRUSTED).type.toBe<'ERR_IOCRATE_TLS_CERT_UNTRUSTED'>()
  expect<IocrateErrorCode>().type.toBeAssignableTo<string>()
})
