// Typed helpers over `call()`. Each helper names its reply type and, where RESP2 and RESP3
// shape a reply differently (maps, doubles, nested pairs), normalizes it so code works on both.
//
// Helpers only use `this._cmd` / `this._blocking` and the pure functions of this file: the
// pipeline and the transaction copy them at runtime (pipeline.ts, `mixCommands`), where
// `_cmd` queues and returns the batch. So no `#private` members here, and nothing that
// awaits a reply except the SCAN iterators and the script fallback, which batches lack.
import type { CommandOptions, RedisArg } from './command.js'
import { ReplyError } from './errors.js'
import { defineScript, scriptDefinition, type RedisScript, type ScriptDefinition, type ScriptOptions } from './script.js'
import type { RedisReply } from './tape.js'

/** A key or a value: strings are UTF-8; Buffers are sent as they are. */
export type RedisKey = string | Buffer
/** A value to store. */
export type RedisValue = string | Buffer | number

/** Fields and values (of a hash or a stream entry): an object or a `Map`. */
export type FieldValues = Record<string, RedisValue> | Map<RedisKey, RedisValue>

/** Options of `SET`. */
export interface SetOptions extends CommandOptions {
  /** Expire after this many seconds (`EX`). */
  ex?: number
  /** Expire after this many milliseconds (`PX`). */
  px?: number
  /** Expire at this Unix time in seconds (`EXAT`). */
  exat?: number
  /** Expire at this Unix time in milliseconds (`PXAT`). */
  pxat?: number
  /** Keep the current time to live (`KEEPTTL`). */
  keepTtl?: boolean
  /** Only set if the key does not exist (`NX`). */
  nx?: boolean
  /** Only set if the key exists (`XX`). */
  xx?: boolean
}

/** Options of `GETEX`: at most one of them. */
export interface GetExOptions extends CommandOptions {
  /** Expire after this many seconds (`EX`). */
  ex?: number
  /** Expire after this many milliseconds (`PX`). */
  px?: number
  /** Expire at this Unix time in seconds (`EXAT`). */
  exat?: number
  /** Expire at this Unix time in milliseconds (`PXAT`). */
  pxat?: number
  /** Remove the time to live (`PERSIST`). */
  persist?: boolean
}

/** Conditions of `EXPIRE` and its kin (Redis 7): at most one of `nx`/`xx`, one of `gt`/`lt`. */
export interface ExpireOptions extends CommandOptions {
  /** Only when the key has no expiry (`NX`). */
  nx?: boolean
  /** Only when the key has an expiry (`XX`). */
  xx?: boolean
  /** Only when the new expiry is later than the current one (`GT`). */
  gt?: boolean
  /** Only when the new expiry is earlier than the current one (`LT`). */
  lt?: boolean
}

/** Options of `COPY`. */
export interface CopyOptions extends CommandOptions {
  /** Copy into this database (`DB`). */
  db?: number
  /** Overwrite the destination (`REPLACE`). */
  replace?: boolean
}

/** Options of `RESTORE`. */
export interface RestoreOptions extends CommandOptions {
  /** Overwrite an existing key (`REPLACE`). */
  replace?: boolean
  /** `ttl` is a Unix time in milliseconds (`ABSTTL`). */
  absTtl?: boolean
  /** The object's idle time in seconds (`IDLETIME`). */
  idleTime?: number
  /** The object's LFU frequency (`FREQ`). */
  freq?: number
}

/** Options of `FLUSHDB`, `FLUSHALL` and `SCRIPT FLUSH`. */
export interface FlushOptions extends CommandOptions {
  /** `true`: `ASYNC`; `false`: `SYNC`; unset: the server's default (`lazyfree-lazy-user-flush`). */
  async?: boolean
}

/** The end of a list. */
export type ListSide = 'LEFT' | 'RIGHT'

/** Options of `LPOS`. */
export interface LPosOptions extends CommandOptions {
  /** Skip this many matches first; negative searches from the tail (`RANK`). */
  rank?: number
  /** Compare at most this many elements (`MAXLEN`). */
  maxLen?: number
}

/** What `LMPOP`/`BLMPOP` popped: the list it came from and the elements. */
export interface ListPop {
  /** The key of the list. */
  key: string
  /** The popped elements, in pop order. */
  elements: string[]
}

/** A sorted set member with its score. */
export interface ScoredValue {
  /** The member. */
  value: string
  /** Its score (`Infinity`/`-Infinity` for `+inf`/`-inf`). */
  score: number
}

/** A member to add to a sorted set. */
export interface ZMember {
  /** Its score. */
  score: number
  /** The member. */
  value: RedisValue
}

/** A score bound: a number (`Infinity` is `+inf`), or a string such as `'(1.5'` (exclusive), `'-inf'`. */
export type ScoreBound = number | string

/** Options of `ZADD`. */
export interface ZAddOptions extends CommandOptions {
  /** Only add new members (`NX`). */
  nx?: boolean
  /** Only update existing members (`XX`). */
  xx?: boolean
  /** Only update when the new score is greater (`GT`). */
  gt?: boolean
  /** Only update when the new score is less (`LT`). */
  lt?: boolean
  /** Count changed members too, not only added ones (`CH`). */
  ch?: boolean
}

/** Options of `ZRANGE`. */
export interface ZRangeOptions extends CommandOptions {
  /** `start`/`stop` are scores (`BYSCORE`) or lexical bounds such as `'[a'`, `'-'`, `'+'` (`BYLEX`); default: ranks. */
  by?: 'SCORE' | 'LEX'
  /** Highest first (`REV`); with `by`, `start` is then the upper bound. */
  rev?: boolean
  /** With `by`: skip `offset` results and return at most `count` (`LIMIT`). */
  limit?: { offset: number; count: number }
}

/** Options of `ZUNIONSTORE` and `ZINTERSTORE`. */
export interface ZStoreOptions extends CommandOptions {
  /** A multiplier per input key (`WEIGHTS`). */
  weights?: number[]
  /** How scores of a member combine (`AGGREGATE`). Default `SUM`. */
  aggregate?: 'SUM' | 'MIN' | 'MAX'
}

/** What `BZPOPMIN`/`BZPOPMAX` popped. */
export interface ZPop extends ScoredValue {
  /** The key of the sorted set. */
  key: string
}

/** A stream entry. */
export interface StreamMessage {
  /** Its ID (`<ms>-<seq>`). */
  id: string
  /** Its fields. Empty for an entry deleted while pending (`XREADGROUP` of history). */
  fields: Record<string, string>
}

/** Messages read from one stream. */
export interface StreamMessages {
  /** The stream's key. */
  stream: string
  /** Its messages, oldest first. */
  messages: StreamMessage[]
}

/** Trimming of `XADD` and `XTRIM`. */
export interface StreamTrimOptions {
  /** Keep at most this many entries (`MAXLEN`). */
  maxLen?: number
  /** Drop entries with IDs below this one (`MINID`). */
  minId?: string
  /** Trim only whole nodes, cheaply (`~`). Default: exactly (`=`). */
  approximate?: boolean
  /** With `approximate`: evict at most this many entries (`LIMIT`). */
  limit?: number
}

/** Options of `XADD`. */
export interface XAddOptions extends CommandOptions, StreamTrimOptions {
  /** The entry's ID. Default `'*'` (the server picks). */
  id?: string
  /** Do not create the stream when it is missing (`NOMKSTREAM`): `xadd` then resolves `null`. */
  noMkStream?: boolean
}

/** Options of `XTRIM`: `maxLen` or `minId`. */
export type XTrimOptions = CommandOptions & StreamTrimOptions & ({ maxLen: number } | { minId: string })

/** Options of `XREAD`. */
export interface XReadOptions extends CommandOptions {
  /** At most this many messages per stream (`COUNT`). */
  count?: number
  /** Wait up to this many ms for messages (`BLOCK`; 0 waits forever), on a connection of its own. */
  block?: number
}

/** Options of `XREADGROUP`. */
export interface XReadGroupOptions extends XReadOptions {
  /** Do not add the messages to the pending list (`NOACK`). */
  noAck?: boolean
}

/** Streams to read and the ID to read after: an object or `[key, id]` pairs. */
export type StreamOffsets = Record<string, string> | Array<[RedisKey, string]>

/** Options of `XGROUP CREATE`. */
export interface XGroupCreateOptions extends CommandOptions {
  /** Create the stream when it is missing (`MKSTREAM`). */
  mkStream?: boolean
  /** The group's `entries-read` counter (`ENTRIESREAD`). */
  entriesRead?: number
}

/** The summary form of `XPENDING`. */
export interface XPendingSummary {
  /** Pending messages in the group. */
  count: number
  /** The smallest pending ID, or `null` when none are. */
  minId: string | null
  /** The largest pending ID, or `null`. */
  maxId: string | null
  /** Pending messages per consumer. */
  consumers: Array<{ name: string; pending: number }>
}

