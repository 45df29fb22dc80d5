// The test services (scripts/services.sh) from a test's point of view:
//
//   import { services } from '../../../scripts/services.mjs'
//   const { redis, postgres } = services()   // starts them first when they are not running
//
// Types: scripts/services.d.mts.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('./services.sh', import.meta.url))
const envFile = fileURLToPath(new URL('../.services/env.json', import.meta.url))

/**
 * @typedef {{ host: string, port: number }} HostPort
 * @typedef {{
 *   host: string, port: number, url: string, unixPath: string,
 *   tls: { port: number, url: string, ca: string },
 *   users: { iocrate: string, readonly: string },
 *   bin: { server: string, cli: string, benchmark: string, sentinel: string },
 * }} RedisEnv
 * @typedef {{
 *   host: string, port: number, url: string, database: string,
 *   users: { iocrate: string, md5_user: string, postgres: string },
 *   socketDir: string, tls: { ca: string }, version: string,
 *   bin: { psql: string, pg_ctl: string, postgres: string, pgbench: string },
 * }} PostgresEnv
 * @typedef {{
 *   redis: RedisEnv,
 *   redisCluster: { nodes: HostPort[] },
 *   redisSentinel: { masterName: string, sentinels: HostPort[], master: HostPort, replica: HostPort },
 *   postgres: PostgresEnv,
 *   pids: number[],
 * }} ServicesEnv
 */

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EPERM') return false
  }
  // An exited daemon stays a zombie until PID 1 reaps it, which in a container can take a while.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

/** @returns {ServicesEnv | undefined} */
function read() {
  let env
  try {
    env = JSON.parse(readFileSync(envFile, 'utf8'))
  } catch {
    return undefined
  }
  if (!env.redis || !env.postgres || !Array.isArray(env.pids) || env.pids.length === 0 || !env.pids.every(alive)) return undefined
  return env
}

/**
 * Addresses of the running test services (`.services/env.json`). Starts them with
 * `bash scripts/services.sh start` (synchronously; progress on stderr) when the file is
 * missing or one of its processes is gone.
 * @returns {ServicesEnv}
 */
export function services() {
  const env = read()
  if (env) return env
  execFileSync('bash', [script, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] })
  const started = read()
  if (!started) throw new Error(`scripts/services.sh start succeeded but ${envFile} is missing or stale`)
  return started
}
