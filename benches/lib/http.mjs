// HTTP measurement (http suite): wrk as the load generator, its output parsed (requests, req/s, latency
// percentiles, errors), server CPU from /proc around the measured wrk run; and HTTP client rows, where the
// client under test is the load and a fixed server (nginx) is the target.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Child, Unavailable, cpuNs, rssBytes, sleep, track } from './proc.mjs';
import { round } from './report.mjs';
import { clientSideRow, script } from './measure.mjs';

const MiB = 1024 * 1024;
export const WRK = process.env.IOCRATE_BENCH_WRK ?? 'wrk';

/** Whether wrk runs here (null) or why not (a string). */
export function wrkMissing(bin = WRK) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error) return `${bin}: ${r.error.code === 'ENOENT' ? 'not installed' : r.error.message}`;
  return /wrk/i.test(r.stdout + r.stderr) ? null : `${bin} --version printed no version`;
}

const TIME_MS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
/** wrk time strings ("157.00us", "3.06ms", "1.00s", "1.00m") → ms. */
export function wrkTimeMs(s) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(String(s).trim());
  return m ? Number(m[1]) * TIME_MS[m[2]] : null;
}

/**
 * Parses wrk's text output (run with --latency). Returns
 * { requests, durationS, rate, latencyMs: { avg, max, p50, p75, p90, p99 }, non2xx, socketErrors: { connect, read, write, timeout } }.
 * A field wrk did not print is null (non2xx and the socket errors default to 0: wrk prints them only when non-zero).
 */
export function parseWrk(text) {
  const out = { requests: null, durationS: null, rate: null, latencyMs: { avg: null, max: null, p50: null, p75: null, p90: null, p99: null }, non2xx: 0, socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 } };
  let m = /^\s*(\d+) requests in ([\d.]+\w+),/m.exec(text);
  if (m) {
    out.requests = Number(m[1]);
    const ms = wrkTimeMs(m[2]);
    out.durationS = ms == null ? null : ms / 1000;
  }
  if ((m = /^Requests\/sec:\s+([\d.]+)/m.exec(text))) out.rate = Number(m[1]);
  if ((m = /^\s*Latency\s+(\S+)\s+\S+\s+(\S+)\s+\S+\s*$/m.exec(text))) {
    out.latencyMs.avg = wrkTimeMs(m[1]);
    out.latencyMs.max = wrkTimeMs(m[2]);
  }
  for (const p of [50, 75, 90, 99]) {
    const r = new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, 'm').exec(text);
    if (r) out.latencyMs[`p${p}`] = wrkTimeMs(r[1]);
  }
  // wrk occasionally prints 0 for high percentiles (a race in its histogram merge): a percentile that is
  // 0 or below a lower one is not trusted.
  let prev = 0;
  for (const p of ['p50', 'p75', 'p90', 'p99']) {
    const v = out.latencyMs[p];
    if (v != null && (v <= 0 || v < prev)) out.latencyMs[p] = null;
    else if (v != null) prev = v;
  }
  if ((m = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text))) out.non2xx = Number(m[1]);
  if ((m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)))
    out.socketErrors = { connect: Number(m[1]), read: Number(m[2]), write: Number(m[3]), timeout: Number(m[4]) };
  return out;
}

/** wrk argv (pinned with taskset when `cpu` is set). One thread: the generator has one CPU. */
export function wrkArgv({ url, conns, secs, cpu = null, luaScript = null, scriptArgs = [], timeoutS = 5, bin = WRK }) {
  let argv = [bin, '-t1', `-c${conns}`, `-d${secs}s`, `--timeout`, `${timeoutS}s`, '--latency'];
  if (luaScript) argv.push('-s', luaScript);
  argv.push(url);
  if (scriptArgs.length) argv.push('--', ...scriptArgs.map(String));
  if (cpu !== null) argv = ['taskset', '-c', String(cpu), ...argv];
  return argv;
}

/** Runs wrk to completion; returns { text, parsed, genCpuPct } (wrk's CPU sampled every 100 ms while it runs). */
export function runWrk(opts) {
  const argv = wrkArgv(opts);
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    const t0 = performance.now();
    let last = null;
    const poll = setInterval(() => {
      try {
        // A sample taken as wrk exits can read 0 (zombie): keep the last increasing one.
        const cpu = cpuNs(p.pid);
        if (!last || cpu >= last.cpu) last = { cpu, t: performance.now() };
      } catch {}
    }, 100);
    const killer = setTimeout(() => p.kill('SIGKILL'), opts.secs * 1000 + 30000);
    p.on('error', (e) => {
      clearInterval(poll);
      clearTimeout(killer);
      reject(e);
    });
    p.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(killer);
      const parsed = parseWrk(text);
      if (code !== 0 || parsed.requests == null) return reject(new Error(`wrk exited ${code}: ${(err || text).trim().split('\n').slice(-2).join(' | ')}`));
      const genCpuPct = last && last.t > t0 ? round((last.cpu / ((last.t - t0) * 1e6)) * 100, 0) : null;
      resolve({ text, parsed, genCpuPct });
    });
  });
}

