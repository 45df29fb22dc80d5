// UDP echo server under test. --impl=node|iocrate
// Prints {"ready":true,"port":N}; every datagram is sent back to its sender.
import { childArgs, emit, serveCommands, unavailable } from '../lib/child.mjs';

const args = childArgs();
const impl = args.impl ?? 'node';
let packets = 0;

try {
  const dgram = impl === 'node' ? await import('node:dgram') : impl === 'iocrate' ? await import('@iocrate/datagram') : null;
  if (!dgram) throw new Error(`unknown impl ${impl}`);
  const sock = dgram.createSocket({ type: 'udp4' });
  sock.on('error', (err) => unavailable(err));
  sock.on('message', (msg, rinfo) => {
    packets++;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise((resolve) => {
    const r = sock.bind(0, '127.0.0.1', resolve);
    // An implementation may return a promise from bind instead of calling back.
    if (r && typeof r.then === 'function') r.then(resolve);
  });
  serveCommands({ stats: () => ({ packets }) });
  emit({ ready: true, port: sock.address().port });
} catch (err) {
  unavailable(err);
}
