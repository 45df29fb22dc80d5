// http suite: HTTP/1.1 servers under wrk (req/s, server CPU µs per request, p99 latency), and HTTP clients
// against a fixed nginx target (req/s, client CPU µs per request).
//
//   http hello            GET / → 'Hello, World!' text/plain; wrk, 64 keep-alive connections, no pipelining
//   http hello pipelined  the same with 16 requests per write (clients/wrk-pipeline.lua)
//   http json             GET / → JSON.stringify({ message: 'Hello, World!' }) per request
//   http POST 1MiB        POST /upload with a 1 MiB body (clients/wrk-post.lua); the server reads it all and
//                         answers its length
//   http client           GET / against nginx (1 worker, `return 200`) from the client under test
//   https hello           as http hello over HTTPS: node:https (baseline) vs @iocrate/https, the same handler;
//                         ECDSA P-256 self-signed certificate made once per run by makeCert() (suites/tls.mjs),
//                         wrk against https:// (one TLS handshake per connection, then keep-alive)
//
// Every server (node:http, node:https, fastify, @iocrate/http, @iocrate/https, nginx) runs pinned to the server
// CPU, wrk / the client to the other one. Servers: servers/http-server.mjs and servers/nginx.mjs; client:
// clients/http-client.mjs.
//
// ctx.only (run.mjs --only=TEXT): only the results whose name contains TEXT are run.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selected } from '../lib/cli.mjs';
import { measureClient, measureWrk, probeServer, wrkMissing } from '../lib/http.mjs';
import { makeCert } from './tls.mjs';

/** run.mjs: this suite honours --only (ctx.only). */
export const supportsOnly = true;

export const CONNS = 64;
export const PIPELINE = 16;
export const POST_SIZE = 1024 * 1024;
const HELLO = 'Hello, World!';
const NGINX = process.env.IOCRATE_BENCH_NGINX ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');

/** Server specs per implementation and mode. */
export function serverSpec(impl, mode = 'hello') {
  if (impl === 'nginx') return { script: 'servers/nginx.mjs', args: [`--nginx=${NGINX}`] };
  const flag = { 'node:http': 'node', fastify: 'fastify', iocrate: 'iocrate', 'iocrate-fetch': 'iocrate-fetch', 'iocrate-static': 'iocrate-static' }[impl];
  if (!flag) throw new Error(`no server for ${impl}`);
  return { script: 'servers/http-server.mjs', args: [`--impl=${flag}`, `--mode=${mode}`] };
}

/** HTTPS server specs: { cert, key } are PEM file paths (makeCert()). */
export function httpsServerSpec(impl, mode, { cert, key }) {
  const flag = { 'node:https': 'node', iocrate: 'iocrate' }[impl];
  if (!flag) throw new Error(`no https server for ${impl}`);
  return { script: 'servers/http-server.mjs', args: [`--impl=${flag}`, `--mode=${mode}`, '--https', `--cert=${cert}`, `--key=${key}`] };
}

/** What each mode must answer (checked with one fetch before the load, and by the smoke test). */
export const CHECKS = {
  hello: { method: 'GET', path: '/', status: 200, text: HELLO, type: /^text\/plain/ },
  json: { method: 'GET', path: '/', status: 200, text: JSON.stringify({ message: HELLO }), type: /^application\/json/ },
  post: { method: 'POST', path: '/upload', body: Buffer.alloc(POST_SIZE, 0x78), status: 200, text: String(POST_SIZE), type: /^text\/plain/ },
};

// Rows per result. iocrate = the same (req, res) handler as node:http; iocrate-fetch = createServer({ fetch });
// iocrate-static = a Rust static route (peer: nginx).
export const HELLO_IMPLS = ['node:http', 'fastify', 'iocrate', 'iocrate-fetch', 'nginx', 'iocrate-static'];
export const JS_IMPLS = ['node:http', 'fastify', 'iocrate'];
// Client rows: iocrate = request() (peer: undici Pool.request), iocrate-fetch = fetch() (peer: undici fetch).
// HTTPS rows: node:https (baseline) and iocrate = @iocrate/https, the same (req, res) handler.
export const HTTPS_IMPLS = ['node:https', 'iocrate'];
export const CLIENT_IMPLS = ['node:http', 'undici', 'undici-fetch', 'iocrate', 'iocrate-fetch'];
const clientFlag = { 'node:http': 'node', undici: 'undici', 'undici-fetch': 'undici-fetch', iocrate: 'iocrate', 'iocrate-fetch': 'iocrate-fetch' };

/** Every server the suite starts, with the answer it must give (for the smoke test). */
export function smokeCases() {
  return [
    ...HELLO_IMPLS.map((impl) => ({ impl, mode: 'hello', server: serverSpec(impl, 'hello'), check: CHECKS.hello })),
    ...JS_IMPLS.flatMap((impl) => ['json', 'post'].map((mode) => ({ impl, mode, server: serverSpec(impl, mode), check: CHECKS[mode] }))),
  ];
}

/** Every HTTPS server the suite starts (for the smoke test), given the certificate files. */
export function httpsSmokeCases(certFiles) {
  return HTTPS_IMPLS.map((impl) => ({ impl, mode: 'hello', server: httpsServerSpec(impl, 'hello', certFiles), check: CHECKS.hello }));
}

// Targets (from the issue): iocrate's JS handler ≥ 2x node:http (plain), ≥ 4x (pipelined x16), ≥ 1.5x
// fastify; the Rust static route ≥ 1.0x nginx; the iocrate client ≥ 1.5x undici.
const helloTargets = (vsNode) => [
  { impl: 'iocrate', vs: 'node:http', min: vsNode },
  { impl: 'iocrate', vs: 'fastify', min: 1.5 },
  { impl: 'iocrate-static', vs: 'nginx', min: 1.0 },
];

