import type { ErrorInfo } from '@iocrate/core'

/** Address of a socket end, as Node's `address()` returns it. */
export interface AddressInfo {
  /** IP address or Unix socket path. */
  address: string
  /** Port (0 for Unix sockets). */
  port: number
  /** `IPv4`, `IPv6` or `unix`. */
  family: string
}

/**
 * What a Socket drives: the native TCP handle, or any stream handle with the same
 * methods (the TLS handle is one). @internal
 */
export interface NativeStream {
  readonly id: number
  write(data: Buffer): number | ErrorInfo
  writev(chunks: Buffer[]): number | ErrorInfo
  end(): void
  destroy(): void
  pause(): void
  resume(): void
  setNoDelay(on: boolean): ErrorInfo | null | undefined | void
  setKeepAlive(enable: boolean, initialDelayMs?: number | null): ErrorInfo | null | undefined | void
  setTimeout(ms: number): void
  buffered(): number
  stats(): number[]
  localAddress(): AddressInfo | null | undefined
  remoteAddress(): AddressInfo | null | undefined
  /** Native forwarding (TCP/Unix only; false otherwise): see `Socket.pipe`. */
  forwardTo?(dest: never): boolean
  startForward?(): void
  stopForward?(): void
}

/** A native listening handle. @internal */
export interface NativeServer {
  readonly id: number
  address(): AddressInfo
  start(): void
  close(): void
  connections(): number
  setMaxConnections(max: number): void
}

/** Default high-water mark of the native write queue, in bytes. @internal */
export const NATIVE_HWM = 64 * 1024
