// @ts-nocheck — the harness is plain ESM JavaScript without type declarations.
// Smoke test of the websocket bench suite: clients/wsload.c compiles and speaks WebSocket to the `ws` server of
// servers/ws-server.mjs in every mode (echo with 7-, 16- and 64-bit frame lengths, broadcast receive with the
// "go" trigger, idle connections); the iocrate server starts or says why it is skipped. About 4 s of traffic.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Child, Unavailable, sleep } from '../lib/proc.mjs';
import { IMPLS, medianOf, nativeWsLoad, serverSpec } from '../suites/websocket.mjs';

const benches = new URL('..', import.meta.url).pathname;
const gen = nativeWsLoad();

/** Starts a server and wsload, samples twice `ms` apart; returns both samples and the server stats. */
async function run(server, genArgs, ms = 500) {
  const srv = new Child(join(benches, server.script), server.args, { name: 'ws server' });
  let g;
  try {
    const { port } = await srv.ready(15000);
    g = new Child(gen.bin, [`--port=${port}`, ...genArgs], { exec: true, name: 'wsload' });
    const ready = await g.ready(15000);
    const a = await g.request({ cmd: 'sample' });
    await sleep(ms);
    const b = await g.request({ cmd: 'sample' });
    const stats = await srv.request({ cmd: 'stats' });
    return { ready, a, b, stats };
  } finally {
    await g?.stop();
    await srv.stop();
  }
}

describe.skipIf(!gen.bin)('wsload against the ws server', () => {
  it('echo: messages come back and are replaced (32 B, window 16)', async () => {
    const { ready, a, b } = await run(serverSpec('ws', 'echo'), ['--mode=echo', '--conns=4', '--window=16', '--size=32'], 1000);
    expect(ready).toMatchObject({ ready: true, connected: 4, errors: 0 });
    expect(b.ops - a.ops).toBeGreaterThan(1000);
    expect(b.t).toBeGreaterThan(a.t);
  });

  // bytes received per message = server frame header + payload: checks the 7-, 16- and 64-bit length paths.
  for (const [size, header] of [
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
  ]) {
    it(`echo parses ${size} B messages (${header}-byte frame header)`, async () => {
      const { b } = await run(serverSpec('ws', 'echo'), ['--mode=echo', '--conns=2', '--window=2', `--size=${size}`], 200);
      expect(b.ops).toBeGreaterThan(0);
      // a sample may land inside a frame: at most one partial frame per connection
      expect(Math.abs(b.bytes - b.ops * (size + header))).toBeLessThanOrEqual(2 * (size + header));
    });
  }

  it('recv: the "go" message starts the broadcast and every client counts what it gets', async () => {
    // --clients above the connection count: only "go" can start the loop.
    const { ready, b, stats } = await run(serverSpec('ws', 'broadcast', ['--clients=1000000', '--size=64']), ['--mode=recv', '--conns=20', '--go'], 500);
    expect(ready.connected).toBe(20);
    expect(stats.rounds).toBeGreaterThan(0);
    expect(b.ops).toBeGreaterThan(20);
    // 64 B payload + 2-byte header per message; a sample may land inside a frame on each connection
    expect(Math.abs(b.bytes - b.ops * 66)).toBeLessThanOrEqual(20 * 66);
  });

  it('idle: opens and holds connections, the server sees them all', async () => {
    const { ready, b, stats } = await run(serverSpec('ws', 'idle'), ['--mode=idle', '--conns=300'], 100);
    expect(ready).toMatchObject({ ready: true, connected: 300, errors: 0 });
    expect(b.ops).toBe(300);
    expect(stats.conns).toBe(300);
  });

  it('reports a refused upgrade as ready:false', async () => {
    // An HTTP server that is not a WebSocket server answers the upgrade with a plain 404 (or closes).
    const srv = new Child(join(benches, 'servers/http-server.mjs'), ['--impl=node', '--mode=hello']);
    try {
      const { port } = await srv.ready();
      const g = new Child(gen.bin, [`--port=${port}`, '--mode=echo', '--conns=1'], { exec: true, name: 'wsload' });
      await expect(g.ready(10000)).rejects.toBeInstanceOf(Unavailable);
      await g.stop();
    } finally {
      await srv.stop();
    }
  });
});

describe('websocket bench servers', () => {
  for (const impl of IMPLS) {
    it(`${impl}: starts (or reports why it is skipped) and stops`, async () => {
      const srv = new Child(join(benches, 'servers/ws-server.mjs'), [`--impl=${impl}`, '--mode=echo']);
      try {
        const info = await srv.ready(15000);
        expect(info.port).toBeGreaterThan(0);
      } catch (err) {
        // Only @iocrate/websocket may be missing (not built yet); ws is a devDependency.
        expect(impl).toBe('iocrate');
        expect(err).toBeInstanceOf(Unavailable);
        expect(err.message).toMatch(/@iocrate\/websocket/);
      } finally {
        await srv.stop();
      }
    });
  }
});

describe('medianOf', () => {
  it('reports the run with the median rate and every rate, leaving failed runs out', async () => {
    const rates = [5, null, 9, 7];
    let i = 0;
    const r = await medianOf(4, async () => ({ impl: 'x', rate: rates[i], run: i++ }));
    expect(r.rate).toBe(7);
    expect(r.run).toBe(3);
    expect(r.runsRate).toEqual([5, null, 9, 7]);
  });

  it('returns the last error row when every run failed', async () => {
    let i = 0;
    const r = await medianOf(2, async () => ({ impl: 'x', rate: null, error: `e${i++}` }));
    expect(r.error).toBe('e1');
  });
});
