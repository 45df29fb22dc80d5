#!/usr/bin/env node
// Bench harness entry: `npm run bench -- <module> [--quick] [--unpinned] [--json-only] [--only=TEXT]`.
// Runs benches/suites/<module>.mjs, prints a table of ratios against the peers and writes
// docs/public/bench/<module>.json. See benches/README.md.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs, selected, USAGE } from './lib/cli.mjs';
import { availableCpus, backgroundBusyPct, killChildrenOnExit } from './lib/proc.mjs';
import { buildReport, computeRatios, formatTable, machineInfo, targetSummary, validateReport } from './lib/report.mjs';

const here = dirname(new URL(import.meta.url).pathname);
const suites = readdirSync(resolve(here, 'suites')).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4));

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
if (opts.help || !opts.module) {
  console.error(`${USAGE}\nsuites: ${suites.join(', ')}`);
  process.exit(opts.help ? 0 : 2);
}
if (!suites.includes(opts.module)) {
  console.error(`no suite "${opts.module}"; suites: ${suites.join(', ')}`);
  process.exit(2);
}

const suite = await import(`./suites/${opts.module}.mjs`);
// --only: the suite itself must skip what is not selected (ctx.only), or it would run everything anyway.
if (opts.only != null && !suite.supportsOnly) {
  console.error(`--only is not supported by the ${opts.module} suite (it is by: http, websocket, redis, postgres)`);
  process.exit(2);
}

killChildrenOnExit();
const log = (msg) => process.stderr.write(msg + '\n');
let serverCpu = null;
let clientCpu = null;
let pinning = 'unpinned';
if (!opts.unpinned) {
  const cpus = availableCpus();
  let taskset = true;
  try {
    execFileSync('taskset', ['-c', String(cpus[0] ?? 0), 'true']);
  } catch {
    taskset = false;
  }
  if (cpus.length >= 2 && taskset) {
    [serverCpu, clientCpu] = cpus;
    pinning = `server=cpu${serverCpu} client=cpu${clientCpu}`;
  } else {
    log(`warning: pinning needs taskset and two CPUs (have ${cpus.length}${taskset ? '' : ', no taskset'}); running unpinned`);
  }
}

const ctx = { generator: opts.generator, quick: opts.quick, warmupMs: opts.warmupMs, measureMs: opts.measureMs, serverCpu, clientCpu, log, only: opts.only };
log(`iocrate bench: ${opts.module} (${pinning}, warm-up ${opts.warmupMs} ms, measured ${opts.measureMs} ms${opts.only != null ? `, only results matching "${opts.only}"` : ''})`);

const busyPct = await backgroundBusyPct();
if (busyPct != null && busyPct > 10)
  log(`warning: the machine is ${busyPct}% busy before the bench starts; results will be noisy (stop other work first)`);
const results = (await suite.run(ctx)).filter((r) => selected(opts.only, r.name)).map(computeRatios);
if (!results.length) {
  console.error(`no result of the ${opts.module} suite matches --only=${opts.only}`);
  process.exit(2);
}
const report = buildReport({ module: opts.module, pinning, results, machine: machineInfo() });
report.backgroundBusyPct = busyPct;
report.windows = { warmupMs: opts.warmupMs, measureMs: opts.measureMs };
if (opts.only != null) report.only = opts.only;
const problems = validateReport(report);

// A partial (--only) report does not replace the published one unless --out says so.
const defaultOut = opts.only != null ? resolve(tmpdir(), 'iocrate-bench', `${opts.module}-only.json`) : resolve(here, '..', 'docs', 'public', 'bench', `${opts.module}.json`);
const out = resolve(opts.out ?? defaultOut);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');

if (opts.jsonOnly) {
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
} else {
  const m = report.machine;
  console.log(`\n${opts.module} — ${m.cpus} × ${m.model}, node ${m.node}, ${m.os}, kernel ${m.kernel}, ${pinning}\n`);
  console.log(formatTable(results));
  const targets = targetSummary(results);
  if (targets) console.log(`\ntargets:\n${targets}`);
  for (const r of results) if (r.note) console.log(`note (${r.name}): ${r.note}`);
  console.log(`\nratio > 1 means better than the peer (rate/peer when higher is better, peer/rate when lower is better).`);
  console.log(`gen CPU = load generator CPU use in the window; "!" (>= 90%) means the generator may be the limit.`);
  if (busyPct != null && busyPct > 10) console.log(`WARNING: machine was ${busyPct}% busy before the run (other processes); numbers are noisy.`);
  console.log(`wrote ${out}${existsSync(out) ? '' : ' (failed?)'}`);
}
if (problems.length) {
  console.error(`report does not match the schema:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
