import { native } from './native.js'

/** Receives the events of one native handle. @internal */
export interface EventTarget {
  /** Called on the JS thread with the event kind and its payload. */
  onNativeEvent(kind: number, payload: unknown): void
}

/** Event kind numbers shared with the addon. @internal */
export const Kind = native.eventKinds() as Readonly<Record<
  'CONNECT' | 'DATA' | 'END' | 'DRAIN' | 'TIMEOUT' | 'ERROR' | 'CLOSE' | 'CONNECTION' | 'DROP' | 'SERVER_CLOSE' | 'MESSAGE' | 'WARNING' | 'BENCH' | 'FORWARD_READY' | 'HTTP_REQUEST' | 'HTTP_BODY' | 'HTTP_BODY_END' | 'HTTP_ABORT' | 'HTTP_DRAIN' | 'HTTP_RESPONSE' | 'HTTP_CLIENT_ERROR' | 'HTTP_UPGRADE' | 'WS_OPEN' | 'WS_TEXT' | 'WS_BINARY' | 'WS_PING' | 'WS_PONG' | 'WS_CLOSE' | 'WS_UPGRADE' | 'SHUTDOWN' | 'REDIS_REPLY',
  number
>>

const targets = new Map<number, EventTarget>()

/** The `(id, kind)` pairs of a batch as u32s (a copy only if the Buffer is misaligned). */
function metaOf(buf: Buffer): Uint32Array {
  if (buf.byteOffset % 4 === 0) return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2)
  return new Uint32Array(Uint8Array.prototype.slice.call(buf).buffer)
}

/** Kind flags (bindings/node/src/bridge.rs): the payload is a chunk of the batch's pools. */
const POOLED = 1 << 30
/** With POOLED: the chunk starts the next pool. */
const NEW_POOL = 1 << 29

function dispatch(batch: [Buffer, unknown[], Buffer[]?]): void {
  const meta = metaOf(batch[0])
  const payloads = batch[1]
  const pools = batch[2]
  let pool = -1
  let at = 0
  const n = payloads.length
  for (let i = 0; i < n; i++) {
    let kind = meta[2 * i + 1] as number
    let payload = payloads[i]
    if ((kind & POOLED) !== 0) {
      // A small chunk: a view of the shared pool (its end offset is the payload).
      if ((kind & NEW_POOL) !== 0) {
        pool++
        at = 0
      }
      const end = payload as number
      payload = (pools as Buffer[])[pool].subarray(at, end)
      at = end
      kind &= ~(POOLED | NEW_POOL)
    }
    const t = targets.get(meta[2 * i] as number)
    if (t === undefined) continue
    try {
      t.onNativeEvent(kind, payload)
    } catch (err) {
      // Surface a throwing listener the way Node does (uncaughtException), without
      // losing the rest of the batch.
      process.nextTick(() => {
        throw err
      })
    }
  }
}

let bridge: InstanceType<typeof native.Bridge> | undefined
let refs = 0

/** The process-wide event bridge, created on first use. @internal */
export function getBridge(): InstanceType<typeof native.Bridge> {
  if (bridge === undefined) {
    bridge = new native.Bridge(dispatch, true)
    bridge.unref()
  }
  return bridge
}

/** Routes events with `id` to `target`. @internal */
export function register(id: number, target: EventTarget): void {
  targets.set(id, target)
}

/** Stops routing events with `id`. @internal */
export function unregister(id: number): void {
  targets.delete(id)
}

/**
 * Node-style `ref()`/`unref()` for one handle: while any handle holds a ref, the bridge
 * keeps the process alive. @internal
 */
export class HandleRef {
  #held = false
  #wanted = true
  #alive = false

  /** Starts holding (if not unref'd): the handle is open. */
  open(): void {
    this.#alive = true
    this.#sync()
  }

  /** The handle is closed: release for good. */
  close(): void {
    this.#alive = false
    this.#sync()
  }

  /** Keep the process alive while open (the default). */
  ref(): void {
    this.#wanted = true
    this.#sync()
  }

  /** Do not keep the process alive for this handle. */
  unref(): void {
    this.#wanted = false
    this.#sync()
  }

  /** Whether the handle currently keeps the process alive. */
  get hasRef(): boolean {
    return this.#wanted
  }

  #sync(): void {
    const want = this.#alive && this.#wanted
    if (want === this.#held) return
    this.#held = want
    const b = getBridge()
    if (want) {
      if (refs++ === 0) b.ref()
    } else if (--refs === 0) {
      b.unref()
    }
  }
}

/**
 * Measures the event bridge: `count` events sent from a runtime thread to JS, batched
 * or one JS call per event. Used by `npm run bench -- bridge`.
 */
export function benchBridge(count: number, batched: boolean): Promise<{ events: number; ms: number }> {
  return new Promise((resolve) => {
    let got = 0
    let id = -1
    const start = process.hrtime.bigint()
    const b = new native.Bridge((batch: [Buffer, unknown[]]) => {
      const meta = metaOf(batch[0])
      for (let i = 0; i < meta.length; i += 2) {
        if (meta[i] === id) got++
      }
      if (got >= count) {
        b.unref()
        resolve({ events: got, ms: Number(process.hrtime.bigint() - start) / 1e6 })
      }
    }, batched)
    b.ref()
    id = b.benchEmit(count)
  })
}
