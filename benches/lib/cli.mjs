// Command-line parsing for run.mjs (pure, tested).
export const USAGE = `usage: npm run bench -- <module> [--quick] [--unpinned] [--json-only] [--only=TEXT] [--warmup=MS] [--measure=MS] [--out=FILE]
  module       a suite in benches/suites/ (net, tls, datagram, bridge, http)
  --quick      1 s warm-up and 1 s measured window (default 3 s + 3 s)
  --unpinned   do not pin server and load generator to their own CPUs
  --json-only  print the JSON report on stdout instead of the table
  --generator=native|node  TCP load generator: native epoll client (built with cc; default, falls back
               to node when no compiler) or the node:net client
  --only=TEXT  run only the results whose name contains TEXT (case-insensitive), e.g. http --only=https;
               suites that support it: http, websocket, redis, postgres. The partial report goes to $TMPDIR/iocrate-bench/<module>-only.json
               unless --out is given, so the published docs/public/bench/<module>.json is not replaced
  --out=FILE   where to write the JSON (default docs/public/bench/<module>.json)`;

export function parseArgs(argv) {
  const opts = { module: null, quick: false, unpinned: false, jsonOnly: false, warmupMs: null, measureMs: null, out: null, only: null, generator: 'native', help: false };
  for (const a of argv) {
    if (a === '--quick') opts.quick = true;
    else if (a === '--unpinned') opts.unpinned = true;
    else if (a === '--json-only') opts.jsonOnly = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a.startsWith('--warmup=')) opts.warmupMs = positive(a, a.slice(9));
    else if (a.startsWith('--measure=')) opts.measureMs = positive(a, a.slice(10));
    else if (a.startsWith('--out=')) opts.out = a.slice(6);
    else if (a.startsWith('--only=')) {
      opts.only = a.slice(7).trim();
      if (!opts.only) throw new Error('--only needs a non-empty text');
    }
    else if (a === '--generator=native' || a === '--generator=node') opts.generator = a.slice(12);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else if (opts.module) throw new Error(`one module at a time (got ${opts.module} and ${a})`);
    else if (!/^[a-z0-9-]+$/.test(a)) throw new Error(`bad module name ${a}`);
    else opts.module = a;
  }
  const base = opts.quick ? 1000 : 3000;
  opts.warmupMs ??= base;
  opts.measureMs ??= base;
  return opts;
}

function positive(arg, v) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 600000) throw new Error(`bad value in ${arg}`);
  return n;
}

/** Whether a result named `name` is selected by `--only` (`only` null: every result). */
export function selected(only, name) {
  return only == null || name.toLowerCase().includes(only.toLowerCase());
}
