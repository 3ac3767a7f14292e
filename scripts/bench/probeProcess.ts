/**
 * An idle process beside the bots: it does nothing but measure its own event-loop delay, which is
 * then only how long the operating system kept it waiting for a CPU. During a phase that is the
 * floor under every loop-delay and latency figure of that phase on this machine.
 */
import { send, serve } from './childMetrics.js';

serve({ stop: async () => undefined });
send({ type: 'listening', port: 0, reminders: 'none', boot: { importsMs: 0, createMs: 0, listenMs: 0, sinceProcessStartMs: performance.now() } });
