import type { RedisArg } from './command.js'

// Redis Cluster key slots: CRC16/XMODEM (polynomial 0x1021, initial value 0, no reflection)
// of the key, or of its hash tag, modulo 16384 (cluster specification, "Keys distribution model").

/** The number of hash slots of a Redis Cluster. */
export const SLOTS = 16384

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let c = i << 8
  for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff
  TABLE[i] = c
}

/** CRC16/XMODEM of `bytes[start, end)`. @internal */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!
  return crc
}

// The same over an ASCII string's char codes, without encoding it first.
function crc16Ascii(s: string, start: number, end: number): number {
  let crc = 0
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ s.charCodeAt(i)) & 0xff]!
  return crc
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/**
 * The cluster slot (0–16383) of a key: CRC16 of the key mod 16384, where a key holding a
 * non-empty hash tag — the part between its first `{` and the first `}` after it — hashes
 * only that part, so `{user1000}.following` and `{user1000}.followers` share a slot. A
 * string key is hashed as UTF-8.
 */
export function keySlot(key: string | Buffer): number {
  if (typeof key === 'string') {
    if (!isAscii(key)) return keySlot(Buffer.from(key, 'utf8'))
    const s = key.indexOf('{')
    if (s >= 0) {
      const e = key.indexOf('}', s + 1)
      if (e > s + 1) return crc16Ascii(key, s + 1, e) & (SLOTS - 1)
    }
    return crc16Ascii(key, 0, key.length) & (SLOTS - 1)
  }
  const s = key.indexOf(0x7b) // {
  if (s >= 0) {
    const e = key.indexOf(0x7d, s + 1) // }
    if (e > s + 1) return crc16(key, s + 1, e) & (SLOTS - 1)
  }
  return crc16(key) & (SLOTS - 1)
}

// ---- which arguments are keys ----------------------------------------------------------------
// A static table for the usual commands; the cluster client asks the server (`COMMAND INFO`,
// cached per name) about anything else. Indexes count the command name as 0.

// [first key, last key (negative: from the end, -1 = the last argument), step]
const RANGE: Record<string, readonly [number, number, number]> = {}
function range(spec: readonly [number, number, number], names: string): void {
  for (const n of names.split(' ')) RANGE[n] = spec
}
range(
  [1, 1, 1],
  'GET SET SETNX SETEX PSETEX APPEND STRLEN INCR DECR INCRBY DECRBY INCRBYFLOAT GETSET GETDEL GETEX GETRANGE SETRANGE SUBSTR ' +
    'GETBIT SETBIT BITCOUNT BITPOS BITFIELD BITFIELD_RO EXPIRE PEXPIRE EXPIREAT PEXPIREAT EXPIRETIME PEXPIRETIME TTL PTTL PERSIST ' +
    'TYPE DUMP RESTORE RESTORE-ASKING SORT SORT_RO ' +
    'HSET HSETNX HGET HMSET HMGET HDEL HLEN HKEYS HVALS HGETALL HEXISTS HINCRBY HINCRBYFLOAT HSTRLEN HSCAN HRANDFIELD ' +
    'LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS ' +
    'SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SSCAN ' +
    'ZADD ZREM ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ' +
    'ZLEXCOUNT ZRANK ZREVRANK ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZRANDMEMBER ZSCAN ' +
    'PFADD XADD XLEN XRANGE XREVRANGE XDEL XTRIM XACK XCLAIM XAUTOCLAIM XPENDING XSETID ' +
    'GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEORADIUS GEORADIUS_RO GEORADIUSBYMEMBER GEORADIUSBYMEMBER_RO SPUBLISH',
)
range([1, -1, 1], 'DEL UNLINK EXISTS TOUCH MGET SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE PFCOUNT PFMERGE WATCH SSUBSCRIBE SUNSUBSCRIBE')
range([1, -2, 1], 'BLPOP BRPOP BZPOPMIN BZPOPMAX')
range([1, -1, 2], 'MSET MSETNX')
range([1, 2, 1], 'RPOPLPUSH BRPOPLPUSH LMOVE BLMOVE SMOVE RENAME RENAMENX COPY GEOSEARCHSTORE ZRANGESTORE LCS')

