// redis suite: Redis clients against one dedicated redis-server (ops/s, client CPU µs per command, latency),
// ioredis (baseline) against node-redis, @iocrate/redis and redis-benchmark (the native ceiling).
//
//   redis GET/SET c=1              one caller awaiting each command: SET bench:<k> <16 B>, GET bench:<k>, … over
//                                  1000 keys; rate and per-command latency p50/p99
//   redis GET/SET c=1 p50 latency  the same runs, the p50 latency as the figure (µs, lower is better)
//   redis GET/SET c=50             50 callers, each awaiting its own command in a loop (one connection: the
//                                  library pipelines what the callers issue); ioredis with enableAutoPipelining,
//                                  ioredis-nopipe without
//   redis pipeline x1000           explicit pipelines of 1000 SET (then 1000 GET, …), one at a time
//
// Every row gets a fresh redis-server (`--save '' --appendonly no`, binary from IOCRATE_BENCH_REDIS_SERVER or
// PATH) on a free port, pinned to the server CPU; the client (clients/redis-client.mjs, or redis-benchmark with
// `-c 1 -P <in flight> -t set,get -d 16 -r 1000 --csv`) is pinned to the other CPU. The client is what is measured,
// as in the http suite's client rows: `cpuPerOpUs` is the client's CPU per command, `genCpuPct` the redis-server's
// CPU use (`!` when >= 90 %: the server may be the limit), `rssMB` the client's RSS.
// The iocrate rows say "skipped" while the native redis binding is not built.
//
// ctx.only (run.mjs --only=TEXT): only the results whose name contains TEXT are run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selected } from '../lib/cli.mjs';
import { clientSideRow, script } from '../lib/measure.mjs';
import { Child, Unavailable, clockTicks, cpuNs, sleep, track } from '../lib/proc.mjs';
import { round } from '../lib/report.mjs';

/** run.mjs: this suite honours --only (ctx.only). */
export const supportsOnly = true;

export const KEYS = 1000;
export const VALUE_SIZE = 16;
export const CALLERS = 50;
export const BATCH = 1000;
/** c=50: one command in 8 is timed (~150k latencies per window), so timing costs the client little. */
export const LATENCY_EVERY = 8;
export const REDIS_SERVER = process.env.IOCRATE_BENCH_REDIS_SERVER ?? 'redis-server';
export const REDIS_BENCHMARK = process.env.IOCRATE_BENCH_REDIS_BENCHMARK ?? (existsSync('/usr/bin/redis-benchmark') ? '/usr/bin/redis-benchmark' : 'redis-benchmark');
const MiB = 1024 * 1024;

// Rows per result (baseline first).
export const IMPLS = {
  c1: ['ioredis', 'node-redis', 'iocrate', 'redis-benchmark'],
  c50: ['ioredis', 'ioredis-nopipe', 'node-redis', 'iocrate', 'redis-benchmark'],
  pipeline: ['ioredis', 'node-redis', 'iocrate', 'redis-benchmark'],
};
export const NAMES = {
  c1: 'redis GET/SET c=1',
  c1Latency: 'redis GET/SET c=1 p50 latency',
  c50: `redis GET/SET c=${CALLERS}`,
  pipeline: `redis pipeline x${BATCH}`,
};

/**
 * Arguments of clients/redis-client.mjs for a row (without --port). ioredis runs with enableAutoPipelining in
 * the c=50 result (its `ioredis-nopipe` row without); everywhere else every library runs with its defaults.
 */
export function clientArgs(impl, workload) {
  const lib = { ioredis: 'ioredis', 'ioredis-nopipe': 'ioredis', 'node-redis': 'node-redis', iocrate: 'iocrate' }[impl];
  if (!lib) throw new Error(`no redis client for ${impl}`);
  const args = [`--impl=${lib}`, `--keys=${KEYS}`, `--size=${VALUE_SIZE}`];
  if (workload === 'c1') args.push('--mode=calls', '--callers=1');
  else if (workload === 'c50') args.push('--mode=calls', `--callers=${CALLERS}`, `--latency-every=${LATENCY_EVERY}`);
  else if (workload === 'pipeline') args.push('--mode=pipeline', `--batch=${BATCH}`);
  else throw new Error(`unknown workload ${workload}`);
  if (impl === 'ioredis' && workload === 'c50') args.push('--auto-pipelining');
  return args;
}

