/**
 * `@iocrate/redis`: a Redis client (RESP2 and RESP3) with automatic pipelining, pub/sub,
 * transactions, scripts, cluster and sentinel support. Replies are decoded from RESP in
 * Rust, on the I/O thread; JS receives them in batches.
 * @packageDocumentation
 */
export { RedisClient, IsolatedClient, createClient } from './client.js'
export type { RedisClientEvents } from './client.js'
export { RedisCluster, createCluster } from './cluster.js'
export type { ClusterSlotRange, RedisClusterEvents, RedisClusterOptions } from './cluster.js'
export { keySlot } from './slot.js'
export { RedisCommands } from './commands.js'
export { RedisEmitter } from './emitter.js'
export type {
  CopyOptions,
  ElementScanOptions,
  ExpireOptions,
  FieldValues,
  FlushOptions,
  GetExOptions,
  ListPop,
  ListSide,
  LPosOptions,
  RedisKey,
  RedisValue,
  RestoreOptions,
  ScanOptions,
  ScoreBound,
  ScoredValue,
  SetOptions,
  StreamInfo,
  StreamMessage,
  StreamMessages,
  StreamOffsets,
  StreamTrimOptions,
  XAddOptions,
  XAutoClaimResult,
  XClaimOptions,
  XGroupCreateOptions,
  XPendingEntry,
  XPendingRangeOptions,
  XPendingSummary,
  XReadGroupOptions,
  XReadOptions,
  XTrimOptions,
  ZAddOptions,
  ZMember,
  ZPop,
  ZRangeOptions,
  ZStoreOptions,
} from './commands.js'
export { defineScript, scriptDefinition } from './script.js'
export type { RedisScript, ScriptDefinition, ScriptOptions } from './script.js'
export type { CommandOptions, RedisArg } from './command.js'
export type { Endpoint, RedisTlsOptions } from './connection.js'
export { RedisError, ReplyError, RedisErrorCodes } from './errors.js'
export type { RedisErrorCode } from './errors.js'
export { parseRedisUrl } from './options.js'
export type { RedisClientOptions, RetryOptions } from './options.js'
export { Pipeline, Transaction } from './pipeline.js'
export type { Chained } from './pipeline.js'
export type { MessageListener, PatternListener, SubscribeOptions } from './pubsub.js'
export type { RedisReply } from './tape.js'
