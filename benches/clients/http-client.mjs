// HTTP client under test (http suite, "client" rows): keeps `conns` GET requests in flight against the
// target server, each over a keep-alive connection, reading every body as text.
//   --impl=undici | undici-fetch | node | iocrate | iocrate-fetch   --port=N --conns=64 --path=/ --expect='Hello, World!'
//   undici:        undici Pool (connections: conns, pipelining 1) + pool.request(), body.text()
//   undici-fetch:  undici fetch() with an Agent (connections: conns), res.text()
//   node:          node:http get() with an Agent({ keepAlive: true, maxSockets: conns }), body collected as text
//   iocrate:       request() from '@iocrate/http' with an Agent({ maxSockets: conns }), res.text()
//   iocrate-fetch: fetch() from '@iocrate/http' with the same Agent, res.text()
//   Both report ready:false (the row shows "unavailable … skipped") while @iocrate/http does not export fetch.
// The first response is checked (status 200, body = --expect) before ready. Answers {"cmd":"sample"} with
// {"ops","errors","t","p99Ms"} (p99Ms: 99th percentile latency of the requests finished since the last sample).
import { childArgs, emit, serveCommands } from '../lib/child.mjs';

const a = childArgs();
const impl = a.impl ?? 'undici';
const conns = a.conns ?? 64;
const origin = `http://127.0.0.1:${a.port}`;
const path = a.path ?? '/';
const expect = a.expect === undefined ? 'Hello, World!' : String(a.expect);
let ops = 0;
let errors = 0;
let lastError;
let lat = [];
let stopping = false;

async function makeGet() {
  if (impl === 'undici') {
    const { Pool } = await import('undici');
    const pool = new Pool(origin, { connections: conns, pipelining: 1 });
    return async () => {
      const { statusCode, body } = await pool.request({ path, method: 'GET' });
      return [statusCode, await body.text()];
    };
  }
  if (impl === 'undici-fetch') {
    const { Agent, fetch } = await import('undici');
    const dispatcher = new Agent({ connections: conns });
    const url = origin + path;
    return async () => {
      const res = await fetch(url, { dispatcher });
      return [res.status, await res.text()];
    };
  }
  if (impl === 'node') {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
    const opts = { host: '127.0.0.1', port: a.port, path, agent };
    return () =>
      new Promise((resolve, reject) => {
        const req = http.get(opts, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve([res.statusCode, text]));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
  }
  if (impl === 'iocrate' || impl === 'iocrate-fetch') {
    const http = await import('@iocrate/http');
    if (typeof http.fetch !== 'function')
      throw new Skip('@iocrate/http does not export fetch() yet (HTTP client not landed) — skipped; this row runs once it exists');
    // One pool of `conns` keep-alive connections, like the undici Pool and the node:http Agent.
    const agent = typeof http.Agent === 'function' ? new http.Agent({ maxSockets: conns, maxFreeSockets: conns }) : undefined;
    const url = origin + path;
    if (impl === 'iocrate') {
      if (typeof http.request !== 'function') throw new Skip('@iocrate/http has fetch() but no request() — skipped');
      return async () => {
        const res = await http.request(url, { agent });
        return [res.statusCode, await res.text()];
      };
    }
    return async () => {
      const res = await http.fetch(url, { agent });
      return [res.status, await res.text()];
    };
  }
  throw new Error(`unknown impl ${impl}`);
}

class Skip extends Error {}

function p99() {
  if (!lat.length) return null;
  const s = Float64Array.from(lat).sort();
  lat = [];
  return Math.round(s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] * 1000) / 1000;
}

try {
  const get = await makeGet();
  const [status, text] = await get();
  if (status !== 200 || text !== expect) throw new Error(`first response: ${status} ${JSON.stringify(String(text).slice(0, 60))}, want 200 ${JSON.stringify(expect)}`);
  const loop = async () => {
    while (!stopping) {
      const t0 = performance.now();
      try {
        const [st] = await get();
        if (st === 200) {
          ops++;
          lat.push(performance.now() - t0);
        } else {
          errors++;
          lastError = `status ${st}`;
        }
      } catch (err) {
        errors++;
        lastError = String(err?.message ?? err).slice(0, 120);
      }
    }
  };
  for (let i = 0; i < conns; i++) loop();
  serveCommands(
    { sample: () => ({ ops, errors, t: performance.now(), p99Ms: p99(), ...(lastError ? { lastError } : {}) }) },
    () => (stopping = true),
  );
  emit({ ready: true, impl, conns });
} catch (err) {
  const msg = err instanceof Skip ? err.message : `${impl} client: ${String(err?.message ?? err).split('\n')[0]}`;
  emit({ ready: false, error: msg });
  process.exit(0);
}
