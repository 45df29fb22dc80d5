import { native } from '@iocrate/core'

/** The addon's HTTP server handle. @internal */
export type NativeHttpServer = InstanceType<typeof native.HttpServerHandle>
/** Options of the addon's `httpListen`. @internal */
export type RawHttpServerOptions = Parameters<typeof native.httpListen>[1]
/** A static route for the addon. @internal */
export type RawRoute = NonNullable<RawHttpServerOptions['routes']>[number]