/** One message of the extended form of `XPENDING`. */
export interface XPendingEntry {
  /** The message ID. */
  id: string
  /** The consumer it was delivered to. */
  consumer: string
  /** Milliseconds since it was last delivered. */
  idle: number
  /** How many times it was delivered. */
  deliveries: number
}

/** Options of the extended form of `XPENDING`. */
export interface XPendingRangeOptions extends CommandOptions {
  /** Only messages idle at least this many ms (`IDLE`). */
  minIdle?: number
  /** Only this consumer's messages. */
  consumer?: string
}

/** Options of `XCLAIM`. */
export interface XClaimOptions extends CommandOptions {
  /** Set the idle time to this many ms (`IDLE`). */
  idle?: number
  /** Set the idle time from this Unix time in ms (`TIME`). */
  time?: number
  /** Set the delivery counter (`RETRYCOUNT`). */
  retryCount?: number
  /** Claim even if not pending (`FORCE`). */
  force?: boolean
}

/** What `XAUTOCLAIM` claimed. */
export interface XAutoClaimResult {
  /** The cursor for the next call (`'0-0'` when the scan is complete). */
  next: string
  /** The claimed messages. */
  messages: StreamMessage[]
  /** IDs that were pending but no longer exist (they were removed from the pending list). */
  deleted: string[]
}

/** `XINFO STREAM`. */
export interface StreamInfo {
  /** Entries in the stream. */
  length: number
  /** Keys in the radix tree. */
  radixTreeKeys: number
  /** Nodes of the radix tree. */
  radixTreeNodes: number
  /** Consumer groups. */
  groups: number
  /** The ID of the last entry added. */
  lastGeneratedId: string
  /** The largest ID deleted (Redis 7). */
  maxDeletedEntryId?: string
  /** Entries ever added (Redis 7). */
  entriesAdded?: number
  /** The first ID still recorded (Redis 7). */
  recordedFirstEntryId?: string
  /** The first entry, or `null` when the stream is empty. */
  firstEntry: StreamMessage | null
  /** The last entry, or `null`. */
  lastEntry: StreamMessage | null
}

/** Options of `SCAN` and its iterator. */
export interface ScanOptions extends CommandOptions {
  /** Only keys matching this glob pattern (`MATCH`); filtered after fetching, so a page can be empty. */
  match?: string
  /** Work per call: a hint of how many elements to visit (`COUNT`, default 10). */
  count?: number
  /** Only keys of this type: `string`, `list`, `set`, `zset`, `hash`, `stream` (`TYPE`). */
  type?: string
}

/** Options of `HSCAN`, `SSCAN`, `ZSCAN` and their iterators. */
export interface ElementScanOptions extends CommandOptions {
  /** Only elements matching this glob pattern (`MATCH`). */
  match?: string
  /** Work per call (`COUNT`). */
  count?: number
}

/** @internal */
export const toStr = (r: RedisReply): string => (Buffer.isBuffer(r) ? r.toString() : String(r))
/** @internal */
export const toStrOrNull = (r: RedisReply): string | null => (r === null ? null : toStr(r))
/** @internal */
export const toBool = (r: RedisReply): boolean => r === 1 || r === true || r === 'OK'
/** @internal */
export const toNum = (r: RedisReply): number => (typeof r === 'number' ? r : Number(toStr(r)))
/** @internal */
export const toNumOrNull = (r: RedisReply): number | null => (r === null ? null : toNum(r))
/** @internal */
export const toStrArr = (r: RedisReply): Array<string | null> => (r as RedisReply[]).map(toStrOrNull)

/** A flat `[k, v, k, v]` (RESP2) or a `Map` (RESP3) as a plain object. @internal */
export function toRecord(r: RedisReply): Record<string, string> {
  const out: Record<string, string> = {}
  if (r instanceof Map) {
    for (const [k, v] of r) out[toStr(k)] = toStr(v)
  } else if (Array.isArray(r)) {
    for (let i = 0; i + 1 < r.length; i += 2) out[toStr(r[i]!)] = toStr(r[i + 1]!)
  }
  return out
}

// ---- reply shapes (pure; shared with pipelines) ------------------------------------------

const toOk = (): 'OK' => 'OK'
const toStrs = (r: RedisReply): string[] => (r === null ? [] : (r as RedisReply[]).map(toStr))
const toBools = (r: RedisReply): boolean[] => (r as RedisReply[]).map(toBool)
const toBuf = (r: RedisReply): Buffer | null => (r === null ? null : Buffer.isBuffer(r) ? r : Buffer.from(toStr(r)))

/** A score: a RESP3 double, or a RESP2 string (`inf`, `-inf`, `1.5`). @internal */
export function toScore(r: RedisReply): number {
  if (typeof r === 'number') return r
  const s = toStr(r)
  return s === 'inf' || s === '+inf' ? Infinity : s === '-inf' ? -Infinity : Number(s)
}
const toScoreOrNull = (r: RedisReply): number | null => (r === null ? null : toScore(r))

/** Nested `[[a, b], ...]` (RESP3), flat `[a, b, a, b]` (RESP2) or a `Map` as pairs. @internal */
export function toPairs(r: RedisReply): Array<[RedisReply, RedisReply]> {
  const out: Array<[RedisReply, RedisReply]> = []
  if (r instanceof Map) {
    for (const e of r) out.push(e)
  } else if (Array.isArray(r) && r.length > 0) {
    if (Array.isArray(r[0])) for (const p of r as RedisReply[][]) out.push([p[0]!, p[1]!])
    else for (let i = 0; i + 1 < r.length; i += 2) out.push([r[i]!, r[i + 1]!])
  }
  return out
}
const toStrPairs = (r: RedisReply): Array<[string, string]> => toPairs(r).map(([a, b]) => [toStr(a), toStr(b)])
const toScored = (r: RedisReply): ScoredValue[] => toPairs(r).map(([v, s]) => ({ value: toStr(v), score: toScore(s) }))

function toMessage(r: RedisReply): StreamMessage | null {
  if (!Array.isArray(r)) return null
  return { id: toStr(r[0]!), fields: toRecord(r[1] ?? null) }
}
const toMessages = (r: RedisReply): StreamMessage[] => (Array.isArray(r) ? r.map(toMessage).filter((m): m is StreamMessage => m !== null) : [])

/** `XREAD`'s reply: a `Map` (RESP3) or `[[key, messages], ...]` (RESP2); `null` when nothing came. @internal */
export function toStreams(r: RedisReply): StreamMessages[] | null {
  if (r === null) return null
  const out: StreamMessages[] = []
  const entries = r instanceof Map ? [...r] : (r as RedisReply[][]).map((e) => [e[0]!, e[1]!] as const)
  for (const [k, v] of entries) out.push({ stream: toStr(k), messages: toMessages(v) })
  return out
}

function toXPending(r: RedisReply): XPendingSummary {
  const a = r as RedisReply[]
  return {
    count: toNum(a[0]!),
    minId: toStrOrNull(a[1] ?? null),
    maxId: toStrOrNull(a[2] ?? null),
    consumers: toPairs(a[3] ?? null).map(([name, n]) => ({ name: toStr(name), pending: toNum(n) })),
  }
}

function toStreamInfo(r: RedisReply): StreamInfo {
  const m = new Map<string, RedisReply>()
  for (const [k, v] of toPairs(r)) m.set(toStr(k), v)
  const num = (k: string): number => toNum(m.get(k) ?? 0)
  const info: StreamInfo = {
    length: num('length'),
    radixTreeKeys: num('radix-tree-keys'),
    radixTreeNodes: num('radix-tree-nodes'),
    groups: num('groups'),
    lastGeneratedId: toStr(m.get('last-generated-id') ?? ''),
    firstEntry: toMessage(m.get('first-entry') ?? null),
    lastEntry: toMessage(m.get('last-entry') ?? null),
  }
  if (m.has('max-deleted-entry-id')) info.maxDeletedEntryId = toStr(m.get('max-deleted-entry-id')!)
  if (m.has('entries-added')) info.entriesAdded = num('entries-added')
  if (m.has('recorded-first-entry-id')) info.recordedFirstEntryId = toStr(m.get('recorded-first-entry-id')!)
  return info
}

/** `INFO` text (`# Section` headings, `key:value` lines) as one object. @internal */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v])

function fieldArgs(fields: FieldValues): RedisArg[] {
  const out: RedisArg[] = []
  if (fields instanceof Map) {
    for (const [k, v] of fields) out.push(k, v)
  } else {
    for (const k of Object.keys(fields)) out.push(k, fields[k]!)
  }
  return out
}

function expireArgs(args: RedisArg[], o: ExpireOptions | undefined): RedisArg[] {
  if (o) {
    if (o.nx) args.push('NX')
    if (o.xx) args.push('XX')
    if (o.gt) args.push('GT')
    if (o.lt) args.push('LT')
  }
  return args
}

function flushArgs(args: RedisArg[], o: FlushOptions | undefined): RedisArg[] {
  if (o?.async !== undefined) args.push(o.async ? 'ASYNC' : 'SYNC')
  return args
}

