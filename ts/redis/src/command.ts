import type { RedisReply } from './tape.js'
import { RedisError, RedisErrorCodes, ReplyError } from './errors.js'

/** A command argument: strings are sent as UTF-8, numbers and bigints in decimal. */
export type RedisArg = string | Buffer | number | bigint

/** Per-command options. */
export interface CommandOptions {
  /** Rejects with `ABORT_ERR` when aborted. A command already written may still run on the server. */
  signal?: AbortSignal
  /** Bulk strings as Buffers instead of strings. */
  buffers?: boolean
}

/** One command on its way: its arguments, how to decode its reply, whom to tell. @internal */
export class Command {
  readonly args: RedisArg[]
  readonly buffers: boolean
  /** Replies it expects ((un)subscribe: one per channel). */
  expect = 1
  /** Set once it is answered, failed, timed out or aborted: a late reply is dropped. */
  done = false
  /** Written to a connection (a lost connection then means "may have run"). */
  sent = false
  /** When `commandTimeout` fails it (ms since epoch); 0: never (blocking commands). */
  deadline = 0
  /** A blocking command: its own block time is its limit, not `commandTimeout`. */
  blocking = false
  /** Reply errors become values instead of rejections (pipelines, EXEC). */
  errorsAsValues = false
  transform: ((r: RedisReply) => unknown) | undefined
  /**
   * Sees an error reply before anything else does (cluster redirections, `READONLY`);
   * returning true takes the command over: it is not answered and may be sent again.
   */
  onReplyError: ((e: ReplyError) => boolean) | undefined = undefined
  resolve!: (v: unknown) => void
  reject!: (e: Error) => void
  readonly promise: Promise<unknown> | undefined
  #signal: AbortSignal | undefined
  #onAbort: (() => void) | undefined

  constructor(args: RedisArg[], transform?: (r: RedisReply) => unknown, opts?: CommandOptions, withPromise = true) {
    this.args = args
    this.buffers = opts?.buffers ?? false
    this.transform = transform
    this.promise = withPromise
      ? new Promise((res, rej) => {
          this.resolve = res
          this.reject = rej
        })
      : undefined
    const signal = opts?.signal
    if (signal) {
      if (signal.aborted) {
        this.fail(abortError(signal))
      } else {
        this.#signal = signal
        this.#onAbort = () => this.fail(abortError(signal))
        signal.addEventListener('abort', this.#onAbort, { once: true })
      }
    }
  }

  /** The command's name, upper-cased, for errors. */
  get name(): string {
    const a = this.args[0]
    return (typeof a === 'string' ? a : String(a)).toUpperCase()
  }

  /** Delivers a reply. */
  answer(reply: RedisReply): void {
    if (this.done) return
    if (reply instanceof ReplyError) {
      if (this.onReplyError !== undefined && this.onReplyError(reply)) return
      if (!this.errorsAsValues) return this.fail(reply)
    }
    this.#finish()
    let v: unknown = reply
    if (this.transform !== undefined && !(reply instanceof ReplyError)) {
      try {
        v = this.transform(reply)
      } catch (err) {
        this.reject(err as Error)
        return
      }
    }
    this.resolve(v)
  }

  /** Fails it (once). */
  fail(err: Error): void {
    if (this.done) return
    this.#finish()
    if (err instanceof RedisError && err.command === undefined) err.command = { name: this.name, args: this.args.length - 1 }
    this.reject(err)
  }

  #finish(): void {
    this.done = true
    if (this.#signal) {
      this.#signal.removeEventListener('abort', this.#onAbort!)
      this.#signal = undefined
    }
  }
}

function abortError(signal: AbortSignal): RedisError {
  return new RedisError(RedisErrorCodes.ABORTED, 'The command was aborted', { cause: signal.reason })
}

/** Appends a command as RESP (an array of bulk strings) to `out`. @internal */
export class Encoder {
  #str = ''
  #chunks: Buffer[] = []
  #bytes = 0

  get empty(): boolean {
    return this.#str.length === 0 && this.#chunks.length === 0
  }

  add(args: RedisArg[]): void {
    let s = '*' + args.length + '\r\n'
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (typeof a === 'string') {
        s += '$' + Buffer.byteLength(a) + '\r\n' + a + '\r\n'
      } else if (typeof a === 'number' || typeof a === 'bigint') {
        const t = a === Infinity ? '+inf' : a === -Infinity ? '-inf' : String(a)
        s += '$' + t.length + '\r\n' + t + '\r\n'
      } else {
        s += '$' + a.length + '\r\n'
        this.#str += s
        s = '\r\n'
        this.#flushStr()
        this.#chunks.push(a)
        this.#bytes += a.length
      }
    }
    this.#str += s
    if (this.#str.length > 1 << 20) this.#flushStr()
  }

  #flushStr(): void {
    if (this.#str.length === 0) return
    const b = Buffer.from(this.#str, 'utf8')
    this.#chunks.push(b)
    this.#bytes += b.length
    this.#str = ''
  }

  /** Takes what was encoded: one Buffer, or several in order. */
  take(): Buffer[] {
    this.#flushStr()
    const c = this.#chunks
    this.#chunks = []
    this.#bytes = 0
    return c
  }
}
