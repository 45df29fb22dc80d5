import { native } from '@iocrate/core'

/** The addon's connection handle. @internal */
export type NativeWsConn = Parameters<typeof native.wsConnSend>[0]
/** The addon's server handle. @internal */
export type NativeWsServer = InstanceType<typeof native.WsServerHandle>
/** Options of the addon's `wsConnect`. @internal */
export type RawWsConnectOptions = Parameters<typeof native.wsConnect>[1]
/** Options of the addon's `wsServer`. @internal */
export type RawWsServerOptions = Parameters<typeof native.wsServer>[1]
/** Deflate settings for the addon. @internal */
export type RawDeflateOptions = NonNullable<RawWsServerOptions['deflate']>
/** Connection settings for the addon. @internal */
export type RawWsSettings = NonNullable<RawWsServerOptions['settings']>