function trimArgs(args: RedisArg[], o: StreamTrimOptions | undefined): RedisArg[] {
  if (o === undefined) return args
  const op = o.approximate ? '~' : '='
  if (o.maxLen !== undefined) args.push('MAXLEN', op, o.maxLen)
  else if (o.minId !== undefined) args.push('MINID', op, o.minId)
  else return args
  if (o.limit !== undefined) args.push('LIMIT', o.limit)
  return args
}

function offsetArgs(args: RedisArg[], streams: StreamOffsets): RedisArg[] {
  const pairs: Array<[RedisKey, string]> = Array.isArray(streams) ? streams : Object.entries(streams)
  args.push('STREAMS')
  for (const [k] of pairs) args.push(k)
  for (const [, id] of pairs) args.push(id)
  return args
}

function scanArgs(args: RedisArg[], o: ScanOptions | ElementScanOptions | undefined): RedisArg[] {
  if (o) {
    if (o.match !== undefined) args.push('MATCH', o.match)
    if (o.count !== undefined) args.push('COUNT', o.count)
    if ('type' in o && o.type !== undefined) args.push('TYPE', o.type)
  }
  return args
}

const evalArgs = (cmd: string, first: string, keys: RedisKey[], args: RedisValue[]): RedisArg[] => [cmd, first, keys.length, ...keys, ...args]

/**
 * The command helpers. A client, an isolated connection, a pipeline and a transaction
 * all have them; each decides what running a command means.
 */
export abstract class RedisCommands {
  /** Runs one command. @internal */
  protected abstract _cmd<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T>

  /** Runs a blocking command (on a connection of its own, for a client). @internal */
  protected _blocking<T>(args: RedisArg[], transform?: (r: RedisReply) => T, opts?: CommandOptions): Promise<T> {
    return this._cmd(args, transform, opts)
  }

  /** Runs any command: `call('SET', 'k', 'v')`. Bulk strings come back as strings. */
  call(...args: [string, ...RedisArg[]]): Promise<RedisReply> {
    return this._cmd(args)
  }

  /** Like `call`, with bulk strings as Buffers. */
  callBuffer(...args: [string, ...RedisArg[]]): Promise<RedisReply> {
    return this._cmd(args, undefined, { buffers: true })
  }

  /** Runs any command with options (a signal, Buffers). */
  callWith(opts: CommandOptions, ...args: [string, ...RedisArg[]]): Promise<RedisReply> {
    return this._cmd(args, undefined, opts)
  }

  // ---- strings -------------------------------------------------------------------------