// [index of numkeys, extra key indexes before it]: the keys follow numkeys.
const NUMKEYS: Record<string, readonly [number, readonly number[]]> = {
  EVAL: [2, []],
  EVALSHA: [2, []],
  EVAL_RO: [2, []],
  EVALSHA_RO: [2, []],
  FCALL: [2, []],
  FCALL_RO: [2, []],
  ZUNIONSTORE: [2, [1]],
  ZINTERSTORE: [2, [1]],
  ZDIFFSTORE: [2, [1]],
  ZUNION: [1, []],
  ZINTER: [1, []],
  ZDIFF: [1, []],
  ZINTERCARD: [1, []],
  SINTERCARD: [1, []],
  LMPOP: [1, []],
  ZMPOP: [1, []],
  BLMPOP: [2, []],
  BZMPOP: [2, []],
}

// Commands whose key is the argument after a subcommand.
const SUBCOMMAND_KEY = new Set(['OBJECT', 'XINFO', 'XGROUP', 'MEMORY'])

const KEYLESS = new Set(
  ('PING ECHO INFO TIME DBSIZE FLUSHALL FLUSHDB KEYS SCAN RANDOMKEY PUBLISH SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE ' +
    'CLUSTER COMMAND CONFIG CLIENT SCRIPT FUNCTION LASTSAVE SAVE BGSAVE BGREWRITEAOF ROLE MULTI EXEC DISCARD UNWATCH HELLO AUTH ' +
    'SELECT READONLY READWRITE ASKING WAIT SLOWLOG LATENCY DEBUG MONITOR PUBSUB SWAPDB QUIT RESET LOLWUT ACL MODULE SHUTDOWN ' +
    'REPLICAOF SLAVEOF FAILOVER SYNC PSYNC').split(' '),
)

/** A command name as upper-case text. @internal */
export function argText(a: RedisArg | undefined): string {
  return a === undefined ? '' : Buffer.isBuffer(a) ? a.toString('latin1') : String(a)
}

/**
 * The key arguments of a command when the static table knows it (an empty array for a
 * keyless command), or `undefined` for a command to ask the server about. @internal
 */
export function commandKeys(args: readonly RedisArg[]): RedisArg[] | undefined {
  const name = argText(args[0]).toUpperCase()
  const r = RANGE[name]
  if (r !== undefined) return keysInRange(args, r[0], r[1], r[2])
  const nk = NUMKEYS[name]
  if (nk !== undefined) {
    const n = Number(argText(args[nk[0]]))
    const keys = nk[1].map((i) => args[i]!).filter((k) => k !== undefined)
    if (!Number.isInteger(n) || n < 0) return keys
    return keys.concat(args.slice(nk[0] + 1, nk[0] + 1 + n))
  }
  if (KEYLESS.has(name)) return []
  if (SUBCOMMAND_KEY.has(name)) {
    const sub = argText(args[1]).toUpperCase()
    if (sub === 'HELP' || sub === 'STATS' || sub === 'DOCTOR' || sub === 'MALLOC-STATS' || sub === 'PURGE' || args.length < 3) return []
    return [args[2]!]
  }
  if (name === 'XREAD' || name === 'XREADGROUP') {
    const i = args.findIndex((a, j) => j > 0 && argText(a).toUpperCase() === 'STREAMS')
    if (i < 0) return []
    const rest = args.slice(i + 1)
    return rest.slice(0, Math.floor(rest.length / 2))
  }
  if (name === 'MIGRATE') {
    if (argText(args[3]) !== '') return [args[3]!]
    const i = args.findIndex((a, j) => j > 5 && argText(a).toUpperCase() === 'KEYS')
    return i < 0 ? [] : args.slice(i + 1)
  }
  return undefined
}

/** The keys at `first`, `first + step`, ... up to `last` (negative: counted from the end). @internal */
export function keysInRange(args: readonly RedisArg[], first: number, last: number, step: number): RedisArg[] {
  if (first <= 0) return []
  const end = last < 0 ? args.length + last : Math.min(last, args.length - 1)
  const keys: RedisArg[] = []
  for (let i = first; i <= end; i += Math.max(1, step)) keys.push(args[i]!)
  return keys
}

/**
 * The one slot all `keys` hash to: -1 for none, -2 when they hash to different slots. @internal
 */
export function slotOfKeys(keys: readonly RedisArg[]): number {
  let slot = -1
  for (const k of keys) {
    const s = keySlot(typeof k === 'string' || Buffer.isBuffer(k) ? k : String(k))
    if (slot === -1) slot = s
    else if (s !== slot) return -2
  }
  return slot
}
