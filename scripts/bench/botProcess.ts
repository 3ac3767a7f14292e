/**
 * The real Partner Setup Bot in a child process of the benchmark: createApp on the synthetic data,
 * local mode (anonymous), measured from the inside (event-loop blocks, peak RSS, boot phases).
 * Started by scripts/bench.ts as `node --import tsx scripts/bench/botProcess.ts`.
 */
import { send, serve } from './childMetrics.js';
import { profileStart } from './profiler.js';

async function main(): Promise<void> {
  // With BENCH_PROFILE_DIR, the start-up profile runs until the parent stops it after the first answer.
  await profileStart();
  const [{ createApp }, { loadConfig }, { pino }, { runReminderScan, realReminders, previewReminderService, storeOf }] = await Promise.all([
    import('../../src/app.js'),
    import('../../src/config.js'),
    import('pino'),
    import('./reminderScan.js'),
  ]);
  const importsDone = performance.now();
  const config = loadConfig({ DATA_DIR: process.env.BENCH_DATA_DIR, PORT: '0', LOG_LEVEL: 'silent', KEY_HASH_SECRET: process.env.BENCH_KEY_HASH_SECRET });
  const app = await createApp({ config, log: pino({ level: 'silent' }) });
  const created = performance.now();
  const { url } = await app.start();
  const listening = performance.now();
  serve({
    scan: async (now, preview) => {
      const started = performance.now();
      if (preview) {
        const result = await previewReminderService(storeOf(app), now);
        const ms = performance.now() - started;
        return 'error' in result ? { kind: 'preview', ms, due: -1, note: result.error } : { kind: 'preview', ms, due: result.due };
      }
      const result = await runReminderScan(app, now);
      return { ...result, ms: performance.now() - started };
    },
    stop: () => app.stop(),
  });
  send({
    type: 'listening',
    port: Number(new URL(url).port),
    reminders: realReminders(app) ? 'real' : 'stand-in',
    boot: { importsMs: importsDone, createMs: created - importsDone, listenMs: listening - created, sinceProcessStartMs: listening },
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
  setTimeout(() => process.exit(1), 50);
});
