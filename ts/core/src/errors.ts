/** Stable error codes raised by iocrate itself (beside Node-style errno codes). */
export const ErrorCodes = {
  /** No native addon for this platform. */
  NATIVE_NOT_FOUND: 'ERR_IOCRATE_NATIVE_NOT_FOUND',
  /** A runtime setting was refused (bad worker count, or the runtime already runs). */
  RUNTIME_CONFIG: 'ERR_IOCRATE_RUNTIME_CONFIG',
  /** The peer's certificate chain does not lead to a trusted root. */
  TLS_CERT_UNTRUSTED: 'ERR_IOCRATE_TLS_CERT_UNTRUSTED',
  /** The peer's certificate does not name the host connected to. */
  TLS_HOSTNAME_MISMATCH: 'ERR_IOCRATE_TLS_HOSTNAME_MISMATCH',
  /** The peer's certificate has expired or is not yet valid. */
  TLS_CERT_EXPIRED: 'ERR_IOCRATE_TLS_CERT_EXPIRED',
  /** The TLS handshake failed (bad record, protocol mismatch, garbage). */
  TLS_HANDSHAKE: 'ERR_IOCRATE_TLS_HANDSHAKE',
  /** The peer sent a TLS alert. */
  TLS_ALERT: 'ERR_IOCRATE_TLS_ALERT',
  /** Certificates, keys or TLS options could not be used. */
  TLS_BAD_CONFIG: 'ERR_IOCRATE_TLS_BAD_CONFIG',
  /** A datagram was larger than the receive buffer and was cut. */
  DGRAM_TRUNCATED: 'ERR_IOCRATE_DGRAM_TRUNCATED',
  /** The socket is closed. */
  SOCKET_CLOSED: 'ERR_SOCKET_CLOSED',
  /** A write after `end()`. */
  WRITE_AFTER_END: 'ERR_STREAM_WRITE_AFTER_END',
  /** An argument has an invalid value. */
  INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
} as const

/** One of {@link ErrorCodes}' values. */
export type IocrateErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** What the addon reports for a failure; turned into an {@link IocrateError}. */
export interface ErrorInfo {
  code: string
  errno?: number | null
  syscall?: string | null
  message: string
  address?: string | null
  port?: number | null
  isErrorInfo: boolean
}

/**
 * An error from iocrate, in Node's shape: `code` is a stable string (`ECONNREFUSED`,
 * `ERR_IOCRATE_TLS_CERT_UNTRUSTED`, …); socket errors also carry `errno` (negative, as
 * in Node), `syscall`, `address` and `port`.
 */
export class IocrateError extends Error {
  /** Stable error code. */
  readonly code: string
  /** Negative OS error number, when the error came from the OS. */
  readonly errno?: number
  /** The operation that failed (`connect`, `read`, `write`, `bind`, …). */
  readonly syscall?: string
  /** The address involved. */
  readonly address?: string
  /** The port involved. */
  readonly port?: number

  constructor(code: string, message: string, details: { errno?: number; syscall?: string; address?: string; port?: number; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'IocrateError'
    this.code = code
    if (details.errno !== undefined) this.errno = details.errno
    if (details.syscall !== undefined) this.syscall = details.syscall
    if (details.address !== undefined) this.address = details.address
    if (details.port !== undefined) this.port = details.port
  }
}

/** Whether a native return value is an error description. @internal */
export function isErrorInfo(v: unknown): v is ErrorInfo {
  return typeof v === 'object' && v !== null && (v as { isErrorInfo?: unknown }).isErrorInfo === true
}

/** Builds an {@link IocrateError} from the addon's description. @internal */
export function errorFromInfo(info: ErrorInfo): IocrateError {
  const d: { errno?: number; syscall?: string; address?: string; port?: number } = {}
  if (info.errno != null) d.errno = info.errno
  if (info.syscall != null) d.syscall = info.syscall
  if (info.address != null) d.address = info.address
  if (info.port != null) d.port = info.port
  return new IocrateError(info.code, info.message, d)
}

/** Throws when `v` is an error description, else returns it. @internal */
export function unwrap<T>(v: T | ErrorInfo): T {
  if (isErrorInfo(v)) throw errorFromInfo(v)
  return v as T
}

/** A Node-style `ERR_INVALID_ARG_VALUE` error. @internal */
export function invalidArg(name: string, value: unknown, reason: string): IocrateError {
  let shown: string
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch {
    shown = typeof value
  }
  return new IocrateError(ErrorCodes.INVALID_ARG_VALUE, `The argument '${name}' ${reason}. Received ${shown}`)
}
