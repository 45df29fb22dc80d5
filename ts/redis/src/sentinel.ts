import type { ConnectionOptions, Endpoint } from './connection.js'
import { RedisConnection } from './connection.js'
import { RedisError, RedisErrorCodes } from './errors.js'
import { backoff, type ResolvedOptions } from './options.js'
import type { RedisReply } from './tape.js'

/** A connection to a sentinel: its own credentials, RESP2, never holding the process. */
function sentinelConnection(o: ResolvedOptions, endpoint: Endpoint, extra: Partial<ConnectionOptions>): ConnectionOptions {
  return {
    endpoint,
    tls: o.tls,
    username: o.sentinelUsername,
    password: o.sentinelPassword,
    db: 0,
    clientName: undefined,
    protocol: 2,
    connectTimeout: o.connectTimeout,
    commandTimeout: 0,
    keepAlive: 0,
    noDelay: true,
    ref: false,
    transport: o.transport,
    ...extra,
  }
}

/**
 * Asks the sentinels, in order, for the address of the master named `sentinelName`; the
 * first that knows it answers. A sentinel that answers moves to the front for next time.
 * @internal
 */
export async function resolveSentinelMaster(o: ResolvedOptions): Promise<Endpoint> {
  const sentinels = o.sentinels ?? []
  const name = o.sentinelName
  if (name === undefined) throw new RedisError(RedisErrorCodes.SENTINEL, 'sentinelName is required with sentinels')
  const errors: string[] = []
  for (let i = 0; i < sentinels.length; i++) {
    const s = sentinels[i]!
    let c: RedisConnection | undefined
    try {
      c = await RedisConnection.open(sentinelConnection(o, s, { commandTimeout: o.connectTimeout, keepAlive: 0 }))
      const r = (await c.call(['SENTINEL', 'get-master-addr-by-name', name])) as RedisReply[] | null
      if (r === null) {
        errors.push(`${s.host}:${s.port}: does not know '${name}'`)
        continue
      }
      if (i > 0) {
        sentinels.splice(i, 1)
        sentinels.unshift(s)
      }
      return { host: String(r[0]), port: Number(r[1]) }
    } catch (err) {
      errors.push(`${s.host ?? s.path}:${s.port ?? ''}: ${(err as Error).message}`)
    } finally {
      c?.destroy()
    }
  }
  throw new RedisError(RedisErrorCodes.SENTINEL, `no sentinel gave a master for '${name}' (${errors.join('; ')})`)
}

/** A subscription to a sentinel's `+switch-master` events. @internal */
export interface SentinelWatch {
  close(): void
}

/**
 * Subscribes to `+switch-master` on one sentinel (the next one when it is lost) and calls
 * `onSwitch` with the new address when the master named `sentinelName` moves. The
 * connection never keeps the process alive. @internal
 */
export function watchSentinels(o: ResolvedOptions, onSwitch: (master: Endpoint) => void): SentinelWatch {
  const name = o.sentinelName
  let closed = false
  let conn: RedisConnection | undefined
  let timer: NodeJS.Timeout | undefined
  let attempt = 0
  let next = 0

  const message = (m: RedisReply[]): void => {
    if (String(m[0]) !== 'message' || String(m[1]) !== '+switch-master') return
    // "<name> <old ip> <old port> <new ip> <new port>"
    const p = String(m[2]).split(' ')
    if (p[0] === name && p.length >= 5) onSwitch({ host: p[3]!, port: Number(p[4]) })
  }

  const retry = (): void => {
    if (closed) return
    const delay = backoff(o.retry === false ? { baseDelay: 1000, maxDelay: 5000, maxAttempts: Infinity } : { ...o.retry, maxAttempts: Infinity }, attempt++)!
    timer = setTimeout(() => {
      timer = undefined
      void connect()
    }, delay)
    timer.unref()
  }

  const connect = async (): Promise<void> => {
    const sentinels = o.sentinels ?? []
    for (let i = 0; i < sentinels.length && !closed; i++) {
      const s = sentinels[(next + i) % sentinels.length]!
      let c: RedisConnection | undefined
      try {
        c = await RedisConnection.open(sentinelConnection(o, s, { commandTimeout: 0, keepAlive: o.keepAlive, subscriber: true }))
        c.onPush = message
        await c.call(['SUBSCRIBE', '+switch-master'])
        if (closed) {
          c.destroy()
          return
        }
        const mine = c
        conn = c
        next = (next + i) % sentinels.length
        attempt = 0
        c.onClose = () => {
          if (conn === mine) conn = undefined
          next++
          retry()
        }
        return
      } catch {
        c?.destroy()
      }
    }
    retry()
  }

  void connect()
  return {
    close(): void {
      closed = true
      if (timer) clearTimeout(timer)
      conn?.destroy()
      conn = undefined
    },
  }
}
