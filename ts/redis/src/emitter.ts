import { EventEmitter } from 'node:events'
import { RedisCommands } from './commands.js'

/**
 * The command helpers plus typed events (`on`/`once`/`off`), shared by the client and the
 * cluster client. An `'error'` nobody listens to is dropped rather than thrown: failures
 * also reach the commands they concern.
 */
export abstract class RedisEmitter<Events extends { [K in keyof Events]: unknown[] }> extends RedisCommands {
  readonly #events = new EventEmitter()

  /** Adds an event listener. */
  on<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#events.on(event, listener as (...a: unknown[]) => void)
    return this
  }

  /** Adds a one-time event listener. */
  once<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#events.once(event, listener as (...a: unknown[]) => void)
    return this
  }

  /** Removes an event listener. */
  off<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#events.off(event, listener as (...a: unknown[]) => void)
    return this
  }

  /** @internal */
  protected _emit<E extends keyof Events & string>(event: E, ...args: Events[E]): void {
    if (event === 'error' && this.#events.listenerCount('error') === 0) return
    this.#events.emit(event, ...args)
  }
}
