// The test services (scripts/services.sh) answer as promised: checked with node:net and raw
// RESP / PostgreSQL protocol bytes (and PostgreSQL's own psql), so a bug in a client library
// cannot hide a broken service.
import { execFile } from 'node:child_process'
import { connect as tcpConnect, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { connect as tlsConnect } from 'node:tls'
import { promisify } from 'node:util'
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

// PostgreSQL: the first message of the server after a StartupMessage tells how it wants the client
// to authenticate (raw bytes); psql then logs in for real.

type PgFirst = { auth: 'ok' } | { auth: 'sasl'; mechanisms: string[] } | { auth: 'md5' } | { auth: number } | { error: string }

/** Writes `data` and resolves with the first complete reply: `bytes` raw bytes, or one backend message. */
function pgRead(socket: Socket, data: Buffer, bytes?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => done(new Error(`no reply after 5 s; got ${buf.toString('hex')}`)), 5000)
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      const want = bytes ?? (buf.length >= 5 ? 1 + buf.readInt32BE(1) : Infinity)
      if (buf.length >= want) done(undefined, buf.subarray(0, want))
    }
    const done = (err?: Error, value?: Buffer) => {
      clearTimeout(timer)
      socket.off('data', onData).off('error', done)
      if (err) reject(err)
      else resolve(value!)
    }
    socket.on('data', onData).on('error', done)
    socket.write(data)
  })
}

