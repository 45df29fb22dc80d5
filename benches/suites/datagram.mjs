// datagram suite: UDP 64 B datagrams/s echoed. Servers: node:dgram (baseline) and @iocrate/datagram;
// the load generator (clients/udp-load.mjs, node:dgram, 4 sockets × 32 in flight) is the same for both.
import { measureLoad } from '../lib/measure.mjs';

const IMPLS = [
  ['node:dgram', 'node'],
  ['iocrate', 'iocrate'],
];
const SOCKETS = 4;
const WINDOW = 32;

export async function run(ctx) {
  const rows = [];
  for (const [impl, flag] of IMPLS) {
    ctx.log(`  udp echo 64B: ${impl}`);
    rows.push(
      await measureLoad(ctx, {
        impl,
        server: { script: 'servers/udp-echo.mjs', args: [`--impl=${flag}`] },
        client: { script: 'clients/udp-load.mjs', args: ({ port }) => [`--port=${port}`, `--sockets=${SOCKETS}`, `--window=${WINDOW}`, '--size=64'] },
      }),
    );
  }
  return [
    {
      name: 'udp echo 64B',
      unit: 'packets/s',
      opUnit: 'pkt',
      baseline: 'node:dgram',
      better: 'higher',
      params: { sockets: SOCKETS, window: WINDOW, size: 64, generator: 'node:dgram (clients/udp-load.mjs)' },
      rows,
    },
  ];
}
