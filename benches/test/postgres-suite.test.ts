// @ts-nocheck — the harness is plain ESM JavaScript without type declarations.
// Smoke test of the postgres bench suite against a PostgreSQL started here (the suite's own startPostgres): the
// server runs as configured; every client child runs each of its workloads briefly and answers correctly (select:
// every answer is the number sent; 1M-rows mode: every row arrived with the right sum and types; COPY / INSERT:
// the table holds exactly the rows written); psql runs under /usr/bin/time and its figures parse; the measurement
// functions produce complete rows with short windows; the derived 1M-rows results carry their targets. pg-native
// may report that it is not installed, and @iocrate/postgres that an API is missing. About 15 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Child, Unavailable, sleep } from '../lib/proc.mjs';
import { computeRatios } from '../lib/report.mjs';
import { expectLatencySummary } from './latency-expect.js';
import {
  IMPLS,
  NAMES,
  PG_BIN,
  ROWS,
  clientArgs,
  derivedRowsResults,
  measureBatch,
  measurePsqlRows,
  measureSelect,
  peakRssBytes,
  psqlRowsArgv,
  runPsql,
  startPostgres,
} from '../suites/postgres.mjs';

const benches = new URL('..', import.meta.url).pathname;
const hasServer = existsSync(join(PG_BIN, 'postgres')) && existsSync(join(PG_BIN, 'initdb'));
const hasTime = existsSync('/usr/bin/time');
const N = 20000;

/** Starts a client child; null when the implementation reports why it cannot run (only pg-native and iocrate may). */
async function client(port: number, impl: string, workload: string) {
  const c = new Child(join(benches, 'clients/postgres-client.mjs'), [`--port=${port}`, ...clientArgs(impl, workload)], { name: `${impl} client` });
  try {
    const ready = await c.ready(15000);
    expect(ready).toMatchObject({ ready: true, impl });
    expect(ready.backendPid).toBeGreaterThan(0);
    expect(typeof ready.how).toBe('string');
    return c;
  } catch (err) {
    await c.stop();
    expect(['pg-native', 'iocrate']).toContain(impl);
    expect(err).toBeInstanceOf(Unavailable);
    if (impl === 'pg-native') expect(err.message).toMatch(/pg-native/);
    return null;
  }
}

describe.skipIf(!hasServer)('postgres bench clients against the suite server', () => {
  let srv;
  beforeAll(async () => {
    srv = await startPostgres();
  });
  afterAll(async () => {
    await srv?.stop();
    if (srv) expect(existsSync(srv.dir)).toBe(false);
  });

  it('startPostgres: a server without durability work, with the bench table, measurable', () => {
    expect(srv.port).toBeGreaterThan(0);
    expect(srv.version).toMatch(/PostgreSQL/);
    expect(srv.psql('select 1')).toBe('1');
    expect(srv.psql('show fsync')).toBe('off');
    expect(srv.psql('show synchronous_commit')).toBe('off');
    expect(srv.psql('show jit')).toBe('off');
    expect(srv.psql("select to_regclass('bench_load') is not null")).toBe('t');
    expect(srv.cpuNs()).toBeGreaterThan(0);
    expect(srv.rssBytes()).toBeGreaterThan(0);
  });

  for (const workload of ['c1', 'c50']) {
    for (const impl of IMPLS[workload]) {
      it(`${impl} ${workload}: every answer is the number sent`, async () => {
        const c = await client(srv.port, impl, workload);
        if (!c) return;
        try {
          await c.request({ cmd: 'sample' });
          await sleep(250);
          const s = await c.request({ cmd: 'sample', latency: true });
          const fin = await c.request({ cmd: 'stop' }, 10000);
          expect(fin.errors).toBe(0);
          expect(fin.ops).toBeGreaterThanOrEqual(s.ops);
          expect(s.ops).toBeGreaterThan(50);
          expectLatencySummary(s.latencyMs);
        } finally {
          await c.stop();
        }
      });
    }
  }

  for (const workload of ['rows', 'copy', 'insert']) {
    for (const impl of IMPLS[workload].filter((i) => !i.startsWith('psql'))) {
      it(`${impl} ${workload}: ${N} rows arrive (the child checks count, sum and types)`, async () => {
        const c = await client(srv.port, impl, workload);
        if (!c) return;
        try {
          const r = await c.request({ cmd: 'run', rows: N }, 20000);
          expect(r.error).toBeUndefined();
          expect(r.rows).toBe(N);
          expect(r.ms).toBeGreaterThan(0);
          if (workload === 'rows') expect(r.sum).toBe((N * (N + 1)) / 2);
          else expect(Number(srv.psql('select count(*) from bench_load'))).toBe(N);
          expect(peakRssBytes(c.pid)).toBeGreaterThan(10 * 1024 * 1024);
        } finally {
          await c.stop();
        }
      });
    }
  }

  it.skipIf(!hasTime)('runPsql: both psql variants run and report time, CPU and peak RSS', async () => {
    for (const impl of ['psql', 'psql-copy']) {
      const r = await runPsql(psqlRowsArgv(impl, srv.port, N));
      expect(r.ms).toBeGreaterThan(0);
      expect(r.cpuNs).toBeGreaterThanOrEqual(0);
      expect(r.peakRssBytes).toBeGreaterThan(1024 * 1024);
    }
    await expect(runPsql(psqlRowsArgv('psql', srv.port + 1 === 65536 ? 1 : srv.port + 1, 10))).rejects.toThrow(/psql exited/);
  });

  describe('measurements (short windows)', () => {
    const ctx = { serverCpu: null, clientCpu: null, warmupMs: 100, measureMs: 200, log: () => {} };

    it('measureSelect: a complete row with latency and server CPU', async () => {
      const row = await measureSelect(ctx, srv, { impl: 'pg', args: clientArgs('pg', 'c1') });
      expect(row.error).toBeUndefined();
      expect(row.rate).toBeGreaterThan(0);
      expect(row.cpuPerOpUs).toBeGreaterThan(0);
      expect(row.serverCpuPerOpUs).toBeGreaterThan(0);
      expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
    });

    it('measureBatch and measurePsqlRows: complete rows (wall, peak RSS, server CPU)', async () => {
      const row = await measureBatch(ctx, srv, { impl: 'postgres.js', args: clientArgs('postgres.js', 'rows'), rows: N, warmRows: 1000, maxRuns: 1 });
      expect(row.error).toBeUndefined();
      expect(row).toMatchObject({ runs: 1 });
      expect(row.rate).toBeGreaterThan(0);
      expect(row.cpuPerOpUs).toBeGreaterThan(0);
      expect(row.peakRssMB).toBeGreaterThan(10);
      expect(row.serverCpuPerOpUs).toBeGreaterThan(0);
      if (hasTime) {
        const p = await measurePsqlRows(ctx, srv, { impl: 'psql', rows: N, warmRows: 1000, maxRuns: 1 });
        expect(p.error).toBeUndefined();
        expect(p.wallMs).toBeGreaterThan(0);
        expect(p.peakRssMB).toBeGreaterThan(1);
      }
    });
  });
});

