// The typed command helpers against the real standalone server, once over RESP2 and once
// over RESP3: the same assertions on both prove the replies are normalized (maps, doubles,
// nested pairs). Every key starts with a random prefix and is removed at the end.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, ReplyError, type RedisClient } from '@iocrate/redis'
import { services } from '../../../scripts/services.mjs'

const env = services()

describe.each([2, 3] as const)('RESP%i', (protocol) => {
  const prefix = `t:cmd:${randomUUID().slice(0, 8)}:`
  const k = (name: string): string => prefix + name
  let redis: RedisClient

  beforeAll(async () => {
    redis = createClient({ url: env.redis.url, protocol })
    await redis.connect()
  })

  afterAll(async () => {
    const keys: string[] = []
    for await (const key of redis.scanIterator({ match: `${prefix}*`, count: 1000 })) keys.push(key)
    for (let i = 0; i < keys.length; i += 500) await redis.unlink(keys.slice(i, i + 500))
    await redis.close()
  })

  it('speaks the protocol asked for', () => {
    expect(redis.protocol).toBe(protocol)
  })

  it('strings', async () => {
    const a = k('str:a')
    expect(await redis.set(a, 'hello')).toBe('OK')
    expect(await redis.set(a, 'x', { nx: true })).toBe(null)
    expect(await redis.get(a)).toBe('hello')
    expect(await redis.append(a, ' world')).toBe(11)
    expect(await redis.strlen(a)).toBe(11)
    expect(await redis.getrange(a, 0, 4)).toBe('hello')
    expect(await redis.setrange(a, 6, 'WORLD')).toBe(11)
    expect(await redis.get(a)).toBe('hello WORLD')
    expect(await redis.getex(a, { ex: 100 })).toBe('hello WORLD')
    expect(await redis.ttl(a)).toBeGreaterThan(90)
    expect(await redis.getex(a, { persist: true })).toBe('hello WORLD')
    expect(await redis.ttl(a)).toBe(-1)
    expect(await redis.getdel(a)).toBe('hello WORLD')
    expect(await redis.get(a)).toBe(null)
    expect(await redis.getdel(a)).toBe(null)

    const n = k('str:n')
    expect(await redis.incr(n)).toBe(1)
    expect(await redis.incrby(n, 10)).toBe(11)
    expect(await redis.decr(n)).toBe(10)
    expect(await redis.decrby(n, 3n)).toBe(7)
    expect(await redis.incrbyfloat(n, 0.5)).toBe(7.5)

    expect(await redis.mset({ [k('m1')]: 'one', [k('m2')]: 2 })).toBe('OK')
    expect(await redis.mset(new Map([[Buffer.from(k('m3')), Buffer.from('three')]]))).toBe('OK')
    expect(await redis.mget([k('m1'), k('m2'), k('missing'), k('m3')])).toEqual(['one', '2', null, 'three'])
    expect(await redis.msetnx({ [k('m1')]: 'x', [k('m4')]: 'y' })).toBe(false)
    expect(await redis.msetnx({ [k('m4')]: 'y', [k('m5')]: 'z' })).toBe(true)
    expect(await redis.set(k('px'), 'v', { px: 50_000, xx: false })).toBe('OK')
    expect(await redis.pttl(k('px'))).toBeGreaterThan(40_000)
  })

  it('keys', async () => {
    const a = k('keys:a')
    const b = k('keys:b')
    await redis.set(a, 'va')
    expect(await redis.exists([a, a, b])).toBe(2)
    expect(await redis.type(a)).toBe('string')
    expect(await redis.type(b)).toBe('none')
    expect(await redis.objectEncoding(a)).toBe('embstr')
    expect(await redis.objectEncoding(b)).toBe(null)
    expect(await redis.touch([a, b])).toBe(1)

    expect(await redis.expire(a, 100, { xx: true })).toBe(false)
    expect(await redis.expire(a, 100, { nx: true })).toBe(true)
    expect(await redis.expire(a, 50, { gt: true })).toBe(false)
    expect(await redis.pexpire(a, 200_000, { gt: true })).toBe(true)
    expect(await redis.ttl(a)).toBeGreaterThan(150)
    const at = Math.floor(Date.now() / 1000) + 1000
    expect(await redis.expireat(a, at)).toBe(true)
    expect(await redis.expiretime(a)).toBe(at)
    expect(await redis.pexpireat(a, at * 1000 + 500)).toBe(true)
    expect(await redis.pexpiretime(a)).toBe(at * 1000 + 500)
    expect(await redis.persist(a)).toBe(true)
    expect(await redis.persist(a)).toBe(false)
    expect(await redis.ttl(b)).toBe(-2)
    expect(await redis.pttl(a)).toBe(-1)

    expect(await redis.copy(a, b)).toBe(true)
    expect(await redis.copy(a, b)).toBe(false)
    await redis.set(a, 'va2')
    expect(await redis.copy(a, b, { replace: true })).toBe(true)
    expect(await redis.get(b)).toBe('va2')
    expect(await redis.rename(b, k('keys:c'))).toBe('OK')
    expect(await redis.renamenx(a, k('keys:c'))).toBe(false)
    expect(await redis.renamenx(a, k('keys:d'))).toBe(true)
    await expect(redis.rename(k('keys:none'), k('keys:e'))).rejects.toBeInstanceOf(ReplyError)
    expect((await redis.keys(`${prefix}keys:*`)).sort()).toEqual([k('keys:c'), k('keys:d')])
    expect(typeof (await redis.randomkey())).toBe('string')
    expect(await redis.dbsize()).toBeGreaterThanOrEqual(2)

    const dumped = await redis.dump(k('keys:c'))
    expect(Buffer.isBuffer(dumped)).toBe(true)
    expect(await redis.dump(k('keys:none'))).toBe(null)
    expect(await redis.restore(k('keys:r'), 0, dumped!)).toBe('OK')
    expect(await redis.get(k('keys:r'))).toBe('va2')
    await expect(redis.restore(k('keys:r'), 0, dumped!)).rejects.toMatchObject({ prefix: 'BUSYKEY' })
    expect(await redis.restore(k('keys:r'), 100_000, dumped!, { replace: true })).toBe('OK')
    expect(await redis.pttl(k('keys:r'))).toBeGreaterThan(90_000)

    expect(await redis.unlink([k('keys:c'), k('keys:d')])).toBe(2)
    expect(await redis.del(k('keys:r'))).toBe(1)
  })

  it('flushdb on a database of its own', async () => {
    const db = 12 + protocol
    const other = createClient({ url: env.redis.url, protocol, db })
    try {
      await other.set(k('flush'), '1')
      expect(await other.dbsize()).toBeGreaterThanOrEqual(1)
      expect(await other.flushdb({ async: true })).toBe('OK')
      expect(await other.dbsize()).toBe(0)
      expect(await other.flushdb()).toBe('OK')
      // The default database is untouched.
      await redis.set(k('flush'), 'kept')
      expect(await redis.copy(k('flush'), k('flush'), { db })).toBe(true)
      expect(await other.get(k('flush'))).toBe('kept')
      expect(await other.flushdb({ async: false })).toBe('OK')
    } finally {
      await other.close()
    }
  })

  it('hashes', async () => {
    const h = k('hash')
    expect(await redis.hset(h, 'a', '1')).toBe(1)
    expect(await redis.hset(h, { b: 2, c: 'three' })).toBe(2)
    expect(await redis.hset(h, new Map([['a', 'one']]))).toBe(0)
    expect(await redis.hget(h, 'a')).toBe('one')
    expect(await redis.hget(h, 'zz')).toBe(null)
    expect(await redis.hmget(h, ['a', 'zz', 'c'])).toEqual(['one', null, 'three'])
    expect(await redis.hgetall(h)).toEqual({ a: 'one', b: '2', c: 'three' })
    expect(await redis.hgetall(k('nohash'))).toEqual({})
    expect(await redis.hexists(h, 'b')).toBe(true)
    expect(await redis.hexists(h, 'zz')).toBe(false)
    expect(await redis.hincrby(h, 'b', 5)).toBe(7)
    expect(await redis.hincrbyfloat(h, 'b', 0.25)).toBe(7.25)
    expect((await redis.hkeys(h)).sort()).toEqual(['a', 'b', 'c'])
    expect((await redis.hvals(h)).sort()).toEqual(['7.25', 'one', 'three'])
    expect(await redis.hlen(h)).toBe(3)
    expect(await redis.hsetnx(h, 'a', 'x')).toBe(false)
    expect(await redis.hsetnx(h, 'd', 'four')).toBe(true)
    expect(await redis.hstrlen(h, 'c')).toBe(5)
    expect(['a', 'b', 'c', 'd']).toContain(await redis.hrandfield(h))
    expect(await redis.hrandfield(k('nohash'))).toBe(null)
    expect((await redis.hrandfieldCount(h, 10)).sort()).toEqual(['a', 'b', 'c', 'd'])
    expect(await redis.hrandfieldCount(h, -6)).toHaveLength(6)
    const pairs = await redis.hrandfieldWithValues(h, 4)
    expect(Object.fromEntries(pairs)).toEqual({ a: 'one', b: '7.25', c: 'three', d: 'four' })
    expect(await redis.hdel(h, ['a', 'zz'])).toBe(1)
    expect(await redis.hdel(h, 'b')).toBe(1)
    expect(await redis.hlen(h)).toBe(2)
  })

  it('lists', async () => {
    const l = k('list')
    expect(await redis.rpush(l, ['b', 'c'])).toBe(2)
    expect(await redis.lpush(l, 'a')).toBe(3)
    expect(await redis.lpushx(k('nolist'), 'x')).toBe(0)
    expect(await redis.rpushx(l, ['d', 'e', 'c'])).toBe(6)
    expect(await redis.lrange(l, 0, -1)).toEqual(['a', 'b', 'c', 'd', 'e', 'c'])
    expect(await redis.llen(l)).toBe(6)
    expect(await redis.lindex(l, -1)).toBe('c')
    expect(await redis.lindex(l, 100)).toBe(null)
    expect(await redis.lpos(l, 'c')).toBe(2)
    expect(await redis.lpos(l, 'c', { rank: -1 })).toBe(5)
    expect(await redis.lpos(l, 'zz')).toBe(null)
    expect(await redis.lposCount(l, 'c', 0)).toEqual([2, 5])
    expect(await redis.lset(l, 0, 'A')).toBe('OK')
    await expect(redis.lset(l, 100, 'x')).rejects.toBeInstanceOf(ReplyError)
    expect(await redis.linsert(l, 'BEFORE', 'b', 'ab')).toBe(7)
    expect(await redis.linsert(l, 'AFTER', 'zz', 'x')).toBe(-1)
    expect(await redis.lrem(l, 0, 'c')).toBe(2)
    expect(await redis.lrange(l, 0, -1)).toEqual(['A', 'ab', 'b', 'd', 'e'])
    expect(await redis.ltrim(l, 1, -1)).toBe('OK')
    expect(await redis.lpop(l)).toBe('ab')
    expect(await redis.rpop(l)).toBe('e')
    expect(await redis.lpopCount(l, 5)).toEqual(['b', 'd'])
    expect(await redis.lpop(l)).toBe(null)
    expect(await redis.lpopCount(l, 2)).toBe(null)
    expect(await redis.rpopCount(l, 2)).toBe(null)

    const src = k('list:src')
    const dst = k('list:dst')
    await redis.rpush(src, ['1', '2', '3', '4'])
    expect(await redis.rpopCount(src, 1)).toEqual(['4'])
    expect(await redis.lmove(src, dst, 'LEFT', 'RIGHT')).toBe('1')
    expect(await redis.lmove(k('nolist'), dst, 'LEFT', 'RIGHT')).toBe(null)
    expect(await redis.lmpop([k('nolist'), src], 'RIGHT', 5)).toEqual({ key: src, elements: ['3', '2'] })
    expect(await redis.lmpop(src, 'LEFT')).toBe(null)
    expect(await redis.lrangeBuffer(dst, 0, -1)).toEqual([Buffer.from('1')])
  })

  it('blocking list commands wait on connections of their own', async () => {
    const l = k('blist')
    expect(await redis.brpop(l, 0.05)).toBe(null)
    expect(await redis.blmove(l, k('blist:dst'), 'RIGHT', 'LEFT', 0.05)).toBe(null)
    expect(await redis.blmpop(l, 'LEFT', 0.05)).toBe(null)

    // The main connection keeps working while they wait.
    const waiting = redis.brpop([k('blist:other'), l], 5)
    const moving = redis.blmove(k('blist:2'), k('blist:dst'), 'LEFT', 'RIGHT', 5)
    const popping = redis.blmpop([k('blist:3')], 'LEFT', 5, 2)
    const lpop = redis.blpop(k('blist:4'), 5)
    await new Promise((r) => setTimeout(r, 50))
    expect(await redis.rpush(l, ['x', 'y'])).toBe(2)
    await redis.rpush(k('blist:2'), 'm')
    await redis.rpush(k('blist:3'), ['p', 'q', 'r'])
    await redis.rpush(k('blist:4'), 'b4')
    expect(await waiting).toEqual([l, 'y'])
    expect(await moving).toBe('m')
    expect(await popping).toEqual({ key: k('blist:3'), elements: ['p', 'q'] })
    expect(await lpop).toEqual([k('blist:4'), 'b4'])
    expect(await redis.lrange(k('blist:dst'), 0, -1)).toEqual(['m'])
  })

  it('sets', async () => {
    const s1 = k('set1')
    const s2 = k('set2')
    expect(await redis.sadd(s1, ['a', 'b', 'c', 'a'])).toBe(3)
    expect(await redis.sadd(s2, ['b', 'c', 'd'])).toBe(3)
    expect(await redis.sadd(s2, 'e')).toBe(1)
    expect((await redis.smembers(s1)).sort()).toEqual(['a', 'b', 'c'])
    expect(await redis.smembers(k('noset'))).toEqual([])
    expect(await redis.sismember(s1, 'a')).toBe(true)
    expect(await redis.sismember(s1, 'z')).toBe(false)
    expect(await redis.smismember(s1, ['a', 'z', 'c'])).toEqual([true, false, true])
    expect(await redis.scard(s1)).toBe(3)
    expect((await redis.sinter([s1, s2])).sort()).toEqual(['b', 'c'])
    expect((await redis.sunion([s1, s2])).sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(await redis.sdiff([s1, s2])).toEqual(['a'])
    expect(await redis.sinterstore(k('set:i'), [s1, s2])).toBe(2)
    expect(await redis.sunionstore(k('set:u'), [s1, s2])).toBe(5)
    expect(await redis.sdiffstore(k('set:d'), [s2, s1])).toBe(2)
    expect(await redis.sintercard([s1, s2])).toBe(2)
    expect(await redis.sintercard([s1, s2], 1)).toBe(1)
    expect(await redis.smove(s1, s2, 'a')).toBe(true)
    expect(await redis.smove(s1, s2, 'z')).toBe(false)
    expect(await redis.srem(s2, ['a', 'z'])).toBe(1)
    expect(['b', 'c']).toContain(await redis.srandmember(s1))
    expect(await redis.srandmember(k('noset'))).toBe(null)
    expect((await redis.srandmemberCount(s1, 5)).sort()).toEqual(['b', 'c'])
    expect(await redis.srandmemberCount(s1, -5)).toHaveLength(5)
    const popped = await redis.spop(s1)
    expect(['b', 'c']).toContain(popped)
    expect(await redis.spopCount(s1, 5)).toEqual(['b', 'c'].filter((x) => x !== popped))
    expect(await redis.spop(s1)).toBe(null)
    expect(await redis.srem(k('set:u'), 'a')).toBe(1)
  })

  it('sorted sets, with scores the same on RESP2 (strings) and RESP3 (doubles)', async () => {
    const z = k('zset')
    expect(await redis.zadd(z, [{ score: 1, value: 'a' }, { score: 2.5, value: 'b' }, { score: 3, value: 'c' }])).toBe(3)
    expect(await redis.zadd(z, { score: -Infinity, value: 'ninf' })).toBe(1)
    expect(await redis.zadd(z, { score: Infinity, value: 'inf' })).toBe(1)
    expect(await redis.zadd(z, { score: 10, value: 'a' }, { nx: true })).toBe(0)
    expect(await redis.zadd(z, { score: 0.5, value: 'a' }, { gt: true, ch: true })).toBe(0)
    expect(await redis.zadd(z, { score: 1.5, value: 'a' }, { xx: true, gt: true, ch: true })).toBe(1)
    expect(await redis.zadd(z, { score: 9, value: 'new' }, { xx: true })).toBe(0)
    expect(await redis.zscore(z, 'a')).toBe(1.5)
    expect(await redis.zscore(z, 'inf')).toBe(Infinity)
    expect(await redis.zscore(z, 'ninf')).toBe(-Infinity)
    expect(await redis.zscore(z, 'zz')).toBe(null)
    expect(await redis.zmscore(z, ['b', 'zz', 'c'])).toEqual([2.5, null, 3])
    expect(await redis.zincrby(z, 0.25, 'b')).toBe(2.75)
    expect(await redis.zcard(z)).toBe(5)
    expect(await redis.zcount(z, 1, 3)).toBe(3)
    expect(await redis.zcount(z, '(1.5', '+inf')).toBe(3)
    expect(await redis.zrank(z, 'a')).toBe(1)
    expect(await redis.zrevrank(z, 'a')).toBe(3)
    expect(await redis.zrank(z, 'zz')).toBe(null)

    expect(await redis.zrange(z, 0, -1)).toEqual(['ninf', 'a', 'b', 'c', 'inf'])
    expect(await redis.zrange(z, 0, 1, { rev: true })).toEqual(['inf', 'c'])
    expect(await redis.zrange(z, 1, 3, { by: 'SCORE' })).toEqual(['a', 'b', 'c'])
    expect(await redis.zrange(z, '+inf', '(1.5', { by: 'SCORE', rev: true, limit: { offset: 1, count: 2 } })).toEqual(['c', 'b'])
    expect(await redis.zrangeWithScores(z, 0, -1)).toEqual([
      { value: 'ninf', score: -Infinity },
      { value: 'a', score: 1.5 },
      { value: 'b', score: 2.75 },
      { value: 'c', score: 3 },
      { value: 'inf', score: Infinity },
    ])
    expect(await redis.zrangeWithScores(z, 2, 3, { by: 'SCORE' })).toEqual([
      { value: 'b', score: 2.75 },
      { value: 'c', score: 3 },
    ])
    expect(await redis.zrangeWithScores(k('nozset'), 0, -1)).toEqual([])

    const lex = k('zlex')
    await redis.zadd(lex, ['a', 'b', 'c', 'd'].map((value) => ({ score: 0, value })))
    expect(await redis.zrange(lex, '[b', '+', { by: 'LEX' })).toEqual(['b', 'c', 'd'])
    expect(await redis.zrange(lex, '(c', '-', { by: 'LEX', rev: true })).toEqual(['b', 'a'])

    expect(await redis.zpopmin(z)).toEqual([{ value: 'ninf', score: -Infinity }])
    expect(await redis.zpopmax(z)).toEqual([{ value: 'inf', score: Infinity }])
    expect(await redis.zpopmin(z, 2)).toEqual([
      { value: 'a', score: 1.5 },
      { value: 'b', score: 2.75 },
    ])
    expect(await redis.zpopmax(k('nozset'))).toEqual([])
    expect(await redis.zpopmax(z, 5)).toEqual([{ value: 'c', score: 3 }])

    await redis.zadd(z, [1, 2, 3, 4, 5, 6].map((score) => ({ score, value: `m${score}` })))
    expect(await redis.zremrangebyscore(z, '(5', Infinity)).toBe(1)
    expect(await redis.zremrangebyrank(z, 0, 1)).toBe(2)
    expect(await redis.zrange(z, 0, -1)).toEqual(['m3', 'm4', 'm5'])
    const z2 = k('zset2')
    await redis.zadd(z2, [{ score: 10, value: 'm3' }, { score: 1, value: 'x' }])
    expect(await redis.zunionstore(k('zu'), [z, z2])).toBe(4)
    expect(await redis.zscore(k('zu'), 'm3')).toBe(13)
    expect(await redis.zinterstore(k('zi'), [z, z2], { weights: [2, 0.5], aggregate: 'MAX' })).toBe(1)
    expect(await redis.zrangeWithScores(k('zi'), 0, -1)).toEqual([{ value: 'm3', score: 6 }])
  })

  it('blocking sorted set pops', async () => {
    expect(await redis.bzpopmin(k('bz'), 0.05)).toBe(null)
    const min = redis.bzpopmin([k('bz:none'), k('bz')], 5)
    const max = redis.bzpopmax(k('bz:2'), 5)
    await new Promise((r) => setTimeout(r, 50))
    await redis.zadd(k('bz'), [{ score: 1.25, value: 'lo' }, { score: 2, value: 'hi' }])
    await redis.zadd(k('bz:2'), [{ score: 1, value: 'lo' }, { score: Infinity, value: 'top' }])
    expect(await min).toEqual({ key: k('bz'), value: 'lo', score: 1.25 })
    expect(await max).toEqual({ key: k('bz:2'), value: 'top', score: Infinity })
  })

  it('streams', async () => {
    const s = k('stream')
    const id1 = await redis.xadd(s, { a: '1', b: 'two' })
    expect(id1).toMatch(/^\d+-\d+$/)
    expect(await redis.xadd(s, new Map([['c', 3]]), { id: '99999999999999-1' })).toBe('99999999999999-1')
    expect(await redis.xadd(k('nostream'), { a: 1 }, { noMkStream: true })).toBe(null)
    expect(await redis.xlen(s)).toBe(2)
    expect(await redis.xrange(s)).toEqual([
      { id: id1, fields: { a: '1', b: 'two' } },
      { id: '99999999999999-1', fields: { c: '3' } },
    ])
    expect(await redis.xrange(s, '-', '+', 1)).toEqual([{ id: id1, fields: { a: '1', b: 'two' } }])
    expect(await redis.xrevrange(s, '+', '-', 1)).toEqual([{ id: '99999999999999-1', fields: { c: '3' } }])

    const t = k('stream:trim')
    for (let i = 1; i <= 10; i++) await redis.xadd(t, { i }, { id: `1-${i}`, maxLen: 5 })
    expect(await redis.xlen(t)).toBe(5)
    expect((await redis.xrange(t)).map((m) => m.id)).toEqual(['1-6', '1-7', '1-8', '1-9', '1-10'])
    expect(await redis.xtrim(t, { minId: '1-8' })).toBe(2)
    expect(await redis.xtrim(t, { maxLen: 1 })).toBe(2)
    expect(await redis.xtrim(t, { maxLen: 0, approximate: true, limit: 100 })).toBeGreaterThanOrEqual(0)
    expect(await redis.xdel(s, ['99999999999999-1', '5-5'])).toBe(1)

    const read = await redis.xread({ [s]: '0', [k('stream:none')]: '0' }, { count: 10 })
    expect(read).toEqual([{ stream: s, messages: [{ id: id1, fields: { a: '1', b: 'two' } }] }])
    expect(await redis.xread([[s, '99999999999999-1']])).toBe(null)
    expect(await redis.xread({ [s]: '$' }, { block: 50 })).toBe(null)
    const blocked = redis.xread({ [s]: '$' }, { block: 5000 })
    await new Promise((r) => setTimeout(r, 50))
    const id3 = await redis.xadd(s, { late: 'yes' })
    expect(await blocked).toEqual([{ stream: s, messages: [{ id: id3, fields: { late: 'yes' } }] }])

    const info = await redis.xinfoStream(s)
    expect(info).toMatchObject({
      length: 2,
      groups: 0,
      lastGeneratedId: id3,
      maxDeletedEntryId: '99999999999999-1',
      entriesAdded: 3,
      recordedFirstEntryId: id1,
      firstEntry: { id: id1, fields: { a: '1', b: 'two' } },
      lastEntry: { id: id3, fields: { late: 'yes' } },
    })
    expect(info.radixTreeKeys).toBeGreaterThan(0)
    expect(info.radixTreeNodes).toBeGreaterThan(0)
  })

  it('stream consumer groups', async () => {
    const s = k('gstream')
    expect(await redis.xgroupCreate(s, 'g', '0', { mkStream: true })).toBe('OK')
    await expect(redis.xgroupCreate(s, 'g')).rejects.toMatchObject({ prefix: 'BUSYGROUP' })
    expect(await redis.xgroupCreateConsumer(s, 'g', 'c0')).toBe(true)
    expect(await redis.xgroupCreateConsumer(s, 'g', 'c0')).toBe(false)
    const ids = [await redis.xadd(s, { n: 1 }), await redis.xadd(s, { n: 2 }), await redis.xadd(s, { n: 3 })] as string[]

    const got = await redis.xreadgroup('g', 'c1', { [s]: '>' }, { count: 2 })
    expect(got).toEqual([{ stream: s, messages: [{ id: ids[0], fields: { n: '1' } }, { id: ids[1], fields: { n: '2' } }] }])
    expect(await redis.xpending(s, 'g')).toEqual({ count: 2, minId: ids[0], maxId: ids[1], consumers: [{ name: 'c1', pending: 2 }] })
    expect(await redis.xpending(k('gstream2'), 'g').catch((e: ReplyError) => e.prefix)).toBe('NOGROUP')
    const range = await redis.xpendingRange(s, 'g', '-', '+', 10)
    expect(range.map((e) => [e.id, e.consumer, e.deliveries])).toEqual([
      [ids[0], 'c1', 1],
      [ids[1], 'c1', 1],
    ])
    expect(typeof range[0]!.idle).toBe('number')
    expect(await redis.xpendingRange(s, 'g', '-', '+', 10, { consumer: 'c2' })).toEqual([])

    expect(await redis.xack(s, 'g', ids[0]!)).toBe(1)
    expect(await redis.xclaim(s, 'g', 'c2', 0, [ids[1]!], { retryCount: 5 })).toEqual([{ id: ids[1], fields: { n: '2' } }])
    expect((await redis.xpendingRange(s, 'g', '-', '+', 10))[0]).toMatchObject({ id: ids[1], consumer: 'c2', deliveries: 5 })

    // A pending entry deleted from the stream: empty fields in history, `deleted` in XAUTOCLAIM.
    const more = await redis.xreadgroup('g', 'c1', [[s, '>']], { noAck: false })
    expect(more![0]!.messages.map((m) => m.id)).toEqual([ids[2]])
    expect(await redis.xdel(s, ids[2]!)).toBe(1)
    expect(await redis.xreadgroup('g', 'c1', { [s]: '0' })).toEqual([{ stream: s, messages: [{ id: ids[2], fields: {} }] }])
    const claimed = await redis.xautoclaim(s, 'g', 'c3', 0, '0-0', 10)
    expect(claimed).toEqual({ next: '0-0', messages: [{ id: ids[1], fields: { n: '2' } }], deleted: [ids[2]] })

    expect(await redis.xreadgroup('g', 'c1', { [s]: '>' }, { block: 50 })).toBe(null)
    const waiting = redis.xreadgroup('g', 'c1', { [s]: '>' }, { block: 5000, count: 1 })
    await new Promise((r) => setTimeout(r, 50))
    const id4 = await redis.xadd(s, { n: 4 })
    expect(await waiting).toEqual([{ stream: s, messages: [{ id: id4, fields: { n: '4' } }] }])

    expect((await redis.xinfoStream(s)).groups).toBe(1)
    expect(await redis.xgroupDelConsumer(s, 'g', 'c1')).toBe(1)
    expect(await redis.xgroupDestroy(s, 'g')).toBe(true)
    expect(await redis.xgroupDestroy(s, 'g')).toBe(false)
  })

  it('scripts: eval, evalsha, and the cache falling back to EVAL after SCRIPT FLUSH', async () => {
    const key = k('script')
    expect(await redis.eval('return {KEYS[1], ARGV[1], 42}', [key], ['x'])).toEqual([key, 'x', 42])
    expect(await redis.eval("return redis.call('SET', KEYS[1], ARGV[1])", [key], [7])).toBe('OK')
    const src = `return {KEYS[1], ARGV[1], ARGV[2], '${randomUUID()}'}`
    const sha = createHash('sha1').update(src).digest('hex')
    const script = redis.script(src, { keys: 1 })
    expect(script.sha).toBe(sha)
    expect(() => script.run([], [])).toThrow(/key/)
    expect(await redis.scriptExists([sha, '0'.repeat(40)])).toEqual([false, false])
    await expect(redis.evalsha(sha, [key], ['a'])).rejects.toMatchObject({ prefix: 'NOSCRIPT' })

    // Watch which command the server ran last on one connection: CLIENT LIST ID shows `cmd=`.
    await redis.isolated(async (iso) => {
      const id = await iso.clientId()
      const last = async (): Promise<string> => /\bcmd=(\S+)/.exec(String(await redis.call('CLIENT', 'LIST', 'ID', id)))![1]!
      const s = iso.script(src, { keys: 1 })
      const expected = [key, 'a', 'b', expected4(src)]
      expect(await s.run([key], ['a', 'b'])).toEqual(expected)
      expect(await last()).toBe('eval')
      expect(await redis.scriptExists(sha)).toEqual([true])
      expect(await s.run([key], ['a', 'b'])).toEqual(expected)
      expect(await last()).toBe('evalsha')
      expect(await redis.scriptFlush({ async: false })).toBe('OK')
      expect(await redis.scriptExists(sha)).toEqual([false])
      expect(await s.run([key], ['a', 'b'])).toEqual(expected)
      expect(await last()).toBe('eval')
      expect(await iso.evalScript(s, [key], ['a', 'b'])).toEqual(expected)
      expect(await last()).toBe('evalsha')
    })
    // A script error is not NOSCRIPT: it is not retried.
    await expect(redis.script('return redis.call("NOPE")').run()).rejects.toBeInstanceOf(ReplyError)
    expect(await redis.scriptLoad(src)).toBe(sha)
    expect(await redis.evalsha(sha, [key], [1, 2])).toEqual([key, '1', '2', expected4(src)])
    // In a pipeline, the script goes as EVAL.
    await redis.scriptFlush()
    const r = await redis.pipeline().evalScript(script, [key], ['p', 'q']).evalScript(src, [key], ['r', 's']).exec()
    expect(r).toEqual([
      [key, 'p', 'q', expected4(src)],
      [key, 'r', 's', expected4(src)],
    ])
  })

  it('functions', async () => {
    const lib = `lib_${randomUUID().replaceAll('-', '')}`
    const code = `#!lua name=${lib}\nredis.register_function('${lib}_echo', function(keys, args) return {keys[1], args[1]} end)\nredis.register_function{function_name='${lib}_ro', callback=function(keys, args) return 'ro' end, flags={'no-writes'}}`
    expect(await redis.functionLoad(code)).toBe(lib)
    await expect(redis.functionLoad(code)).rejects.toBeInstanceOf(ReplyError)
    expect(await redis.functionLoad(code, { replace: true })).toBe(lib)
    expect(await redis.fcall(`${lib}_echo`, [k('fn')], ['v'])).toEqual([k('fn'), 'v'])
    expect(await redis.fcallRo(`${lib}_ro`)).toBe('ro')
    expect(await redis.functionDelete(lib)).toBe('OK')
  })

  it('server and connection', async () => {
    expect(await redis.ping()).toBe('PONG')
    expect(await redis.ping('hi')).toBe('hi')
    expect(await redis.echo('hello')).toBe('hello')
    expect(await redis.echo(Buffer.from('buf'))).toBe('buf')
    const info = await redis.info()
    expect(info).toContain('# Server')
    expect(await redis.info('server')).toContain('redis_version:')
    const server = await redis.infoSection('server')
    expect(server.redis_version).toMatch(/^\d+\.\d+\.\d+/)
    const both = await redis.infoSection(['server', 'clients'])
    expect(Number(both.connected_clients)).toBeGreaterThan(0)
    const [sec, usec] = await redis.time()
    expect(Math.abs(sec - Date.now() / 1000)).toBeLessThan(60)
    expect(usec).toBeGreaterThanOrEqual(0)
    expect(usec).toBeLessThan(1_000_000)
    expect(await redis.clientId()).toBeGreaterThan(0)
    await redis.isolated(async (iso) => {
      expect(await iso.clientGetName()).toBe(null)
      expect(await iso.clientSetName(`iocrate-${protocol}`)).toBe('OK')
      expect(await iso.clientGetName()).toBe(`iocrate-${protocol}`)
      expect(await iso.clientSetName('')).toBe('OK')
    })
    const cfg = await redis.configGet(['slowlog-max-len', 'maxmemory*'])
    expect(Object.keys(cfg)).toContain('slowlog-max-len')
    expect(Object.keys(cfg)).toContain('maxmemory-policy')
    const before = cfg['slowlog-max-len']!
    try {
      expect(await redis.configSet({ 'slowlog-max-len': 321 })).toBe('OK')
      expect(await redis.configGet('slowlog-max-len')).toEqual({ 'slowlog-max-len': '321' })
    } finally {
      await redis.configSet({ 'slowlog-max-len': before })
    }
    await expect(redis.configSet({ 'no-such-parameter': 1 })).rejects.toBeInstanceOf(ReplyError)
  })

  it('binary keys and values: every byte value, CRLF inside', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const crlf = Buffer.from('a\r\nb\r\n$3\r\nfoo\r\n*1\r\n\0')
    const bkey = Buffer.concat([Buffer.from(k('bin:')), all])
    const ckey = Buffer.concat([Buffer.from(k('bin:')), crlf])
    expect(await redis.set(bkey, all)).toBe('OK')
    expect(await redis.set(ckey, crlf)).toBe('OK')
    expect(await redis.getBuffer(bkey)).toEqual(all)
    expect(await redis.getBuffer(ckey)).toEqual(crlf)
    expect(await redis.getBuffer(k('bin:none'))).toBe(null)
    expect(await redis.strlen(bkey)).toBe(256)
    expect(await redis.get(ckey)).toBe(crlf.toString())
    expect(await redis.exists([bkey, ckey])).toBe(2)

    const h = k('bin:hash')
    await redis.hset(h, all, crlf)
    await redis.hset(h, new Map([[crlf, all]]))
    expect(await redis.hgetBuffer(h, all)).toEqual(crlf)
    expect(await redis.hgetBuffer(h, crlf)).toEqual(all)
    expect(await redis.hgetBuffer(h, 'none')).toBe(null)

    const l = k('bin:list')
    await redis.rpush(l, [all, crlf, Buffer.alloc(0)])
    expect(await redis.lrangeBuffer(l, 0, -1)).toEqual([all, crlf, Buffer.alloc(0)])
    expect(await redis.callBuffer('LINDEX', l, 0)).toEqual(all)

    const dumped = await redis.dump(bkey)
    expect(await redis.restore(k('bin:restored'), 0, dumped!)).toBe('OK')
    expect(await redis.getBuffer(k('bin:restored'))).toEqual(all)
    await redis.del([bkey, ckey])
  })

  it('a 64 MiB value round trip (set, getBuffer)', async () => {
    const big = randomBytes(64 * 1024 * 1024)
    const digest = createHash('sha256').update(big).digest('hex')
    expect(await redis.set(k('big'), big)).toBe('OK')
    expect(await redis.strlen(k('big'))).toBe(big.length)
    const back = await redis.getBuffer(k('big'))
    expect(back!.length).toBe(big.length)
    expect(createHash('sha256').update(back!).digest('hex')).toBe(digest)
    expect(await redis.del(k('big'))).toBe(1)
  }, 120_000)

  it('SCAN iterators over ~1000 keys and elements', async () => {
    const entries: Record<string, string> = {}
    for (let i = 0; i < 1000; i++) entries[k(`scan:${i}`)] = String(i)
    await redis.mset(entries)
    await redis.set(k('scanx:other'), 'not matched')
    await redis.sadd(k('scan:set-typed'), 'm')
    const seen = new Set<string>()
    for await (const key of redis.scanIterator({ match: `${prefix}scan:*`, count: 200, type: 'string' })) seen.add(key)
    expect(seen.size).toBe(1000)
    expect(seen).toEqual(new Set(Object.keys(entries)))
    const sets = new Set<string>()
    for await (const key of redis.scanIterator({ match: `${prefix}scan:*`, type: 'set' })) sets.add(key)
    expect([...sets]).toEqual([k('scan:set-typed')])
    const [cursor, page] = await redis.scan(0, { match: `${prefix}scan:*`, count: 10 })
    expect(typeof cursor).toBe('string')
    expect(Array.isArray(page)).toBe(true)

    const h = k('scan:hash')
    const fields: Record<string, string> = {}
    for (let i = 0; i < 1000; i++) fields[`f${i}`] = `v${i}`
    await redis.hset(h, fields)
    const got: Record<string, string> = {}
    for await (const [f, v] of redis.hscanIterator(h, { count: 100 })) got[f] = v
    expect(got).toEqual(fields)
    const matched: string[] = []
    for await (const [f] of redis.hscanIterator(h, { match: 'f99*' })) matched.push(f)
    expect(matched.sort()).toEqual(['f99', 'f990', 'f991', 'f992', 'f993', 'f994', 'f995', 'f996', 'f997', 'f998', 'f999'])

    const s = k('scan:sset')
    const members = Array.from({ length: 1000 }, (_, i) => `m${i}`)
    await redis.sadd(s, members)
    const smembers = new Set<string>()
    for await (const m of redis.sscanIterator(s, { count: 100 })) smembers.add(m)
    expect(smembers).toEqual(new Set(members))

    const z = k('scan:zset')
    await redis.zadd(z, members.map((value, i) => ({ value, score: i / 4 })))
    const scores = new Map<string, number>()
    for await (const { value, score } of redis.zscanIterator(z, { count: 100 })) scores.set(value, score)
    expect(scores.size).toBe(1000)
    expect(scores.get('m999')).toBe(249.75)
    expect(scores.get('m1')).toBe(0.25)
    const [, zpage] = await redis.zscan(z, 0, { match: 'm999', count: 2000 })
    expect(zpage).toEqual([{ value: 'm999', score: 249.75 }])
    const [, hpage] = await redis.hscan(h, '0', { match: 'f1', count: 2000 })
    expect(hpage).toEqual([['f1', 'v1']])
    const [, spage] = await redis.sscan(s, '0', { match: 'm7', count: 2000 })
    expect(spage).toEqual(['m7'])
  })

  it('a transaction with helpers chained: the replies are normalized inside EXEC too', async () => {
    const t = k('tx')
    const res = await redis
      .multi()
      .set(t, '1')
      .incrby(t, 4)
      .get(t)
      .hset(k('tx:h'), { a: '1', b: '2' })
      .hgetall(k('tx:h'))
      .zadd(k('tx:z'), [{ score: 1.5, value: 'x' }, { score: Infinity, value: 'y' }])
      .zrangeWithScores(k('tx:z'), 0, -1)
      .zscore(k('tx:z'), 'x')
      .getBuffer(t)
      .exists([t, k('tx:none')])
      .exec()
    expect(res).toEqual(['OK', 5, '5', 2, { a: '1', b: '2' }, 2, [{ value: 'x', score: 1.5 }, { value: 'y', score: Infinity }], 1.5, Buffer.from('5'), 1])
  })

  it('a pipeline with helpers chained; a command the server refuses is an error in its place', async () => {
    const p = k('pipe')
    const res = await redis
      .pipeline()
      .set(p, 'text')
      .incr(p)
      .get(p)
      .hset(k('pipe:h'), 'f', 'v')
      .hgetall(k('pipe:h'))
      .lpush(p, 'x')
      .smembers(k('pipe:none'))
      .exec()
    expect(res).toHaveLength(7)
    expect(res.slice(0, 1)).toEqual(['OK'])
    expect(res[1]).toBeInstanceOf(ReplyError)
    expect((res[1] as ReplyError).prefix).toBe('ERR')
    expect(res.slice(2, 5)).toEqual(['text', 1, { f: 'v' }])
    expect((res[5] as ReplyError).prefix).toBe('WRONGTYPE')
    expect(res[6]).toEqual([])
  })

  it('WATCH: a conflicting write makes exec() resolve null', async () => {
    const w = k('watch')
    await redis.set(w, 'start')
    const aborted = await redis.isolated(async (iso) => {
      await iso.watch(w)
      expect(await iso.get(w)).toBe('start')
      await redis.set(w, 'changed elsewhere')
      return iso.multi().set(w, 'mine').get(w).exec()
    })
    expect(aborted).toBe(null)
    expect(await redis.get(w)).toBe('changed elsewhere')
    const done = await redis.isolated(async (iso) => {
      await iso.watch(w)
      const v = await iso.get(w)
      return iso.multi().set(w, `${v}!`).get(w).exec()
    })
    expect(done).toEqual(['OK', 'changed elsewhere!'])
  })
})

function expected4(src: string): string {
  return /'([^']+)'}$/.exec(src)![1]!
}
