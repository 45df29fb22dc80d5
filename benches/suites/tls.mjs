// tls suite: TLS 1.3 handshakes/s (ECDSA P-256 certificate) and MB/s through one TLS connection (echo).
// Servers: node:tls (baseline) and @iocrate/tls; the load generator (clients/tls-load.mjs, node:tls) is the
// same for both. The certificate is made by `openssl` in a temp dir that is removed afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureLoad } from '../lib/measure.mjs';

const IMPLS = [
  ['node:tls', 'node'],
  ['iocrate', 'iocrate'],
];
const CONCURRENCY = 8;

export function makeCert(dir) {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'pipe' });
  return { key, cert };
}

export async function run(ctx) {
  const dir = mkdtempSync(join(tmpdir(), 'iocrate-bench-tls-'));
  try {
    const { key, cert } = makeCert(dir);
    const server = (impl) => ({ script: 'servers/tls-echo.mjs', args: [`--impl=${impl}`, `--cert=${cert}`, `--key=${key}`] });
    const each = async (label, client, opScale) => {
      const rows = [];
      for (const [impl, flag] of IMPLS) {
        ctx.log(`  ${label}: ${impl}`);
        rows.push(await measureLoad(ctx, { impl, server: server(flag), client, opScale }));
      }
      return rows;
    };
    const base = { baseline: 'node:tls', better: 'higher' };
    return [
      {
        name: 'tls 1.3 handshakes (P-256)',
        unit: 'handshakes/s',
        opUnit: 'hs',
        ...base,
        params: { concurrency: CONCURRENCY, resumption: false, generator: 'node:tls (clients/tls-load.mjs)' },
        rows: await each('tls handshakes', { script: 'clients/tls-load.mjs', args: ({ port }) => [`--port=${port}`, '--mode=handshake', `--concurrency=${CONCURRENCY}`] }, 1),
      },
      {
        name: 'tls stream 64KiB writes (echo)',
        unit: 'MB/s',
        opUnit: 'MB',
        ...base,
        target: 1.0,
        params: { conns: 1, chunk: 65536, counted: 'echoed bytes', generator: 'node:tls (clients/tls-load.mjs)' },
        rows: await each('tls stream', { script: 'clients/tls-load.mjs', args: ({ port }) => [`--port=${port}`, '--mode=stream', '--chunk=65536'] }, 1e6),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
