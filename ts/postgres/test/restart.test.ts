// Restarting the server mid-query, on a PostgreSQL of this test's own (initdb in a temp
// folder, binaries of scripts/services.sh): the running query fails with a typed error,
// and the pool serves the next queries on fresh connections once the server is back.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, PgErrorCodes } from '@iocrate/postgres'
import { freePort, services, sleep } from './helpers.js'

const bin = services().postgres.bin
const root = process.getuid?.() === 0

/** Runs a PostgreSQL binary as the `postgres` OS user when we are root (it refuses root). */
// stdio 'ignore': the server pg_ctl starts would otherwise hold our pipes open, and
// execFileSync would wait for it to exit.
function pg(cmd: string, args: string[]): void {
  const exe = join(bin.pg_ctl, '..', cmd)
  if (root) execFileSync('runuser', ['-u', 'postgres', '--', exe, ...args], { stdio: 'ignore', cwd: '/' })
  else execFileSync(exe, args, { stdio: 'ignore' })
}

let dir: string
let port: number
let data: string

async function start(): Promise<void> {
  pg('pg_ctl', ['-D', data, '-w', '-t', '20', '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'])
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iocrate-pg-restart-'))
  chmodSync(dir, 0o777)
  data = join(dir, 'data')
  port = await freePort()
  pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
  await start()
}, 60_000)

afterAll(() => {
  try {
    pg('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('a server restart', () => {
  it('fails the running query with ERR_PG_CONNECTION_LOST; the pool recovers after', async () => {
    await using pool = createPool({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 2 })
    expect(await pool`select 1 as one`).toEqual([{ one: 1 }])
    const running = pool`select pg_sleep(30)`.then(
      () => 'answered',
      (e: { code?: string }) => e.code,
    )
    await sleep(200)
    pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'restart', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`])
    // A fast shutdown terminates the backend: 57P01 from the server, or the socket closing.
    expect(['57P01', PgErrorCodes.CONNECTION_LOST]).toContain(await running)
    // The pool opens new connections to the restarted server.
    let ok: unknown
    for (let i = 0; i < 50 && ok === undefined; i++) {
      try {
        ok = await pool`select 2 as two`
      } catch {
        await sleep(100)
      }
    }
    expect(ok).toEqual([{ two: 2 }])
  }, 60_000)
})