  /** `GET key`: the value, or `null`. */
  get(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['GET', key], toStrOrNull, opts)
  }

  /** `GET key`, the value as a Buffer. */
  getBuffer(key: RedisKey, opts?: CommandOptions): Promise<Buffer | null> {
    return this._cmd(['GET', key], toBuf, { ...opts, buffers: true })
  }

  /** `SET key value [...]`: `'OK'`, or `null` when `nx`/`xx` prevented it. */
  set(key: RedisKey, value: RedisValue, opts?: SetOptions): Promise<'OK' | null> {
    const args: RedisArg[] = ['SET', key, value]
    if (opts) {
      if (opts.ex !== undefined) args.push('EX', opts.ex)
      if (opts.px !== undefined) args.push('PX', opts.px)
      if (opts.exat !== undefined) args.push('EXAT', opts.exat)
      if (opts.pxat !== undefined) args.push('PXAT', opts.pxat)
      if (opts.keepTtl) args.push('KEEPTTL')
      if (opts.nx) args.push('NX')
      if (opts.xx) args.push('XX')
    }
    return this._cmd(args, (r) => (r === null ? null : 'OK'), opts)
  }

  /** `GETDEL key`: the value (then deleted), or `null`. */
  getdel(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['GETDEL', key], toStrOrNull, opts)
  }

  /** `GETEX key [EX|PX|EXAT|PXAT|PERSIST]`: the value, changing its expiry; `null` when missing. */
  getex(key: RedisKey, opts?: GetExOptions): Promise<string | null> {
    const args: RedisArg[] = ['GETEX', key]
    if (opts) {
      if (opts.ex !== undefined) args.push('EX', opts.ex)
      else if (opts.px !== undefined) args.push('PX', opts.px)
      else if (opts.exat !== undefined) args.push('EXAT', opts.exat)
      else if (opts.pxat !== undefined) args.push('PXAT', opts.pxat)
      else if (opts.persist) args.push('PERSIST')
    }
    return this._cmd(args, toStrOrNull, opts)
  }

  /** `MGET key...`: the values in order, `null` for missing keys. */
  mget(keys: RedisKey[], opts?: CommandOptions): Promise<Array<string | null>> {
    return this._cmd(['MGET', ...keys], toStrArr, opts)
  }

  /** `MSET key value...`. */
  mset(entries: FieldValues, opts?: CommandOptions): Promise<'OK'> {
    return this._cmd(['MSET', ...fieldArgs(entries)], toOk, opts)
  }

  /** `MSETNX key value...`: `true` when all were set, `false` when one existed (nothing is set). */
  msetnx(entries: FieldValues, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['MSETNX', ...fieldArgs(entries)], toBool, opts)
  }

  /** `INCR key`. */
  incr(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['INCR', key], toNum, opts)
  }

  /** `INCRBY key increment`: the new value. */
  incrby(key: RedisKey, increment: number | bigint, opts?: CommandOptions): Promise<number> {
    return this._cmd(['INCRBY', key, increment], toNum, opts)
  }

  /** `INCRBYFLOAT key increment`: the new value. */
  incrbyfloat(key: RedisKey, increment: number, opts?: CommandOptions): Promise<number> {
    return this._cmd(['INCRBYFLOAT', key, increment], toNum, opts)
  }

  /** `DECR key`: the new value. */
  decr(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['DECR', key], toNum, opts)
  }

  /** `DECRBY key decrement`: the new value. */
  decrby(key: RedisKey, decrement: number | bigint, opts?: CommandOptions): Promise<number> {
    return this._cmd(['DECRBY', key, decrement], toNum, opts)
  }

  /** `APPEND key value`: the new length. */
  append(key: RedisKey, value: RedisValue, opts?: CommandOptions): Promise<number> {
    return this._cmd(['APPEND', key, value], toNum, opts)
  }

  /** `STRLEN key`: the length in bytes (0 when missing). */
  strlen(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['STRLEN', key], toNum, opts)
  }

  /** `GETRANGE key start end`: the bytes between two offsets (inclusive; negative from the end). */
  getrange(key: RedisKey, start: number, end: number, opts?: CommandOptions): Promise<string> {
    return this._cmd(['GETRANGE', key, start, end], toStr, opts)
  }

  /** `SETRANGE key offset value`: the new length. */
  setrange(key: RedisKey, offset: number, value: RedisValue, opts?: CommandOptions): Promise<number> {
    return this._cmd(['SETRANGE', key, offset, value], toNum, opts)
  }

  // ---- keys ----------------------------------------------------------------------------

  /** `DEL key...`: how many keys were removed. */
  del(keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['DEL', ...list(keys)], toNum, opts)
  }

  /** `UNLINK key...`: like `DEL`, freeing memory in the background. */
  unlink(keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['UNLINK', ...list(keys)], toNum, opts)
  }

  /** `EXISTS key...`: how many of the keys exist (a key named twice counts twice). */
  exists(keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['EXISTS', ...list(keys)], toNum, opts)
  }

  /** `EXPIRE key seconds [NX|XX|GT|LT]`: `false` when the key is missing or a condition failed. */
  expire(key: RedisKey, seconds: number, opts?: ExpireOptions): Promise<boolean> {
    return this._cmd(expireArgs(['EXPIRE', key, seconds], opts), toBool, opts)
  }

  /** `PEXPIRE key milliseconds [NX|XX|GT|LT]`. */
  pexpire(key: RedisKey, milliseconds: number, opts?: ExpireOptions): Promise<boolean> {
    return this._cmd(expireArgs(['PEXPIRE', key, milliseconds], opts), toBool, opts)
  }

  /** `EXPIREAT key unixSeconds [NX|XX|GT|LT]`. */
  expireat(key: RedisKey, unixSeconds: number, opts?: ExpireOptions): Promise<boolean> {
    return this._cmd(expireArgs(['EXPIREAT', key, unixSeconds], opts), toBool, opts)
  }

  /** `PEXPIREAT key unixMilliseconds [NX|XX|GT|LT]`. */
  pexpireat(key: RedisKey, unixMilliseconds: number, opts?: ExpireOptions): Promise<boolean> {
    return this._cmd(expireArgs(['PEXPIREAT', key, unixMilliseconds], opts), toBool, opts)
  }

  /** `EXPIRETIME key`: the expiry as a Unix time in seconds; -1 without expiry, -2 when missing. */
  expiretime(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['EXPIRETIME', key], toNum, opts)
  }

  /** `PEXPIRETIME key`: like `expiretime`, in milliseconds. */
  pexpiretime(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['PEXPIRETIME', key], toNum, opts)
  }

  /** `TTL key`: seconds to live; -1 without expiry, -2 when missing. */
  ttl(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['TTL', key], toNum, opts)
  }

  /** `PTTL key`: milliseconds to live; -1 without expiry, -2 when missing. */
  pttl(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['PTTL', key], toNum, opts)
  }

  /** `PERSIST key`: `true` when an expiry was removed. */
  persist(key: RedisKey, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['PERSIST', key], toBool, opts)
  }

  /** `TYPE key`: `string`, `list`, `set`, `zset`, `hash`, `stream`, or `none`. */
  type(key: RedisKey, opts?: CommandOptions): Promise<string> {
    return this._cmd(['TYPE', key], toStr, opts)
  }

  /** `RENAME key newkey` (fails when `key` is missing). */
  rename(key: RedisKey, newKey: RedisKey, opts?: CommandOptions): Promise<'OK'> {
    return this._cmd(['RENAME', key, newKey], toOk, opts)
  }

  /** `RENAMENX key newkey`: `false` when `newkey` exists. */
  renamenx(key: RedisKey, newKey: RedisKey, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['RENAMENX', key, newKey], toBool, opts)
  }

  /** `KEYS pattern`: every matching key at once (blocks the server; prefer {@link RedisCommands.scanIterator}). */
  keys(pattern: string, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['KEYS', pattern], toStrs, opts)
  }

  /** `RANDOMKEY`: a random key, or `null` when the database is empty. */
  randomkey(opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['RANDOMKEY'], toStrOrNull, opts)
  }

  /** `COPY source destination [DB db] [REPLACE]`: `false` when nothing was copied. */
  copy(source: RedisKey, destination: RedisKey, opts?: CopyOptions): Promise<boolean> {
    const args: RedisArg[] = ['COPY', source, destination]
    if (opts?.db !== undefined) args.push('DB', opts.db)
    if (opts?.replace) args.push('REPLACE')
    return this._cmd(args, toBool, opts)
  }

  /** `DBSIZE`: keys in the database. */
  dbsize(opts?: CommandOptions): Promise<number> {
    return this._cmd(['DBSIZE'], toNum, opts)
  }

  /** `FLUSHDB [ASYNC|SYNC]`: removes every key of the connection's database. */
  flushdb(opts?: FlushOptions): Promise<'OK'> {
    return this._cmd(flushArgs(['FLUSHDB'], opts), toOk, opts)
  }

  /** `TOUCH key...`: how many of the keys exist (their access time is updated). */
  touch(keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['TOUCH', ...list(keys)], toNum, opts)
  }

  /** `OBJECT ENCODING key`: the internal encoding (`embstr`, `listpack`, ...), or `null` when missing. */
  objectEncoding(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['OBJECT', 'ENCODING', key], toStrOrNull, opts)
  }

  /** `DUMP key`: the value serialized (for `restore`), or `null` when missing. */
  dump(key: RedisKey, opts?: CommandOptions): Promise<Buffer | null> {
    return this._cmd(['DUMP', key], toBuf, { ...opts, buffers: true })
  }

  /** `RESTORE key ttl serialized [...]`: creates a key from `dump` output; `ttl` 0 means none. */
  restore(key: RedisKey, ttl: number, serialized: Buffer, opts?: RestoreOptions): Promise<'OK'> {
    const args: RedisArg[] = ['RESTORE', key, ttl, serialized]
    if (opts) {
      if (opts.replace) args.push('REPLACE')
      if (opts.absTtl) args.push('ABSTTL')
      if (opts.idleTime !== undefined) args.push('IDLETIME', opts.idleTime)
      if (opts.freq !== undefined) args.push('FREQ', opts.freq)
    }
    return this._cmd(args, toOk, opts)
  }

  // ---- hashes --------------------------------------------------------------------------

  /**
   * `HSET key field value...`: `hset(key, field, value)` or `hset(key, { field: value, ... })`.
   * Resolves with how many fields were added (not updated).
   */
  hset(key: RedisKey, ...args: [field: RedisKey, value: RedisValue, opts?: CommandOptions] | [fields: FieldValues, opts?: CommandOptions]): Promise<number> {
    const a0 = args[0]
    if (typeof a0 === 'string' || Buffer.isBuffer(a0)) {
      return this._cmd(['HSET', key, a0, args[1] as RedisValue], toNum, args[2] as CommandOptions | undefined)
    }
    return this._cmd(['HSET', key, ...fieldArgs(a0)], toNum, args[1] as CommandOptions | undefined)
  }

  /** `HGET key field`: the value, or `null`. */
  hget(key: RedisKey, field: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['HGET', key, field], toStrOrNull, opts)
  }

  /** `HGET key field`, the value as a Buffer. */
  hgetBuffer(key: RedisKey, field: RedisKey, opts?: CommandOptions): Promise<Buffer | null> {
    return this._cmd(['HGET', key, field], toBuf, { ...opts, buffers: true })
  }

  /** `HMGET key field...`: the values in order, `null` for missing fields. */
  hmget(key: RedisKey, fields: RedisKey[], opts?: CommandOptions): Promise<Array<string | null>> {
    return this._cmd(['HMGET', key, ...fields], toStrArr, opts)
  }

  /** `HGETALL key` as an object (the same on RESP2 and RESP3). */
  hgetall(key: RedisKey, opts?: CommandOptions): Promise<Record<string, string>> {
    return this._cmd(['HGETALL', key], toRecord, opts)
  }

  /** `HDEL key field...`: how many fields were removed. */
  hdel(key: RedisKey, fields: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['HDEL', key, ...list(fields)], toNum, opts)
  }

  /** `HEXISTS key field`. */
  hexists(key: RedisKey, field: RedisKey, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['HEXISTS', key, field], toBool, opts)
  }

  /** `HINCRBY key field increment`: the new value. */
  hincrby(key: RedisKey, field: RedisKey, increment: number | bigint, opts?: CommandOptions): Promise<number> {
    return this._cmd(['HINCRBY', key, field, increment], toNum, opts)
  }

  /** `HINCRBYFLOAT key field increment`: the new value. */
  hincrbyfloat(key: RedisKey, field: RedisKey, increment: number, opts?: CommandOptions): Promise<number> {
    return this._cmd(['HINCRBYFLOAT', key, field, increment], toNum, opts)
  }

  /** `HKEYS key`: the field names. */
  hkeys(key: RedisKey, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['HKEYS', key], toStrs, opts)
  }

  /** `HVALS key`: the values. */
  hvals(key: RedisKey, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['HVALS', key], toStrs, opts)
  }

  /** `HLEN key`: how many fields. */
  hlen(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['HLEN', key], toNum, opts)
  }

  /** `HSETNX key field value`: `false` when the field existed. */
  hsetnx(key: RedisKey, field: RedisKey, value: RedisValue, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['HSETNX', key, field, value], toBool, opts)
  }

  /** `HSTRLEN key field`: the value's length in bytes (0 when missing). */
  hstrlen(key: RedisKey, field: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['HSTRLEN', key, field], toNum, opts)
  }

  /** `HRANDFIELD key`: a random field, or `null` when the hash is missing. */
  hrandfield(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['HRANDFIELD', key], toStrOrNull, opts)
  }

  /** `HRANDFIELD key count`: distinct fields (`count` > 0) or fields possibly repeated (`count` < 0). */
  hrandfieldCount(key: RedisKey, count: number, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['HRANDFIELD', key, count], toStrs, opts)
  }

  /** `HRANDFIELD key count WITHVALUES`: `[field, value]` pairs. */
  hrandfieldWithValues(key: RedisKey, count: number, opts?: CommandOptions): Promise<Array<[string, string]>> {
    return this._cmd(['HRANDFIELD', key, count, 'WITHVALUES'], toStrPairs, opts)
  }

  // ---- lists ---------------------------------------------------------------------------

  /** `LPUSH key element...`: the new length. */
  lpush(key: RedisKey, elements: RedisValue | RedisValue[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['LPUSH', key, ...list(elements)], toNum, opts)
  }

  /** `RPUSH key element...`: the new length. */
  rpush(key: RedisKey, elements: RedisValue | RedisValue[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['RPUSH', key, ...list(elements)], toNum, opts)
  }

  /** `LPUSHX key element...`: like `lpush`, only onto an existing list (else 0). */
  lpushx(key: RedisKey, elements: RedisValue | RedisValue[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['LPUSHX', key, ...list(elements)], toNum, opts)
  }

  /** `RPUSHX key element...`: like `rpush`, only onto an existing list (else 0). */
  rpushx(key: RedisKey, elements: RedisValue | RedisValue[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['RPUSHX', key, ...list(elements)], toNum, opts)
  }

  /** `LPOP key`: the first element, or `null`. */
  lpop(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['LPOP', key], toStrOrNull, opts)
  }

  /** `RPOP key`: the last element, or `null`. */
  rpop(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['RPOP', key], toStrOrNull, opts)
  }

  /** `LPOP key count`: up to `count` elements from the head, or `null` when the list is missing. */
  lpopCount(key: RedisKey, count: number, opts?: CommandOptions): Promise<string[] | null> {
    return this._cmd(['LPOP', key, count], (r) => (r === null ? null : toStrs(r)), opts)
  }

  /** `RPOP key count`: up to `count` elements from the tail, or `null` when the list is missing. */
  rpopCount(key: RedisKey, count: number, opts?: CommandOptions): Promise<string[] | null> {
    return this._cmd(['RPOP', key, count], (r) => (r === null ? null : toStrs(r)), opts)
  }

  /** `LRANGE key start stop`: the elements between two indexes (inclusive; negative from the end). */
  lrange(key: RedisKey, start: number, stop: number, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['LRANGE', key, start, stop], toStrs, opts)
  }

  /** `LRANGE key start stop`, the elements as Buffers. */
  lrangeBuffer(key: RedisKey, start: number, stop: number, opts?: CommandOptions): Promise<Buffer[]> {
    return this._cmd(['LRANGE', key, start, stop], (r) => (r as RedisReply[]).map((e) => toBuf(e)!), { ...opts, buffers: true })
  }

  /** `LLEN key`. */
  llen(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['LLEN', key], toNum, opts)
  }

  /** `LINDEX key index`: the element, or `null` when out of range. */
  lindex(key: RedisKey, index: number, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['LINDEX', key, index], toStrOrNull, opts)
  }

  /** `LSET key index element` (fails when out of range). */
  lset(key: RedisKey, index: number, element: RedisValue, opts?: CommandOptions): Promise<'OK'> {
    return this._cmd(['LSET', key, index, element], toOk, opts)
  }

  /** `LREM key count element`: removes `count` matches from the head (< 0: from the tail; 0: all); how many. */
  lrem(key: RedisKey, count: number, element: RedisValue, opts?: CommandOptions): Promise<number> {
    return this._cmd(['LREM', key, count, element], toNum, opts)
  }

  /** `LTRIM key start stop`: keeps only that range. */
  ltrim(key: RedisKey, start: number, stop: number, opts?: CommandOptions): Promise<'OK'> {
    return this._cmd(['LTRIM', key, start, stop], toOk, opts)
  }

  /** `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 when `pivot` is absent, 0 when the list is missing. */
  linsert(key: RedisKey, where: 'BEFORE' | 'AFTER', pivot: RedisValue, element: RedisValue, opts?: CommandOptions): Promise<number> {
    return this._cmd(['LINSERT', key, where, pivot, element], toNum, opts)
  }

  /** `LPOS key element [RANK] [MAXLEN]`: the index of a match, or `null`. */
  lpos(key: RedisKey, element: RedisValue, opts?: LPosOptions): Promise<number | null> {
    const args: RedisArg[] = ['LPOS', key, element]
    if (opts?.rank !== undefined) args.push('RANK', opts.rank)
    if (opts?.maxLen !== undefined) args.push('MAXLEN', opts.maxLen)
    return this._cmd(args, toNumOrNull, opts)
  }

  /** `LPOS key element COUNT count [...]`: the indexes of up to `count` matches (0: all). */
  lposCount(key: RedisKey, element: RedisValue, count: number, opts?: LPosOptions): Promise<number[]> {
    const args: RedisArg[] = ['LPOS', key, element]
    if (opts?.rank !== undefined) args.push('RANK', opts.rank)
    args.push('COUNT', count)
    if (opts?.maxLen !== undefined) args.push('MAXLEN', opts.maxLen)
    return this._cmd(args, (r) => (r as RedisReply[]).map(toNum), opts)
  }

  /** `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`: the moved element, or `null` when `source` is empty. */
  lmove(source: RedisKey, destination: RedisKey, from: ListSide, to: ListSide, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['LMOVE', source, destination, from, to], toStrOrNull, opts)
  }

  /** `LMPOP numkeys key... LEFT|RIGHT [COUNT count]`: pops from the first non-empty list, or `null`. */
  lmpop(keys: RedisKey | RedisKey[], from: ListSide, count?: number, opts?: CommandOptions): Promise<ListPop | null> {
    const k = list(keys)
    const args: RedisArg[] = ['LMPOP', k.length, ...k, from]
    if (count !== undefined) args.push('COUNT', count)
    return this._cmd(args, toListPop, opts)
  }

  /** `BLPOP key... timeout` (on its own connection): `[key, element]`, or `null` on timeout. */
  blpop(keys: RedisKey | RedisKey[], timeoutSeconds: number, opts?: CommandOptions): Promise<[string, string] | null> {
    return this._blocking(['BLPOP', ...list(keys), timeoutSeconds], (r) => (r === null ? null : (toStrs(r) as [string, string])), opts)
  }

  /** `BRPOP key... timeout` (on its own connection): `[key, element]`, or `null` on timeout. */
  brpop(keys: RedisKey | RedisKey[], timeoutSeconds: number, opts?: CommandOptions): Promise<[string, string] | null> {
    return this._blocking(['BRPOP', ...list(keys), timeoutSeconds], (r) => (r === null ? null : (toStrs(r) as [string, string])), opts)
  }

  /** `BLMOVE source destination from to timeout` (on its own connection): the element, or `null` on timeout. */
  blmove(source: RedisKey, destination: RedisKey, from: ListSide, to: ListSide, timeoutSeconds: number, opts?: CommandOptions): Promise<string | null> {
    return this._blocking(['BLMOVE', source, destination, from, to, timeoutSeconds], toStrOrNull, opts)
  }

  /** `BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT count]` (on its own connection): like `lmpop`, waiting. */
  blmpop(keys: RedisKey | RedisKey[], from: ListSide, timeoutSeconds: number, count?: number, opts?: CommandOptions): Promise<ListPop | null> {
    const k = list(keys)
    const args: RedisArg[] = ['BLMPOP', timeoutSeconds, k.length, ...k, from]
    if (count !== undefined) args.push('COUNT', count)
    return this._blocking(args, toListPop, opts)
  }

  // ---- sets ----------------------------------------------------------------------------

  /** `SADD key member...`: how many were added. */
  sadd(key: RedisKey, members: RedisValue | RedisValue[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['SADD', key, ...list(members)], toNum, opts)
  }

  /** `SREM key member...`: how many were removed. */
  srem(key: RedisKey, members: RedisValue | RedisValue[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['SREM', key, ...list(members)], toNum, opts)
  }

  /** `SMEMBERS key` (in no particular order). */
  smembers(key: RedisKey, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['SMEMBERS', key], toStrs, opts)
  }

  /** `SISMEMBER key member`. */
  sismember(key: RedisKey, member: RedisValue, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['SISMEMBER', key, member], toBool, opts)
  }

  /** `SMISMEMBER key member...`: membership of each, in order. */
  smismember(key: RedisKey, members: RedisValue[], opts?: CommandOptions): Promise<boolean[]> {
    return this._cmd(['SMISMEMBER', key, ...members], toBools, opts)
  }

  /** `SCARD key`: how many members. */
  scard(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['SCARD', key], toNum, opts)
  }

  /** `SPOP key`: removes and returns a random member, or `null`. */
  spop(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['SPOP', key], toStrOrNull, opts)
  }

  /** `SPOP key count`: removes and returns up to `count` random members. */
  spopCount(key: RedisKey, count: number, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['SPOP', key, count], toStrs, opts)
  }

  /** `SRANDMEMBER key`: a random member, or `null`. */
  srandmember(key: RedisKey, opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['SRANDMEMBER', key], toStrOrNull, opts)
  }

  /** `SRANDMEMBER key count`: distinct members (`count` > 0) or members possibly repeated (`count` < 0). */
  srandmemberCount(key: RedisKey, count: number, opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['SRANDMEMBER', key, count], toStrs, opts)
  }

  /** `SINTER key...`. */
  sinter(keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['SINTER', ...list(keys)], toStrs, opts)
  }

  /** `SUNION key...`. */
  sunion(keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['SUNION', ...list(keys)], toStrs, opts)
  }

  /** `SDIFF key...`: members of the first set in none of the others. */
  sdiff(keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<string[]> {
    return this._cmd(['SDIFF', ...list(keys)], toStrs, opts)
  }

  /** `SINTERSTORE destination key...`: the size of the stored set. */
  sinterstore(destination: RedisKey, keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['SINTERSTORE', destination, ...list(keys)], toNum, opts)
  }

  /** `SUNIONSTORE destination key...`: the size of the stored set. */
  sunionstore(destination: RedisKey, keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['SUNIONSTORE', destination, ...list(keys)], toNum, opts)
  }

  /** `SDIFFSTORE destination key...`: the size of the stored set. */
  sdiffstore(destination: RedisKey, keys: RedisKey | RedisKey[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['SDIFFSTORE', destination, ...list(keys)], toNum, opts)
  }

  /** `SMOVE source destination member`: `false` when `member` was not in `source`. */
  smove(source: RedisKey, destination: RedisKey, member: RedisValue, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['SMOVE', source, destination, member], toBool, opts)
  }

  /** `SINTERCARD numkeys key... [LIMIT limit]`: the size of the intersection (counting stops at `limit`). */
  sintercard(keys: RedisKey | RedisKey[], limit?: number, opts?: CommandOptions): Promise<number> {
    const k = list(keys)
    const args: RedisArg[] = ['SINTERCARD', k.length, ...k]
    if (limit !== undefined) args.push('LIMIT', limit)
    return this._cmd(args, toNum, opts)
  }

  // ---- sorted sets ---------------------------------------------------------------------

  /** `ZADD key [NX|XX] [GT|LT] [CH] score member...`: how many were added (with `ch`: changed). */
  zadd(key: RedisKey, members: ZMember | ZMember[], opts?: ZAddOptions): Promise<number> {
    const args: RedisArg[] = ['ZADD', key]
    if (opts) {
      if (opts.nx) args.push('NX')
      if (opts.xx) args.push('XX')
      if (opts.gt) args.push('GT')
      if (opts.lt) args.push('LT')
      if (opts.ch) args.push('CH')
    }
    for (const m of list(members)) args.push(m.score, m.value)
    return this._cmd(args, toNum, opts)
  }

  /** `ZINCRBY key increment member`: the new score. */
  zincrby(key: RedisKey, increment: number, member: RedisValue, opts?: CommandOptions): Promise<number> {
    return this._cmd(['ZINCRBY', key, increment, member], toScore, opts)
  }

  /** `ZSCORE key member`: the score, or `null`. */
  zscore(key: RedisKey, member: RedisValue, opts?: CommandOptions): Promise<number | null> {
    return this._cmd(['ZSCORE', key, member], toScoreOrNull, opts)
  }

  /** `ZMSCORE key member...`: the scores in order, `null` for non-members. */
  zmscore(key: RedisKey, members: RedisValue[], opts?: CommandOptions): Promise<Array<number | null>> {
    return this._cmd(['ZMSCORE', key, ...members], (r) => (r as RedisReply[]).map(toScoreOrNull), opts)
  }

  /** `ZREM key member...`: how many were removed. */
  zrem(key: RedisKey, members: RedisValue | RedisValue[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['ZREM', key, ...list(members)], toNum, opts)
  }

  /** `ZCARD key`: how many members. */
  zcard(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['ZCARD', key], toNum, opts)
  }

  /** `ZCOUNT key min max`: members with a score in the range. */
  zcount(key: RedisKey, min: ScoreBound, max: ScoreBound, opts?: CommandOptions): Promise<number> {
    return this._cmd(['ZCOUNT', key, min, max], toNum, opts)
  }

  /** `ZRANK key member`: the rank (lowest score first), or `null`. */
  zrank(key: RedisKey, member: RedisValue, opts?: CommandOptions): Promise<number | null> {
    return this._cmd(['ZRANK', key, member], toNumOrNull, opts)
  }

  /** `ZREVRANK key member`: the rank (highest score first), or `null`. */
  zrevrank(key: RedisKey, member: RedisValue, opts?: CommandOptions): Promise<number | null> {
    return this._cmd(['ZREVRANK', key, member], toNumOrNull, opts)
  }

  /** `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]`: the members. */
  zrange(key: RedisKey, start: ScoreBound, stop: ScoreBound, opts?: ZRangeOptions): Promise<string[]> {
    return this._cmd(zrangeArgs(key, start, stop, opts, false), toStrs, opts)
  }

  /** `ZRANGE ... WITHSCORES`: members and scores (RESP2's flat list and RESP3's pairs alike). */
  zrangeWithScores(key: RedisKey, start: ScoreBound, stop: ScoreBound, opts?: ZRangeOptions): Promise<ScoredValue[]> {
    return this._cmd(zrangeArgs(key, start, stop, opts, true), toScored, opts)
  }

  /** `ZPOPMIN key [count]`: removes and returns the lowest-scored members (default 1). */
  zpopmin(key: RedisKey, count?: number, opts?: CommandOptions): Promise<ScoredValue[]> {
    return this._cmd(count === undefined ? ['ZPOPMIN', key] : ['ZPOPMIN', key, count], toScored, opts)
  }

  /** `ZPOPMAX key [count]`: removes and returns the highest-scored members (default 1). */
  zpopmax(key: RedisKey, count?: number, opts?: CommandOptions): Promise<ScoredValue[]> {
    return this._cmd(count === undefined ? ['ZPOPMAX', key] : ['ZPOPMAX', key, count], toScored, opts)
  }

  /** `BZPOPMIN key... timeout` (on its own connection): the popped member, or `null` on timeout. */
  bzpopmin(keys: RedisKey | RedisKey[], timeoutSeconds: number, opts?: CommandOptions): Promise<ZPop | null> {
    return this._blocking(['BZPOPMIN', ...list(keys), timeoutSeconds], toZPop, opts)
  }

  /** `BZPOPMAX key... timeout` (on its own connection): the popped member, or `null` on timeout. */
  bzpopmax(keys: RedisKey | RedisKey[], timeoutSeconds: number, opts?: CommandOptions): Promise<ZPop | null> {
    return this._blocking(['BZPOPMAX', ...list(keys), timeoutSeconds], toZPop, opts)
  }

  /** `ZREMRANGEBYSCORE key min max`: how many were removed. */
  zremrangebyscore(key: RedisKey, min: ScoreBound, max: ScoreBound, opts?: CommandOptions): Promise<number> {
    return this._cmd(['ZREMRANGEBYSCORE', key, min, max], toNum, opts)
  }

  /** `ZREMRANGEBYRANK key start stop`: how many were removed. */
  zremrangebyrank(key: RedisKey, start: number, stop: number, opts?: CommandOptions): Promise<number> {
    return this._cmd(['ZREMRANGEBYRANK', key, start, stop], toNum, opts)
  }

  /** `ZUNIONSTORE destination numkeys key... [WEIGHTS] [AGGREGATE]`: the size of the stored set. */
  zunionstore(destination: RedisKey, keys: RedisKey[], opts?: ZStoreOptions): Promise<number> {
    return this._cmd(zstoreArgs('ZUNIONSTORE', destination, keys, opts), toNum, opts)
  }

  /** `ZINTERSTORE destination numkeys key... [WEIGHTS] [AGGREGATE]`: the size of the stored set. */
  zinterstore(destination: RedisKey, keys: RedisKey[], opts?: ZStoreOptions): Promise<number> {
    return this._cmd(zstoreArgs('ZINTERSTORE', destination, keys, opts), toNum, opts)
  }

  // ---- streams -------------------------------------------------------------------------

  /** `XADD key [NOMKSTREAM] [MAXLEN|MINID ...] id field value...`: the new ID (`null` with `noMkStream` and no stream). */
  xadd(key: RedisKey, fields: FieldValues, opts?: XAddOptions): Promise<string | null> {
    const args: RedisArg[] = ['XADD', key]
    if (opts?.noMkStream) args.push('NOMKSTREAM')
    trimArgs(args, opts)
    args.push(opts?.id ?? '*', ...fieldArgs(fields))
    return this._cmd(args, toStrOrNull, opts)
  }

  /** `XLEN key`: entries in the stream. */
  xlen(key: RedisKey, opts?: CommandOptions): Promise<number> {
    return this._cmd(['XLEN', key], toNum, opts)
  }

  /** `XRANGE key start end [COUNT count]`: entries from `start` (default `-`) to `end` (default `+`). */
  xrange(key: RedisKey, start = '-', end = '+', count?: number, opts?: CommandOptions): Promise<StreamMessage[]> {
    const args: RedisArg[] = ['XRANGE', key, start, end]
    if (count !== undefined) args.push('COUNT', count)
    return this._cmd(args, toMessages, opts)
  }

  /** `XREVRANGE key end start [COUNT count]`: entries newest first, from `end` (default `+`) down to `start` (default `-`). */
  xrevrange(key: RedisKey, end = '+', start = '-', count?: number, opts?: CommandOptions): Promise<StreamMessage[]> {
    const args: RedisArg[] = ['XREVRANGE', key, end, start]
    if (count !== undefined) args.push('COUNT', count)
    return this._cmd(args, toMessages, opts)
  }

  /**
   * `XREAD [COUNT] [BLOCK] STREAMS key... id...`: messages after each ID, per stream, or
   * `null` when there are none (or `block` ms passed). With `block`, it runs on a
   * connection of its own.
   */
  xread(streams: StreamOffsets, opts?: XReadOptions): Promise<StreamMessages[] | null> {
    const args: RedisArg[] = ['XREAD']
    if (opts?.count !== undefined) args.push('COUNT', opts.count)
    if (opts?.block !== undefined) args.push('BLOCK', opts.block)
    offsetArgs(args, streams)
    return opts?.block !== undefined ? this._blocking(args, toStreams, opts) : this._cmd(args, toStreams, opts)
  }

  /**
   * `XREADGROUP GROUP group consumer [COUNT] [BLOCK] [NOACK] STREAMS key... id...`: `'>'`
   * reads new messages, an ID the consumer's pending history. With `block`, it runs on a
   * connection of its own.
   */
  xreadgroup(group: string, consumer: string, streams: StreamOffsets, opts?: XReadGroupOptions): Promise<StreamMessages[] | null> {
    const args: RedisArg[] = ['XREADGROUP', 'GROUP', group, consumer]
    if (opts?.count !== undefined) args.push('COUNT', opts.count)
    if (opts?.block !== undefined) args.push('BLOCK', opts.block)
    if (opts?.noAck) args.push('NOACK')
    offsetArgs(args, streams)
    return opts?.block !== undefined ? this._blocking(args, toStreams, opts) : this._cmd(args, toStreams, opts)
  }

  /** `XGROUP CREATE key group id [MKSTREAM] [ENTRIESREAD n]`: `id` `'$'` (default) starts at new messages, `'0'` at the beginning. */
  xgroupCreate(key: RedisKey, group: string, id = '$', opts?: XGroupCreateOptions): Promise<'OK'> {
    const args: RedisArg[] = ['XGROUP', 'CREATE', key, group, id]
    if (opts?.mkStream) args.push('MKSTREAM')
    if (opts?.entriesRead !== undefined) args.push('ENTRIESREAD', opts.entriesRead)
    return this._cmd(args, toOk, opts)
  }

  /** `XGROUP DESTROY key group`: `false` when there was no such group. */
  xgroupDestroy(key: RedisKey, group: string, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['XGROUP', 'DESTROY', key, group], toBool, opts)
  }

  /** `XGROUP CREATECONSUMER key group consumer`: `false` when it existed. */
  xgroupCreateConsumer(key: RedisKey, group: string, consumer: string, opts?: CommandOptions): Promise<boolean> {
    return this._cmd(['XGROUP', 'CREATECONSUMER', key, group, consumer], toBool, opts)
  }

  /** `XGROUP DELCONSUMER key group consumer`: how many messages it had pending (now dropped). */
  xgroupDelConsumer(key: RedisKey, group: string, consumer: string, opts?: CommandOptions): Promise<number> {
    return this._cmd(['XGROUP', 'DELCONSUMER', key, group, consumer], toNum, opts)
  }

  /** `XACK key group id...`: how many were acknowledged. */
  xack(key: RedisKey, group: string, ids: string | string[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['XACK', key, group, ...list(ids)], toNum, opts)
  }

  /** `XDEL key id...`: how many were deleted. */
  xdel(key: RedisKey, ids: string | string[], opts?: CommandOptions): Promise<number> {
    return this._cmd(['XDEL', key, ...list(ids)], toNum, opts)
  }

  /** `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`: how many entries were removed. */
  xtrim(key: RedisKey, opts: XTrimOptions): Promise<number> {
    return this._cmd(trimArgs(['XTRIM', key], opts), toNum, opts)
  }

  /** `XPENDING key group`: the summary of the group's pending messages. */
  xpending(key: RedisKey, group: string, opts?: CommandOptions): Promise<XPendingSummary> {
    return this._cmd(['XPENDING', key, group], toXPending, opts)
  }

  /** `XPENDING key group [IDLE min] start end count [consumer]`: pending messages in an ID range. */
  xpendingRange(key: RedisKey, group: string, start: string, end: string, count: number, opts?: XPendingRangeOptions): Promise<XPendingEntry[]> {
    const args: RedisArg[] = ['XPENDING', key, group]
    if (opts?.minIdle !== undefined) args.push('IDLE', opts.minIdle)
    args.push(start, end, count)
    if (opts?.consumer !== undefined) args.push(opts.consumer)
    return this._cmd(args, toXPendingEntries, opts)
  }

  /** `XCLAIM key group consumer min-idle-time id... [...]`: the messages now owned by `consumer`. */
  xclaim(key: RedisKey, group: string, consumer: string, minIdleMs: number, ids: string | string[], opts?: XClaimOptions): Promise<StreamMessage[]> {
    const args: RedisArg[] = ['XCLAIM', key, group, consumer, minIdleMs, ...list(ids)]
    if (opts) {
      if (opts.idle !== undefined) args.push('IDLE', opts.idle)
      if (opts.time !== undefined) args.push('TIME', opts.time)
      if (opts.retryCount !== undefined) args.push('RETRYCOUNT', opts.retryCount)
      if (opts.force) args.push('FORCE')
    }
    return this._cmd(args, toMessages, opts)
  }

  /** `XAUTOCLAIM key group consumer min-idle-time start [COUNT count]`: claims messages idle for long. */
  xautoclaim(key: RedisKey, group: string, consumer: string, minIdleMs: number, start = '0-0', count?: number, opts?: CommandOptions): Promise<XAutoClaimResult> {
    const args: RedisArg[] = ['XAUTOCLAIM', key, group, consumer, minIdleMs, start]
    if (count !== undefined) args.push('COUNT', count)
    return this._cmd(args, toXAutoClaim, opts)
  }

  /** `XINFO STREAM key`, as an object. */
  xinfoStream(key: RedisKey, opts?: CommandOptions): Promise<StreamInfo> {
    return this._cmd(['XINFO', 'STREAM', key], toStreamInfo, opts)
  }

  // ---- scripting -----------------------------------------------------------------------

  /** `EVAL script numkeys key... arg...`: the script's reply, as decoded. */
  eval(script: string, keys: RedisKey[] = [], args: RedisValue[] = [], opts?: CommandOptions): Promise<RedisReply> {
    return this._cmd(evalArgs('EVAL', script, keys, args), undefined, opts)
  }

  /** `EVALSHA sha1 numkeys key... arg...` (rejects with a `NOSCRIPT` {@link ReplyError} when the server lacks it). */
  evalsha(sha: string, keys: RedisKey[] = [], args: RedisValue[] = [], opts?: CommandOptions): Promise<RedisReply> {
    return this._cmd(evalArgs('EVALSHA', sha, keys, args), undefined, opts)
  }

  /**
   * Runs a script by SHA1: `EVALSHA`, then `EVAL` once if the server answers `NOSCRIPT`.
   * On a pipeline or a transaction it sends `EVAL` (a fallback cannot happen mid-batch).
   */
  evalScript(script: ScriptDefinition | string, keys: RedisKey[] = [], args: RedisValue[] = [], opts?: CommandOptions): Promise<RedisReply> {
    const s = typeof script === 'string' ? scriptDefinition(script) : script
    // Batches borrow these methods without being RedisCommands (pipeline.ts, mixCommands).
    const self: object = this
    if (!(self instanceof RedisCommands)) return this._cmd(evalArgs('EVAL', s.source, keys, args), undefined, opts)
    return this._cmd<RedisReply>(evalArgs('EVALSHA', s.sha, keys, args), undefined, opts).catch((err: unknown) => {
      if (err instanceof ReplyError && err.prefix === 'NOSCRIPT') return this._cmd<RedisReply>(evalArgs('EVAL', s.source, keys, args), undefined, opts)
      throw err
    })
  }

  /**
   * A script bound to this client: `redis.script(src).run(keys, args)` sends `EVALSHA`
   * and falls back to `EVAL` on `NOSCRIPT` (see {@link RedisCommands.evalScript}). The
   * SHA1 is computed locally, once per source. `keys` fixes the key count each run must pass.
   * Pipelines and transactions lack `script()`; use `evalScript(script, keys, args)` there
   * (it sends `EVAL`).
   */
  script(source: string, opts?: ScriptOptions): RedisScript<Promise<RedisReply>> {
    return defineScript((def, keys, args, o) => this.evalScript(def, keys, args, o), source, opts)
  }

  /** `SCRIPT LOAD script`: its SHA1. */
  scriptLoad(script: string, opts?: CommandOptions): Promise<string> {
    return this._cmd(['SCRIPT', 'LOAD', script], toStr, opts)
  }

  /** `SCRIPT EXISTS sha1...`: whether the server has each. */
  scriptExists(shas: string | string[], opts?: CommandOptions): Promise<boolean[]> {
    return this._cmd(['SCRIPT', 'EXISTS', ...list(shas)], toBools, opts)
  }

  /** `SCRIPT FLUSH [ASYNC|SYNC]`: empties the server's script cache. */
  scriptFlush(opts?: FlushOptions): Promise<'OK'> {
    return this._cmd(flushArgs(['SCRIPT', 'FLUSH'], opts), toOk, opts)
  }

  /** `FCALL function numkeys key... arg...` (Redis 7 functions). */
  fcall(fn: string, keys: RedisKey[] = [], args: RedisValue[] = [], opts?: CommandOptions): Promise<RedisReply> {
    return this._cmd(evalArgs('FCALL', fn, keys, args), undefined, opts)
  }

  /** `FCALL_RO function numkeys key... arg...`: a read-only function (runs on replicas too). */
  fcallRo(fn: string, keys: RedisKey[] = [], args: RedisValue[] = [], opts?: CommandOptions): Promise<RedisReply> {
    return this._cmd(evalArgs('FCALL_RO', fn, keys, args), undefined, opts)
  }

  /** `FUNCTION LOAD [REPLACE] code`: the library's name. */
  functionLoad(code: string, opts?: CommandOptions & { replace?: boolean }): Promise<string> {
    return this._cmd(opts?.replace ? ['FUNCTION', 'LOAD', 'REPLACE', code] : ['FUNCTION', 'LOAD', code], toStr, opts)
  }

  /** `FUNCTION DELETE library`. */
  functionDelete(library: string, opts?: CommandOptions): Promise<'OK'> {
    return this._cmd(['FUNCTION', 'DELETE', library], toOk, opts)
  }

  // ---- server and connection -----------------------------------------------------------

  /** `PING [message]`. */
  ping(message?: string, opts?: CommandOptions): Promise<string> {
    return this._cmd(message === undefined ? ['PING'] : ['PING', message], toStr, opts)
  }

  /** `ECHO message`. */
  echo(message: RedisValue, opts?: CommandOptions): Promise<string> {
    return this._cmd(['ECHO', message], toStr, opts)
  }

  /** `INFO [section...]`: the server's report, as text. */
  info(sections?: string | string[], opts?: CommandOptions): Promise<string> {
    return this._cmd(['INFO', ...(sections === undefined ? [] : list(sections))], toStr, opts)
  }

  /** `INFO section...`, parsed: every `key:value` line of the sections as one object. */
  infoSection(sections: string | string[], opts?: CommandOptions): Promise<Record<string, string>> {
    return this._cmd(['INFO', ...list(sections)], (r) => parseInfo(toStr(r)), opts)
  }

  /** `TIME`: the server's clock as `[unixSeconds, microseconds]`. */
  time(opts?: CommandOptions): Promise<[seconds: number, microseconds: number]> {
    return this._cmd(['TIME'], (r) => [toNum((r as RedisReply[])[0]!), toNum((r as RedisReply[])[1]!)], opts)
  }

  /** `FLUSHALL [ASYNC|SYNC]`: removes every key of every database. */
  flushall(opts?: FlushOptions): Promise<'OK'> {
    return this._cmd(flushArgs(['FLUSHALL'], opts), toOk, opts)
  }

  /** `CLIENT ID`: the connection's ID (of the main connection, for a client). */
  clientId(opts?: CommandOptions): Promise<number> {
    return this._cmd(['CLIENT', 'ID'], toNum, opts)
  }

  /**
   * `CLIENT SETNAME name` on the connection that runs it. A client's reconnects and other
   * connections keep the `name` option instead; set that for a name that lasts.
   */
  clientSetName(name: string, opts?: CommandOptions): Promise<'OK'> {
    return this._cmd(['CLIENT', 'SETNAME', name], toOk, opts)
  }

  /** `CLIENT GETNAME`: the connection's name, or `null`. */
  clientGetName(opts?: CommandOptions): Promise<string | null> {
    return this._cmd(['CLIENT', 'GETNAME'], toStrOrNull, opts)
  }

  /** `CONFIG GET parameter...`: matching parameters and values (glob patterns allowed). */
  configGet(parameters: string | string[], opts?: CommandOptions): Promise<Record<string, string>> {
    return this._cmd(['CONFIG', 'GET', ...list(parameters)], toRecord, opts)
  }

  /** `CONFIG SET parameter value...` (all or none). */
  configSet(parameters: Record<string, string | number>, opts?: CommandOptions): Promise<'OK'> {
    const args: RedisArg[] = ['CONFIG', 'SET']
    for (const k of Object.keys(parameters)) args.push(k, parameters[k]!)
    return this._cmd(args, toOk, opts)
  }

  // ---- SCAN ----------------------------------------------------------------------------

  /** `SCAN cursor [MATCH] [COUNT] [TYPE]`: one page, `[nextCursor, keys]` (`'0'` ends the scan). */
  scan(cursor: string | number, opts?: ScanOptions): Promise<[cursor: string, keys: string[]]> {
    return this._cmd(scanArgs(['SCAN', cursor], opts), (r) => [toStr((r as RedisReply[])[0]!), toStrs((r as RedisReply[])[1]!)], opts)
  }

  /** `HSCAN key cursor [MATCH] [COUNT]`: one page of `[field, value]` pairs. */
  hscan(key: RedisKey, cursor: string | number, opts?: ElementScanOptions): Promise<[cursor: string, entries: Array<[string, string]>]> {
    return this._cmd(scanArgs(['HSCAN', key, cursor], opts), (r) => [toStr((r as RedisReply[])[0]!), toStrPairs((r as RedisReply[])[1]!)], opts)
  }

  /** `SSCAN key cursor [MATCH] [COUNT]`: one page of members. */
  sscan(key: RedisKey, cursor: string | number, opts?: ElementScanOptions): Promise<[cursor: string, members: string[]]> {
    return this._cmd(scanArgs(['SSCAN', key, cursor], opts), (r) => [toStr((r as RedisReply[])[0]!), toStrs((r as RedisReply[])[1]!)], opts)
  }

  /** `ZSCAN key cursor [MATCH] [COUNT]`: one page of members with scores. */
  zscan(key: RedisKey, cursor: string | number, opts?: ElementScanOptions): Promise<[cursor: string, members: ScoredValue[]]> {
    return this._cmd(scanArgs(['ZSCAN', key, cursor], opts), (r) => [toStr((r as RedisReply[])[0]!), toScored((r as RedisReply[])[1]!)], opts)
  }

  /**
   * Every key (matching `match`, of `type`), by `SCAN` pages. A key present throughout is
   * yielded at least once; one added or removed meanwhile may or may not be, and a key can
   * repeat (dedupe if it matters). Not on pipelines.
   */
  async *scanIterator(opts?: ScanOptions): AsyncGenerator<string, void, undefined> {
    let cursor = '0'
    do {
      const [next, keys] = await this.scan(cursor, opts)
      cursor = next
      yield* keys
    } while (cursor !== '0')
  }

  /** Every `[field, value]` of a hash, by `HSCAN` pages (same guarantees as {@link RedisCommands.scanIterator}). */
  async *hscanIterator(key: RedisKey, opts?: ElementScanOptions): AsyncGenerator<[string, string], void, undefined> {
    let cursor = '0'
    do {
      const [next, entries] = await this.hscan(key, cursor, opts)
      cursor = next
      yield* entries
    } while (cursor !== '0')
  }

  /** Every member of a set, by `SSCAN` pages. */
  async *sscanIterator(key: RedisKey, opts?: ElementScanOptions): AsyncGenerator<string, void, undefined> {
    let cursor = '0'
    do {
      const [next, members] = await this.sscan(key, cursor, opts)
      cursor = next
      yield* members
    } while (cursor !== '0')
  }

  /** Every member of a sorted set with its score, by `ZSCAN` pages. */
  async *zscanIterator(key: RedisKey, opts?: ElementScanOptions): AsyncGenerator<ScoredValue, void, undefined> {
    let cursor = '0'
    do {
      const [next, members] = await this.zscan(key, cursor, opts)
      cursor = next
      yield* members
    } while (cursor !== '0')
  }
}

