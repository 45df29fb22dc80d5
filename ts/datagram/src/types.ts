/** `udp4` (IPv4) or `udp6` (IPv6, dual-stack unless `ipv6Only`). */
export type SocketType = 'udp4' | 'udp6'

/** Options of {@link createSocket}. */
export interface SocketOptions {
  /** Address family of the socket. */
  type: SocketType
  /** Set `SO_REUSEADDR` on bind, so several sockets may bind the same address and port. */
  reuseAddr?: boolean
  /** Set `SO_REUSEPORT` on bind (the kernel balances datagrams across the sockets). */
  reusePort?: boolean
  /** udp6 only: refuse IPv4-mapped traffic (`IPV6_V6ONLY`). */
  ipv6Only?: boolean
  /** `SO_RCVBUF` in bytes, set before bind. */
  recvBufferSize?: number
  /** `SO_SNDBUF` in bytes, set before bind. */
  sendBufferSize?: number
  /**
   * Receive buffer per datagram, in bytes (default 65535, the largest UDP payload). A
   * larger datagram is delivered cut to this size with `rinfo.truncated === true`, and a
   * `'warning'` with code `ERR_IOCRATE_DGRAM_TRUNCATED` is emitted.
   */
  maxMessageSize?: number
  /**
   * Datagrams the async iterator buffers before it pauses the native reader (default
   * 1024). While paused the kernel's buffer fills and then drops, as UDP does.
   */
  highWaterMark?: number
  /** Aborting closes the socket. */
  signal?: AbortSignal
  /** Accepted for Node compatibility and ignored: lookups use `node:dns`. */
  lookup?: unknown
}

/** Where a datagram came from, as Node's `dgram` reports it, plus `truncated`. */
export interface RemoteInfo {
  /** Sender's IP address. */
  address: string
  /** `IPv4` or `IPv6`. */
  family: 'IPv4' | 'IPv6'
  /** Sender's port. */
  port: number
  /** Bytes received (after any truncation). */
  size: number
  /** The datagram was larger than `maxMessageSize` and was cut. */
  truncated: boolean
}

/** One datagram, as the async iterator yields it. */
export interface Datagram {
  /** The payload (cut to `maxMessageSize` when `truncated`). */
  data: Buffer
  /** Sender's IP address. */
  address: string
  /** Sender's port. */
  port: number
  /** `IPv4` or `IPv6`. */
  family: 'IPv4' | 'IPv6'
  /** The datagram was larger than `maxMessageSize` and was cut. */
  truncated: boolean
}

/** A bound or connected address. */
export interface AddressInfo {
  /** IP address. */
  address: string
  /** `IPv4` or `IPv6`. */
  family: string
  /** Port. */
  port: number
}

/** Options of {@link Socket.bind}. */
export interface BindOptions {
  /** Local port (0 or absent: any free port). */
  port?: number
  /** Local address or host name (absent: all interfaces). */
  address?: string
  /** Accepted for Node compatibility (cluster); ignored. */
  exclusive?: boolean
}

/** What {@link Socket.send} accepts as a message: several parts are sent as one datagram. */
export type MessageInput = Buffer | Uint8Array | string | ReadonlyArray<Buffer | Uint8Array | string>

/** Completion callback of {@link Socket.send}. */
export type SendCallback = (error: Error | null, bytes: number) => void