/**
 * One request over HTTPS with node:https (fetch cannot trust a self-signed certificate without undici):
 * `ca` is the PEM the server's certificate must chain to. Resolves { status, text, type, tls: "TLSv1.3 <cipher>" }.
 */
export function httpsOnce(port, { method = 'GET', path = '/', body, ca, timeoutMs = 10000 }) {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, method, ca, servername: 'localhost', agent: false, timeout: timeoutMs };
    if (body) opts.headers = { 'content-type': 'application/octet-stream', 'content-length': body.length };
    const get = method === 'GET' && !body; // https.get ends the request itself
    const req = (get ? https.get : https.request)(opts, (res) => {
      const cipher = res.socket.getCipher?.()?.name;
      const tls = `${res.socket.getProtocol?.() ?? '?'} ${cipher ?? '?'}`;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text, type: res.headers['content-type'] ?? '', tls }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`https check timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (!get) req.end(body);
  });
}

/**
 * One request with fetch to check that a server gives the expected answer before it is loaded:
 * check = { method, path, body, status, text, type (RegExp for Content-Type) }. Throws on mismatch.
 * With `tls` ({ ca: PEM }) the request goes over HTTPS through node:https, and the result carries the
 * negotiated protocol and cipher (`tls`, as node's client sees them).
 */
export async function checkOnce(port, check, tls = null) {
  let res;
  if (tls) {
    res = await httpsOnce(port, { method: check.method ?? 'GET', path: check.path ?? '/', body: check.body, ca: tls.ca });
  } else {
    const r = await fetch(`http://127.0.0.1:${port}${check.path ?? '/'}`, {
      method: check.method ?? 'GET',
      body: check.body,
      headers: check.body ? { 'content-type': 'application/octet-stream' } : undefined,
      signal: AbortSignal.timeout(10000),
    });
    res = { status: r.status, text: await r.text(), type: r.headers.get('content-type') ?? '' };
  }
  const text = res.text;
  const want = check.status ?? 200;
  if (res.status !== want) throw new Error(`check: status ${res.status}, want ${want} (${text.slice(0, 80)})`);
  if (check.text !== undefined && text !== check.text) throw new Error(`check: body ${JSON.stringify(text.slice(0, 80))}, want ${JSON.stringify(check.text)}`);
  const type = res.type;
  if (check.type && !check.type.test(type)) throw new Error(`check: content-type "${type}", want ${check.type}`);
  return { status: res.status, text, type, ...(res.tls ? { tls: res.tls } : {}) };
}

/**
 * CPU ns and RSS bytes of a server child; when it reported `cpuPids` (a wrapper such as servers/nginx.mjs),
 * of those processes instead (the idle wrapper is left out).
 */
function serverCpuNs(srv, info) {
  if (!info.cpuPids?.length) return srv.cpuNs();
  return info.cpuPids.reduce((n, pid) => n + safe(() => cpuNs(pid), 0), 0);
}
function serverRss(srv, info) {
  if (!info.cpuPids?.length) return safe(() => srv.rssBytes(), null);
  return info.cpuPids.reduce((n, pid) => n + (safe(() => rssBytes(pid), 0) ?? 0), 0);
}
function safe(fn, dflt) {
  try {
    return fn();
  } catch {
    return dflt;
  }
}

function errorRow(impl, err) {
  const reason = err instanceof Unavailable ? err.message : `failed: ${err.message}`;
  return { impl, rate: null, cpuPerOpUs: null, rssMB: null, ratio: null, p99Ms: null, error: reason.slice(0, 200) };
}

/** Starts a server child and stops it again: { port } or { error }. */
export async function probeServer(server, cpu = null) {
  const srv = track(new Child(script(server.script), server.args ?? [], { cpu, name: 'probe' }));
  try {
    const info = await srv.ready();
    return { port: info.port };
  } catch (err) {
    return { error: String(err.message).slice(0, 200) };
  } finally {
    await srv.stop();
  }
}

