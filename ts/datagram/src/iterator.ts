import type { Datagram } from './types.js'

/** The async iterator of a socket: a bounded queue that pauses the reader when full. @internal */
export class DatagramIterator implements AsyncIterableIterator<Datagram> {
  readonly #queue: Datagram[] = []
  #head = 0
  #waiter: ((r: IteratorResult<Datagram>) => void) | undefined
  #done = false
  #paused = false

  constructor(
    readonly hwm: number,
    readonly pause: (p: boolean) => void,
    readonly detach: () => void,
  ) {}

  push(d: Datagram): void {
    if (this.#done) return
    const w = this.#waiter
    if (w !== undefined) {
      this.#waiter = undefined
      w({ value: d, done: false })
      return
    }
    this.#queue.push(d)
    if (!this.#paused && this.#queue.length - this.#head >= this.hwm) {
      this.#paused = true
      this.pause(true)
    }
  }

  end(): void {
    if (this.#done) return
    this.#done = true
    this.#release()
    const w = this.#waiter
    this.#waiter = undefined
    w?.({ value: undefined, done: true })
  }

  #release(): void {
    if (this.#paused) {
      this.#paused = false
      this.pause(false)
    }
  }

  next(): Promise<IteratorResult<Datagram>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head++]!
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head)
        this.#head = 0
      }
      if (this.#paused && this.#queue.length - this.#head <= this.hwm >> 1) this.#release()
      return Promise.resolve({ value, done: false })
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => {
      this.#waiter = resolve
    })
  }

  return(): Promise<IteratorResult<Datagram>> {
    this.#queue.length = 0
    this.#head = 0
    this.end()
    this.detach()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
