import { native } from './native.js'
import { errorFromInfo, invalidArg } from './errors.js'

/** Runtime settings. */
export interface RuntimeOptions {
  /**
   * Worker threads of the one tokio runtime (1–256). Defaults to `IOCRATE_WORKERS`, or one
   * worker per two cores (at least 1, at most 4).
   */
  workers?: number
}

/** The runtime's state. */
export interface RuntimeInfo {
  /** Worker threads the runtime has (or will get when it starts). */
  workers: number
  /** Whether the runtime has started (the first socket starts it). */
  started: boolean
  /** The addon's version. */
  version: string
  /** The platform the addon was built for. */
  target: string
}

/**
 * Configures the runtime. Call it before the first socket is opened; afterwards only the
 * count already in use is accepted.
 * @throws IocrateError `ERR_IOCRATE_RUNTIME_CONFIG` when refused; `ERR_INVALID_ARG_VALUE` for a bad count.
 */
export function configure(options: RuntimeOptions): void {
  if (options.workers !== undefined) {
    const w = options.workers
    if (!Number.isInteger(w) || w < 1 || w > 256) throw invalidArg('workers', w, 'must be an integer from 1 to 256')
    const err = native.configureRuntime(w)
    if (err) throw errorFromInfo(err as Parameters<typeof errorFromInfo>[0])
  }
}

/** The runtime's settings and state. */
export function runtimeInfo(): RuntimeInfo {
  return native.runtimeInfo()
}
