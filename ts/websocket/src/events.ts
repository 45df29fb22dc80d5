/**
 * The WHATWG event objects a {@link WebSocket} dispatches to `onopen`/`onmessage`/
 * `onclose`/`onerror` and `addEventListener` listeners. Node 20 has `Event` and
 * `MessageEvent` globally but no `CloseEvent`/`ErrorEvent`, so those two are defined here.
 */

/** The standard `Event` options. */
export interface BaseEventInit {
  bubbles?: boolean
  cancelable?: boolean
  composed?: boolean
}

/** Options of {@link CloseEvent}. */
export interface CloseEventInit extends BaseEventInit {
  code?: number
  reason?: string
  wasClean?: boolean
}

/** The event of `onclose` / `addEventListener('close')`. */
export class CloseEvent extends Event {
  /** The close status code (1005 when the peer sent none, 1006 when no close frame came). */
  readonly code: number
  /** The close reason. */
  readonly reason: string
  /** Whether the close handshake completed. */
  readonly wasClean: boolean

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init)
    this.code = init.code ?? 0
    this.reason = init.reason ?? ''
    this.wasClean = init.wasClean ?? false
  }
}

/** Options of {@link ErrorEvent}. */
export interface ErrorEventInit extends BaseEventInit {
  error?: unknown
  message?: string
}

/** The event of `onerror` / `addEventListener('error')`. */
export class ErrorEvent extends Event {
  /** The error. */
  readonly error: unknown
  /** Its message. */
  readonly message: string

  constructor(type: string, init: ErrorEventInit = {}) {
    super(type, init)
    this.error = init.error
    this.message = init.message ?? ''
  }
}
