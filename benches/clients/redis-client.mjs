// Redis client under test (redis suite): runs one workload against a redis-server and counts completed commands.
//   --impl=ioredis | node-redis | iocrate   --port=N [--auto-pipelining] (ioredis only)
//   --mode=calls --callers=C      C async callers, each awaiting its own command in a loop, alternating
//                                 SET bench:<k> <16 B> / GET bench:<k> over 1000 keys (every GET must return the value)
//   --mode=pipeline --batch=B     one explicit pipeline of B commands at a time, alternately B SET and B GET
//   --latency-every=N             time one command in N (calls mode; default 1): with many callers the two
//                                 performance.now() calls per command are a visible part of the client's CPU
//   ioredis:    new Redis({ host, port, enableAutoPipelining }) ; pipeline().set()….exec()
//   node-redis: createClient({ url }).connect() (same-tick commands share a write by default);
//               multi().set()….execAsPipeline() (multi().exec() would be a MULTI/EXEC transaction)
//   iocrate:    createClient(url) from '@iocrate/redis' (auto-pipelining always on); pipeline().set()….exec()
//               (--transport=node|native: createClient({ url, transport }) instead, for profiling; not a suite row)
// Before ready: 1000 SETs preload every key, then one GET must return the value (`setupOps` in the ready line =
// SET/GET commands sent so far). Commands: {"cmd":"sample"} → {"ops","errors","t"} and, with "latency": true,
// "latencyMs": { n, avg, p50, p90, p99, max } of the commands (calls) or pipelines (pipeline mode) completed since
// the previous sample (computed after `t` and `ops` are read; a sample without it just resets the histogram);
// {"cmd":"stop"} stops the callers, waits for the commands in flight and answers the final {"ops","errors"}.
import { LoadTally, childArgs, emit } from '../lib/child.mjs';
import { LatencyHistogram } from '../lib/latency.mjs';

const a = childArgs();
const impl = String(a.impl ?? 'ioredis');
const mode = String(a.mode ?? 'calls');
const callers = Number(a.callers ?? 1);
const batch = Number(a.batch ?? 1000);
const latencyEvery = Number(a['latency-every'] ?? 1);
const NKEYS = Number(a.keys ?? 1000);
const VALUE = 'v'.repeat(Number(a.size ?? 16));
const KEYS = Array.from({ length: NKEYS }, (_, i) => `bench:${i}`);
const host = '127.0.0.1';
const url = `redis://${host}:${a.port}`;

class Skip extends Error {}

// ---- latency: benches/lib/latency.mjs ------------------------------------------------------------------------
const hist = new LatencyHistogram();

// ---- adapters: { set(k, v), get(k), pipe(cmd, keys) → replies (values, or Errors in place), info(), close() } ------
async function makeClient() {
  if (impl === 'ioredis') {
    const mod = await import('ioredis');
    const Redis = mod.Redis ?? mod.default;
    const r = new Redis({ host, port: a.port, enableAutoPipelining: !!a['auto-pipelining'], lazyConnect: true, maxRetriesPerRequest: 0 });
    r.on('error', () => {});
    await r.connect();
    return {
      set: (k, v) => r.set(k, v),
      get: (k) => r.get(k),
      async pipe(cmd, keys) {
        const p = r.pipeline();
        if (cmd === 'set') for (const k of keys) p.set(k, VALUE);
        else for (const k of keys) p.get(k);
        const res = await p.exec();
        return res.map(([err, v]) => err ?? v);
      },
      info: () => r.call('CLIENT', 'INFO'),
      close: () => r.quit(),
    };
  }
  if (impl === 'node-redis') {
    const { createClient } = await import('redis');
    const c = createClient({ url, socket: { reconnectStrategy: false } });
    c.on('error', () => {});
    await c.connect();
    return {
      set: (k, v) => c.set(k, v),
      get: (k) => c.get(k),
      async pipe(cmd, keys) {
        const m = c.multi();
        if (cmd === 'set') for (const k of keys) m.set(k, VALUE);
        else for (const k of keys) m.get(k);
        return m.execAsPipeline();
      },
      info: () => c.sendCommand(['CLIENT', 'INFO']),
      close: () => c.close?.() ?? c.quit(),
    };
  }
  if (impl === 'iocrate') {
    const core = await import('@iocrate/core');
    if (typeof core.native?.redisConnect !== 'function')
      throw new Skip('@iocrate/redis: the native redis binding is not built (native.redisConnect missing) — skipped');
    const { createClient } = await import('@iocrate/redis');
    const c = a.transport ? createClient({ url, transport: String(a.transport) }) : createClient(url);
    await c.connect();
    return {
      set: (k, v) => c.set(k, v),
      get: (k) => c.get(k),
      async pipe(cmd, keys) {
        const p = c.pipeline();
        if (cmd === 'set') for (const k of keys) p.set(k, VALUE);
        else for (const k of keys) p.get(k);
        return p.exec();
      },
      info: () => c.call('CLIENT', 'INFO'),
      close: () => c.close(),
    };
  }
  throw new Error(`unknown impl ${impl}`);
}