/** StartupMessage, protocol 3.0. */
function pgStartup(user: string, database: string): Buffer {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`)
  const head = Buffer.alloc(8)
  head.writeInt32BE(8 + params.length, 0)
  head.writeInt32BE(196608, 4)
  return Buffer.concat([head, params])
}

function pgParseFirst(msg: Buffer): PgFirst {
  const type = String.fromCharCode(msg[0]!)
  if (type === 'E') {
    // ErrorResponse: fields of a type byte and a C string; M is the message.
    const fields = msg.subarray(5).toString('utf8').split('\0')
    return { error: fields.find((f) => f.startsWith('M'))?.slice(1) ?? fields.join(' ') }
  }
  expect(type).toBe('R')
  const code = msg.readInt32BE(5)
  if (code === 0) return { auth: 'ok' }
  if (code === 5) return { auth: 'md5' }
  if (code === 10) return { auth: 'sasl', mechanisms: msg.subarray(9).toString('utf8').split('\0').filter(Boolean) }
  return { auth: code }
}

/** Opens a connection (TLS after an SSLRequest when `ca` is given), sends a StartupMessage, returns the first reply. */
async function pgFirst(opts: { port: number; path?: string; ca?: Buffer; user: string; database: string }): Promise<PgFirst> {
  let socket: Socket = opts.path ? tcpConnect({ path: opts.path }) : tcpConnect({ host: '127.0.0.1', port: opts.port })
  try {
    if (opts.ca) {
      const sslRequest = Buffer.alloc(8)
      sslRequest.writeInt32BE(8, 0)
      sslRequest.writeInt32BE(80877103, 4)
      const answer = await pgRead(socket, sslRequest, 1)
      expect(answer.toString()).toBe('S')
      const plain = socket
      socket = tlsConnect({ socket: plain, ca: opts.ca, servername: 'localhost' })
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
    }
    return pgParseFirst(await pgRead(socket, pgStartup(opts.user, opts.database)))
  } finally {
    socket.destroy()
  }
}

const run = promisify(execFile)

/** Runs psql with no ~/.psqlrc, no password file and no PG* variables of the caller; resolves with its stdout. */
async function psql(args: string[], password?: string): Promise<string> {
    const vars: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) vars[k] = v
  vars.PGPASSFILE = `${env.postgres.socketDir}/no-such-pgpass`
  vars.PGCONNECT_TIMEOUT = '5'
  if (password !== undefined) vars.PGPASSWORD = password
  const { stdout } = await run(env.postgres.bin.psql, ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', ...args], {
    env: vars,
    timeout: 15_000,
  })
  return stdout.trim()
}

describe('postgres', () => {
  it('describes itself in env.json', () => {
    const { postgres } = env
    expect(postgres.host).toBe('127.0.0.1')
    expect(postgres.url).toBe(`postgres://iocrate:iocrate-secret@127.0.0.1:${postgres.port}/iocrate`)
    expect(postgres.database).toBe('iocrate')
    expect(postgres.users).toEqual({ iocrate: 'iocrate-secret', md5_user: 'md5-secret', postgres: 'postgres-secret' })
    expect(postgres.version).toMatch(/^15\./)
    expect(env.pids.length).toBeGreaterThan(0)
  })

  it('asks for SCRAM-SHA-256, md5 or nothing, over TCP, TLS and the unix socket (raw protocol)', async () => {
    const { postgres } = env
    const ca = readFileSync(postgres.tls.ca)
    const tcp = { port: postgres.port, database: 'iocrate' }
    expect(await pgFirst({ ...tcp, user: 'iocrate' })).toEqual({ auth: 'sasl', mechanisms: ['SCRAM-SHA-256'] })
    expect(await pgFirst({ ...tcp, user: 'postgres' })).toEqual({ auth: 'sasl', mechanisms: ['SCRAM-SHA-256'] })
    expect(await pgFirst({ ...tcp, user: 'md5_user' })).toEqual({ auth: 'md5' })
    // TLS offers channel binding as well.
    const overTls = await pgFirst({ ...tcp, ca, user: 'iocrate' })
    expect(overTls).toMatchObject({ auth: 'sasl' })
    expect((overTls as { mechanisms: string[] }).mechanisms).toEqual(expect.arrayContaining(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']))
    expect(await pgFirst({ ...tcp, ca, user: 'md5_user' })).toEqual({ auth: 'md5' })
    // The unix socket trusts every role.
    const path = `${postgres.socketDir}/.s.PGSQL.${postgres.port}`
    expect(await pgFirst({ ...tcp, path, user: 'iocrate' })).toEqual({ auth: 'ok' })
  })

  it('lets the SCRAM user in over TLS with sslmode=verify-full, and ssl is on', async () => {
    const { postgres } = env
    const url = `${postgres.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(postgres.tls.ca)}`
    const out = await psql([url, '-c', 'select 1', '-c', 'show ssl', '-c', 'select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()'])
    expect(out.split('\n')).toEqual(['1', 'on', 'iocrate|t'])
    // The same with the host name the certificate names.
    const byName = `postgres://iocrate@localhost:${postgres.port}/iocrate?sslmode=verify-full&sslrootcert=${encodeURIComponent(postgres.tls.ca)}`
    expect(await psql([byName, '-c', 'select 1'], postgres.users.iocrate)).toBe('1')
  })

  it('lets the md5 user in, whose password is stored as md5', async () => {
    const { postgres } = env
    const md5 = `postgres://md5_user:${postgres.users.md5_user}@127.0.0.1:${postgres.port}/iocrate`
    expect(await psql([md5, '-c', 'select current_user'])).toBe('md5_user')
    const su = `postgres://postgres:${postgres.users.postgres}@127.0.0.1:${postgres.port}/iocrate?sslmode=require`
    const [scram, md5Hash, superuser, ...rest] = (
      await psql([
        su,
        '-c',
        "select rolname, left(rolpassword, 14) from pg_authid where rolname in ('iocrate', 'md5_user') order by 1",
        '-c',
        'select rolsuper from pg_roles where rolname = current_user',
      ])
    ).split('\n')
    expect([scram, superuser, rest]).toEqual(['iocrate|SCRAM-SHA-256$', 't', []])
    expect(md5Hash).toMatch(/^md5_user\|md5[0-9a-f]{11}$/)
  })

  it('refuses a wrong password', async () => {
    const { postgres } = env
    for (const user of ['iocrate', 'md5_user', 'postgres']) {
      const err = await psql([`postgres://${user}@127.0.0.1:${postgres.port}/iocrate`, '-c', 'select 1'], 'not-the-password').then(
        () => undefined,
        (e: { stderr?: string }) => e,
      )
      expect(err?.stderr).toMatch(new RegExp(`password authentication failed for user "${user}"`))
    }
  })

  it('answers on the unix socket, where the database belongs to iocrate', async () => {
    const { postgres } = env
    const out = await psql(['-h', postgres.socketDir, '-p', String(postgres.port), '-U', 'iocrate', '-d', postgres.database, '-c',
      "select current_user, inet_server_addr() is null, pg_get_userbyid(datdba) from pg_database where datname = current_database()"])
    expect(out).toBe('iocrate|t|iocrate')
  })
})
