/**
 * The real Partner Setup Bot in a child process of the benchmark: createApp on the synthetic data,
 * local mode (anonymous), on the files (BENCH_DATA_DIR) or PostgreSQL (BENCH_DATABASE_URL), measured from the inside (event-loop blocks, peak RSS, boot phases).
 * Started by scripts/bench.ts as `node --import tsx scripts/bench/botProcess.ts`.
 *
 * The bot runs on the real clock. Only for the reminder run is it set to the day the parent asks
 * for (createApp's `now` option, as the tests' FakeClock uses it), so that the measured run has that
 * day's reminders to queue even though the start-up catch-up run has already done today's.
 */
import { send, serve } from './childMetrics.js';
import { profileStart } from './profiler.js';

async function main(): Promise<void> {
  // With BENCH_PROFILE_DIR, the start-up profile runs until the parent stops it after the first answer.
  await profileStart();
  const [{ createApp }, { loadConfig }, { pino }, { runReminderScan }] = await Promise.all([
    import('../../src/app.js'),
    import('../../src/config.js'),
    import('pino'),
    import('./reminderScan.js'),
  ]);
  const importsDone = performance.now();
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const config = loadConfig({ DATA_DIR: process.env.BENCH_DATA_DIR, DATABASE_URL: process.env.BENCH_DATABASE_URL, PORT: '0', LOG_LEVEL: 'silent', KEY_HASH_SECRET: process.env.BENCH_KEY_HASH_SECRET });
  const app = await createApp({ config, log: pino({ level: 'silent' }), now });
  const created = performance.now();
  const { url } = await app.start();
  const listening = performance.now();
  serve({
    scan: async (at) => {
      offsetMs = at.getTime() - Date.now();
      const started = performance.now();
      const result = await runReminderScan(app);
      return { ...result, ms: performance.now() - started };
    },
    stop: () => app.stop(),
  });
  send({
    type: 'listening',
    port: Number(new URL(url).port),
    reminders: 'real',
    boot: { importsMs: importsDone, createMs: created - importsDone, listenMs: listening - created, sinceProcessStartMs: listening },
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
  setTimeout(() => process.exit(1), 50);
});
