// @ts-nocheck — the harness is plain ESM JavaScript without type declarations.
// Fast tests of the bench harness helpers: no benchmark is run.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, Unavailable, availableCpus, childArgv, cpuNs, rssBytes, sleep, statCpuNs } from '../lib/proc.mjs';
import { buildReport, computeRatios, formatNumber, formatTable, targetSummary, validateReport } from '../lib/report.mjs';
import { parseArgs, selected } from '../lib/cli.mjs';

const benches = new URL('..', import.meta.url).pathname;

function script(body: string) {
  const dir = mkdtempSync(join(tmpdir(), 'iocrate-bench-test-'));
  const file = join(dir, 'child.mjs');
  writeFileSync(file, body);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Spins while stdin is open, yielding every 50 ms so it can see stdin close.
const BUSY = `
process.stdout.write(JSON.stringify({ ready: true }) + '\\n');
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
setTimeout(() => process.exit(0), 20000).unref();
const spin = () => { const t = Date.now() + 50; while (Date.now() < t); setImmediate(spin); };
spin();`;
const IDLE = `
process.stdout.write(JSON.stringify({ ready: true }) + '\\n');
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
setTimeout(() => process.exit(0), 20000).unref();`;

describe('CPU and memory sampling', () => {
  it('sees a busy child use CPU and an idle one not', async () => {
    const busy = script(BUSY);
    const idle = script(IDLE);
    const b = new Child(busy.file, [], { name: 'busy' });
    const i = new Child(idle.file, [], { name: 'idle' });
    try {
      await Promise.all([b.ready(), i.ready()]);
      const b0 = b.cpuNs();
      const i0 = i.cpuNs();
      await sleep(400);
      const db = b.cpuNs() - b0;
      const di = i.cpuNs() - i0;
      // Lenient bounds: the machine may be shared, but a spinning process gets a good share of 400 ms.
      expect(db).toBeGreaterThan(80e6);
      expect(db).toBeLessThan(400e6 * availableCpus().length + 50e6);
      expect(di).toBeLessThan(db / 4);
      // schedstat (ns, all threads) and stat ticks agree within a few ticks.
      expect(Math.abs(b.cpuNs() - statCpuNs(b.pid))).toBeLessThan(100e6);
      expect(rssBytes(b.pid)).toBeGreaterThan(5 * 1024 * 1024);
    } finally {
      await Promise.all([b.stop(), i.stop()]);
      busy.cleanup();
      idle.cleanup();
    }
    expect(b.exited && i.exited).toBe(true);
  });

  it('reads its own process', () => {
    expect(cpuNs(process.pid)).toBeGreaterThan(0);
    expect(rssBytes(process.pid)).toBeGreaterThan(0);
  });

  it('builds pinned argv with a raised fd limit that execs node', () => {
    const argv = childArgv('/x/s.mjs', ['--a=1'], { cpu: 1, nofile: 65536 });
    expect(argv.slice(0, 5)).toEqual(['taskset', '-c', '1', 'bash', '-c']);
    expect(argv[5]).toMatch(/^ulimit -n 65536 .*; exec '.*node' '\/x\/s\.mjs' '--a=1'$/);
    expect(childArgv('/bin/gen', ['--p=1'], { exec: true })).toEqual(['/bin/gen', '--p=1']);
  });
});

describe('child protocol', () => {
  it('starts the node:net echo server, queries it and stops it by closing stdin', async () => {
    const c = new Child(join(benches, 'servers/tcp-echo.mjs'), ['--impl=node', '--mode=echo']);
    try {
      const info = await c.ready();
      expect(info.port).toBeGreaterThan(0);
      expect(await c.request({ cmd: 'stats' })).toEqual({ conns: 0 });
    } finally {
      await c.stop();
    }
    expect(c.exited).toBe(true);
  });

  it('reports an implementation that cannot load as Unavailable, not a crash', async () => {
    const c = new Child(join(benches, 'servers/tcp-echo.mjs'), ['--impl=nope']);
    await expect(c.ready()).rejects.toBeInstanceOf(Unavailable);
    await c.stop();
  });
});

const result = (better: 'higher' | 'lower', rates: Record<string, number | null>, target?: number) => ({
  name: 'r',
  unit: better === 'higher' ? 'msgs/s' : 'B/socket',
  better,
  baseline: 'node:net',
  target,
  rows: Object.entries(rates).map(([impl, rate]) => ({
    impl,
    rate,
    cpuPerOpUs: rate == null ? null : 1.5,
    rssMB: rate == null ? null : 50,
    ratio: null,
    ...(rate == null ? { error: '@iocrate/net not built' } : {}),
  })),
});

describe('ratios and table', () => {
  it('divides by the baseline when higher is better, and inverts when lower is better', () => {
    const hi = computeRatios(result('higher', { 'node:net': 100, iocrate: 180, slow: 120 }, 1.5));
    expect(hi.rows.map((r) => r.ratio)).toEqual([1, 1.8, 1.2]);
    expect(hi.rows.map((r) => r.hit)).toEqual([undefined, true, false]);
    const lo = computeRatios(result('lower', { 'node:net': 3000, iocrate: 1500 }, 1.0));
    expect(lo.rows[1].ratio).toBe(2);
    expect(lo.rows[1].hit).toBe(true);
  });

  it('leaves ratio null for unavailable rows and for a missing baseline', () => {
    const r = computeRatios(result('higher', { 'node:net': 100, iocrate: null }, 1.5));
    expect(r.rows[1]).toMatchObject({ ratio: null, hit: null });
    const nb = computeRatios(result('higher', { 'node:net': null, iocrate: 5 }));
    expect(nb.rows[1].ratio).toBeNull();
  });

  it('formats numbers compactly', () => {
    expect(formatNumber(2_270_000)).toBe('2.27M');
    expect(formatNumber(131_900)).toBe('131.9k');
    expect(formatNumber(1293.4)).toBe('1293');
    expect(formatNumber(7.333)).toBe('7.33');
    expect(formatNumber(null)).toBe('-');
  });

  it('prints every column, the verdicts and the unavailable reason', () => {
    const rs = [computeRatios(result('higher', { 'node:net': 100, iocrate: 180, slow: 120, gone: null }, 1.5))];
    const table = formatTable(rs);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^name +\| impl +\| +rate \| unit +\| server CPU µs\/op \| RSS MB \| gen CPU \| ratio vs peer$/);
    expect(table).toContain('baseline');
    expect(table).toContain('1.80x hit (>=1.5x)');
    expect(table).toContain('1.20x MISS (>=1.5x)');
    expect(table).toContain('(@iocrate/net not built)');
    expect(new Set(lines.slice(2).map((l) => l.indexOf('| msgs/s')))).toHaveProperty('size', 1);
    expect(targetSummary(rs)).toMatch(/^hit +r — iocrate 1.80x vs node:net/m);
  });
});