/** Commands in flight on redis-benchmark's one connection (-P) per workload. */
export const BENCHMARK_PIPELINE = { c1: 1, c50: CALLERS, pipeline: BATCH };

/** `<bin> --version` first line, or throws Unavailable. */
export function binVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Unavailable(`${bin}: ${r.error.code === 'ENOENT' ? 'not installed' : r.error.message}`);
  const line = (r.stdout || r.stderr).trim().split('\n')[0];
  if (r.status !== 0 || !line) throw new Unavailable(`${bin} --version failed`);
  return line;
}

/** A free TCP port on 127.0.0.1 (closed again: redis-server binds it right after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Sends PING on a fresh connection; resolves true on `+PONG`, false otherwise (refused, loading, …). */
export function ping(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    s.on('error', () => done(false));
  });
}

/**
 * Starts a dedicated redis-server (`--save '' --appendonly no`, no persistence, bound to 127.0.0.1 on a free
 * port, its working directory a temp dir), pinned to `cpu`, and waits until it answers PING. Returns
 * { port, pid, version, cpuNs(), rssBytes(), log(), stop() }. Tracked: run.mjs kills it if interrupted.
 */
export async function startRedisServer({ cpu = null, bin = REDIS_SERVER } = {}) {
  const version = binVersion(bin);
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'iocrate-bench-redis-'));
    // prettier-ignore
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--protected-mode', 'no', '--dir', dir, '--loglevel', 'warning', '--databases', '1'];
    const child = track(new Child(bin, args, { cpu, exec: true, name: 'redis-server' }));
    let log = '';
    child.proc.stdout.on('data', (d) => (log = (log + d).slice(-4000)));
    const stop = async () => {
      if (!child.exited) child.proc.kill('SIGTERM');
      await child.stop(3000);
      rmSync(dir, { recursive: true, force: true });
    };
    const t0 = performance.now();
    while (!child.exited && performance.now() - t0 < 10000) {
      if (await ping(port, 500)) {
        return { port, pid: child.pid, version, child, cpuNs: () => child.cpuNs(), rssBytes: () => child.rssBytes(), log: () => log, stop };
      }
      await sleep(20);
    }
    lastErr = new Error(`redis-server on port ${port} ${child.exited ? `exited (${child.exitCode})` : 'did not answer PING within 10 s'}: ${(log + child.stderr).trim().split('\n').slice(-2).join(' | ')}`);
    await stop();
  }
  throw lastErr;
}

/**
 * Parses `redis-benchmark --csv` output: with a header line (Redis ≥ 7: "test","rps","avg_latency_ms",…,
 * "p99_latency_ms","max_latency_ms") or without (older: "SET","123.45"). Returns { SET: { rps, avgMs, minMs,
 * p50Ms, p95Ms, p99Ms, maxMs }, GET: … } (a column the version did not print is null).
 */
