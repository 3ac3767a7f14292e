/**
 * The load generator in a process of its own: the connector and the benchmark's bookkeeping run in
 * the parent, so their work and garbage collection do not delay the answers this process times.
 */
import { send, serve } from './childMetrics.js';
import { runLoad } from './load.js';
import { bodyOf, checkOf } from './turns.js';

serve({
  load: ({ url, concurrency, durationMs, checkEvery, turn }) => {
    const body = bodyOf(turn);
    return runLoad({ url, concurrency, durationMs, checkEvery, body: (_worker, n) => body(n), check: checkOf(turn.kind) });
  },
  stop: async () => undefined,
});
send({ type: 'listening', port: 0, reminders: 'none', boot: { importsMs: 0, createMs: 0, listenMs: 0, sinceProcessStartMs: performance.now() } });
