/** The measuring side inside a bot child: event-loop blocks, memory, and the IPC command loop. */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { profileStart, profileStop } from './profiler.js';
import type { LoadResult } from './load.js';
import type { FromChild, IdleFigures, LoadSpec, LoopFigures, ScanFigures, ToChild } from './protocol.js';

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();

/** Garbage-collection pauses since the last reset, to tell GC from code in a long block. */
const gc = { count: 0, totalMs: 0, maxMs: 0 };
let cpuAtReset = process.cpuUsage();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

const MB = 1024 * 1024;
const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);

export function send(message: FromChild): void {
  process.send?.(message);
}

/** Tells the parent that a child without a server (the load generator, the probe) is ready for commands. */
export function ready(): void {
  send({ type: 'listening', port: 0, reminders: 'none', boot: { importsMs: 0, createMs: 0, listenMs: 0, sinceProcessStartMs: performance.now() } });
}

/** Lets pending timers fire, so a block that just ended is recorded in the histogram. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

export function resetLoop(): void {
  histogram.reset();
  Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0 });
  cpuAtReset = process.cpuUsage();
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
    heapTotalMB: memory.heapTotal / MB,
    externalMB: memory.external / MB,
    arrayBuffersMB: memory.arrayBuffers / MB,
    gcCount: gc.count,
    gcTotalMs: gc.totalMs,
    gcMaxMs: gc.maxMs,
    cpuMs: (process.cpuUsage(cpuAtReset).user + process.cpuUsage(cpuAtReset).system) / 1000,
  };
}

const IDLE_WINDOW_MS = 250;
/** CPU share of a window below which the process counts as idle. */
const IDLE_SHARE = 0.05;

/**
 * Waits until the process has done (almost) nothing for two windows in a row: background work the
 * bot starts by itself (the start-up sweep and reminder run) must not run into the measured turns.
 */
export async function waitIdle(timeoutMs: number): Promise<IdleFigures> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let quiet = 0;
  while (performance.now() - started < timeoutMs) {
    const before = process.cpuUsage();
    const at = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
    const used = process.cpuUsage(before);
    const share = (used.user + used.system) / 1000 / (performance.now() - at);
    quiet = share < IDLE_SHARE ? quiet + 1 : 0;
    if (quiet >= 2) break;
  }
  const cpu = process.cpuUsage(cpuStart);
  const waitedMs = Math.max(0, performance.now() - started - 2 * IDLE_WINDOW_MS);
  return { waitedMs, cpuMs: (cpu.user + cpu.system) / 1000, timedOut: quiet < 2 };
}

export interface ChildHandlers {
  scan?: (now: Date) => Promise<Omit<ScanFigures, 'loopMaxMs'>>;
  load?: (spec: LoadSpec) => Promise<LoadResult>;
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
            const result = await handlers.scan(new Date(message.now));
            await settle();
            return send({ type: 'reply', seq: message.seq, scan: { ...result, loopMaxMs: ms(histogram.max) } });
          }
          case 'load':
            if (!handlers.load) return send({ type: 'reply', seq: message.seq, error: 'this child generates no load' });
            return send({ type: 'reply', seq: message.seq, load: await handlers.load(message.spec) });
          case 'idle':
            return send({ type: 'reply', seq: message.seq, idle: await waitIdle(message.timeoutMs) });
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