describe('postgres suite helpers', () => {
  it('client arguments per workload', () => {
    expect(clientArgs('iocrate', 'c50')).toEqual(expect.arrayContaining(['--impl=iocrate', '--mode=select', '--callers=50']));
    expect(clientArgs('pg', 'rows')).toEqual(expect.arrayContaining(['--mode=rows', '--batch=5000']));
    expect(clientArgs('postgres.js', 'insert')).toEqual(expect.arrayContaining(['--mode=insert', '--batch=1000']));
    expect(() => clientArgs('psql', 'rows')).toThrow();
    expect(() => clientArgs('pg', 'nope')).toThrow();
  });

  it('derived 1M-rows results: CPU/row and RSS against postgres.js, wall against psql', () => {
    const rows = [
      { impl: 'postgres.js', rate: 400000, cpuPerOpUs: 2, wallMs: 2500, peakRssMB: 90 },
      { impl: 'iocrate', rate: 500000, cpuPerOpUs: 0.8, wallMs: 2100, peakRssMB: 80 },
      { impl: 'psql', rate: 520000, cpuPerOpUs: 0.3, wallMs: 2000, peakRssMB: 12 },
      { impl: 'pg-native', rate: null, error: 'pg-native is not installed' },
    ];
    const [cpu, wall, rss] = derivedRowsResults(rows, {}).map(computeRatios);
    expect([cpu.name, wall.name, rss.name]).toEqual([NAMES.rowsCpu, NAMES.rowsWall, NAMES.rowsRss]);
    expect(cpu.targets[0]).toMatchObject({ impl: 'iocrate', vs: 'postgres.js', ratio: 2.5, hit: true });
    expect(wall.targets[0]).toMatchObject({ impl: 'iocrate', vs: 'psql', ratio: 0.952, hit: true });
    expect(rss.targets[0]).toMatchObject({ ratio: 1.125, hit: true });
    expect(wall.rows.find((r) => r.impl === 'psql').rate).toBe(2);
    expect(cpu.rows.find((r) => r.impl === 'pg-native')).toMatchObject({ rate: null, error: 'pg-native is not installed' });
    // 12 % slower than psql misses "within 10 %".
    const slow = computeRatios(derivedRowsResults([{ impl: 'iocrate', cpuPerOpUs: 1, wallMs: 2240, peakRssMB: 1 }, { impl: 'psql', cpuPerOpUs: 1, wallMs: 2000, peakRssMB: 1 }], {})[1]);
    expect(slow.targets[0].hit).toBe(false);
    expect(ROWS).toBe(1_000_000);
  });
});
