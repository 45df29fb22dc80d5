import { IocrateError } from '@iocrate/core'

/** Error codes of `@iocrate/redis` (beside Node-style socket codes such as `ECONNREFUSED`). */
export const RedisErrorCodes = {
  /** The server answered the command with an error reply (see {@link ReplyError}). */
  REPLY: 'ERR_REDIS_REPLY',
  /** The connection was lost after the command was sent: it may or may not have run. */
  CONNECTION_LOST: 'ERR_REDIS_CONNECTION_LOST',
  /** The client was closed (`close()`, `disconnect()`, or retries ran out); the command was not sent. */
  CLOSED: 'ERR_REDIS_CLOSED',
  /** The command got no reply within `commandTimeout`. */
  TIMEOUT: 'ERR_REDIS_TIMEOUT',
  /** The server sent bytes that are not RESP; the connection was dropped and rebuilt. */
  PROTOCOL: 'ERR_REDIS_PROTOCOL',
  /** A reply exceeded a parser limit (bulk size, element count, depth). */
  LIMIT: 'ERR_REDIS_LIMIT',
  /** The server refused the credentials (`WRONGPASS`, `NOAUTH`, `NOPERM` on `AUTH`/`HELLO`). */
  AUTH: 'ERR_REDIS_AUTH',
  /** Could not connect within the retry budget, or while `enableOfflineQueue` is off. */
  UNAVAILABLE: 'ERR_REDIS_UNAVAILABLE',
  /** Cluster: keys in different slots, no node for a slot, or too many redirections. */
  CLUSTER: 'ERR_REDIS_CLUSTER',
  /** Sentinel: no sentinel knows a master of this name, or it is not a master. */
  SENTINEL: 'ERR_REDIS_SENTINEL',
  /** The command was aborted through its `AbortSignal`. */
  ABORTED: 'ABORT_ERR',
} as const

/** One of {@link RedisErrorCodes}' values. */
export type RedisErrorCode = (typeof RedisErrorCodes)[keyof typeof RedisErrorCodes]

/** An error from the Redis client; `code` is one of {@link RedisErrorCodes} or a socket code. */
export class RedisError extends IocrateError {
  /** The command that failed (name and argument count), when one did. */
  command?: { name: string; args: number }

  constructor(code: string, message: string, details: { cause?: unknown } = {}) {
    super(code, message, details)
    this.name = 'RedisError'
  }
}

/**
 * An error reply from the server (`-ERR ...`, `-WRONGTYPE ...`, `-MOVED ...`). `prefix`
 * is its first word (`ERR`, `WRONGTYPE`, `NOSCRIPT`, ...).
 */
export class ReplyError extends RedisError {
  /** The error's first word, as Redis uses it for a kind. */
  readonly prefix: string
  /** On an `EXECABORT` from a transaction: the server's refusals of the queued commands. */
  errors?: ReplyError[]

  constructor(message: string) {
    super(RedisErrorCodes.REPLY, message)
    this.name = 'ReplyError'
    const sp = message.indexOf(' ')
    this.prefix = sp < 0 ? message : message.slice(0, sp)
  }
}
