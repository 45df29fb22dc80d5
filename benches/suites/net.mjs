// net suite: TCP echo msgs/s (64 B, 16 KiB), one-connection echo stream MB/s, RSS per idle socket.
// Servers: node:net (baseline), @iocrate/net stream API (s.pipe(s)), @iocrate/net fast API (async iteration).
// The load generator (clients/tcp-load.mjs, node:net) is the same for every server.
import { measureIdle, measureLoad } from '../lib/measure.mjs';
import { nativeTcpLoad } from '../lib/native-gen.mjs';

// iocrate: the same `s.pipe(s)` code as node:net (moved natively inside Rust);
// iocrate-js: a JS 'data' handler writing back (every chunk crosses into JS and back);
// iocrate-fast: the fast API (`for await` + write/drained).
const IMPLS = ['node:net', 'iocrate', 'iocrate-js', 'iocrate-fast'];
const serverImpl = { 'node:net': 'node', iocrate: 'iocrate', 'iocrate-js': 'iocrate-js', 'iocrate-fast': 'iocrate-fast' };
const CONNS = 32;
const WINDOW = 16;
const IDLE_SOCKETS = 10000;

async function rows(ctx, name, fn) {
  const out = [];
  for (const impl of IMPLS) {
    ctx.log(`  ${name}: ${impl}`);
    out.push(await fn(impl));
  }
  return out;
}

// The echo and stream generator: native epoll client unless --generator=node or no C compiler.
function generator(ctx) {
  if (ctx.generator === 'native') {
    const nat = nativeTcpLoad();
    if (nat.bin) return { name: 'native epoll (clients/tcpload.c)', script: nat.bin, exec: true };
    ctx.log(`  native generator unavailable (${nat.reason}); using node:net`);
  }
  return { name: 'node:net (clients/tcp-load.mjs)', script: 'clients/tcp-load.mjs', exec: false };
}

function echo(size) {
  return (ctx) =>
    rows(ctx, `tcp echo ${size}`, (impl) =>
      measureLoad(ctx, {
        impl,
        server: { script: 'servers/tcp-echo.mjs', args: [`--impl=${serverImpl[impl]}`, '--mode=echo'] },
        client: { ...generator(ctx), args: ({ port }) => [`--port=${port}`, '--mode=echo', `--conns=${CONNS}`, `--window=${WINDOW}`, `--size=${size}`] },
      }),
    );
}

export async function run(ctx) {
  const base = { baseline: 'node:net', better: 'higher' };
  return [
    { name: 'tcp echo 64B', unit: 'msgs/s', opUnit: 'msg', ...base, target: 1.5, params: { conns: CONNS, window: WINDOW, size: 64, generator: generator(ctx).name }, rows: await echo(64)(ctx) },
    { name: 'tcp echo 16KiB', unit: 'msgs/s', opUnit: 'msg', ...base, target: 1.5, params: { conns: CONNS, window: WINDOW, size: 16384, generator: generator(ctx).name }, rows: await echo(16384)(ctx) },
    {
      name: 'tcp stream 64KiB writes (echo)',
      unit: 'MB/s',
      opUnit: 'MB',
      ...base,
      target: 1.0,
      params: { conns: 1, chunk: 65536, counted: 'echoed bytes', generator: generator(ctx).name },
      rows: await rows(ctx, 'tcp stream', (impl) =>
        measureLoad(ctx, {
          impl,
          opScale: 1e6,
          server: { script: 'servers/tcp-echo.mjs', args: [`--impl=${serverImpl[impl]}`, '--mode=echo'] },
          client: { ...generator(ctx), args: ({ port }) => [`--port=${port}`, '--mode=stream', '--chunk=65536'] },
        }),
      ),
    },
    {
      name: 'RSS per idle socket (10,000)',
      unit: 'B/socket',
      opUnit: 'accept',
      baseline: 'node:net',
      better: 'lower',
      target: 1.0,
      params: { sockets: IDLE_SOCKETS, generator: 'node:net (clients/tcp-load.mjs)' },
      rows: await rows(ctx, 'idle sockets', (impl) =>
        measureIdle(ctx, {
          impl,
          count: IDLE_SOCKETS,
          server: { script: 'servers/tcp-echo.mjs', args: [`--impl=${serverImpl[impl]}`, '--mode=idle'] },
          client: { script: 'clients/tcp-load.mjs', args: ({ port }) => [`--port=${port}`, '--mode=idle', `--count=${IDLE_SOCKETS}`] },
        }),
      ),
    },
  ];
}
