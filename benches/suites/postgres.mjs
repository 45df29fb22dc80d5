// postgres suite: PostgreSQL clients against one dedicated PostgreSQL 15 (client CPU per query/row, rate, latency),
// postgres.js (baseline) against pg, pg-native, @iocrate/postgres and psql (the native ceiling, 1M rows only).
//
//   pg select c=1         one caller awaiting `select $1::int as n` one at a time: rate, latency p50/p99
//   pg select c=50        50 callers on ONE connection: iocrate and postgres.js pipeline what they issue; pg (and
//                         pg-native) queue the queries and keep one on the wire at a time
//   pg 1M rows            ROWS_QUERY over generate_series(1, 1000000) fetched into JS objects (cursors of 5000 rows
//                         where the library has them); derived: client CPU/row, wall time, peak RSS
//   pg copy in 1M rows    COPY bench_load FROM STDIN, 1M rows of text written by the client
//   pg multi-row insert   1M rows as INSERT … VALUES (…) × 1000 (5 parameters a row), one statement at a time
//
// The server: initdb into a temp dir (as the `postgres` OS user when we are root, like scripts/services.sh pg_run),
// trust auth on 127.0.0.1, fsync/synchronous_commit/full_page_writes off, autovacuum and JIT off, started once for
// the suite on a free port and pinned to the server CPU; the clients (clients/postgres-client.mjs, psql) run
// pinned to the other CPU. What is measured is the client, as in the redis suite: `cpuPerOpUs` is the client's CPU
// per query (or row), `genCpuPct` the server's CPU use (postmaster and every backend, reaped ones included),
// `rssMB` the client's RSS (1M rows, copy, insert: its peak, VmHWM).
//
// ctx.only (run.mjs --only=TEXT): only the results whose name contains TEXT are run.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus as osCpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { selected } from '../lib/cli.mjs';
import { clientSideRow, script } from '../lib/measure.mjs';
import { Child, Unavailable, clockTicks, cpuNs, sleep, statCpuNs, track } from '../lib/proc.mjs';
import { round } from '../lib/report.mjs';
import { freePort } from './redis.mjs';

/** run.mjs: this suite honours --only (ctx.only). */
export const supportsOnly = true;

export const PG_BIN = process.env.IOCRATE_BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const CALLERS = 50;
export const ROWS = 1_000_000;
/** Rows of the warm-up runs of the 1M-row results (repeated for the warm-up window). */
export const WARM_ROWS = 100_000;
export const CURSOR_BATCH = 5000;
export const INSERT_BATCH = 1000;
/** c=50: one query in 8 is timed. */
export const LATENCY_EVERY = 8;
const MiB = 1024 * 1024;
export const TABLE = 'bench_load';
/** Server settings (`-c`): no durability work, no background maintenance, no JIT, no checkpoint during a run. */
// prettier-ignore
export const SETTINGS = ['listen_addresses=127.0.0.1', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'autovacuum=off',
  'jit=off', 'max_wal_size=8GB', 'checkpoint_timeout=1h', 'max_connections=20', 'logging_collector=off', 'log_min_messages=warning'];

export const rowsQuery = (n) =>
  `select i, md5(i::text), (i*1.5)::numeric, now() + i * interval '1 second', i % 2 = 0 from generate_series(1, ${Number(n)}) i`;

// Rows per result (baseline first).
export const IMPLS = {
  c1: ['postgres.js', 'pg', 'pg-native', 'iocrate'],
  c50: ['postgres.js', 'pg', 'pg-native', 'iocrate'],
  rows: ['postgres.js', 'pg', 'pg-native', 'iocrate', 'psql', 'psql-copy'],
  copy: ['postgres.js', 'pg', 'iocrate'],
  insert: ['postgres.js', 'pg', 'iocrate'],
};
export const NAMES = {
  c1: 'pg select c=1',
  c50: `pg select c=${CALLERS}`,
  rows: 'pg 1M rows',
  rowsCpu: 'pg 1M rows client CPU',
  rowsWall: 'pg 1M rows wall',
  rowsRss: 'pg 1M rows peak RSS',
  copy: 'pg copy in 1M rows',
  insert: 'pg multi-row insert',
};

