/**
 * An idle process beside the bots: it does nothing but measure its own event-loop delay, which is
 * then only how long the operating system kept it waiting for a CPU. During a phase that is the
 * floor under every loop-delay and latency figure of that phase on this machine.
 */
import { ready, serve } from './childMetrics.js';

serve({ stop: async () => undefined });
ready();
