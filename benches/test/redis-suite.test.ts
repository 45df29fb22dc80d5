// @ts-nocheck — the harness is plain ESM JavaScript without type declarations.
// Smoke test of the redis bench suite against a redis-server started here (the suite's own startRedisServer):
// every client child runs each of its workloads briefly, answers correctly and counts exactly what the server
// executed (SET + GET calls from INFO commandstats = the child's final count + its setup commands); the latency
// histogram gives sane percentiles; redis-benchmark's --csv output parses (real output and fixed samples); the
// measurement functions produce complete rows with short windows. The iocrate child may report why it is skipped
// while the native redis binding is not built. About 10 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Child, Unavailable, sleep } from '../lib/proc.mjs';
import { expectLatencySummary } from './latency-expect.js';
import {
  BATCH,
  IMPLS,
  REDIS_BENCHMARK,
  REDIS_SERVER,
  clientArgs,
  latencyRows,
  measureRedisBenchmark,
  measureRedisClient,
  parseRedisBenchmarkCsv,
  requestsFor,
  runRedisBenchmark,
  startRedisServer,
} from '../suites/redis.mjs';

const benches = new URL('..', import.meta.url).pathname;
const hasServer = !spawnSync(REDIS_SERVER, ['--version']).error;
const hasBenchmark = !spawnSync(REDIS_BENCHMARK, ['--version']).error;

/** One inline command over a fresh connection; resolves the reply's text (bulk string body or status line). */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(line + '\r\n'));
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const head = buf.subarray(0, eol).toString();
      if (head[0] !== '$') return s.destroy(), resolve(head);
      const len = Number(head.slice(1));
      if (buf.length >= eol + 2 + len + 2) {
        s.destroy();
        resolve(buf.subarray(eol + 2, eol + 2 + len).toString());
      }
    });
    s.on('error', reject);
  });
}

