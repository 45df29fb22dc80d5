// The test services (scripts/services.sh) answer as promised: checked with node:net and raw
// RESP bytes, so a bug in a client library cannot hide a broken service.
import { connect as tcpConnect, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { connect as tlsConnect } from 'node:tls'
import { beforeAll, describe, expect, it } from 'vitest'
import { services, type ServicesEnv } from '../services.mjs'

type Reply = string | number | null | Reply[] | { error: string }

/** Encodes a command as a RESP array of bulk strings. */
function command(...args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
}

/** Parses one RESP2 reply at `at`; undefined when the buffer holds only part of it. */
function parse(buf: Buffer, at = 0): { value: Reply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const line = buf.toString('utf8', at + 1, eol)
  switch (String.fromCharCode(buf[at]!)) {
    case '+':
      return { value: line, end: eol + 2 }
    case '-':
      return { value: { error: line }, end: eol + 2 }
    case ':':
      return { value: Number(line), end: eol + 2 }
    case '$': {
      const len = Number(line)
      if (len < 0) return { value: null, end: eol + 2 }
      if (buf.length < eol + 2 + len + 2) return undefined
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), end: eol + 2 + len + 2 }
    }
    case '*': {
      const n = Number(line)
      if (n < 0) return { value: null, end: eol + 2 }
      const items: Reply[] = []
      let end = eol + 2
      for (let i = 0; i < n; i++) {
        const item = parse(buf, end)
        if (!item) return undefined
        items.push(item.value)
        end = item.end
      }
      return { value: items, end }
    }
    default:
      throw new Error(`not RESP: ${JSON.stringify(buf.toString('utf8', at))}`)
  }
}

/** Sends the commands on a fresh connection and resolves with one reply per command. */
function exchange(open: () => Socket, ...commands: string[][]): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const socket = open()
    let buf = Buffer.alloc(0)
    const replies: Reply[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no full reply after 5 s; got ${JSON.stringify(buf.toString())}`))
    }, 5000)
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      for (let r = parse(buf); r; r = parse(buf)) {
        replies.push(r.value)
        buf = buf.subarray(r.end)
      }
      if (replies.length >= commands.length) {
        clearTimeout(timer)
        socket.end()
        resolve(replies)
      }
    })
    socket.write(Buffer.concat(commands.map((c) => command(...c))))
  })
}

const tcp = (port: number) => () => tcpConnect({ host: '127.0.0.1', port })

let env: ServicesEnv
beforeAll(() => {
  env = services()
})

describe('standalone redis', () => {
  it('answers PING over TCP, the unix socket and TLS', async () => {
    const { redis } = env
    expect(await exchange(tcp(redis.port), ['PING'])).toEqual(['PONG'])
    expect(await exchange(() => tcpConnect({ path: redis.unixPath }), ['PING'])).toEqual(['PONG'])
    const ca = readFileSync(redis.tls.ca)
    const overTls = () => tlsConnect({ host: '127.0.0.1', port: redis.tls.port, ca, servername: 'localhost' })
    expect(await exchange(overTls, ['PING'])).toEqual(['PONG'])
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
    expect(redis.tls.url).toBe(`rediss://127.0.0.1:${redis.tls.port}`)
  })

  it('knows the ACL users', async () => {
    const { redis } = env
    const [ok, who, set] = await exchange(
      tcp(redis.port),
      ['AUTH', 'iocrate', redis.users.iocrate],
      ['ACL', 'WHOAMI'],
      ['SET', 'services-test', '1'],
    )
    expect([ok, who, set]).toEqual(['OK', 'iocrate', 'OK'])

    const [wrong] = await exchange(tcp(redis.port), ['AUTH', 'iocrate', 'not-the-password'])
    expect((wrong as { error: string }).error).toMatch(/^WRONGPASS/)

    const [auth, get, denied] = await exchange(
      tcp(redis.port),
      ['AUTH', 'readonly', redis.users.readonly],
      ['GET', 'services-test'],
      ['SET', 'services-test', '2'],
    )
    expect([auth, get]).toEqual(['OK', '1'])
    expect((denied as { error: string }).error).toMatch(/^NOPERM/)

    // The default user still needs no password.
    expect(await exchange(tcp(redis.port), ['DEL', 'services-test'])).toEqual([1])
  })
})

describe('redis cluster', () => {
  it('has three nodes that agree the cluster is ok with every slot assigned', async () => {
    expect(env.redisCluster.nodes).toHaveLength(3)
    for (const node of env.redisCluster.nodes) {
      const [info] = await exchange(tcp(node.port), ['CLUSTER', 'INFO'])
      expect(info).toMatch(/^cluster_state:ok\r$/m)
      expect(info).toMatch(/^cluster_slots_assigned:16384\r$/m)
      expect(info).toMatch(/^cluster_known_nodes:3\r$/m)
    }
  })
})

describe('redis sentinel', () => {
  it('has three sentinels that name a live master', async () => {
    // ts/redis/test/sentinel.test.ts fails over and back while other files run, so the
    // master may be either server of the set at any moment.
    const { redisSentinel } = env
    expect(redisSentinel.masterName).toBe('iocrate-master')
    expect(redisSentinel.sentinels).toHaveLength(3)
    const ports = [String(redisSentinel.master.port), String(redisSentinel.replica.port)]
    for (const sentinel of redisSentinel.sentinels) {
      const [addr] = await exchange(tcp(sentinel.port), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', redisSentinel.masterName])
      expect((addr as string[])[0]).toBe('127.0.0.1')
      expect(ports).toContain((addr as string[])[1])
      const [pong, role] = await exchange(tcp(Number((addr as string[])[1])), ['PING'], ['ROLE'])
      expect(pong).toBe('PONG')
      expect(['master', 'slave']).toContain((role as Reply[])[0])
    }
  })
})
