// WebSocket server under test (websocket suite).
//   --impl=ws | iocrate        ws: the `ws` npm package; iocrate: @iocrate/websocket (ws-compatible API)
//   --mode=echo | broadcast | idle   [--port=0]
//     echo:      ws.on('message', (data) => ws.send(data)) — every message goes back as it came (binary here)
//     broadcast: --clients=N --size=64 [--hwm=BYTES]: once N clients are connected (or one sends the text
//                message "go"), one `size`-byte binary message is sent to every client in a loop, as fast as
//                backpressure allows:
//                  ws:      the loop from the ws README: for (const c of wss.clients) if (c.readyState === OPEN)
//                           c.send(msg); after each round the largest bufferedAmount seen decides
//                  iocrate: every client subscribe('room') on connection, wss.publish('room', msg) (fan-out in
//                           Rust); after each batch of publishes the bufferedAmount of a rotating sample of
//                           clients decides
//                when a client's bufferedAmount exceeds --hwm (default 64 KiB) the loop pauses and polls every
//                1 ms until all (ws) / the sample (iocrate) are back under hwm / 2; otherwise it yields with
//                setImmediate between rounds so I/O runs. Delivered messages are counted by the clients.
//     idle:      connections are accepted and held; nothing is sent by the app.
// Prints {"ready":true,"port":N}; answers {"cmd":"stats"} with {"conns","rounds","pauses","queued"} (queued:
// messages handed over — ws sends, the sum of publish()'s recipient counts); exits on stdin close.
import { childArgs, emit, serveCommands, unavailable } from '../lib/child.mjs';

const args = childArgs();
const impl = args.impl ?? 'ws';
const mode = args.mode ?? 'echo';
const host = '127.0.0.1';
const CLIENTS = args.clients ?? 1000;
const SIZE = args.size ?? 64;
const HWM = args.hwm ?? 64 * 1024;
const ROOM = 'room';
// iocrate: publishes per batch before the backlog is checked, and clients sampled per check.
const PUBLISH_BATCH = 4;
const SAMPLE = 32;
// Safety net for the publish loop: if the process grows past this (backpressure not visible through
// bufferedAmount), pause as if over the high-water mark.
const RSS_CAP = 1536 * 1024 * 1024;
const noop = () => {};
class Skip extends Error {}

let conns = 0;
let rounds = 0;
let pauses = 0;
let queued = 0; // messages handed to the library: ws sends, iocrate publish() recipients (skipped ones excluded)
let started = false;
const sockets = []; // open sockets in connection order (broadcast pacing)

async function load() {
  if (impl === 'ws') {
    const mod = await import('ws');
    return { WebSocketServer: mod.WebSocketServer, OPEN: mod.WebSocket.OPEN };
  }
  if (impl === 'iocrate') {
    let mod;
    try {
      mod = await import('@iocrate/websocket');
    } catch (err) {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
      const what = /Cannot find package/.test(err.message) ? 'not installed' : 'not built';
      throw new Skip(`@iocrate/websocket cannot be imported (${what}) — skipped; this row runs once it exists`);
    }
    if (typeof mod.WebSocketServer !== 'function') throw new Skip('@iocrate/websocket has no WebSocketServer — skipped');
    if (mode === 'broadcast' && typeof mod.WebSocketServer.prototype.publish !== 'function')
      throw new Skip('@iocrate/websocket: WebSocketServer has no publish() — skipped');
    return { WebSocketServer: mod.WebSocketServer, OPEN: mod.WebSocket?.OPEN ?? 1 };
  }
  throw new Error(`unknown impl ${impl}`);
}

function listen(WebSocketServer) {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ port: args.port ?? 0, host });
    wss.once('error', reject);
    wss.once('listening', () => {
      wss.off('error', reject);
      wss.on('error', noop);
      resolve(wss);
    });
  });
}

function removeSocket(ws) {
  const i = sockets.indexOf(ws);
  if (i >= 0) sockets.splice(i, 1);
}

// ws: the README's broadcast loop, one round per message; the largest bufferedAmount of the round paces it.
function broadcastWs(wss, OPEN, msg) {
  const backlog = () => {
    let max = 0;
    for (const c of wss.clients) if (c.bufferedAmount > max) max = c.bufferedAmount;
    return max;
  };
  const waitLow = () => {
    if (backlog() > HWM / 2) return void setTimeout(waitLow, 1);
    setImmediate(pump);
  };
  const pump = () => {
    for (let r = 0; r < 4; r++) {
      let max = 0;
      for (const c of wss.clients) {
        if (c.readyState === OPEN) {
          c.send(msg);
          queued++;
          const b = c.bufferedAmount;
          if (b > max) max = b;
        }
      }
      rounds++;
      if (max > HWM || (rounds & 255) === 0 && process.memoryUsage.rss() > RSS_CAP) {
        pauses++;
        return void setTimeout(waitLow, 1);
      }
    }
    setImmediate(pump);
  };
  pump();
}

// iocrate: wss.publish() fans out natively; the backlog of a rotating sample of clients paces it.
function broadcastIocrate(wss, msg) {
  let cursor = 0;
  const backlog = () => {
    let max = 0;
    const n = sockets.length;
    for (let k = 0; k < Math.min(SAMPLE, n); k++) {
      const b = sockets[(cursor + k) % n].bufferedAmount;
      if (b > max) max = b;
    }
    cursor = n ? (cursor + SAMPLE) % n : 0;
    return max;
  };
  const waitLow = () => {
    if (backlog() > HWM / 2 || process.memoryUsage.rss() > RSS_CAP) return void setTimeout(waitLow, 1);
    setImmediate(pump);
  };
  const pump = () => {
    for (let i = 0; i < PUBLISH_BATCH; i++) queued += wss.publish(ROOM, msg);
    rounds += PUBLISH_BATCH;
    if (backlog() > HWM || (rounds & 1023) === 0 && process.memoryUsage.rss() > RSS_CAP) {
      pauses++;
      return void setTimeout(waitLow, 1);
    }
    setImmediate(pump);
  };
  pump();
}

try {
  if (!['echo', 'broadcast', 'idle'].includes(mode)) throw new Error(`unknown mode ${mode}`);
  const { WebSocketServer, OPEN } = await load();
  const wss = await listen(WebSocketServer);
  const msg = Buffer.alloc(SIZE, 0x62);
  const start = () => {
    if (started) return;
    started = true;
    if (impl === 'ws') broadcastWs(wss, OPEN, msg);
    else broadcastIocrate(wss, msg);
  };
  wss.on('connection', (ws) => {
    conns++;
    ws.on('error', noop);
    ws.on('close', () => {
      conns--;
      if (mode === 'broadcast') removeSocket(ws);
    });
    if (mode === 'echo') ws.on('message', (data) => ws.send(data));
    else if (mode === 'broadcast') {
      sockets.push(ws);
      if (impl === 'iocrate') ws.subscribe(ROOM);
      ws.on('message', (data) => {
        if (String(data) === 'go') start();
      });
      if (conns >= CLIENTS) start();
    }
  });
  const port = wss.address()?.port;
  if (!port) throw new Error('server did not report a port');
  serveCommands({ stats: () => ({ conns, rounds, pauses, queued }) });
  emit({ ready: true, port });
} catch (err) {
  if (err instanceof Skip) {
    emit({ ready: false, error: err.message });
    process.exit(0);
  }
  unavailable(err);
}