function toListPop(r: RedisReply): ListPop | null {
  if (r === null) return null
  const a = r as RedisReply[]
  return { key: toStr(a[0]!), elements: toStrs(a[1]!) }
}

function toZPop(r: RedisReply): ZPop | null {
  if (r === null) return null
  const a = r as RedisReply[]
  return { key: toStr(a[0]!), value: toStr(a[1]!), score: toScore(a[2]!) }
}

function toXPendingEntries(r: RedisReply): XPendingEntry[] {
  return (r as RedisReply[][]).map((e) => ({ id: toStr(e[0]!), consumer: toStr(e[1]!), idle: toNum(e[2]!), deliveries: toNum(e[3]!) }))
}

function toXAutoClaim(r: RedisReply): XAutoClaimResult {
  const a = r as RedisReply[]
  return { next: toStr(a[0]!), messages: toMessages(a[1]!), deleted: a[2] === undefined ? [] : toStrs(a[2]) }
}

function zrangeArgs(key: RedisKey, start: ScoreBound, stop: ScoreBound, o: ZRangeOptions | undefined, withScores: boolean): RedisArg[] {
  const args: RedisArg[] = ['ZRANGE', key, start, stop]
  if (o) {
    if (o.by === 'SCORE') args.push('BYSCORE')
    else if (o.by === 'LEX') args.push('BYLEX')
    if (o.rev) args.push('REV')
    if (o.limit) args.push('LIMIT', o.limit.offset, o.limit.count)
  }
  if (withScores) args.push('WITHSCORES')
  return args
}

function zstoreArgs(cmd: string, destination: RedisKey, keys: RedisKey[], o: ZStoreOptions | undefined): RedisArg[] {
  const args: RedisArg[] = [cmd, destination, keys.length, ...keys]
  if (o?.weights) args.push('WEIGHTS', ...o.weights)
  if (o?.aggregate) args.push('AGGREGATE', o.aggregate)
  return args
}
