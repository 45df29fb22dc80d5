// Event-bridge bench child: calls native.benchBridge(count, batched) from @iocrate/core.
// Answers {"cmd":"run","count":N,"batched":bool} with {"events":N,"ms":M}.
import { emit, serveCommands, unavailable } from '../lib/child.mjs';

try {
  const core = await import('@iocrate/core');
  const native = core.native;
  if (!native || typeof native.benchBridge !== 'function') throw new Error('@iocrate/core native.benchBridge is missing');
  serveCommands({
    run: async ({ count, batched }) => {
      const r = await native.benchBridge(count, !!batched);
      return { events: Number(r.events), ms: Number(r.ms) };
    },
  });
  emit({ ready: true, runtime: typeof core.runtimeInfo === 'function' ? core.runtimeInfo() : null });
} catch (err) {
  unavailable(err);
}
