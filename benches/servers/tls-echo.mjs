// TLS echo server under test. --impl=node|iocrate --cert=PATH --key=PATH
// Prints {"ready":true,"port":N}. Every byte read is written back (s.pipe(s)).
import { readFileSync } from 'node:fs';
import { childArgs, emit, serveCommands, unavailable } from '../lib/child.mjs';

const args = childArgs();
const impl = args.impl ?? 'node';
const noop = () => {};
let conns = 0;

try {
  const tls = impl === 'node' ? await import('node:tls') : impl === 'iocrate' ? await import('@iocrate/tls') : null;
  if (!tls) throw new Error(`unknown impl ${impl}`);
  const options = { cert: readFileSync(args.cert, 'utf8'), key: readFileSync(args.key, 'utf8') };
  // Same protocol floor for both: TLS 1.3 only.
  if (impl === 'node') options.minVersion = 'TLSv1.3';
  const server = tls.createServer(options, (s) => {
    conns++;
    s.on('error', noop);
    s.on('close', () => conns--);
    s.pipe(s);
  });
  server.on?.('tlsClientError', noop);
  server.on?.('error', (err) => unavailable(err));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveCommands({ stats: () => ({ conns }) });
  emit({ ready: true, port: server.address().port });
} catch (err) {
  unavailable(err);
}
