/**
 * `@iocrate/core`: the native addon, the runtime and the event bridge shared by every
 * iocrate package, and the error type they all throw.
 * @module @iocrate/core
 */
export { configure, runtimeInfo } from './runtime.js'
export type { RuntimeOptions, RuntimeInfo } from './runtime.js'
export { IocrateError, ErrorCodes, errorFromInfo, isErrorInfo, unwrap, invalidArg } from './errors.js'
export type { IocrateErrorCode, ErrorInfo } from './errors.js'
export { native } from './native.js'
export type { Native } from './native.js'
export { getBridge, register, unregister, HandleRef, Kind, benchBridge } from './bridge.js'
export type { EventTarget } from './bridge.js'
