import { expect, test } from 'tstyche'
import {
  createClient,
  Pipeline,
  RedisClient,
  Transaction,
  type IsolatedClient,
  type ListPop,
  type RedisReply,
  type RedisScript,
  type ScoredValue,
  type StreamInfo,
  type StreamMessage,
  type StreamMessages,
  type XAutoClaimResult,
  type XPendingEntry,
  type XPendingSummary,
  type XTrimOptions,
  type ZPop,
} from '@iocrate/redis'

const redis = createClient('redis://127.0.0.1:6379')

test('createClient', () => {
  expect(redis).type.toBe<RedisClient>()
  expect(createClient({ url: 'redis://x', protocol: 2 })).type.toBe<RedisClient>()
})

test('strings', () => {
  expect(redis.get('k')).type.toBe<Promise<string | null>>()
  expect(redis.getBuffer(Buffer.from('k'))).type.toBe<Promise<Buffer | null>>()
  expect(redis.set('k', 1, { ex: 10, nx: true })).type.toBe<Promise<'OK' | null>>()
  expect(redis.set).type.not.toBeCallableWith('k', { not: 'a value' })
  expect(redis.getdel('k')).type.toBe<Promise<string | null>>()
  expect(redis.getex('k', { persist: true })).type.toBe<Promise<string | null>>()
  expect(redis.mget(['a', Buffer.from('b')])).type.toBe<Promise<Array<string | null>>>()
  expect(redis.mset({ a: 1, b: 'x' })).type.toBe<Promise<'OK'>>()
  expect(redis.mset(new Map([[Buffer.from('a'), Buffer.from('b')]]))).type.toBe<Promise<'OK'>>()
  expect(redis.msetnx({ a: 1 })).type.toBe<Promise<boolean>>()
  expect(redis.incrby('k', 10n)).type.toBe<Promise<number>>()
  expect(redis.incrbyfloat('k', 0.5)).type.toBe<Promise<number>>()
  expect(redis.getrange('k', 0, -1)).type.toBe<Promise<string>>()
})

test('keys', () => {
  expect(redis.del(['a', 'b'])).type.toBe<Promise<number>>()
  expect(redis.exists('a')).type.toBe<Promise<number>>()
  expect(redis.expire('k', 10, { nx: true })).type.toBe<Promise<boolean>>()
  expect(redis.ttl('k')).type.toBe<Promise<number>>()
  expect(redis.type('k')).type.toBe<Promise<string>>()
  expect(redis.rename('a', 'b')).type.toBe<Promise<'OK'>>()
  expect(redis.keys('*')).type.toBe<Promise<string[]>>()
  expect(redis.randomkey()).type.toBe<Promise<string | null>>()
  expect(redis.copy('a', 'b', { db: 1, replace: true })).type.toBe<Promise<boolean>>()
  expect(redis.flushdb({ async: true })).type.toBe<Promise<'OK'>>()
  expect(redis.dump('k')).type.toBe<Promise<Buffer | null>>()
  expect(redis.restore('k', 0, Buffer.alloc(1), { replace: true })).type.toBe<Promise<'OK'>>()
  expect(redis.restore).type.not.toBeCallableWith('k', 0, 'not a buffer')
})

test('hashes: hset takes a field and a value, or an object', () => {
  expect(redis.hset('h', 'f', 'v')).type.toBe<Promise<number>>()
  expect(redis.hset('h', { a: 1, b: Buffer.from('x') })).type.toBe<Promise<number>>()
  expect(redis.hset('h', new Map([['a', 1]]), { signal: AbortSignal.timeout(1) })).type.toBe<Promise<number>>()
  expect(redis.hset).type.not.toBeCallableWith('h', 'f')
  expect(redis.hset).type.not.toBeCallableWith('h', { a: true })
  expect(redis.hget('h', 'f')).type.toBe<Promise<string | null>>()
  expect(redis.hgetBuffer('h', 'f')).type.toBe<Promise<Buffer | null>>()
  expect(redis.hgetall('h')).type.toBe<Promise<Record<string, string>>>()
  expect(redis.hmget('h', ['a'])).type.toBe<Promise<Array<string | null>>>()
  expect(redis.hrandfieldWithValues('h', 2)).type.toBe<Promise<Array<[string, string]>>>()
})

