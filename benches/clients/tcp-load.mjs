// node:net load generator, the same for every TCP server.
//   --mode=echo   --conns=32 --window=16 --size=64 : each connection keeps `window` messages in flight;
//                 every complete echoed message is replaced by a new one. ops = echoed bytes / size.
//   --mode=stream --chunk=65536 : one connection writes chunks as fast as backpressure allows and reads
//                 the echo. ops = echoed bytes.
//   --mode=idle   --count=10000 : opens `count` connections (256 connects in flight) and holds them.
// Answers {"cmd":"sample"} with {"ops","bytes","t"} (t = performance.now() in ms).
import net from 'node:net';
import { childArgs, emit, serveCommands } from '../lib/child.mjs';

const a = childArgs();
const port = a.port;
const host = '127.0.0.1';
const mode = a.mode ?? 'echo';
const sockets = [];
let bytes = 0;
let errors = 0;
const noop = () => {};

function connect() {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

async function startEcho() {
  const size = a.size ?? 64;
  const window = a.window ?? 16;
  const burst = Buffer.alloc(size * window, 0x61);
  for (let i = 0; i < (a.conns ?? 32); i++) sockets.push(await connect());
  for (const s of sockets) {
    let partial = 0;
    s.on('error', () => errors++);
    s.on('data', (chunk) => {
      bytes += chunk.length;
      partial += chunk.length;
      const done = Math.floor(partial / size);
      if (done > 0) {
        partial -= done * size;
        s.write(burst.subarray(0, done * size));
      }
    });
    s.write(burst);
  }
  return () => Math.floor(bytes / size);
}

async function startStream() {
  const chunk = Buffer.alloc(a.chunk ?? 65536, 0x62);
  const s = await connect();
  sockets.push(s);
  s.on('error', () => errors++);
  s.on('data', (d) => (bytes += d.length));
  const pump = () => {
    // write() returns false once the chunk is queued past the high-water mark; resume on 'drain'.
    for (let i = 0; i < 64; i++) if (!s.write(chunk)) return;
    setImmediate(pump);
  };
  s.on('drain', pump);
  pump();
  return () => bytes;
}

async function startIdle() {
  const count = a.count ?? 10000;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const s = await connect();
        s.on('error', noop);
        sockets.push(s);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(256, count) }, worker));
  return () => sockets.length;
}

const start = { echo: startEcho, stream: startStream, idle: startIdle }[mode];
try {
  const ops = await start();
  serveCommands(
    { sample: () => ({ ops: ops(), bytes, errors, t: performance.now() }) },
    () => sockets.forEach((s) => s.destroy()),
  );
  emit({ ready: true, connected: sockets.length, errors });
} catch (err) {
  emit({ ready: false, error: `load generator: ${err.message}` });
  process.exit(0);
}
