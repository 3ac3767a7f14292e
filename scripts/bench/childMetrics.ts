/** The measuring side inside a bot child: event-loop blocks, memory, and the IPC command loop. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { profileStart, profileStop } from './profiler.js';
import type { FromChild, LoopFigures, ScanFigures, ToChild } from './protocol.js';

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();

const MB = 1024 * 1024;
const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);

export function send(message: FromChild): void {
  process.send?.(message);
}

/** Lets pending timers fire, so a block that just ended is recorded in the histogram. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

export function resetLoop(): void {
  histogram.reset();
}

export function loopFigures(): LoopFigures {
  const memory = process.memoryUsage();
  return {
    maxMs: ms(histogram.max),
    p99Ms: ms(histogram.percentile(99)),
    meanMs: ms(histogram.mean),
    rssMB: memory.rss / MB,
    // maxRSS is in kilobytes.
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    heapUsedMB: memory.heapUsed / MB,
  };
}

export interface ChildHandlers {
  scan?: (now: Date, preview: boolean) => Promise<Omit<ScanFigures, 'loopMaxMs'>>;
  stop: () => Promise<void>;
}

/** Answers the parent's commands; exits when told to or when the parent goes away. */
export function serve(handlers: ChildHandlers): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ToChild) => {
    void (async () => {
      try {
        switch (message.cmd) {
          case 'loopReset':
            await settle();
            resetLoop();
            // A reset also forgets the last tick, so the first interval after it is not recorded:
            // let one tick pass before the measured work starts.
            await settle();
            return send({ type: 'reply', seq: message.seq });
          case 'loopReport':
            await settle();
            return send({ type: 'reply', seq: message.seq, loop: loopFigures() });
          case 'scan': {
            if (!handlers.scan) return send({ type: 'reply', seq: message.seq, error: 'this child has no reminder scan' });
            await settle();
            resetLoop();
            await settle();
            const result = await handlers.scan(new Date(message.now), message.preview === true);
            await settle();
            return send({ type: 'reply', seq: message.seq, scan: { ...result, loopMaxMs: ms(histogram.max) } });
          }
          case 'profileStart':
            await profileStart();
            return send({ type: 'reply', seq: message.seq });
          case 'profileStop':
            return send({ type: 'reply', seq: message.seq, profile: await profileStop(message.name) });
          case 'exit':
            await handlers.stop().catch(() => undefined);
            send({ type: 'reply', seq: message.seq });
            setTimeout(() => process.exit(0), 20);
            return;
        }
      } catch (error) {
        send({ type: 'reply', seq: message.seq, error: String((error as Error)?.stack ?? error) });
      }
    })();
  });
}