test('lists', () => {
  expect(redis.lpush('l', ['a', 1])).type.toBe<Promise<number>>()
  expect(redis.lpop('l')).type.toBe<Promise<string | null>>()
  expect(redis.lpopCount('l', 2)).type.toBe<Promise<string[] | null>>()
  expect(redis.lrange('l', 0, -1)).type.toBe<Promise<string[]>>()
  expect(redis.lrangeBuffer('l', 0, -1)).type.toBe<Promise<Buffer[]>>()
  expect(redis.linsert('l', 'BEFORE', 'p', 'e')).type.toBe<Promise<number>>()
  expect(redis.linsert).type.not.toBeCallableWith('l', 'AROUND', 'p', 'e')
  expect(redis.lmove('a', 'b', 'LEFT', 'RIGHT')).type.toBe<Promise<string | null>>()
  expect(redis.lpos('l', 'x', { rank: 2 })).type.toBe<Promise<number | null>>()
  expect(redis.blpop(['a', 'b'], 1)).type.toBe<Promise<[string, string] | null>>()
  expect(redis.brpop('a', 1)).type.toBe<Promise<[string, string] | null>>()
  expect(redis.blmpop('a', 'LEFT', 1, 2)).type.toBe<Promise<ListPop | null>>()
})

test('sets', () => {
  expect(redis.smembers('s')).type.toBe<Promise<string[]>>()
  expect(redis.sismember('s', 'm')).type.toBe<Promise<boolean>>()
  expect(redis.smismember('s', ['a', 'b'])).type.toBe<Promise<boolean[]>>()
  expect(redis.spopCount('s', 2)).type.toBe<Promise<string[]>>()
  expect(redis.sintercard(['a', 'b'], 10)).type.toBe<Promise<number>>()
})

test('sorted sets', () => {
  expect(redis.zadd('z', [{ score: 1, value: 'a' }], { gt: true, ch: true })).type.toBe<Promise<number>>()
  expect(redis.zadd).type.not.toBeCallableWith('z', [{ score: '1', value: 'a' }])
  expect(redis.zscore('z', 'a')).type.toBe<Promise<number | null>>()
  expect(redis.zmscore('z', ['a'])).type.toBe<Promise<Array<number | null>>>()
  expect(redis.zrank('z', 'a')).type.toBe<Promise<number | null>>()
  expect(redis.zrange('z', '(1', '+inf', { by: 'SCORE', limit: { offset: 0, count: 2 } })).type.toBe<Promise<string[]>>()
  expect(redis.zrange).type.not.toBeCallableWith('z', 0, 1, { by: 'RANK' })
  expect(redis.zrangeWithScores('z', 0, -1)).type.toBe<Promise<ScoredValue[]>>()
  expect(redis.zpopmin('z', 2)).type.toBe<Promise<ScoredValue[]>>()
  expect(redis.bzpopmax('z', 1)).type.toBe<Promise<ZPop | null>>()
  expect(redis.zinterstore('d', ['a', 'b'], { aggregate: 'MAX' })).type.toBe<Promise<number>>()
})

test('streams', () => {
  expect(redis.xadd('s', { a: 1 }, { maxLen: 100, approximate: true })).type.toBe<Promise<string | null>>()
  expect(redis.xrange('s')).type.toBe<Promise<StreamMessage[]>>()
  expect(redis.xread({ s: '0' }, { block: 100 })).type.toBe<Promise<StreamMessages[] | null>>()
  expect(redis.xread([[Buffer.from('s'), '$']])).type.toBe<Promise<StreamMessages[] | null>>()
  expect(redis.xreadgroup('g', 'c', { s: '>' }, { noAck: true })).type.toBe<Promise<StreamMessages[] | null>>()
  expect(redis.xgroupCreate('s', 'g', '0', { mkStream: true })).type.toBe<Promise<'OK'>>()
  expect(redis.xpending('s', 'g')).type.toBe<Promise<XPendingSummary>>()
  expect(redis.xpendingRange('s', 'g', '-', '+', 10)).type.toBe<Promise<XPendingEntry[]>>()
  expect(redis.xautoclaim('s', 'g', 'c', 100)).type.toBe<Promise<XAutoClaimResult>>()
  expect(redis.xinfoStream('s')).type.toBe<Promise<StreamInfo>>()
  expect(redis.xtrim('s', { maxLen: 10 })).type.toBe<Promise<number>>()
  expect<XTrimOptions>().type.not.toBeAssignableWith({ approximate: true })
})

