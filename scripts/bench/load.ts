/**
 * The load generator: `concurrency` conversations, each posting its next activity as soon as the
 * previous one is answered, over keep-alive HTTP, for a fixed time.
 */
import { Agent, request } from 'node:http';

export interface LoadOptions {
  /** The bot's /api/messages URL. */
  url: string;
  concurrency: number;
  durationMs: number;
  /** The request body of the phase's `n`-th turn. */
  body: (n: number) => string;
  /** Checks the response of every `checkEvery`-th turn (and the first); false counts as a failure. */
  check?: (status: number, body: string) => string | undefined;
  checkEvery?: number;
}

export interface LoadResult {
  turns: number;
  errors: number;
  durationMs: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  checked: number;
  checkFailures: number;
  firstFailure?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Answer {
  status: number;
  body: string;
}

export function post(agent: Agent, url: URL, body: string, keepBody: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => keepBody && chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: keepBody ? Buffer.concat(chunks).toString('utf8') : '' }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  let n = 0;
  let errors = 0;
  let ok = 0;
  let checked = 0;
  let checkFailures = 0;
  let firstFailure: string | undefined;
  const checkEvery = options.checkEvery ?? 25;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const worker = async () => {
    while (performance.now() < deadline) {
      const turn = n++;
      const check = options.check && turn % checkEvery === 0 ? options.check : undefined;
      const sent = performance.now();
      try {
        const answer = await post(agent, url, options.body(turn), check !== undefined);
        latencies.push(performance.now() - sent);
        if (answer.status === 200) ok++;
        else {
          errors++;
          firstFailure ??= `HTTP ${answer.status}`;
        }
        if (check) {
          checked++;
          const problem = check(answer.status, answer.body);
          if (problem) {
            checkFailures++;
            firstFailure ??= problem;
          }
        }
      } catch (error) {
        errors++;
        firstFailure ??= String((error as Error)?.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  const durationMs = performance.now() - started;
  agent.destroy();
  const sorted = latencies.toSorted((a, b) => a - b);
  return {
    turns: latencies.length,
    errors,
    durationMs,
    // Answered turns per second; failed ones do not count.
    throughput: ok / (durationMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? 0,
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length),
    checked,
    checkFailures,
    firstFailure,
  };
}
