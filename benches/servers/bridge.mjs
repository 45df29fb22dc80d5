// Event-bridge bench child: calls benchBridge(count, batched) from @iocrate/core.
// Answers {"cmd":"run","count":N,"batched":bool} with {"events":N,"ms":M}.
import { emit, serveCommands, unavailable } from '../lib/child.mjs';

try {
  const core = await import('@iocrate/core');
  if (typeof core.benchBridge !== 'function') throw new Error('@iocrate/core benchBridge is missing');
  serveCommands({
    run: async ({ count, batched }) => {
      const r = await core.benchBridge(count, !!batched);
      return { events: Number(r.events), ms: Number(r.ms) };
    },
  });
  emit({ ready: true, runtime: typeof core.runtimeInfo === 'function' ? core.runtimeInfo() : null });
} catch (err) {
  unavailable(err);
}
