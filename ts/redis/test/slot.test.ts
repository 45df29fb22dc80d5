import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createClient, keySlot } from '@iocrate/redis'
import { services } from '../../../scripts/services.mjs'

describe('keySlot', () => {
  it('hashes with CRC16/XMODEM mod 16384', () => {
    // The CRC16/XMODEM check value of "123456789" is 0x31C3 (< 16384, so it is the slot).
    expect(keySlot('123456789')).toBe(0x31c3)
    expect(keySlot('foo')).toBe(12182)
    expect(keySlot('bar')).toBe(5061)
    expect(keySlot('')).toBe(0)
    expect(keySlot('héllo')).toBe(11061)
  })

  it('hashes only a non-empty hash tag', () => {
    expect(keySlot('{user1000}.following')).toBe(3443)
    expect(keySlot('{user1000}.followers')).toBe(keySlot('{user1000}.following'))
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'))
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'))
    // An empty tag: the whole key.
    expect(keySlot('{}')).toBe(15257)
    expect(keySlot('{}{x}')).toBe(3257)
    expect(keySlot('{}{x}')).not.toBe(keySlot('x'))
    expect(keySlot('foo{}{bar}')).toBe(8363)
  })

  it('gives a string and its UTF-8 bytes the same slot', () => {
    for (const k of ['foo', '{user1000}.x', 'héllo', '{ключ}.a', '🙂{🙂}']) expect(keySlot(Buffer.from(k))).toBe(keySlot(k))
  })

  it('agrees with CLUSTER KEYSLOT on 200 random keys', async () => {
    const node = services().redisCluster.nodes[0]!
    const redis = createClient({ host: node.host, port: node.port })
    try {
      const keys: Array<string | Buffer> = []
      for (let i = 0; i < 200; i++) {
        const r = randomBytes(1 + (i % 24))
        if (i % 4 === 0) keys.push(r) // binary
        else if (i % 4 === 1) keys.push(`${r.toString('base64')}{${i % 7 === 0 ? '' : r.toString('hex').slice(0, 5)}}x`)
        else if (i % 4 === 2) keys.push(`k:${r.toString('hex')}:é`)
        else keys.push(`{${r.toString('base64url')}`)
      }
      const pipe = redis.pipeline()
      for (const k of keys) pipe.call('CLUSTER', 'KEYSLOT', k)
      const slots = await pipe.exec()
      expect(slots).toEqual(keys.map((k) => keySlot(k)))
    } finally {
      await redis.close()
    }
  })
})
