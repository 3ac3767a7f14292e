/** Messages between the benchmark (parent) and its child processes, over the fork IPC channel. */
import type { LoadResult } from './load.js';
import type { TurnSpec } from './turns.js';

export interface BootTimings {
  /** From the child process's start (performance.timeOrigin) to the end of module loading. */
  importsMs: number;
  /** createApp (or the echo bot's set-up): loading and validating the data, indexing, reconciling. */
  createMs: number;
  /** server.listen until it listens. */
  listenMs: number;
  /** Process start until listening, as the child sees it. */
  sinceProcessStartMs: number;
}

export interface LoopFigures {
  /** Longest event-loop block since the last reset (monitorEventLoopDelay, resolution 1 ms). */
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  rssMB: number;
  /** process.resourceUsage().maxRSS: the peak resident set size of the whole process so far. */
  maxRssMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  /** Memory of C++ objects bound to JS objects, Buffers included. */
  externalMB: number;
  arrayBuffersMB: number;
  /** Garbage collections since the last reset: how many, their total and longest pause. */
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** CPU time of the child since the last reset. */
  cpuMs: number;
}

export interface ScanFigures {
  kind: 'real' | 'stand-in';
  /** The whole run: finding what is due and recording it. */
  ms: number;
  /** Finding what is due over all subscriptions, before anything is written. */
  findMs: number;
  due: number;
  /** How the real scan was called, or why it was not. */
  note?: string;
  /** Longest event-loop block while the scan ran. */
  loopMaxMs: number;
}

export interface IdleFigures {
  /** How long the child stayed busy (its own background work) before it went idle. */
  waitedMs: number;
  /** CPU time the child used meanwhile. */
  cpuMs: number;
  timedOut: boolean;
}

/** One phase of load, as the load generator child runs it. */
export interface LoadSpec {
  /** The bot's /api/messages URL. */
  url: string;
  concurrency: number;
  durationMs: number;
  /** Every how many turns the answer is checked (the first always is). */
  checkEvery: number;
  turn: TurnSpec;
}

export type ToChild =
  | { cmd: 'loopReset'; seq: number }
  | { cmd: 'loopReport'; seq: number }
  | { cmd: 'scan'; seq: number; now: string }
  | { cmd: 'idle'; seq: number; timeoutMs: number }
  | { cmd: 'load'; seq: number; spec: LoadSpec }
  | { cmd: 'profileStart'; seq: number }
  | { cmd: 'profileStop'; seq: number; name: string }
  | { cmd: 'exit'; seq: number };

export type FromChild =
  | { type: 'listening'; port: number; boot: BootTimings; reminders: 'real' | 'stand-in' | 'none' }
  | { type: 'failed'; error: string }
  | { type: 'reply'; seq: number; loop?: LoopFigures; scan?: ScanFigures; idle?: IdleFigures; load?: LoadResult; profile?: string; error?: string };
