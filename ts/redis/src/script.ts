// Lua scripts by SHA1: the digest is computed here, once per source, so a script runs as
// `EVALSHA` and its source only travels when the server answers `NOSCRIPT` (first use,
// after `SCRIPT FLUSH`, a restart or a failover).
import { createHash } from 'node:crypto'
import { invalidArg } from '@iocrate/core'
import type { CommandOptions } from './command.js'
import type { RedisReply } from './tape.js'

/** Options of a script. */
export interface ScriptOptions {
  /** How many keys every run passes (checked before sending). Default: not checked. */
  keys?: number
}

/** A script's source and its SHA1, as the server names it. */
export interface ScriptDefinition {
  /** The Lua source. */
  readonly source: string
  /** Its SHA1 in lowercase hex (what `SCRIPT LOAD` returns). */
  readonly sha: string
  /** The number of keys each run must pass, when fixed. */
  readonly keys: number | undefined
}

/**
 * A script bound to a client: `run(keys, args)` sends `EVALSHA` and, when the server
 * does not know the script (`NOSCRIPT`), `EVAL` once. On a pipeline or a transaction it
 * sends `EVAL` (a fallback cannot happen mid-batch); `R` is then the batch.
 */
export interface RedisScript<R = Promise<RedisReply>> extends ScriptDefinition {
  /** Runs the script with `KEYS` and `ARGV`. */
  run(keys?: Array<string | Buffer>, args?: Array<string | Buffer | number>, opts?: CommandOptions): R
}

// The SHA1 of recent sources: a script is hashed once however often it is defined.
const MAX_CACHED = 512
const cache = new Map<string, string>()

function sha1(source: string): string {
  let sha = cache.get(source)
  if (sha === undefined) {
    sha = createHash('sha1').update(source).digest('hex')
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!)
    cache.set(source, sha)
  }
  return sha
}

/** Names a script: its source, its SHA1 and its key count. */
export function scriptDefinition(source: string, opts?: ScriptOptions): ScriptDefinition {
  if (typeof source !== 'string') throw invalidArg('source', source, 'must be a string of Lua')
  const keys = opts?.keys
  if (keys !== undefined && !(Number.isInteger(keys) && keys >= 0)) throw invalidArg('keys', keys, 'must be a non-negative integer')
  return { source, sha: sha1(source), keys }
}

/**
 * Defines a script on a runner (`runner(definition, keys, args, opts)` sends it): the
 * result's `run(keys, args)` checks the key count and calls the runner.
 * `RedisCommands.script(source)` is this with the client's `evalScript` as the runner.
 */
export function defineScript<R>(
  runner: (script: ScriptDefinition, keys: Array<string | Buffer>, args: Array<string | Buffer | number>, opts?: CommandOptions) => R,
  source: string,
  opts?: ScriptOptions,
): RedisScript<R> {
  const def = scriptDefinition(source, opts)
  return {
    ...def,
    run(keys = [], args = [], o) {
      if (def.keys !== undefined && keys.length !== def.keys) throw invalidArg('keys', keys.length, `must list ${def.keys} key(s) for this script`)
      return runner(def, keys, args, o)
    },
  }
}
