// Builds clients/tcpload.c (the native TCP load generator) once per source version into the temp dir.
// Returns the binary path, or null (with the reason) when no C compiler is available.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ROOT } from './proc.mjs';

let cached;
export function nativeTcpLoad() {
  if (cached !== undefined) return cached;
  const src = join(BENCH_ROOT, 'clients', 'tcpload.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'iocrate-bench');
  const bin = join(dir, `tcpload-${hash}`);
  if (existsSync(bin)) return (cached = { bin });
  mkdirSync(dir, { recursive: true });
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    try {
      execFileSync(cc, ['-O2', '-o', `${bin}.tmp`, src], { stdio: 'pipe' });
      renameSync(`${bin}.tmp`, bin);
      return (cached = { bin });
    } catch (err) {
      cached = { bin: null, reason: `${cc}: ${String(err.stderr ?? err.message).split('\n')[0]}` };
    }
  }
  return cached;
}
