// nginx peer (http suite): runs `nginx` (master + 1 worker, `daemon off`) from a config generated from
// servers/nginx.conf.template into a temp dir, on a free 127.0.0.1 port.
//   --nginx=/usr/sbin/nginx   binary (default: /usr/sbin/nginx, else nginx on PATH)
// Prints {"ready":true,"port":N,"cpuPids":[master, worker…]}: the harness adds the CPU time and RSS of those
// processes to this wrapper's own (which is idle). The wrapper is pinned by the harness and nginx inherits
// the affinity. When stdin closes: SIGTERM to the master (it stops its worker), wait, SIGKILL by pid if
// needed, remove the temp dir, exit.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childArgs, emit, serveCommands, unavailable } from '../lib/child.mjs';

const args = childArgs();
const bin = args.nginx ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');
const host = '127.0.0.1';
const template = new URL('./nginx.conf.template', import.meta.url);
let dir;
let master;
let pids = [];

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Alive and not a zombie. */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cleanup() {
  if (master && alive(master.pid)) {
    try {
      master.kill('SIGTERM');
    } catch {}
    for (let i = 0; i < 40 && pids.some(alive); i++) sleepSync(50);
    for (const pid of pids) {
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function config(port) {
  let user = '';
  if (process.getuid?.() === 0) {
    // The worker drops root; nobody's primary group is nogroup on Debian, nobody elsewhere.
    let group = 'nogroup';
    try {
      group = execFileSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).trim() || group;
    } catch {}
    user = `user nobody ${group};`;
  }
  // Temp paths into the temp dir, for the modules this nginx was built with.
  let built = '';
  try {
    built = execFileSync(bin, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    built = String(err.stderr ?? '');
  }
  const temp = [`    client_body_temp_path ${dir}/client_body;`];
  for (const m of ['proxy', 'fastcgi', 'uwsgi', 'scgi']) if (!built.includes(`--without-http_${m}_module`)) temp.push(`    ${m}_temp_path ${dir}/${m};`);
  return readFileSync(template, 'utf8')
    .replaceAll('{{USER}}', user)
    .replaceAll('{{DIR}}', dir)
    .replaceAll('{{PORT}}', String(port))
    .replaceAll('{{TEMP_PATHS}}', temp.join('\n'));
}

async function start() {
  dir = mkdtempSync(join(tmpdir(), 'iocrate-bench-nginx-'));
  chmodSync(dir, 0o755);
  let lastErr = 'nginx did not start';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, config(port));
    let stderr = '';
    let exited = false;
    master = spawn(bin, ['-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    master.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    master.on('error', (err) => {
      exited = true;
      stderr += String(err.message);
    });
    master.on('exit', () => (exited = true));
    for (let i = 0; i < 100 && !exited; i++) {
      if (await canConnect(port)) {
        let workers = [];
        for (let j = 0; j < 50 && workers.length === 0; j++) {
          workers = childPids(master.pid);
          if (!workers.length) await sleep(20);
        }
        pids = [master.pid, ...workers];
        return port;
      }
      await sleep(50);
    }
    let log = '';
    try {
      log = readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {}
    lastErr = `nginx: ${(stderr + log).trim().split('\n').slice(-2).join(' | ') || 'no answer on its port'}`;
    if (!exited) master.kill('SIGKILL');
    master = undefined;
    if (!/in use/.test(lastErr)) break;
  }
  throw new Error(lastErr);
}

process.on('SIGTERM', () => {
  cleanup();
  process.exit(0);
});
try {
  const port = await start();
  serveCommands({}, cleanup);
  emit({ ready: true, port, cpuPids: pids });
} catch (err) {
  cleanup();
  unavailable(err);
}
