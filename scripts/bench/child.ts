/** The parent's handle on a child process (a bot, the load generator or the idle probe): spawn, start-up time, IPC commands, and stopping it. */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { post, type LoadResult } from './load.js';
import type { BootTimings, FromChild, IdleFigures, LoadSpec, LoopFigures, ScanFigures, ToChild } from './protocol.js';

type Command = { cmd: 'loopReset' } | { cmd: 'loopReport' } | { cmd: 'scan'; now: string } | { cmd: 'idle'; timeoutMs: number } | { cmd: 'load'; spec: LoadSpec } | { cmd: 'profileStart' } | { cmd: 'profileStop'; name: string } | { cmd: 'exit' };
type Reply = Extract<FromChild, { type: 'reply' }>;

/** Every child still running, so that an error or Ctrl-C in the parent can stop them all. */
export const liveChildren = new Set<ChildProcess>();

/**
 * The node options `npm start` runs the bot with (package.json's start script), so that the bench
 * measures the bot as it runs in production, heap limit included.
 */
export function startScriptNodeOptions(): string[] {
  const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { scripts: { start: string } };
  const command = /\bnode((?:\s+--\S+)*)\s+dist\/src\/index\.js/.exec(manifest.scripts.start);
  if (!command) throw new Error(`package.json's start script does not run "node [options] dist/src/index.js": ${manifest.scripts.start}`);
  return command[1]!.trim().split(/\s+/).filter(Boolean);
}

export interface SpawnOptions {
  script: 'botProcess.ts' | 'echoProcess.ts' | 'probeProcess.ts' | 'loadProcess.ts';
  env: Record<string, string>;
  /** Extra node options for the child (diagnostics, e.g. --trace-gc or --max-old-space-size=300). */
  nodeOptions?: string[];
  /** The first request: a turn that must be answered with 200 for the bot to count as started (none for a child without a server). */
  probeBody?: string;
  timeoutMs?: number;
}

export class BotChild {
  private seq = 0;
  private readonly waiting = new Map<number, (reply: Reply) => void>();

  private constructor(
    readonly process: ChildProcess,
    readonly url: string,
    /** From fork() to the first 200 on /api/messages. */
    readonly startupMs: number,
    readonly boot: BootTimings,
    readonly reminders: 'real' | 'stand-in' | 'none',
  ) {
    process.on('message', (message: FromChild) => {
      if (message.type !== 'reply') return;
      this.waiting.get(message.seq)?.(message);
      this.waiting.delete(message.seq);
    });
  }

  /** Compiles src/ and scripts/ to dist/ once, for the child processes. */
  static build(): void {
    execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      stdio: 'inherit',
    });
  }

  static async spawn(options: SpawnOptions): Promise<BotChild> {
    // The compiled scripts, as `npm start` runs the bot: no TypeScript compiler in the measured process.
    const script = fileURLToPath(new URL(`../../dist/scripts/bench/${options.script.replace(/\.ts$/, '.js')}`, import.meta.url));
    // --no-deprecation: restify 11 warns about process.binding('http_parser') on every start.
    const execArgv = ['--no-deprecation', ...(options.nodeOptions ?? [])];
    const spawned = performance.now();
    const child = fork(script, [], { execArgv, env: { ...process.env, ...options.env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    try {
      const listening = await new Promise<Extract<FromChild, { type: 'listening' }>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${options.script} did not start within ${options.timeoutMs ?? 60_000} ms`)), options.timeoutMs ?? 60_000);
        child.on('message', (message: FromChild) => {
          if (message.type === 'listening') resolve(message);
          if (message.type === 'failed') reject(new Error(`${options.script} failed to start:\n${message.error}`));
        });
        child.once('exit', (code) => reject(new Error(`${options.script} exited with code ${code} before listening`)));
        child.once('exit', () => clearTimeout(timer));
      });
      const url = `http://127.0.0.1:${listening.port}/api/messages`;
      if (options.probeBody === undefined) return new BotChild(child, url, performance.now() - spawned, listening.boot, listening.reminders);
      const agent = new Agent({ keepAlive: false });
      const answer = await post(agent, new URL(url), options.probeBody, true);
      if (answer.status !== 200) throw new Error(`${options.script}: the first request was answered with HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
      const startupMs = performance.now() - spawned;
      agent.destroy();
      return new BotChild(child, url, startupMs, listening.boot, listening.reminders);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  private command(command: Command, timeoutMs = 60_000): Promise<Reply> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${command.cmd} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(seq, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`${command.cmd} failed in the child: ${reply.error}`));
        else resolve(reply);
      });
      this.process.send({ ...command, seq } as ToChild);
    });
  }

  async resetLoop(): Promise<void> {
    await this.command({ cmd: 'loopReset' });
  }

  async loop(): Promise<LoopFigures> {
    return (await this.command({ cmd: 'loopReport' })).loop!;
  }

  /** One reminder run in the child, as of `now`. */
  async scan(now: Date): Promise<ScanFigures> {
    return (await this.command({ cmd: 'scan', now: now.toISOString() }, 120_000)).scan!;
  }

  /** One phase of load from the load generator child. */
  async load(spec: LoadSpec): Promise<LoadResult> {
    return (await this.command({ cmd: 'load', spec }, spec.durationMs + 60_000)).load!;
  }

  /** Waits until the child's own background work is done (or `timeoutMs` passed). */
  async idle(timeoutMs: number): Promise<IdleFigures> {
    return (await this.command({ cmd: 'idle', timeoutMs }, timeoutMs + 10_000)).idle!;
  }

  /** Starts the child's CPU profiler (only when it was spawned with BENCH_PROFILE_DIR). */
  async profileStart(): Promise<void> {
    await this.command({ cmd: 'profileStart' });
  }

  /** Stops it and writes `<BENCH_PROFILE_DIR>/<name>.cpuprofile`; returns the file. */
  async profileStop(name: string): Promise<string | undefined> {
    return (await this.command({ cmd: 'profileStop', name })).profile;
  }

  /** Asks the child to stop its server and exit (so a CPU profile is written); kills it if it does not. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    await this.command({ cmd: 'exit' }, 10_000).catch(() => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