async function each(ctx, label, impls, fn) {
  const rows = [];
  for (const impl of impls) {
    ctx.log(`  ${label}: ${impl}`);
    rows.push(await fn(impl));
  }
  return rows;
}

const unavailableRows = (impls, error) => impls.map((impl) => ({ impl, rate: null, cpuPerOpUs: null, rssMB: null, ratio: null, error }));

/** The https hello rows: a certificate in a temp dir (removed afterwards), then each server under wrk. */
async function httpsRows(ctx, missing) {
  if (missing) return unavailableRows(HTTPS_IMPLS, `wrk unavailable (${missing})`);
  let dir;
  try {
    dir = mkdtempSync(join(tmpdir(), 'iocrate-bench-https-'));
    let certFiles;
    try {
      certFiles = makeCert(dir);
    } catch (err) {
      return unavailableRows(HTTPS_IMPLS, `no certificate (openssl: ${String(err.message).split('\n')[0].slice(0, 120)})`);
    }
    return await each(ctx, 'https hello', HTTPS_IMPLS, (impl) =>
      measureWrk(ctx, { impl, server: httpsServerSpec(impl, 'hello', certFiles), check: CHECKS.hello, conns: CONNS, tls: certFiles }),
    );
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(ctx) {
  const missing = wrkMissing();
  const wrkName = 'wrk -t1 (pinned)';
  const base = { unit: 'req/s', opUnit: 'req', better: 'higher', baseline: 'node:http' };
  const wrkRows = (label, impls, mode, extra = {}) =>
    missing
      ? Promise.resolve(unavailableRows(impls, `wrk unavailable (${missing})`))
      : each(ctx, label, impls, (impl) => measureWrk(ctx, { impl, server: serverSpec(impl, mode), check: CHECKS[mode], conns: CONNS, ...extra }));

  // Results are built lazily so that --only skips what it does not select.
  const results = [];
  const add = async (name, build) => {
    if (selected(ctx.only, name)) results.push({ name, ...(await build()) });
  };

  await add('http hello', async () => ({
    ...base,
    targets: helloTargets(2.0),
    params: { conns: CONNS, keepAlive: true, pipelining: 1, generator: wrkName, body: HELLO },
    rows: await wrkRows('http hello', HELLO_IMPLS, 'hello'),
  }));
  await add(`http hello pipelined x${PIPELINE}`, async () => ({
    ...base,
    targets: helloTargets(4.0),
    params: {
      conns: CONNS,
      keepAlive: true,
      pipelining: PIPELINE,
      generator: `${wrkName} + clients/wrk-pipeline.lua`,
      latency: "not reported: wrk's coordinated-omission correction assumes one request per round trip and distorts its percentiles when pipelining",
    },
    rows: await wrkRows('http pipelined', HELLO_IMPLS, 'hello', { luaScript: 'clients/wrk-pipeline.lua', scriptArgs: [PIPELINE], latency: false }),
  }));
  await add('http json', async () => ({
    ...base,
    params: { conns: CONNS, keepAlive: true, pipelining: 1, generator: wrkName, body: 'JSON.stringify({ message }) per request' },
    rows: await wrkRows('http json', JS_IMPLS, 'json'),
  }));
  await add('http POST 1MiB', async () => ({
    ...base,
    params: { conns: CONNS, keepAlive: true, bodyBytes: POST_SIZE, generator: `${wrkName} + clients/wrk-post.lua`, server: 'reads the whole body, answers its length' },
    rows: await wrkRows('http POST 1MiB', JS_IMPLS, 'post', { path: '/upload', luaScript: 'clients/wrk-post.lua', scriptArgs: [POST_SIZE] }),
  }));
  // HTTPS: no target in the issue, only the ratio against node:https. The certificate is made once per run.
  await add('https hello', async () => ({
    ...base,
    baseline: 'node:https',
    params: {
      conns: CONNS,
      keepAlive: true,
      pipelining: 1,
      generator: `${wrkName}, https://`,
      body: HELLO,
      certificate: 'ECDSA P-256 self-signed (openssl, suites/tls.mjs makeCert), one per run',
    },
    rows: await httpsRows(ctx, missing),
  }));

  if (!selected(ctx.only, 'http client')) return results;
  // Client rows: nginx as the target so the server is not the limit (node:http if nginx cannot start).
  let target = 'nginx';
  let targetNote = 'nginx (1 worker, return 200)';
  const probe = await probeServer(serverSpec('nginx'), ctx.serverCpu);
  if (probe.error) {
    ctx.log(`  http client: nginx target unavailable (${probe.error}); using node:http`);
    target = 'node:http';
    targetNote = `node:http (nginx: ${probe.error})`;
  }
  results.push({
    name: 'http client',
    ...base,
    cpuOf: 'client',
    targets: [{ impl: 'iocrate', vs: 'undici', min: 1.5 }],
    params: { conns: CONNS, keepAlive: true, target: targetNote, path: '/', counted: 'responses read as text by the client' },
    note: 'server CPU µs/op here is the CLIENT\'s CPU per request; "gen CPU" is the target server\'s CPU use (! = the target may be the limit).',
    rows: await each(ctx, 'http client', CLIENT_IMPLS, (impl) =>
      measureClient(ctx, {
        impl,
        server: serverSpec(target, 'hello'),
        client: { script: 'clients/http-client.mjs', args: ({ port }) => [`--impl=${clientFlag[impl]}`, `--port=${port}`, `--conns=${CONNS}`] },
      }),
    ),
  });
  return results;
}
