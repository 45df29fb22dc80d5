// TCP server under test. --impl=node|iocrate|iocrate-js|iocrate-fast  --mode=echo|idle
//   echo: every byte read is written back (stream API: s.pipe(s); fast API: write + drained()).
//   idle: connections are accepted and held, nothing is read or written by the app.
// Prints {"ready":true,"port":N}; answers {"cmd":"stats"} with {"conns":N}.
import { childArgs, emit, serveCommands, unavailable } from '../lib/child.mjs';

const args = childArgs();
const impl = args.impl ?? 'node';
const mode = args.mode ?? 'echo';
const host = '127.0.0.1';
let conns = 0;
const noop = () => {};

function onStreamSocket(s) {
  conns++;
  s.on('error', noop);
  s.on('close', () => conns--);
  if (mode === 'echo') s.pipe(s);
}

// Echo through a JS 'data' handler: every chunk crosses into JS and back.
function onStreamSocketJs(s) {
  conns++;
  s.on('error', noop);
  s.on('close', () => conns--);
  if (mode === 'echo') {
    s.on('data', (d) => {
      if (!s.write(d)) {
        s.pause();
        s.once('drain', () => s.resume());
      }
    });
    s.on('end', () => s.end());
  }
}

async function listenStream(net, handler = onStreamSocket) {
  const server = net.createServer(handler);
  server.on?.('error', (err) => unavailable(err));
  await new Promise((resolve) => server.listen(0, host, resolve));
  return server.address().port;
}

async function handleFast(conn) {
  conns++;
  try {
    if (mode === 'echo') {
      for await (const chunk of conn) {
        if (!conn.write(chunk)) await conn.drained();
      }
      conn.end();
    } else {
      // Hold the connection until the peer closes it.
      for await (const _ of conn);
    }
  } catch {
    // peer reset: nothing to report
  } finally {
    conns--;
    try {
      conn.close();
    } catch {}
  }
}

async function listenFast(net) {
  if (typeof net.listen !== 'function') throw new Error('@iocrate/net has no listen() (fast API)');
  const listener = await net.listen({ port: 0, host });
  (async () => {
    for await (const conn of listener) handleFast(conn);
  })().catch((err) => emit({ error: String(err) }));
  const addr = typeof listener.address === 'function' ? listener.address() : listener;
  return addr.port;
}

try {
  let port;
  if (impl === 'node') port = await listenStream(await import('node:net'));
  else if (impl === 'iocrate') port = await listenStream(await import('@iocrate/net'));
  else if (impl === 'iocrate-js') port = await listenStream(await import('@iocrate/net'), onStreamSocketJs);
  else if (impl === 'iocrate-fast') port = await listenFast(await import('@iocrate/net'));
  else throw new Error(`unknown impl ${impl}`);
  if (!port) throw new Error('server did not report a port');
  serveCommands({ stats: () => ({ conns }) });
  emit({ ready: true, port });
} catch (err) {
  unavailable(err);
}
