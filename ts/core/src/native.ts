import { createRequire } from 'node:module'
import type * as NativeModule from '@iocrate/native'

const require = createRequire(import.meta.url)

/** The raw addon, as typed by its generated declarations. Internal to iocrate packages. */
export type Native = typeof NativeModule

/**
 * The loaded native addon. Loading throws an {@link Error} with code
 * `ERR_IOCRATE_NATIVE_NOT_FOUND` that names the platform and what to do when no binary
 * fits this platform.
 * @internal
 */
export const native: Native = require('@iocrate/native') as Native
