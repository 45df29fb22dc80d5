// @ts-nocheck — the harness is plain ESM JavaScript without type declarations.
// Smoke test of the http bench suite: every server the suite loads starts, answers one request correctly
// (checked with fetch; the HTTPS servers with node's https.get trusting the generated certificate) and shuts
// down; every client child gets responses. No wrk load runs here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, Unavailable, sleep } from '../lib/proc.mjs';
import { checkOnce, parseWrk, wrkArgv, wrkTimeMs } from '../lib/http.mjs';
import { CHECKS, CLIENT_IMPLS, HTTPS_IMPLS, httpsSmokeCases, smokeCases } from '../suites/http.mjs';
import { makeCert } from '../suites/tls.mjs';

const benches = new URL('..', import.meta.url).pathname;
const hasNginx = existsSync(process.env.IOCRATE_BENCH_NGINX ?? '/usr/sbin/nginx');
const hasOpenssl = !spawnSync('openssl', ['version']).error;

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('http bench servers (smoke)', () => {
  for (const c of smokeCases()) {
    it.skipIf(c.impl === 'nginx' && !hasNginx)(`${c.impl} ${c.mode}: starts, answers one request, stops`, async () => {
      const srv = new Child(join(benches, c.server.script), c.server.args, { name: `${c.impl} ${c.mode}` });
      let info;
      try {
        info = await srv.ready(15000);
        expect(info.port).toBeGreaterThan(0);
        const got = await checkOnce(info.port, c.check);
        expect(got.text).toBe(c.check.text);
      } finally {
        await srv.stop();
      }
      expect(srv.exited).toBe(true);
      // nginx: the wrapper stops its master and worker before it exits.
      for (const pid of info?.cpuPids ?? []) expect(alive(pid)).toBe(false);
    });
  }

  it('rejects a wrong answer', async () => {
    const srv = new Child(join(benches, 'servers/http-server.mjs'), ['--impl=node', '--mode=json']);
    try {
      const { port } = await srv.ready();
      await expect(checkOnce(port, CHECKS.hello)).rejects.toThrow(/check: body/);
    } finally {
      await srv.stop();
    }
  });
});

describe.skipIf(!hasOpenssl)('https bench servers (smoke)', () => {
  let dir: string;
  let files: { cert: string; key: string };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iocrate-bench-https-test-'));
    files = makeCert(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const impl of HTTPS_IMPLS) {
    it(`${impl} hello over https: starts, answers one https.get (trusting the generated cert), stops`, async () => {
      const c = httpsSmokeCases(files).find((x) => x.impl === impl);
      const srv = new Child(join(benches, c.server.script), c.server.args, { name: `${impl} https` });
      try {
        const { port } = await srv.ready(15000);
        expect(port).toBeGreaterThan(0);
        // checkOnce with { ca } goes through node:https (https.get), verifying the certificate against it.
        const got = await checkOnce(port, c.check, { ca: readFileSync(files.cert, 'utf8') });
        expect(got.text).toBe('Hello, World!');
        expect(got.type).toMatch(/^text\/plain/);
        expect(got.tls).toMatch(/^TLSv1\.[23] /);
      } finally {
        await srv.stop();
      }
      expect(srv.exited).toBe(true);
    });
  }

  it('the https server refuses to start without --cert/--key', async () => {
    const srv = new Child(join(benches, 'servers/http-server.mjs'), ['--impl=node', '--mode=hello', '--https']);
    try {
      await expect(srv.ready(15000)).rejects.toThrow(/--cert/);
    } finally {
      await srv.stop();
    }
  });
});

describe('http bench clients (smoke)', () => {
  it('each client child gets responses from a node:http server, or reports why it is skipped', async () => {
    const srv = new Child(join(benches, 'servers/http-server.mjs'), ['--impl=node', '--mode=hello']);
    try {
      const { port } = await srv.ready();
      for (const impl of CLIENT_IMPLS) {
        const flag = impl === 'node:http' ? 'node' : impl;
        const gen = new Child(join(benches, 'clients/http-client.mjs'), [`--impl=${flag}`, `--port=${port}`, '--conns=2'], { name: impl });
        try {
          await gen.ready(15000);
        } catch (err) {
          await gen.stop();
          // Only the iocrate client may be missing, and then it says so.
          expect(impl.startsWith('iocrate'), `${impl}: ${err.message}`).toBe(true);
          expect(err).toBeInstanceOf(Unavailable);
          expect(err.message).toMatch(/skipped/);
          continue;
        }
        try {
          await sleep(150);
          const s = await gen.request({ cmd: 'sample' });
          expect(s.ops, impl).toBeGreaterThan(0);
          expect(s.errors, `${impl}: ${s.lastError}`).toBe(0);
        } finally {
          await gen.stop();
        }
      }
    } finally {
      await srv.stop();
    }
  });
});

describe('wrk output', () => {
  const OUT = `Running 1s test @ http://127.0.0.1:18081/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   295.91us  580.77us  10.84ms   94.09%
    Req/Sec    43.41k    14.17k   51.87k    80.00%
  Latency Distribution
     50%  157.00us
     75%  173.00us
     90%  403.00us
     99%    3.06ms
  43238 requests in 1.00s, 6.68MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  43198.73
Transfer/sec:      6.67MB
`;

  it('parses requests, rate, latency percentiles and errors', () => {
    const w = parseWrk(OUT);
    expect(w).toMatchObject({ requests: 43238, durationS: 1, rate: 43198.73, non2xx: 7, socketErrors: { connect: 0, read: 3, write: 0, timeout: 2 } });
    expect(w.latencyMs.p50).toBeCloseTo(0.157);
    expect(w.latencyMs.p99).toBeCloseTo(3.06);
    expect(w.latencyMs.avg).toBeCloseTo(0.29591);
    expect(w.latencyMs.max).toBeCloseTo(10.84);
    expect(wrkTimeMs('1.50s')).toBe(1500);
    expect(wrkTimeMs('2.00m')).toBe(120000);
  });

  it('drops the bogus 0 percentiles wrk sometimes prints, and defaults absent error lines to 0', () => {
    const w = parseWrk(OUT.replace('99%    3.06ms', '99%    0.00us').replace(/ {2}Socket errors.*\n {2}Non-2xx.*\n/, ''));
    expect(w.latencyMs.p99).toBeNull();
    expect(w.latencyMs.p90).toBeCloseTo(0.403);
    expect(w.non2xx).toBe(0);
    expect(w.socketErrors.read).toBe(0);
  });

  it('builds a pinned one-thread wrk command line with script arguments', () => {
    expect(wrkArgv({ url: 'http://127.0.0.1:1/', conns: 64, secs: 3, cpu: 1, luaScript: '/b/p.lua', scriptArgs: [16], bin: 'wrk' })).toEqual([
      'taskset', '-c', '1', 'wrk', '-t1', '-c64', '-d3s', '--timeout', '5s', '--latency', '-s', '/b/p.lua', 'http://127.0.0.1:1/', '--', '16',
    ]);
  });
});
