/**
 * The load generator in a process of its own: the connector and the benchmark's bookkeeping run in
 * the parent, so their work and garbage collection do not delay the answers this process times.
 */
import { ready, serve } from './childMetrics.js';
import { runLoad } from './load.js';
import { bodyOf, checkOf } from './turns.js';

serve({
  load: ({ url, concurrency, durationMs, checkEvery, turn }) => runLoad({ url, concurrency, durationMs, checkEvery, body: bodyOf(turn), check: checkOf(turn.kind) }),
  stop: async () => undefined,
});
ready();
