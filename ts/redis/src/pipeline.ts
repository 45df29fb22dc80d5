import { Command, type CommandOptions, type RedisArg } from './command.js'
import { RedisCommands } from './commands.js'
import { ReplyError } from './errors.js'
import type { RedisReply } from './tape.js'

type Sender = (cmds: Command[]) => void

/** The command helpers of {@link RedisCommands}, each returning the chain instead of a promise. */
export type Chained<Self> = {
  [K in keyof RedisCommands as RedisCommands[K] extends (...a: never) => Promise<unknown> ? K : never]: RedisCommands[K] extends (...a: infer A) => Promise<unknown>
    ? (...a: A) => Self
    : never
}

abstract class Batch {
  /** @internal */
  protected readonly _send: Sender
  /** @internal */
  protected readonly _args: RedisArg[][] = []
  /** @internal */
  protected readonly _transforms: Array<((r: RedisReply) => unknown) | undefined> = []
  /** @internal */
  protected readonly _opts: Array<CommandOptions | undefined> = []
  #used = false

  /** @internal */
  constructor(send: Sender) {
    this._send = send
  }

  /** @internal */
  protected _cmd(args: RedisArg[], transform?: (r: RedisReply) => unknown, opts?: CommandOptions): this {
    this._args.push(args)
    this._transforms.push(transform)
    this._opts.push(opts)
    return this
  }

  /** @internal */
  protected _blocking(args: RedisArg[], transform?: (r: RedisReply) => unknown, opts?: CommandOptions): this {
    return this._cmd(args, transform, opts)
  }

  /** Commands queued. */
  get length(): number {
    return this._args.length
  }

  /** @internal */
  protected _take(): void {
    if (this.#used) throw new Error('exec() was already called on this batch')
    this.#used = true
  }
}

// The helpers are shared with RedisCommands at runtime; their types come from Chained.
function mixCommands(target: object): void {
  for (const name of Object.getOwnPropertyNames(RedisCommands.prototype)) {
    if (name === 'constructor' || Object.prototype.hasOwnProperty.call(target, name)) continue
    Object.defineProperty(target, name, Object.getOwnPropertyDescriptor(RedisCommands.prototype, name)!)
  }
}

/**
 * An explicit pipeline: queue commands (`pipe.set(...).get(...)`), then `exec()` sends them
 * in one write and resolves with their replies in order. A command the server refused is
 * a {@link ReplyError} in its place; a lost connection rejects `exec()`.
 */
export interface Pipeline extends Chained<Pipeline> {}
export class Pipeline extends Batch {
  /** Sends the queued commands; resolves with every reply (errors in place). */
  exec(): Promise<unknown[]> {
    this._take()
    const cmds = this._args.map((a, i) => {
      const c = new Command(a, this._transforms[i], this._opts[i])
      c.errorsAsValues = true
      return c
    })
    this._send(cmds)
    return Promise.all(cmds.map((c) => c.promise))
  }
}
mixCommands(Pipeline.prototype)

/**
 * A transaction: `MULTI`, the queued commands and `EXEC` in one write. `exec()` resolves
 * with the commands' replies (errors in place), or `null` when a `WATCH`ed key changed.
 * When the server refuses a command while queueing, `EXEC` fails with `EXECABORT` and
 * `exec()` rejects; the refusals are in the error's `errors`.
 */
export interface Transaction extends Chained<Transaction> {}
export class Transaction extends Batch {
  /** Sends `MULTI`, the commands and `EXEC`. */
  exec(): Promise<unknown[] | null> {
    this._take()
    const multi = new Command(['MULTI'])
    const queued = this._args.map((a, i) => {
      const o = this._opts[i]
      const c = new Command(a, undefined, o?.buffers ? { buffers: true } : undefined)
      c.errorsAsValues = true
      return c
    })
    const transforms = this._transforms
    const exec = new Command(['EXEC'], (r) => {
      if (r === null) return null
      const arr = r as RedisReply[]
      return arr.map((v, i) => {
        const t = transforms[i]
        return t === undefined || v instanceof ReplyError ? v : t(v)
      })
    }, { buffers: this._opts.some((o) => o?.buffers === true) })
    this._send([multi, ...queued, exec])
    multi.promise!.catch(() => {})
    const queueReplies = Promise.all(queued.map((c) => c.promise!.catch((e: unknown) => e)))
    return exec.promise!.then(
      (v) => v as unknown[] | null,
      async (err: unknown) => {
        if (err instanceof ReplyError && err.prefix === 'EXECABORT') {
          const replies = await queueReplies
          err.errors = replies.filter((x): x is ReplyError => x instanceof ReplyError)
        }
        throw err
      },
    )
  }
}
mixCommands(Transaction.prototype)