/** SET + GET calls the server executed so far. */
async function setGetCalls(port: number): Promise<number> {
  const info = await command(port, 'INFO commandstats');
  const calls = (c: string) => Number(new RegExp(`^cmdstat_${c}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return calls('set') + calls('get');
}

describe.skipIf(!hasServer)('redis bench clients against a redis-server', () => {
  let srv;
  beforeAll(async () => {
    srv = await startRedisServer();
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('startRedisServer: a pingable, empty server without persistence', async () => {
    expect(srv.port).toBeGreaterThan(0);
    expect(await command(srv.port, 'PING')).toBe('+PONG');
    expect(await command(srv.port, 'DBSIZE')).toBe(':0');
    expect(await command(srv.port, 'INFO persistence')).toMatch(/^aof_enabled:0\r?$/m);
    expect(srv.cpuNs()).toBeGreaterThan(0);
  });

  const cases = Object.entries(IMPLS).flatMap(([workload, impls]) => impls.filter((i) => i !== 'redis-benchmark').map((impl) => ({ workload, impl })));
  for (const { workload, impl } of cases) {
    it(`${impl} ${workload}: answers correctly and counts exactly what the server ran`, async () => {
      const before = await setGetCalls(srv.port);
      const c = new Child(join(benches, 'clients/redis-client.mjs'), [`--port=${srv.port}`, ...clientArgs(impl, workload)], { name: `${impl} client` });
      try {
        let ready;
        try {
          ready = await c.ready(15000);
        } catch (err) {
          // Only @iocrate/redis may be missing (native binding not built yet); ioredis and redis are devDependencies.
          expect(impl).toBe('iocrate');
          expect(err).toBeInstanceOf(Unavailable);
          expect(err.message).toMatch(/native redis binding/);
          return;
        }
        expect(ready).toMatchObject({ ready: true, setupOps: 1001 });
        expect([2, 3]).toContain(ready.protocol);
        await c.request({ cmd: 'sample' });
        await sleep(250);
        const s = await c.request({ cmd: 'sample', latency: true });
        const fin = await c.request({ cmd: 'stop' }, 10000);
        expect(fin.errors).toBe(0);
        expect(fin.ops).toBeGreaterThanOrEqual(s.ops);
        expect(s.ops).toBeGreaterThan(workload === 'pipeline' ? BATCH : 50);
        if (workload === 'pipeline') expect(fin.ops % BATCH).toBe(0);
        // exact: every SET/GET the server ran was counted once, and nothing else was
        expect((await setGetCalls(srv.port)) - before).toBe(fin.ops + ready.setupOps);
        expectLatencySummary(s.latencyMs);
      } finally {
        await c.stop();
      }
      expect(await command(srv.port, 'GET bench:999')).toBe('v'.repeat(16));
    });
  }

  it.skipIf(!hasBenchmark)('redis-benchmark: real --csv output parses (SET and GET, rps and latency)', async () => {
    const r = await runRedisBenchmark({ port: srv.port, pipeline: 10, requests: 2000 });
    expect(r.requests).toBe(4000);
    for (const t of ['SET', 'GET']) {
      expect(r.tests[t].rps).toBeGreaterThan(0);
      expect(r.tests[t].p50Ms).toBeGreaterThan(0);
      expect(r.tests[t].p99Ms).toBeGreaterThanOrEqual(r.tests[t].p50Ms);
    }
    expect(r.rate).toBeGreaterThan(0);
    expect(r.rate).toBeLessThanOrEqual(Math.max(r.tests.SET.rps, r.tests.GET.rps));
    expect(r.cpuNs).toBeGreaterThanOrEqual(0);
  });
});

describe('redis suite helpers', () => {
  it('parses redis-benchmark --csv with and without the header line', () => {
    const v7 = [
      '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
      '"SET","1428571.38","0.029","0.024","0.031","0.039","0.063","0.087"',
      '"GET","1176470.50","0.038","0.024","0.031","0.055","0.079","0.119"',
      '',
    ].join('\n');
    expect(parseRedisBenchmarkCsv(v7)).toEqual({
      SET: { rps: 1428571.38, avgMs: 0.029, minMs: 0.024, p50Ms: 0.031, p95Ms: 0.039, p99Ms: 0.063, maxMs: 0.087 },
      GET: { rps: 1176470.5, avgMs: 0.038, minMs: 0.024, p50Ms: 0.031, p95Ms: 0.055, p99Ms: 0.079, maxMs: 0.119 },
    });
    const old = parseRedisBenchmarkCsv('"SET","98039.22"\r\n"GET","99009.90"\r\n');
    expect(old.SET).toMatchObject({ rps: 98039.22, p50Ms: null });
    expect(old.GET.rps).toBe(99009.9);
    expect(parseRedisBenchmarkCsv('Could not connect to Redis at 127.0.0.1:1: Connection refused\n')).toEqual({});
  });

  it('sizes redis-benchmark runs in whole pipelines', () => {
    expect(requestsFor(100000, 3000, 1)).toBe(150000);
    expect(requestsFor(1e6, 3000, 1000)).toBe(1500000);
    expect(requestsFor(10, 1000, 50) % 50).toBe(0);
    expect(requestsFor(10, 1000, 50)).toBe(500); // at least 10 pipelines
  });

  it('client arguments: auto-pipelining only for the ioredis row of c=50', () => {
    expect(clientArgs('ioredis', 'c50')).toContain('--auto-pipelining');
    expect(clientArgs('ioredis-nopipe', 'c50')).not.toContain('--auto-pipelining');
    expect(clientArgs('ioredis', 'c1')).not.toContain('--auto-pipelining');
    expect(clientArgs('iocrate', 'pipeline')).toEqual(expect.arrayContaining(['--impl=iocrate', '--mode=pipeline', `--batch=${BATCH}`]));
    expect(() => clientArgs('redis-benchmark', 'c1')).toThrow();
  });

  it('turns c=1 rows into p50 latency rows (µs)', () => {
    const rows = latencyRows([
      { impl: 'ioredis', rate: 20000, p50Ms: 0.0451, p99Ms: 0.09 },
      { impl: 'iocrate', rate: null, error: 'unavailable' },
    ]);
    expect(rows[0]).toMatchObject({ impl: 'ioredis', rate: 45.1, p99Us: 90, opsPerSec: 20000 });
    expect(rows[1]).toMatchObject({ impl: 'iocrate', rate: null, error: 'unavailable' });
  });
});

describe.skipIf(!hasServer)('redis suite measurements (short windows)', () => {
  const ctx = { serverCpu: null, clientCpu: null, warmupMs: 200, measureMs: 300, log: () => {} };

  it('measureRedisClient: a complete row with latency', async () => {
    const row = await measureRedisClient(ctx, { impl: 'ioredis', args: clientArgs('ioredis', 'c1') });
    expect(row.error).toBeUndefined();
    expect(row.rate).toBeGreaterThan(0);
    expect(row.cpuPerOpUs).toBeGreaterThan(0);
    expect(row.genCpuPct).toBeGreaterThanOrEqual(0);
    expect(row.p50Ms).toBeGreaterThan(0);
    expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
  });

  it.skipIf(!hasBenchmark)('measureRedisBenchmark: a complete row', async () => {
    const row = await measureRedisBenchmark(ctx, { pipeline: 50 });
    expect(row.error).toBeUndefined();
    expect(row.rate).toBeGreaterThan(0);
    expect(row.cpuPerOpUs).toBeGreaterThanOrEqual(0);
    expect(row.tests.SET.rps).toBeGreaterThan(0);
    expect(row.p99Ms).toBeGreaterThan(0);
  });
});