const tally = new LoadTally();

let seq = 0;
/**
 * One caller: alternates SET and GET (the GET reads the key the SET just wrote), awaiting each. One command in
 * `latencyEvery` (counted over all callers, so SETs and GETs alike) is timed.
 */
async function caller(c, id) {
  let i = id * 2 * 37; // callers start on different keys
  while (!tally.stopping) {
    const k = KEYS[(i >> 1) % NKEYS];
    const set = (i & 1) === 0;
    const timed = ++seq % latencyEvery === 0;
    const t0 = timed ? performance.now() : 0;
    try {
      const v = set ? await c.set(k, VALUE) : await c.get(k);
      if (timed) hist.record(performance.now() - t0);
      if (v === (set ? 'OK' : VALUE)) tally.ops++;
      else tally.fail(`${set ? 'SET' : 'GET'} ${k} answered ${JSON.stringify(v)}`);
    } catch (err) {
      tally.fail(err);
    }
    i++;
  }
}

/** Pipelines of `batch` commands, one at a time: all SET, then all GET, and so on. */
async function pipeliner(c) {
  const groups = [];
  for (let s = 0; s < NKEYS; s += batch) groups.push(Array.from({ length: batch }, (_, j) => KEYS[(s + j) % NKEYS]));
  for (let n = 0; !tally.stopping; n++) {
    const keys = groups[(n >> 1) % groups.length];
    const cmd = (n & 1) === 0 ? 'set' : 'get';
    const want = cmd === 'set' ? 'OK' : VALUE;
    const t0 = performance.now();
    try {
      const res = await c.pipe(cmd, keys);
      hist.record(performance.now() - t0);
      if (res.length !== keys.length) tally.fail(`pipeline of ${keys.length} answered ${res.length} replies`);
      for (const v of res) {
        if (v === want) tally.ops++;
        else tally.fail(v instanceof Error ? v : `${cmd.toUpperCase()} in a pipeline answered ${JSON.stringify(v)}`);
      }
    } catch (err) {
      tally.fail(err, keys.length);
    }
  }
}

try {
  if (mode !== 'calls' && mode !== 'pipeline') throw new Error(`unknown mode ${mode}`);
  if (!(callers >= 1) || !(batch >= 1) || !(latencyEvery >= 1)) throw new Error('--callers, --batch and --latency-every must be >= 1');
  const c = await makeClient();
  const pre = await Promise.all(KEYS.map((k) => c.set(k, VALUE)));
  if (pre.some((v) => v !== 'OK')) throw new Error(`preload SET answered ${JSON.stringify(pre.find((v) => v !== 'OK'))}`);
  // The protocol the server sees for this connection (each library's default: RESP3 or RESP2).
  const resp = /\bresp=(\d)/.exec(String(await c.info()))?.[1];
  const got = await c.get(KEYS[0]);
  if (got !== VALUE) throw new Error(`GET ${KEYS[0]} answered ${JSON.stringify(got)}, want ${JSON.stringify(VALUE)}`);
  const loops = mode === 'calls' ? Array.from({ length: callers }, (_, id) => caller(c, id)) : [pipeliner(c)];
  const all = Promise.all(loops);
  tally.serve(hist, all);
  emit({ ready: true, impl, mode, callers, batch, latencyEvery, protocol: resp ? Number(resp) : null, setupOps: KEYS.length + 1 });
} catch (err) {
  const msg = err instanceof Skip ? err.message : `${impl} client: ${String(err?.message ?? err).split('\n')[0]}`;
  emit({ ready: false, error: msg });
  process.exit(0);
}