test('scripts', () => {
  const s = redis.script('return 1', { keys: 1 })
  expect(s).type.toBe<RedisScript<Promise<RedisReply>>>()
  expect(s.sha).type.toBe<string>()
  expect(s.run(['k'], ['a', 1])).type.toBe<Promise<RedisReply>>()
  expect(redis.eval('return 1', [], [])).type.toBe<Promise<RedisReply>>()
  expect(redis.evalScript(s, ['k'])).type.toBe<Promise<RedisReply>>()
  expect(redis.scriptExists(['a'])).type.toBe<Promise<boolean[]>>()
  expect(redis.scriptLoad('return 1')).type.toBe<Promise<string>>()
})

test('server', () => {
  expect(redis.time()).type.toBe<Promise<[seconds: number, microseconds: number]>>()
  expect(redis.info()).type.toBe<Promise<string>>()
  expect(redis.infoSection('server')).type.toBe<Promise<Record<string, string>>>()
  expect(redis.configGet('*')).type.toBe<Promise<Record<string, string>>>()
  expect(redis.clientGetName()).type.toBe<Promise<string | null>>()
  expect(redis).type.not.toHaveProperty('select')
})

test('SCAN iterators', () => {
  expect(redis.scanIterator({ match: 'a*', type: 'hash' })).type.toBe<AsyncGenerator<string, void, undefined>>()
  expect(redis.hscanIterator('h')).type.toBe<AsyncGenerator<[string, string], void, undefined>>()
  expect(redis.sscanIterator('s')).type.toBe<AsyncGenerator<string, void, undefined>>()
  expect(redis.zscanIterator('z')).type.toBe<AsyncGenerator<ScoredValue, void, undefined>>()
  expect(redis.scan(0)).type.toBe<Promise<[cursor: string, keys: string[]]>>()
})

test('pipelines and transactions chain the same helpers', () => {
  const p = redis.pipeline()
  expect(p.set('k', 'v')).type.toBe<Pipeline>()
  expect(p.set('k', 'v').get('k').hset('h', { a: 1 }).zrangeWithScores('z', 0, -1)).type.toBe<Pipeline>()
  expect(p.hset('h', 'f', 'v')).type.toBe<Pipeline>()
  expect(p.hset).type.not.toBeCallableWith('h', 'f')
  expect(p.evalScript('return 1', ['k'])).type.toBe<Pipeline>()
  expect(p.exec()).type.toBe<Promise<unknown[]>>()
  const t = redis.multi()
  expect(t.incr('k').xadd('s', { a: 1 })).type.toBe<Transaction>()
  expect(t.exec()).type.toBe<Promise<unknown[] | null>>()
  // What cannot be queued is not on a batch.
  expect(p).type.not.toHaveProperty('scanIterator')
  expect(p).type.not.toHaveProperty('script')
  expect(t).type.not.toHaveProperty('hscanIterator')
})

test('isolated connections have the helpers', () => {
  void redis.isolated(async (iso) => {
    expect(iso).type.toBe<IsolatedClient>()
    expect(iso.get('k')).type.toBe<Promise<string | null>>()
    expect(iso.multi().set('k', 'v')).type.toBe<Transaction>()
    return 1
  })
})

test('no any leaks', () => {
  expect(redis.get('k')).type.not.toBe<Promise<any>>()
  expect(redis.eval('return 1')).type.not.toBe<Promise<any>>()
  expect(redis.hgetall('h')).type.not.toBe<Promise<Record<string, any>>>()
  expect(redis.xrange('s')).type.not.toBe<Promise<any[]>>()
  expect(redis.zrangeWithScores('z', 0, 1)).type.not.toBe<Promise<any>>()
  expect(redis.pipeline().get('k')).type.not.toBe<any>()
  expect(redis.time()).type.not.toBe<Promise<any>>()
})
