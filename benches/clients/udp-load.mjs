// node:dgram load generator, the same for every UDP server.
//   --sockets=4 --window=32 --size=64 : each socket keeps `window` datagrams in flight; each echo received
//   sends one more. UDP may drop: a socket that received nothing for 20 ms refills its window.
// ops = echoed datagrams. Answers {"cmd":"sample"} with {"ops","bytes","t"}.
import dgram from 'node:dgram';
import { childArgs, emit, serveCommands } from '../lib/child.mjs';

const a = childArgs();
const port = a.port;
const size = a.size ?? 64;
const window = a.window ?? 32;
const msg = Buffer.alloc(size, 0x63);
let received = 0;
let refills = 0;
const socks = [];

for (let i = 0; i < (a.sockets ?? 4); i++) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  s.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const state = { s, got: 0, seen: 0 };
  s.on('message', () => {
    received++;
    state.got++;
    s.send(msg);
  });
  s.on('error', () => {});
  socks.push(state);
}

const fill = (st) => {
  for (let i = 0; i < window; i++) st.s.send(msg);
};
socks.forEach(fill);
const watchdog = setInterval(() => {
  for (const st of socks) {
    if (st.got === st.seen) {
      refills++;
      fill(st);
    }
    st.seen = st.got;
  }
}, 20);

serveCommands(
  { sample: () => ({ ops: received, bytes: received * size, refills, t: performance.now() }) },
  () => {
    clearInterval(watchdog);
    socks.forEach((st) => st.s.close());
  },
);
emit({ ready: true });
