// bridge suite: events/s delivered from a tokio thread to JS by native.benchBridge(count, batched)
// (@iocrate/core), one threadsafe-function call per event (baseline) vs the batched event bridge.
// One child process, pinned to the server CPU; CPU per event covers all its threads.
import { measureSelf } from '../lib/measure.mjs';

const CALL_TIMEOUT_MS = 30000;

// Calls benchBridge until `budgetMs` is spent. The batch size doubles (from 10,000, max 10,000,000) until one
// call takes >= 100 ms, so short windows still make several calls and slow paths stay bounded.
function runner(batched) {
  let count = 10000;
  return async (child, budgetMs) => {
    let ops = 0;
    let ms = 0;
    const start = performance.now();
    for (let calls = 0; calls < 1000 && performance.now() - start < budgetMs; calls++) {
      const r = await child.request({ cmd: 'run', count, batched }, CALL_TIMEOUT_MS);
      if (r.error) throw new Error(r.error);
      ops += r.events;
      ms += r.ms;
      if (r.ms < 100 && count < 1e7) count *= 2;
    }
    return { ops, ms };
  };
}

export async function run(ctx) {
  const rows = [];
  for (const [impl, batched] of [
    ['unbatched', false],
    ['batched', true],
  ]) {
    ctx.log(`  bridge: ${impl}`);
    rows.push(await measureSelf(ctx, { impl, server: { script: 'servers/bridge.mjs' }, run: runner(batched) }));
  }
  return [
    {
      name: 'bridge events Rust→JS',
      unit: 'events/s',
      opUnit: 'event',
      baseline: 'unbatched',
      better: 'higher',
      params: { source: 'native.benchBridge(count, batched)', rate: 'events / native-reported ms' },
      rows,
    },
  ];
}