export function parseRedisBenchmarkCsv(text) {
  const cells = (line) => [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  const lines = String(text).split(/\r?\n/).filter((l) => l.startsWith('"'));
  let cols = ['test', 'rps'];
  const out = {};
  const key = { rps: 'rps', avg_latency_ms: 'avgMs', min_latency_ms: 'minMs', p50_latency_ms: 'p50Ms', p95_latency_ms: 'p95Ms', p99_latency_ms: 'p99Ms', max_latency_ms: 'maxMs' };
  for (const line of lines) {
    const c = cells(line);
    if (c[0] === 'test') {
      cols = c;
      continue;
    }
    const row = { rps: null, avgMs: null, minMs: null, p50Ms: null, p95Ms: null, p99Ms: null, maxMs: null };
    cols.forEach((name, i) => {
      if (key[name] && c[i] !== undefined && c[i] !== '' && Number.isFinite(Number(c[i]))) row[key[name]] = Number(c[i]);
    });
    if (c[0]) out[c[0]] = row;
  }
  return out;
}

/** redis-benchmark argv: one connection, `pipeline` commands in flight, `requests` per test (SET, then GET). */
export function redisBenchmarkArgv({ port, pipeline, requests, cpu = null, bin = REDIS_BENCHMARK }) {
  // prettier-ignore
  let argv = [bin, '-h', '127.0.0.1', '-p', String(port), '-c', '1', '-P', String(pipeline), '-n', String(requests),
    '-t', 'set,get', '-d', String(VALUE_SIZE), '-r', String(KEYS), '--csv'];
  if (cpu !== null) argv = ['taskset', '-c', String(cpu), ...argv];
  return argv;
}

/**
 * Runs redis-benchmark to completion through `bash -c '"$@"; cat /proc/$$/stat >&2'`: once bash has reaped it,
 * its cutime + cstime are redis-benchmark's CPU (tick resolution). Resolves { tests (parsed CSV), requests,
 * rate (SET + GET requests ÷ the time of both tests, from their rps), cpuNs, wallMs }.
 */
export function runRedisBenchmark(opts) {
  const argv = redisBenchmarkArgv(opts);
  const wrapper = ['-c', '"$@"; rc=$?; echo "@stat $(cat /proc/$$/stat)" >&2; exit $rc', 'redis-benchmark', ...argv];
  return new Promise((resolve, reject) => {
    const p = spawn('bash', wrapper, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    const t0 = performance.now();
    const killer = setTimeout(() => p.kill('SIGKILL'), 120000);
    p.on('error', (e) => {
      clearTimeout(killer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(killer);
      const wallMs = performance.now() - t0;
      const tests = parseRedisBenchmarkCsv(text);
      const why = (err.replace(/^@stat .*$/m, '') || text).trim().split('\n').slice(-2).join(' | ');
      if (code !== 0) return reject(new Error(`redis-benchmark exited ${code}: ${why}`));
      if (!(tests.SET?.rps > 0 && tests.GET?.rps > 0)) return reject(new Error(`redis-benchmark printed no SET/GET rps: ${why}`));
      const n = opts.requests;
      const rate = (2 * n) / (n / tests.SET.rps + n / tests.GET.rps);
      let cpu = null;
      const m = /^@stat (.*)$/m.exec(err);
      if (m) {
        const f = m[1].slice(m[1].lastIndexOf(')') + 2).split(' ');
        cpu = ((Number(f[13]) + Number(f[14])) * 1e9) / clockTicks(); // fields 16, 17: cutime, cstime
      }
      resolve({ tests, requests: 2 * n, rate, cpuNs: cpu, wallMs });
    });
  });
}

function errorRow(impl, err) {
  const reason = err instanceof Unavailable ? err.message : `failed: ${err.message}`;
  return { impl, rate: null, cpuPerOpUs: null, rssMB: null, ratio: null, p99Ms: null, error: reason.slice(0, 200) };
}

/**
 * A client row: fresh redis-server → client child ready (keys preloaded) → warm-up window → sample → measured
 * window → sample (with the latency percentiles of that window). rate = commands answered per second (client
 * clock); cpuPerOpUs = client CPU per command; genCpuPct = redis-server CPU use; p50Ms/p99Ms per command
 * (`perPipeline`: the latency of whole pipelines goes to `pipelineLatencyMs` instead, no p99Ms).
 */
export async function measureRedisClient(ctx, { impl, args, perPipeline = false }) {
  let srv, gen;
  try {
    srv = await startRedisServer({ cpu: ctx.serverCpu });
    gen = track(new Child(script('clients/redis-client.mjs'), [`--port=${srv.port}`, ...args], { cpu: ctx.clientCpu, name: `${impl} client` }));
    const info = await gen.ready(30000);
    await sleep(ctx.warmupMs);
    const sample = async (latency) => {
      const s = srv.cpuNs();
      const g = gen.cpuNs();
      const r = await gen.request({ cmd: 'sample', latency });
      return { ...r, srvCpu: s, genCpu: g };
    };
    const a = await sample(false);
    await sleep(ctx.measureMs);
    const b = await sample(true);
    if (srv.child.exited) throw new Error(`redis-server exited: ${srv.log().trim().split('\n').pop()}`);
    if (gen.exited) throw new Error(`client exited: ${gen.stderr.trim().slice(-200)}`);
    const { errors, row } = clientSideRow(impl, a, b, gen, { noun: 'commands', answers: 'answers' });
    const srvRss = srv.rssBytes();
    const lat = b.latencyMs;
    return {
      ...row,
      serverRssMB: srvRss == null ? null : round(srvRss / MiB, 1),
      ...(perPipeline ? { p99Ms: null, pipelineLatencyMs: lat } : { p50Ms: lat?.p50 ?? null, p99Ms: lat?.p99 ?? null, latencyMs: lat }),
      protocol: info.protocol,
      ...(errors ? { errors, lastError: b.lastError } : {}),
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await gen?.stop();
    await srv?.stop();
  }
}

/** Requests per redis-benchmark test so that SET + GET take about `ms` at `rate`, a whole number of pipelines. */
export function requestsFor(rate, ms, pipeline) {
  const perTest = (rate * ms) / 1000 / 2;
  return Math.max(pipeline * 10, Math.round(perTest / pipeline) * pipeline);
}

/**
 * The redis-benchmark row (one connection, `pipeline` in flight). It runs to a request count, not for a time:
 * a probe run sizes the warm-up run (ctx.warmupMs), whose rate sizes the measured run (ctx.measureMs).
 * rate = SET + GET requests ÷ the time of both tests (from their rps); cpuPerOpUs = redis-benchmark's CPU per
 * request; genCpuPct = redis-server CPU use over the measured run. p50Ms/p99Ms: the larger of SET's and GET's
 * (redis-benchmark times a pipeline from its write to the first reply and records that for each of its requests).
 */
export async function measureRedisBenchmark(ctx, { pipeline, latency = true }) {
  const impl = 'redis-benchmark';
  let srv;
  try {
    binVersion(REDIS_BENCHMARK);
    srv = await startRedisServer({ cpu: ctx.serverCpu });
    const base = { port: srv.port, pipeline, cpu: ctx.clientCpu };
    const probe = await runRedisBenchmark({ ...base, requests: Math.max(20000, pipeline * 100) });
    const warm = await runRedisBenchmark({ ...base, requests: requestsFor(probe.rate, ctx.warmupMs, pipeline) });
    const requests = requestsFor(warm.rate, ctx.measureMs, pipeline);
    const s0 = srv.cpuNs();
    const t0 = performance.now();
    const run = await runRedisBenchmark({ ...base, requests });
    const secs = (performance.now() - t0) / 1000;
    const s1 = srv.cpuNs();
    if (srv.child.exited) throw new Error(`redis-server exited: ${srv.log().trim().split('\n').pop()}`);
    const { SET, GET } = run.tests;
    const worst = (k) => (SET[k] == null || GET[k] == null ? null : Math.max(SET[k], GET[k]));
    return {
      impl,
      rate: round(run.rate, 1),
      cpuPerOpUs: run.cpuNs == null ? null : round(run.cpuNs / run.requests / 1000, 3),
      rssMB: null,
      ratio: null,
      genCpuPct: round(((s1 - s0) / (secs * 1e9)) * 100, 0),
      clientCpuPct: run.cpuNs == null ? null : round((run.cpuNs / (run.wallMs * 1e6)) * 100, 0),
      serverCpuPerOpUs: round((s1 - s0) / run.requests / 1000, 3),
      ...(latency ? { p50Ms: worst('p50Ms'), p99Ms: worst('p99Ms') } : { p99Ms: null }),
      requests: run.requests,
      tests: run.tests,
      argv: redisBenchmarkArgv({ ...base, cpu: null, bin: 'redis-benchmark', requests }).join(' '),
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await srv?.stop();
  }
}

async function rowsFor(ctx, workload, label) {
  const rows = [];
  for (const impl of IMPLS[workload]) {
    ctx.log(`  ${label}: ${impl}`);
    if (impl === 'redis-benchmark') rows.push(await measureRedisBenchmark(ctx, { pipeline: BENCHMARK_PIPELINE[workload], latency: workload !== 'pipeline' }));
    else rows.push(await measureRedisClient(ctx, { impl, args: clientArgs(impl, workload), perPipeline: workload === 'pipeline' }));
  }
  return rows;
}

/** The c=1 runs read as a p50 latency result: rate = p50 in µs (lower is better). */
export function latencyRows(rows) {
  return rows.map((r) =>
    r.error || r.p50Ms == null
      ? { impl: r.impl, rate: null, cpuPerOpUs: null, rssMB: null, ratio: null, p99Ms: null, error: r.error ?? 'no latency figures' }
      : { impl: r.impl, rate: round(r.p50Ms * 1000, 2), cpuPerOpUs: null, rssMB: null, ratio: null, p99Ms: r.p99Ms, p99Us: round(r.p99Ms * 1000, 2), opsPerSec: r.rate },
  );
}

export async function run(ctx) {
  let serverVersion;
  try {
    serverVersion = binVersion(REDIS_SERVER);
  } catch (err) {
    serverVersion = `unavailable (${err.message})`;
  }
  const common = {
    keys: KEYS,
    valueBytes: VALUE_SIZE,
    server: `${serverVersion}; --save '' --appendonly no, a fresh server per row`,
    counted: 'commands answered correctly (SET → OK, GET → the 16 B value)',
    client: 'clients/redis-client.mjs (one connection per client); redis-benchmark -c 1 -t set,get -d 16 -r 1000',
  };
  const base = { unit: 'ops/s', opUnit: 'cmd', cpuOf: 'client', better: 'higher', baseline: 'ioredis' };
  const results = [];
  const want = (name) => selected(ctx.only, name);

  if (want(NAMES.c1) || want(NAMES.c1Latency)) {
    const rows = await rowsFor(ctx, 'c1', NAMES.c1);
    const params = { ...common, callers: 1, inFlight: 1, redisBenchmark: '-c 1 -P 1', libraries: 'defaults (ioredis without enableAutoPipelining)' };
    results.push({ name: NAMES.c1, ...base, params: { ...params, latency: 'per command, call to answer (redis-benchmark: the larger of its SET and GET percentiles)' }, rows });
    // Target (issue): iocrate's p50 latency <= ioredis's, as the ratio ioredis/iocrate >= 1.
    results.push({
      name: NAMES.c1Latency,
      unit: 'µs p50',
      opUnit: 'cmd',
      better: 'lower',
      baseline: 'ioredis',
      targets: [{ impl: 'iocrate', vs: 'ioredis', min: 1 }],
      params: { ...params, figure: `p50 latency of one command in the ${NAMES.c1} runs (histogram with 0.1 µs buckets; redis-benchmark: 1 µs)` },
      rows: latencyRows(rows),
    });
  }
  if (want(NAMES.c50)) {
    results.push({
      name: NAMES.c50,
      ...base,
      // Targets (issue): iocrate >= 2x ioredis with auto-pipelining, >= 0.7x redis-benchmark with the same pipelining.
      targets: [
        { impl: 'iocrate', vs: 'ioredis', min: 2 },
        { impl: 'iocrate', vs: 'redis-benchmark', min: 0.7 },
      ],
      params: {
        ...common,
        callers: CALLERS,
        ioredis: 'enableAutoPipelining: true (ioredis-nopipe: false)',
        nodeRedis: 'defaults (commands of one tick share a write)',
        iocrate: 'defaults (auto-pipelining: commands of one tick share a write)',
        redisBenchmark: `-c 1 -P ${CALLERS} (one connection, ${CALLERS} in flight)`,
        latency: `per command, call to answer, one command in ${LATENCY_EVERY} timed; redis-benchmark: per pipeline of ${CALLERS}, write to first reply`,
      },
      rows: await rowsFor(ctx, 'c50', NAMES.c50),
    });
  }
  if (want(NAMES.pipeline)) {
    results.push({
      name: NAMES.pipeline,
      ...base,
      params: {
        ...common,
        batch: BATCH,
        commands: `pipelines of ${BATCH} SET, then ${BATCH} GET, … one at a time`,
        ioredis: 'pipeline().set()….exec()',
        nodeRedis: 'multi().set()….execAsPipeline() (no MULTI/EXEC)',
        iocrate: 'pipeline().set()….exec()',
        redisBenchmark: `-c 1 -P ${BATCH}`,
        latency: 'per pipeline (pipelineLatencyMs), not in the p99 column',
      },
      rows: await rowsFor(ctx, 'pipeline', NAMES.pipeline),
    });
  }
  return results;
}
