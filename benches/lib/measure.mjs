// Measurement loops shared by the suites. Each returns a row for the report:
// { impl, rate, cpuPerOpUs, rssMB, ratio: null, genCpuPct?, error? }.
import { Child, Unavailable, track, sleep, BENCH_ROOT } from './proc.mjs';
import { round } from './report.mjs';

const MiB = 1024 * 1024;
export const script = (rel) => (rel.startsWith('/') ? rel : BENCH_ROOT + rel);

function errorRow(impl, err) {
  const reason = err instanceof Unavailable ? err.message : `failed: ${err.message}`;
  return { impl, rate: null, cpuPerOpUs: null, rssMB: null, ratio: null, error: reason.slice(0, 200) };
}

async function stopAll(...children) {
  await Promise.all(children.filter(Boolean).map((c) => c.stop()));
}

/**
 * Server child + load-generator child. The rate is (ops delta) / (seconds, by the generator's clock) / opScale,
 * and cpuPerOpUs is the server's on-CPU time over the same window divided by (ops / opScale).
 * opScale turns raw ops into the reported unit (e.g. 1e6 bytes per MB).
 */
export async function measureLoad(ctx, { impl, server, client, opScale = 1 }) {
  let srv, gen;
  try {
    srv = track(new Child(script(server.script), server.args, { cpu: ctx.serverCpu, name: `${impl} server` }));
    const info = await srv.ready();
    gen = track(new Child(script(client.script), client.args(info), { cpu: ctx.clientCpu, exec: !!client.exec, name: 'load generator' }));
    await gen.ready(30000);
    await sleep(ctx.warmupMs);
    const sample = async () => {
      const s = srv.cpuNs();
      const g = gen.cpuNs();
      const r = await gen.request({ cmd: 'sample' });
      return { ...r, srvCpu: s, genCpu: g };
    };
    const a = await sample();
    await sleep(ctx.measureMs);
    const b = await sample();
    const rss = srv.rssBytes();
    if (srv.exited) throw new Error(`server exited: ${srv.stderr.trim().slice(-200)}`);
    const secs = (b.t - a.t) / 1000;
    const units = (b.ops - a.ops) / opScale;
    if (!(units > 0)) throw new Error(`no traffic in the measured window (errors: ${b.errors ?? 0})`);
    return {
      impl,
      rate: round(units / secs, 1),
      cpuPerOpUs: round((b.srvCpu - a.srvCpu) / units / 1000, 3),
      rssMB: rss == null ? null : round(rss / MiB, 1),
      ratio: null,
      genCpuPct: round(((b.genCpu - a.genCpu) / (secs * 1e9)) * 100, 0),
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await stopAll(gen, srv);
  }
}

/**
 * RSS per idle socket: the server (fd limit raised, --expose-gc) accepts `count` connections from the
 * generator. rate = (VmRSS after − VmRSS before) / connections, in bytes; both samples after a full GC.
 * cpuPerOpUs = server CPU spent while accepting, per connection. The generator is a node script
 * (`client.script`) or a native binary (`client.bin`); `client.args(info)` gives its arguments.
 */
export async function measureIdle(ctx, { impl, server, client, count }) {
  let srv, gen;
  const nofile = 65536;
  try {
    srv = track(new Child(script(server.script), server.args, { cpu: ctx.serverCpu, nofile, nodeArgs: ['--expose-gc'], name: `${impl} server` }));
    const info = await srv.ready();
    await srv.request({ cmd: 'gc' });
    await sleep(300);
    const rss0 = srv.rssBytes();
    const cpu0 = srv.cpuNs();
    gen = client.bin
      ? track(new Child(client.bin, client.args(info), { cpu: ctx.clientCpu, nofile, exec: true, name: 'idle generator' }))
      : track(new Child(script(client.script), client.args(info), { cpu: ctx.clientCpu, nofile, name: 'idle generator' }));
    const ready = await gen.ready(120000);
    // Wait (bounded) until the server has accepted what the generator connected.
    let conns = 0;
    for (let i = 0; i < 100; i++) {
      ({ conns } = await srv.request({ cmd: 'stats' }));
      if (conns >= ready.connected) break;
      await sleep(100);
    }
    const cpu1 = srv.cpuNs();
    await srv.request({ cmd: 'gc' });
    await sleep(500);
    const rss1 = srv.rssBytes();
    if (conns < count * 0.9)
      throw new Error(`only ${conns}/${count} connections (generator errors: ${ready.errors}${ready.lastError ? `, ${ready.lastError}` : ''}; fd limit?)`);
    return {
      impl,
      rate: round((rss1 - rss0) / conns, 0),
      cpuPerOpUs: round((cpu1 - cpu0) / conns / 1000, 3),
      rssMB: round(rss1 / MiB, 1),
      ratio: null,
      connections: conns,
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await stopAll(gen, srv);
  }
}

/**
 * A single child that does its own work per request (the event-bridge bench). `run(child, budgetMs)` performs
 * calls until the budget is spent and returns { ops, ms }; server CPU is sampled around the measured call set.
 */
export async function measureSelf(ctx, { impl, server, run }) {
  let srv;
  try {
    srv = track(new Child(script(server.script), server.args ?? [], { cpu: ctx.serverCpu, name: impl }));
    await srv.ready();
    await run(srv, ctx.warmupMs);
    const c0 = srv.cpuNs();
    const { ops, ms } = await run(srv, ctx.measureMs);
    const c1 = srv.cpuNs();
    const rss = srv.rssBytes();
    if (!(ops > 0)) throw new Error('no events');
    return {
      impl,
      rate: round(ops / (ms / 1000), 1),
      cpuPerOpUs: round((c1 - c0) / ops / 1000, 4),
      rssMB: rss == null ? null : round(rss / MiB, 1),
      ratio: null,
    };
  } catch (err) {
    return errorRow(impl, err);
  } finally {
    await stopAll(srv);
  }
}

/**
 * The common part of a row measured at the client, where the library under test runs in the load generator
 * (`gen`) against a server process: samples `a` and `b` carry `t`, `ops`, `errors`, `lastError`, and the CPU
 * time of both processes (`genCpu`, `srvCpu`). Throws when the window saw no answers or more than 1% errors
 * (`noun`: what failed, `answers`: what was counted). Returns the window and the row fields.
 */
export function clientSideRow(impl, a, b, gen, { noun, answers }) {
  const secs = (b.t - a.t) / 1000;
  const ops = b.ops - a.ops;
  const errors = (b.errors ?? 0) - (a.errors ?? 0);
  if (!(ops > 0)) throw new Error(`no ${answers} in the measured window (errors: ${b.errors ?? 0}${b.lastError ? `, ${b.lastError}` : ''})`);
  if (errors > ops * 0.01) throw new Error(`${errors} failed ${noun} for ${ops} ${answers} (${b.lastError ?? ''})`);
  const rss = gen.rssBytes();
  const pct = (ns) => (ns / (secs * 1e9)) * 100;
  return {
    secs,
    ops,
    errors,
    row: {
      impl,
      rate: round(ops / secs, 1),
      cpuPerOpUs: round((b.genCpu - a.genCpu) / ops / 1000, 3),
      rssMB: rss == null ? null : round(rss / MiB, 1),
      ratio: null,
      genCpuPct: round(pct(b.srvCpu - a.srvCpu), 0),
      clientCpuPct: round(pct(b.genCpu - a.genCpu), 0),
      serverCpuPerOpUs: round((b.srvCpu - a.srvCpu) / ops / 1000, 3),
    },
  };
}