const secsOf = (ms) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Server child + wrk. Start server → ready → one checked request → wrk for the warm-up window → CPU sample
 * → wrk for the measured window → CPU sample. rate = wrk's Requests/sec (÷ opScale); cpuPerOpUs = server
 * CPU over the measured wrk run ÷ its requests; p99Ms etc. from wrk's latency distribution.
 * A run with non-2xx answers or socket errors above 1 % of the requests is reported as failed.
 * tls ({ cert }): the server speaks HTTPS; wrk gets an https:// URL and the row records the protocol and cipher
 * node's client negotiated in the check (`tls`).
 * latency: false leaves p99Ms null — for pipelined runs, where wrk's latency figures are wrong: its
 * coordinated-omission correction (stats_correct) takes the per-connection interval as runtime ÷ (requests ÷
 * connections), 16× too short with 16 requests per round trip, and fills the histogram with synthetic entries,
 * some below its minimum, so percentiles come out too low or 0.
 */
export async function measureWrk(ctx, { impl, server, check, path = '/', conns = 64, luaScript = null, scriptArgs = [], opScale = 1, latency = true, tls = null }) {
  let srv;
  try {
    srv = track(new Child(script(server.script), server.args ?? [], { cpu: ctx.serverCpu, name: `${impl} server` }));
    const info = await srv.ready();
    // tls ({ cert: path }): HTTPS — the check trusts that certificate, wrk (OpenSSL) does not verify it.
    const checked = check ? await checkOnce(info.port, check, tls && { ca: readFileSync(tls.cert, 'utf8') }) : null;
    const wrkOpts = { url: `${tls ? 'https' : 'http'}://127.0.0.1:${info.port}${path}`, conns, cpu: ctx.clientCpu, luaScript: luaScript && script(luaScript), scriptArgs };
    await runWrk({ ...wrkOpts, secs: secsOf(ctx.warmupMs) });
    const c0 = serverCpuNs(srv, info);
    const { parsed: w, genCpuPct } = await runWrk({ ...wrkOpts, secs: secsOf(ctx.measureMs) });
    const c1 = serverCpuNs(srv, info);
    const rss = serverRss(srv, info);
    if (srv.exited) throw new Error(`server exited: ${srv.stderr.trim().slice(-200)}`);
    const sockErr = Object.values(w.socketErrors).reduce((a, b) => a + b, 0);
    if (!(w.requests > 0)) throw new Error(`no responses (socket errors: ${JSON.stringify(w.socketErrors)})`);
    if (w.non2xx > w.requests * 0.01) throw new Error(`${w.non2xx} of ${w.requests} responses were not 2xx/3xx`);
    if (sockErr > w.requests * 0.01) throw new Error(`socket errors ${JSON.stringify(w.socketErrors)} for ${w.requests} responses`);
    const units = w.requests / opScale;
    return {
      impl,
      rate: round(w.rate / opScale, 1),
      cpuPerOpUs: round((c1 - c0) / units / 1000, 3),
      rssMB: rss == null ? null : round(rss / MiB, 1),
      ratio: null,
      genCpuPct,
      p99Ms: latency ? round(w.latencyMs.p99, 3) : null,
      ...(latency ? { latencyMs: w.latencyMs } : {}),
      requests: w.requests,
      ...(checked?.tls ? { tls: checked.tls } : {}),
      ...(w.non2xx ? { non2xx: w.non2xx } : {}),
      ...(sockErr ? { socketErrors: w.socketErrors } : {}),
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await srv?.stop();
  }
}

/**
 * HTTP client rows: a fixed target server pinned to the server CPU, the client under test (a child speaking
 * the sample protocol, pinned to the client CPU) as the load. rate = client-counted responses/s;
 * cpuPerOpUs = the CLIENT's CPU per request; genCpuPct = the TARGET server's CPU use (≥ 90 %: the server
 * may be the limit); serverCpuPerOpUs = the target's CPU per request.
 */
export async function measureClient(ctx, { impl, server, client }) {
  let srv, gen;
  try {
    srv = track(new Child(script(server.script), server.args ?? [], { cpu: ctx.serverCpu, name: 'target server' }));
    const info = await srv.ready();
    gen = track(new Child(script(client.script), client.args(info), { cpu: ctx.clientCpu, name: `${impl} client` }));
    await gen.ready(30000);
    await sleep(ctx.warmupMs);
    const sample = async () => {
      const s = serverCpuNs(srv, info);
      const g = gen.cpuNs();
      const r = await gen.request({ cmd: 'sample' });
      return { ...r, srvCpu: s, genCpu: g };
    };
    const a = await sample();
    await sleep(ctx.measureMs);
    const b = await sample();
    if (srv.exited) throw new Error(`target server exited: ${srv.stderr.trim().slice(-200)}`);
    if (gen.exited) throw new Error(`client exited: ${gen.stderr.trim().slice(-200)}`);
    const { errors, row } = clientSideRow(impl, a, b, gen, { noun: 'requests', answers: 'responses' });
    return {
      ...row,
      ...(b.p99Ms != null ? { p99Ms: b.p99Ms } : {}),
      ...(errors ? { errors } : {}),
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await Promise.all([gen?.stop(), srv?.stop()]);
  }
}
