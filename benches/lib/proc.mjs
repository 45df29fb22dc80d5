// Child-process plumbing for the bench harness: spawning (pinned or not, with a raised fd limit),
// the one-JSON-line-per-message protocol, and /proc sampling of CPU time and RSS.
//
// Protocol: a child writes one JSON object per line to stdout. The first line is either
// `{"ready":true,...}` or `{"ready":false,"error":"why"}`. The harness writes one JSON command per line
// to the child's stdin (`{"cmd":"sample"}` …); the child answers each with one line. When stdin closes
// the child exits, so no child outlives the harness.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const BENCH_ROOT = new URL('..', import.meta.url).pathname;

let clkTck;
/** Clock ticks per second used by /proc/<pid>/stat (`getconf CLK_TCK`, almost always 100). */
export function clockTicks() {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime+stime of the whole process (dead threads included) in ns; tick resolution. */
export function statCpuNs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e9) / clockTicks();
}

/**
 * On-CPU time of a process in ns, summed over all its threads (main thread, libuv pool, tokio workers)
 * from /proc/<pid>/task/<tid>/schedstat (field 1, ns). Falls back to /proc/<pid>/stat ticks.
 * Threads that exit between two samples drop out of the sum, so `max` with the tick count keeps us honest.
 */
export function cpuNs(pid) {
  let sum = 0;
  let ok = false;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        ok = true;
      } catch {
        // thread exited while we listed
      }
    }
  } catch {
    ok = false;
  }
  return ok ? sum : statCpuNs(pid);
}

/** Resident set size in bytes from /proc/<pid>/status VmRSS. */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

/** CPUs this process may run on (pinning needs at least two). */
export function availableCpus() {
  try {
    const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    const cpus = [];
    for (const part of m[1].split(',')) {
      const [a, b] = part.split('-').map(Number);
      for (let c = a; c <= (b ?? a); c++) cpus.push(c);
    }
    return cpus;
  } catch {
    return [];
  }
}

/**
 * Builds the argv for a child: `taskset -c <cpu>` (when pinned), then `bash -c 'ulimit -n …; exec node …'`
 * (when a raised fd limit is wanted). Both exec, so the spawned pid is node's pid.
 */
export function childArgv(script, args, { cpu = null, nofile = null, nodeArgs = [], exec = false } = {}) {
  // exec: `script` is an executable (the native load generator), not a node script.
  let argv = exec ? [script, ...args] : [process.execPath, ...nodeArgs, script, ...args];
  if (nofile) {
    const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
    // The hard limit may be below the wish (containers): then take the hard limit.
    const cmd = `ulimit -n ${nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${argv.map(q).join(' ')}`;
    argv = ['bash', '-c', cmd];
  }
  if (cpu !== null) argv = ['taskset', '-c', String(cpu), ...argv];
  return argv;
}

/** A child process speaking the JSON-line protocol. */
export class Child {
  constructor(script, args = [], opts = {}) {
    const argv = childArgv(script, args, opts);
    this.name = opts.name ?? script;
    this.proc = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
    this.stderr = '';
    this.exited = false;
    this.waiters = [];
    this.lines = [];
    this.proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.proc.stdin.on('error', () => {});
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code ?? signal;
        const err = new Error(`${this.name} exited (${this.exitCode}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        for (const w of this.waiters.splice(0)) w.reject(err);
        resolve(this.exitCode);
      });
      this.proc.on('error', (err) => {
        this.exited = true;
        for (const w of this.waiters.splice(0)) w.reject(err);
        resolve(-1);
      });
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // stray output is ignored
      }
      const w = this.waiters.shift();
      if (w) w.resolve(msg);
      else this.lines.push(msg);
    });
  }

  /** Next JSON line from the child, or a rejection after `timeoutMs` or on exit. */
  next(timeoutMs = 15000) {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    if (this.exited) return Promise.reject(new Error(`${this.name} exited (${this.exitCode}): ${this.stderr.trim()}`));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (m) => (clearTimeout(t), resolve(m)),
        reject: (e) => (clearTimeout(t), reject(e)),
      };
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`${this.name}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends a command and waits for its one-line answer. */
  async request(cmd, timeoutMs) {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    return this.next(timeoutMs);
  }

  /** Waits for the first line; throws `Unavailable` when the child reports `ready:false`. */
  async ready(timeoutMs = 20000) {
    const msg = await this.next(timeoutMs);
    if (!msg.ready) throw new Unavailable(msg.error ?? 'not ready');
    return msg;
  }

  cpuNs() {
    return cpuNs(this.pid);
  }

  rssBytes() {
    return rssBytes(this.pid);
  }

  /** Closes stdin (the child's cue to exit), then SIGKILLs it after `graceMs`. */
  async stop(graceMs = 3000) {
    if (this.exited) return;
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(t);
  }
}

/** An implementation could not run (package not built, API missing): reported as a row, not a crash. */
export class Unavailable extends Error {}

// Children still alive when the harness dies are killed by pid (they would also exit on stdin close).
const live = new Set();
export function track(child) {
  live.add(child);
  child.exitPromise.then(() => live.delete(child));
  return child;
}
/** Called once by run.mjs (not on import, so tests keep their own signal handling). */
export function killChildrenOnExit() {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      for (const c of live) c.proc.kill('SIGKILL');
      process.exit(130);
    });
  }
  process.on('exit', () => {
    for (const c of live) if (!c.exited) c.proc.kill('SIGKILL');
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Jiffies (busy, total) from the aggregate `cpu` line of /proc/stat. */
function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * Percentage of the whole machine busy during `ms` while the harness itself is idle: anything well above
 * zero means other work (builds, other benches) is competing and the numbers are not trustworthy.
 */
export async function backgroundBusyPct(ms = 500) {
  try {
    const a = cpuTimes();
    await sleep(ms);
    const b = cpuTimes();
    return Math.round(((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100);
  } catch {
    return null;
  }
}