/** Arguments of clients/postgres-client.mjs for a row (without --port). */
export function clientArgs(impl, workload) {
  if (!['iocrate', 'postgres.js', 'pg', 'pg-native'].includes(impl)) throw new Error(`no postgres client for ${impl}`);
  const args = [`--impl=${impl}`];
  if (workload === 'c1') args.push('--mode=select', '--callers=1');
  else if (workload === 'c50') args.push('--mode=select', `--callers=${CALLERS}`, `--latency-every=${LATENCY_EVERY}`);
  else if (workload === 'rows') args.push('--mode=rows', `--batch=${CURSOR_BATCH}`);
  else if (workload === 'copy') args.push('--mode=copy');
  else if (workload === 'insert') args.push('--mode=insert', `--batch=${INSERT_BATCH}`);
  else throw new Error(`unknown workload ${workload}`);
  return args;
}

/** Runs `argv` as the data directory's owner: the `postgres` OS user when we are root. */
function asOwner(argv) {
  if (process.getuid?.() !== 0) return argv;
  return ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', ...argv];
}

function postgresIds() {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Unavailable('running as root and there is no `postgres` OS user to run the server as');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** `psql` argv against the suite's server (trust, user postgres). */
export function psqlArgv(port, extra) {
  return [join(PG_BIN, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', ...extra];
}

/** The children of `pid` (from /proc/<pid>/task/<pid>/children, else a /proc scan). */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** utime+stime+cutime+cstime of `pid` (reaped children included) in ns; tick resolution. */
function statTotalNs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1e9) / clockTicks();
}

/**
 * Starts the suite's PostgreSQL: initdb (trust, C locale, UTF8) into a temp dir owned by the `postgres` OS user
 * when root, then `postgres -D … -p <free port> -k <dir>` listening on 127.0.0.1 only, pinned to `cpu`, and waits
 * until `pg_isready` says yes. Creates the table of the COPY/INSERT results. Returns { port, pid, version, dir,
 * cpuNs() (server and all its processes, exited backends included), rssBytes(), psql(sql), checkpoint(), stop() }.
 */
export async function startPostgres({ cpu = null, bin = PG_BIN } = {}) {
  const version = spawnSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) throw new Unavailable(`${join(bin, 'postgres')}: ${version.error?.code === 'ENOENT' ? 'not installed' : 'does not run'}`);
  const owner = process.getuid?.() === 0 ? postgresIds() : null;
  let lastErr;
  // A port picked free may be taken before the server binds it: up to three attempts, each from a fresh initdb.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'iocrate-bench-pg-'));
    const data = join(dir, 'data');
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const initArgv = asOwner([join(bin, 'initdb'), '-D', data, '--no-sync', '--no-instructions', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--auth=trust']);
    const init = spawnSync(initArgv[0], initArgv.slice(1), { encoding: 'utf8', cwd: dir });
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${(init.stderr || init.stdout || String(init.error)).trim().split('\n').slice(-2).join(' | ')}`);
    }
    const port = await freePort();
    const argv = asOwner([join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, ...SETTINGS.flatMap((s) => ['-c', s])]);
    const child = track(new Child(argv[0], argv.slice(1), { cpu, exec: true, name: 'postgres' }));
    const pid = child.pid;
    // If the harness dies, the postmaster (which does not watch its stdin) must not outlive it.
    const onExit = () => {
      try {
        if (!child.exited) process.kill(pid, 'SIGQUIT'); // immediate shutdown: the postmaster takes its backends along
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    };
    process.on('exit', onExit);
    const stop = async () => {
      process.off('exit', onExit);
      if (!child.exited) {
        child.proc.kill('SIGINT'); // fast shutdown
        const t = setTimeout(() => child.proc.kill('SIGQUIT'), 5000);
        await child.exitPromise;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    const psql = (sql) => {
      const a = psqlArgv(port, ['-At', '-c', sql]);
      const p = spawnSync(a[0], a.slice(1), { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`psql -c ${JSON.stringify(sql)}: ${(p.stderr || String(p.error)).trim()}`);
      return p.stdout.trim();
    };
    const t0 = performance.now();
    while (!child.exited && performance.now() - t0 < 15000) {
      const r = spawnSync(join(bin, 'pg_isready'), ['-q', '-t', '1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres']);
      if (r.status === 0) {
        psql(`create unlogged table if not exists ${TABLE} (i int, t text, n numeric, ts timestamptz, b bool)`);
        return {
          port,
          pid,
          version: version.stdout.trim(),
          dir,
          child,
          /** Server CPU in ns: the postmaster (its reaped children included) plus every live child. */
          cpuNs: () => statTotalNs(pid) + childrenOf(pid).reduce((sum, c) => sum + safeCpuNs(c), 0),
          rssBytes: () => child.rssBytes(),
          psql,
          stop,
        };
      }
      await sleep(50);
    }
    lastErr = new Error(`postgres on port ${port} ${child.exited ? `exited (${child.exitCode})` : 'not ready within 15 s'}: ${child.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    await stop();
  }
  throw lastErr;
}

function safeCpuNs(pid) {
  try {
    return cpuNs(pid);
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine (the aggregate `cpu` line of /proc/stat). */
function machineJiffies() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((x, y) => x + y, 0);
    return { busy: total - f[3] - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/**
 * CPU used by other processes during a window, in % of one CPU: the machine's busy time minus the client's and the
 * server's (tick resolution, so a few % either way). Well above zero means the row competed with other work.
 */
function otherCpuPct(j0, j1, clientPct, serverPct) {
  if (!j0 || !j1 || j1.total <= j0.total || clientPct == null || serverPct == null) return null;
  const machinePct = ((j1.busy - j0.busy) / (j1.total - j0.total)) * osCpus().length * 100;
  return Math.max(0, Math.round(machinePct - clientPct - serverPct));
}

/** Peak RSS (VmHWM) of a process in bytes, or null. */
export function peakRssBytes(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function errorRow(impl, err) {
  const reason = err instanceof Unavailable ? err.message : `failed: ${err.message}`;
  return { impl, rate: null, cpuPerOpUs: null, rssMB: null, ratio: null, p99Ms: null, error: reason.slice(0, 200) };
}

/**
 * A select row: client child ready → warm-up window → sample → measured window → sample (with latency). rate =
 * queries answered per second (client clock); cpuPerOpUs = client CPU per query; genCpuPct = server CPU use;
 * p50Ms/p99Ms per query.
 */
export async function measureSelect(ctx, srv, { impl, args }) {
  let gen;
  try {
    gen = track(new Child(script('clients/postgres-client.mjs'), [`--port=${srv.port}`, ...args], { cpu: ctx.clientCpu, name: `${impl} client` }));
    const info = await gen.ready(30000);
    await sleep(ctx.warmupMs);
    const sample = async (latency) => {
      const s = srv.cpuNs();
      const g = gen.cpuNs();
      const j = machineJiffies();
      const r = await gen.request({ cmd: 'sample', latency });
      return { ...r, srvCpu: s, genCpu: g, j };
    };
    const a = await sample(false);
    await sleep(ctx.measureMs);
    const b = await sample(true);
    if (srv.child.exited) throw new Error('postgres exited');
    if (gen.exited) throw new Error(`client exited: ${gen.stderr.trim().slice(-200)}`);
    const { secs, errors, row } = clientSideRow(impl, a, b, gen, { noun: 'queries', answers: 'answers' });
    const lat = b.latencyMs;
    return {
      ...row,
      otherCpuPct: otherCpuPct(a.j, b.j, ((b.genCpu - a.genCpu) / (secs * 1e9)) * 100, ((b.srvCpu - a.srvCpu) / (secs * 1e9)) * 100),
      p50Ms: lat?.p50 ?? null,
      p99Ms: lat?.p99 ?? null,
      latencyMs: lat,
      how: info.how,
      ...(errors ? { errors, lastError: b.lastError } : {}),
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await gen?.stop();
  }
}

/**
 * A batch row (1M rows, COPY, INSERT): client child ready → runs of WARM_ROWS for the warm-up window → CHECKPOINT →
 * measured runs of `rows` (at least one; more while the measured window lasts, at most `maxRuns`). rate = rows per
 * second of the runs' own time (client clock, query sent → last row); cpuPerOpUs = client CPU µs per row;
 * rssMB = the client's peak RSS (VmHWM); genCpuPct = server CPU use over the runs; wallMs = mean time of a run.
 */
export async function measureBatch(ctx, srv, { impl, args, rows = ROWS, warmRows = WARM_ROWS, maxRuns = 3 }) {
  let gen;
  try {
    gen = track(new Child(script('clients/postgres-client.mjs'), [`--port=${srv.port}`, ...args], { cpu: ctx.clientCpu, name: `${impl} client` }));
    const info = await gen.ready(30000);
    const run = async (n) => {
      const r = await gen.request({ cmd: 'run', rows: n }, 300000);
      if (r.error) throw new Error(r.error);
      return r;
    };
    const w0 = performance.now();
    do await run(warmRows);
    while (performance.now() - w0 < ctx.warmupMs);
    srv.psql('checkpoint');
    let total = 0;
    let ms = 0;
    let runs = 0;
    const j0 = machineJiffies();
    const s0 = srv.cpuNs();
    const g0 = gen.cpuNs();
    const t0 = performance.now();
    do {
      const r = await run(rows);
      total += r.rows;
      ms += r.ms;
      runs++;
    } while (runs < maxRuns && performance.now() - t0 < ctx.measureMs);
    const secs = (performance.now() - t0) / 1000;
    const g1 = gen.cpuNs();
    const s1 = srv.cpuNs();
    const j1 = machineJiffies();
    const peak = peakRssBytes(gen.pid);
    if (srv.child.exited) throw new Error('postgres exited');
    return {
      impl,
      rate: round(total / (ms / 1000), 0),
      cpuPerOpUs: round((g1 - g0) / total / 1000, 4),
      rssMB: peak == null ? null : round(peak / MiB, 1),
      ratio: null,
      genCpuPct: round(((s1 - s0) / (secs * 1e9)) * 100, 0),
      clientCpuPct: round(((g1 - g0) / (secs * 1e9)) * 100, 0),
      otherCpuPct: otherCpuPct(j0, j1, ((g1 - g0) / (secs * 1e9)) * 100, ((s1 - s0) / (secs * 1e9)) * 100),
      serverCpuPerOpUs: round((s1 - s0) / total / 1000, 4),
      wallMs: round(ms / runs, 1),
      peakRssMB: peak == null ? null : round(peak / MiB, 1),
      runs,
      how: info.how,
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await gen?.stop();
  }
}

/** psql argv for the rows result: `psql` prints every row (-At, to /dev/null); `psql-copy` streams `\copy … to /dev/null`. */
export function psqlRowsArgv(impl, port, n) {
  if (impl === 'psql') return psqlArgv(port, ['-At', '-c', rowsQuery(n)]);
  if (impl === 'psql-copy') return psqlArgv(port, ['-c', `\\copy (${rowsQuery(n)}) to '/dev/null'`]);
  throw new Error(`no psql variant ${impl}`);
}

/**
 * Runs psql once under `/usr/bin/time` (pinned to `cpu`), stdout to /dev/null. Resolves { ms (spawn → exit, the
 * connection included), cpuNs (user + sys, 10 ms resolution), peakRssBytes (max RSS) }.
 */
export function runPsql(argv, cpu = null) {
  let full = ['/usr/bin/time', '-f', '@time %e %U %S %M', ...argv];
  if (cpu !== null) full = ['taskset', '-c', String(cpu), ...full];
  const devnull = openSync('/dev/null', 'w');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(full[0], full.slice(1), { stdio: ['ignore', devnull, 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    const killer = setTimeout(() => p.kill('SIGKILL'), 300000);
    p.on('error', (e) => {
      clearTimeout(killer);
      closeSync(devnull);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(killer);
      closeSync(devnull);
      const ms = performance.now() - t0;
      const m = /^@time ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/m.exec(err);
      if (code !== 0 || !m) return reject(new Error(`psql exited ${code}: ${err.replace(/^@time.*$/m, '').trim().split('\n').slice(-2).join(' | ')}`));
      resolve({ ms, cpuNs: (Number(m[2]) + Number(m[3])) * 1e9, peakRssBytes: Number(m[4]) * 1024 });
    });
  });
}

/** The psql rows (the native ceiling): warm-up runs of WARM_ROWS, then measured runs of `rows`, as measureBatch. */
export async function measurePsqlRows(ctx, srv, { impl, rows = ROWS, warmRows = WARM_ROWS, maxRuns = 3 }) {
  try {
    const w0 = performance.now();
    do await runPsql(psqlRowsArgv(impl, srv.port, warmRows), ctx.clientCpu);
    while (performance.now() - w0 < ctx.warmupMs);
    srv.psql('checkpoint');
    let ms = 0;
    let cpu = 0;
    let peak = 0;
    let runs = 0;
    const j0 = machineJiffies();
    const s0 = srv.cpuNs();
    const t0 = performance.now();
    do {
      const r = await runPsql(psqlRowsArgv(impl, srv.port, rows), ctx.clientCpu);
      ms += r.ms;
      cpu += r.cpuNs;
      peak = Math.max(peak, r.peakRssBytes);
      runs++;
    } while (runs < maxRuns && performance.now() - t0 < ctx.measureMs);
    const secs = (performance.now() - t0) / 1000;
    const s1 = srv.cpuNs();
    const j1 = machineJiffies();
    const total = rows * runs;
    return {
      impl,
      rate: round(total / (ms / 1000), 0),
      cpuPerOpUs: round(cpu / total / 1000, 4),
      rssMB: round(peak / MiB, 1),
      ratio: null,
      genCpuPct: round(((s1 - s0) / (secs * 1e9)) * 100, 0),
      clientCpuPct: round((cpu / (ms * 1e6)) * 100, 0),
      otherCpuPct: otherCpuPct(j0, j1, (cpu / (secs * 1e9)) * 100, ((s1 - s0) / (secs * 1e9)) * 100),
      serverCpuPerOpUs: round((s1 - s0) / total / 1000, 4),
      wallMs: round(ms / runs, 1),
      peakRssMB: round(peak / MiB, 1),
      runs,
      how: psqlRowsArgv(impl, 'PORT', rows).slice(1).join(' ').replace(rowsQuery(rows), '<query>'),
    };
  } catch (err) {
    return errorRow(impl, err);
  }
}

/** Derived results of the 1M-row runs: client CPU/row, wall and peak RSS as figures where lower is better. */
export function derivedRowsResults(rows, params) {
  const pick = (key, scale = 1) =>
    rows.map((r) =>
      r.error || r[key] == null
        ? { impl: r.impl, rate: null, cpuPerOpUs: null, rssMB: null, ratio: null, error: r.error ?? `no ${key}` }
        : { impl: r.impl, rate: round(r[key] * scale, 4), cpuPerOpUs: null, rssMB: null, ratio: null },
    );
  return [
    // Target (task): iocrate's client CPU per row <= half of postgres.js's: ratio postgres.js/iocrate >= 2.
    { name: NAMES.rowsCpu, unit: 'µs/row', better: 'lower', baseline: 'postgres.js', targets: [{ impl: 'iocrate', vs: 'postgres.js', min: 2 }], params: { ...params, figure: `client CPU µs per row in the ${NAMES.rows} runs` }, rows: pick('cpuPerOpUs') },
    // Target: iocrate's wall time within 10 % of psql's: psql/iocrate >= 1/1.1.
    { name: NAMES.rowsWall, unit: 's', better: 'lower', baseline: 'psql', targets: [{ impl: 'iocrate', vs: 'psql', min: 0.909 }], params: { ...params, figure: `mean wall time of one ${ROWS}-row run (target: within 10 % of psql's)` }, rows: pick('wallMs', 1 / 1000) },
    // Target: iocrate's peak RSS <= postgres.js's.
    { name: NAMES.rowsRss, unit: 'MB', better: 'lower', baseline: 'postgres.js', targets: [{ impl: 'iocrate', vs: 'postgres.js', min: 1 }], params: { ...params, figure: 'peak RSS (VmHWM) of the client process over its runs' }, rows: pick('peakRssMB') },
  ];
}

export async function run(ctx) {
  const want = (name) => selected(ctx.only, name);
  const results = [];
  let srv;
  try {
    srv = await startPostgres({ cpu: ctx.serverCpu });
  } catch (err) {
    const row = errorRow('postgres.js', err);
    return [{ name: NAMES.c1, unit: 'queries/s', better: 'higher', baseline: 'postgres.js', params: {}, rows: [row] }];
  }
  const common = {
    server: `${srv.version}; initdb --locale=C, trust on 127.0.0.1, ${SETTINGS.filter((s) => !s.startsWith('listen') && !s.startsWith('log')).join(' ')}; one server for the suite, pinned to the server CPU`,
    native: process.env.IOCRATE_NATIVE_PATH ? `IOCRATE_NATIVE_PATH=${process.env.IOCRATE_NATIVE_PATH}` : 'bindings/node (npm run bench builds it in release mode)',
    client: 'clients/postgres-client.mjs, one connection per client; each library with its defaults',
    pgNative: 'pg.native (pg-native, libpq): a row only when pg-native is installed',
  };
  try {
    const base = { unit: 'queries/s', opUnit: 'query', cpuOf: 'client', better: 'higher', baseline: 'postgres.js' };
    const selectRows = async (workload) => {
      const out = [];
      for (const impl of IMPLS[workload]) {
        ctx.log(`  ${NAMES[workload]}: ${impl}`);
        out.push(await measureSelect(ctx, srv, { impl, args: clientArgs(impl, workload) }));
      }
      return out;
    };
    if (want(NAMES.c1)) {
      results.push({ name: NAMES.c1, ...base, params: { ...common, query: 'select $1::int as n', callers: 1, latency: 'per query, call to answer' }, rows: await selectRows('c1') });
    }
    if (want(NAMES.c50)) {
      results.push({
        name: NAMES.c50,
        ...base,
        // Target (task): iocrate >= 1.5x postgres.js, both pipelining on one connection.
        targets: [{ impl: 'iocrate', vs: 'postgres.js', min: 1.5 }],
        params: {
          ...common,
          query: 'select $1::int as n',
          callers: CALLERS,
          connections: 1,
          pipelining: 'iocrate: queries of one tick share a write; postgres.js: pipelines on its connection; pg and pg-native: no pipelining, the client queues the 50 callers and keeps one query on the wire',
          latency: `per query, call to answer, one query in ${LATENCY_EVERY} timed`,
        },
        rows: await selectRows('c50'),
      });
    }
    const rowsNames = [NAMES.rows, NAMES.rowsCpu, NAMES.rowsWall, NAMES.rowsRss];
    if (rowsNames.some(want)) {
      const rows = [];
      for (const impl of IMPLS.rows) {
        ctx.log(`  ${NAMES.rows}: ${impl}`);
        if (impl.startsWith('psql')) rows.push(await measurePsqlRows(ctx, srv, { impl }));
        else rows.push(await measureBatch(ctx, srv, { impl, args: clientArgs(impl, 'rows') }));
      }
      const params = {
        ...common,
        rows: ROWS,
        query: rowsQuery(ROWS),
        objects: 'rows as JS objects; the timestamp and the boolean columns are both named "?column?", so an object keeps the boolean (every column is still decoded)',
        cursors: `postgres.js .cursor(${CURSOR_BATCH}), pg pg-cursor read(${CURSOR_BATCH}), iocrate cursor(…, { batchSize: ${CURSOR_BATCH} }) when the API exists (see each row's "how"); pg-native: one query`,
        psql: `psql -At -c (every row printed to /dev/null; libpq holds the whole result first), psql-copy: \\copy (…) to '/dev/null'; their wall includes starting psql and connecting`,
        warmup: `runs of ${WARM_ROWS} rows for the warm-up window, then CHECKPOINT, then 1–3 runs of ${ROWS} rows`,
        rssMB: 'the client process peak RSS (VmHWM)',
      };
      results.push({ name: NAMES.rows, unit: 'rows/s', opUnit: 'row', cpuOf: 'client', better: 'higher', baseline: 'postgres.js', params, rows });
      results.push(...derivedRowsResults(rows, { rows: ROWS }));
    }
    for (const workload of ['copy', 'insert']) {
      if (!want(NAMES[workload])) continue;
      const rows = [];
      for (const impl of IMPLS[workload]) {
        ctx.log(`  ${NAMES[workload]}: ${impl}`);
        rows.push(await measureBatch(ctx, srv, { impl, args: clientArgs(impl, workload), maxRuns: 1 }));
      }
      const what =
        workload === 'copy'
          ? { copy: 'COPY bench_load (i, t, n, ts, b) FROM STDIN, text format, written in chunks of 1000 rows with backpressure; postgres.js .writable(), pg pg-copy-streams from(), iocrate copyFrom() when the API exists' }
          : { insert: `INSERT INTO bench_load (i, t, n, ts, b) VALUES (…) × ${INSERT_BATCH} rows (5 parameters each), one statement awaited at a time; postgres.js sql\`insert … \${sql(rows, columns)}\`, pg and iocrate query(text, params)` };
      results.push({
        name: NAMES[workload],
        unit: 'rows/s',
        opUnit: 'row',
        cpuOf: 'client',
        better: 'higher',
        baseline: 'postgres.js',
        params: { ...common, rows: ROWS, table: 'unlogged bench_load (i int, t text, n numeric, ts timestamptz, b bool), TRUNCATEd before each run', ...what, warmup: `runs of ${WARM_ROWS} rows for the warm-up window, then CHECKPOINT, then one run of ${ROWS} rows` },
        rows,
      });
    }
  } finally {
    await srv.stop();
  }
  for (const res of results)
    for (const row of res.rows)
      if (row.otherCpuPct > 15) ctx.log(`warning: ${res.name} ${row.impl}: other processes used ${row.otherCpuPct}% of a CPU during the row; its numbers are noisy`);
  return results;
}
