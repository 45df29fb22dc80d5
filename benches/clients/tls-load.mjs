// node:tls load generator, the same for every TLS server (TLS 1.3 only, no session resumption).
//   --mode=handshake --concurrency=8 : connect, finish the handshake, end, repeat. ops = handshakes.
//   --mode=stream --chunk=65536      : one connection streams chunks and reads the echo. ops = echoed bytes.
// Answers {"cmd":"sample"} with {"ops","bytes","t"}.
import tls from 'node:tls';
import { childArgs, emit, serveCommands } from '../lib/child.mjs';

const a = childArgs();
const opts = { port: a.port, host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', servername: 'localhost' };
let handshakes = 0;
let bytes = 0;
let errors = 0;
let stopping = false;
const live = new Set();

function handshakeLoop() {
  if (stopping) return;
  const s = tls.connect(opts, () => {
    handshakes++;
    s.end();
  });
  live.add(s);
  s.on('error', () => errors++);
  s.on('data', () => {});
  s.on('close', () => {
    live.delete(s);
    // Back off briefly after failures so a dead server does not turn this into a busy loop.
    if (errors > handshakes + 100) setTimeout(handshakeLoop, 10);
    else handshakeLoop();
  });
}

async function startStream() {
  const chunk = Buffer.alloc(a.chunk ?? 65536, 0x62);
  const s = await new Promise((resolve, reject) => {
    const s = tls.connect(opts, () => resolve(s));
    s.once('error', reject);
  });
  live.add(s);
  s.on('error', () => errors++);
  s.on('data', (d) => (bytes += d.length));
  const pump = () => {
    for (let i = 0; i < 64; i++) if (!s.write(chunk)) return;
    setImmediate(pump);
  };
  s.on('drain', pump);
  pump();
}

try {
  if (a.mode === 'stream') await startStream();
  else {
    // One handshake first, so a broken server is reported as not ready instead of measuring errors.
    await new Promise((resolve, reject) => {
      const s = tls.connect(opts, () => (s.end(), resolve()));
      s.on('error', reject);
      s.on('data', () => {});
    });
    for (let i = 0; i < (a.concurrency ?? 8); i++) handshakeLoop();
  }
  serveCommands(
    { sample: () => ({ ops: a.mode === 'stream' ? bytes : handshakes, bytes, errors, t: performance.now() }) },
    () => {
      stopping = true;
      live.forEach((s) => s.destroy());
    },
  );
  emit({ ready: true });
} catch (err) {
  emit({ ready: false, error: `load generator: ${err.message}` });
  process.exit(0);
}