describe('pairwise targets and latency column (http suite)', () => {
  const res = () => {
    const r = result('higher', { 'node:net': 100, iocrate: 250, peer: 200, fast: 210 });
    r.targets = [
      { impl: 'iocrate', vs: 'node:net', min: 2 },
      { impl: 'iocrate', vs: 'peer', min: 1.5 },
      { impl: 'fast', vs: 'peer', min: 1.0 },
    ];
    return r;
  };

  it('computes each target against its own peer and marks the baseline one in the ratio column', () => {
    const r = computeRatios(res());
    expect(r.targets.map((t) => [t.ratio, t.hit])).toEqual([[2.5, true], [1.25, false], [1.05, true]]);
    expect(r.rows.map((row) => row.hit)).toEqual([undefined, undefined, undefined, undefined]);
    const table = formatTable([r]);
    expect(table).toContain('2.50x hit (>=2x)');
    const summary = targetSummary([r]);
    expect(summary).toMatch(/^MISS +r — iocrate 1.25x vs peer \(target >= 1.5x/m);
    expect(summary).toMatch(/^hit +r — fast 1.05x vs peer/m);
    expect(validateReport(buildReport({ module: 'http', pinning: 'unpinned', results: [r] }))).toEqual([]);
  });

  it('adds a p99 column only when rows carry latency', () => {
    const r = computeRatios(res());
    expect(formatTable([r]).split('\n')[0]).not.toContain('p99');
    r.rows[0].p99Ms = 2.5;
    const lines = formatTable([r]).split('\n');
    expect(lines[0]).toMatch(/\| gen CPU \| p99 ms \| ratio vs peer$/);
    expect(lines[2]).toMatch(/\| +2\.50 \| baseline$/);
  });

  it('flags malformed targets', () => {
    const r = computeRatios(res());
    r.targets.push({ impl: 'x' });
    expect(validateReport(buildReport({ module: 'http', pinning: 'unpinned', results: [r] })).join()).toMatch(/targets\[3\]/);
  });
});

describe('JSON report', () => {
  const machine = { cpus: 2, model: 'AMD EPYC', node: 'v20.20.2', os: 'Debian', kernel: '6.1' };
  const good = () =>
    buildReport({
      module: 'net',
      pinning: 'server=cpu0 client=cpu1',
      machine,
      date: new Date('2025-01-01T00:00:00Z'),
      results: [computeRatios(result('higher', { 'node:net': 100, iocrate: null }, 1.5))],
    });

  it('accepts a well-formed report and keeps the documented shape', () => {
    const rep = JSON.parse(JSON.stringify(good()));
    expect(validateReport(rep)).toEqual([]);
    expect(rep).toMatchObject({ module: 'net', date: '2025-01-01T00:00:00.000Z', machine, pinning: 'server=cpu0 client=cpu1' });
    expect(Object.keys(rep.results[0].rows[0])).toEqual(expect.arrayContaining(['impl', 'rate', 'cpuPerOpUs', 'rssMB', 'ratio']));
    expect(validateReport({ ...rep, pinning: 'unpinned' })).toEqual([]);
  });

  it('flags schema violations', () => {
    const rep = good();
    rep.pinning = 'cpu0';
    rep.results[0].better = 'more';
    rep.results[0].rows[0].rate = 'fast';
    delete rep.results[0].rows[1].error;
    const errs = validateReport(rep);
    expect(errs.join('\n')).toMatch(/pinning/);
    expect(errs.join('\n')).toMatch(/better/);
    expect(errs.join('\n')).toMatch(/rate must be a number/);
    expect(errs.join('\n')).toMatch(/needs an error/);
  });
});

describe('command line', () => {
  it('parses module and flags with the documented defaults', () => {
    expect(parseArgs(['net'])).toMatchObject({ module: 'net', warmupMs: 3000, measureMs: 3000, unpinned: false, jsonOnly: false, generator: 'native' });
    expect(parseArgs(['tls', '--quick', '--unpinned', '--json-only'])).toMatchObject({ warmupMs: 1000, measureMs: 1000, unpinned: true, jsonOnly: true });
    expect(() => parseArgs(['net', '--bogus'])).toThrow(/unknown option/);
    expect(() => parseArgs(['../x'])).toThrow(/bad module/);
  });

  it('--only selects results by case-insensitive substring of their name', () => {
    expect(parseArgs(['http']).only).toBeNull();
    expect(parseArgs(['http', '--only=HTTPS']).only).toBe('HTTPS');
    expect(() => parseArgs(['http', '--only='])).toThrow(/non-empty/);
    expect(selected(null, 'http hello')).toBe(true);
    expect(selected('HTTPS', 'https hello')).toBe(true);
    expect(selected('https', 'http hello')).toBe(false);
    expect(selected('http hello', 'http hello pipelined x16')).toBe(true);
  });
});
