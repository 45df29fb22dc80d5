// Child side of the JSON-line protocol (see proc.mjs). Every child exits when stdin closes, and in any case
// after a hard lifetime cap, so a bench can never leave processes behind.
import { createInterface } from 'node:readline';

const MAX_LIFE_MS = Number(process.env.IOCRATE_BENCH_MAX_LIFE_MS ?? 10 * 60 * 1000);

/** Writes one protocol line. */
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Parses `--key=value` / `--flag` arguments into an object (numbers converted). */
export function childArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const v = m[2];
    out[m[1]] = v === undefined ? true : v !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
  }
  return out;
}

/**
 * Serves commands from stdin. `handlers[cmd]` may return a value or a promise; the answer is
 * `{ ...result }` or `{ error }`. Built-in: `gc` (if --expose-gc), `rss`. Exits on stdin close.
 */
export function serveCommands(handlers = {}, onExit = () => {}) {
  const exit = () => {
    try {
      onExit();
    } finally {
      process.exit(0);
    }
  };
  setTimeout(exit, MAX_LIFE_MS).unref();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch {
      return;
    }
    try {
      let res;
      if (handlers[cmd.cmd]) res = await handlers[cmd.cmd](cmd);
      else if (cmd.cmd === 'gc') {
        globalThis.gc?.();
        globalThis.gc?.();
        res = { gc: typeof globalThis.gc === 'function' };
      } else if (cmd.cmd === 'rss') res = { rss: process.memoryUsage().rss };
      else res = { error: `unknown command ${cmd.cmd}` };
      emit(res ?? {});
    } catch (err) {
      emit({ error: String(err?.message ?? err) });
    }
  });
  rl.on('close', exit);
}

/** Reports `ready:false` with the reason and exits (used when an implementation cannot load). */
export function unavailable(err) {
  let msg = String(err?.message ?? err).split('\n')[0];
  // "Cannot find module '/…/node_modules/@iocrate/net/dist/index.js'" → "@iocrate/net not built (dist/index.js missing)"
  const m = err?.code === 'ERR_MODULE_NOT_FOUND' && /node_modules\/(@iocrate\/[^/]+)\/(.+?)' imported/.exec(msg);
  if (m) msg = `${m[1]} not built (${m[2]} missing)`;
  emit({ ready: false, error: msg });
  process.exit(0);
}

/**
 * What a closed-loop load client counts: answered operations, errors (the last one kept for the report) and
 * whether its callers should stop. `serve(hist, all)` answers the suite's commands: `sample` →
 * `{ops, errors, t}` (+ `latencyMs` from `hist` with `"latency": true`; otherwise `hist` is reset), `stop` → stops,
 * waits for `all` (the callers' promise) and answers the final `{ops, errors}`.
 */
export class LoadTally {
  ops = 0;
  errors = 0;
  /** @type {string | undefined} */
  lastError = undefined;
  stopping = false;

  /** Counts `n` failed operations; `what` (an error or a description) becomes the last error. */
  fail(what, n = 1) {
    this.errors += n;
    this.lastError = String(what?.message ?? what).slice(0, 160);
  }

  /** `{ops, errors}`, with `lastError` if there was one. */
  counts() {
    return { ops: this.ops, errors: this.errors, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  /** Serves `sample` and `stop` (see the class) until stdin closes. */
  serve(hist, all) {
    serveCommands(
      {
        sample: (cmd) => {
          const s = { ...this.counts(), t: performance.now() };
          if (cmd.latency) s.latencyMs = hist.take();
          else hist.reset();
          return s;
        },
        stop: async () => {
          this.stopping = true;
          await all;
          return this.counts();
        },
      },
      () => {
        this.stopping = true;
      },
    );
  }
}
