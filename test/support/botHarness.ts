/**
 * Builds the real app (restify, CloudAdapter, JSON files) on a fake clock, in a folder of the test
 * run that keeps its data and its log (at the most verbose level) for the secrets scan after all suites
 * (which also reads the database of a bot on PostgreSQL).
 * With TEST_STORE=postgres the same bot runs on PostgreSQL instead: a fresh database of the test
 * server per bot (`npm run test:postgres` runs the HTTP suites so).
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { loadKeyHashSecret } from '../../src/commerce/keyHasher.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { databaseUrl } from './postgres.js';
import { noteKeys, noteTypedKeys } from './productKeysSeen.js';
import { newBotFolder, recordBot, type BotTrace } from './testRun.js';

/** The key-hash secret of every test bot, so a test can find where a key is stored. */
export const TEST_SECRET = 'test-secret-test-secret-test-secret-42';

export class FakeClock {
  constructor(public current = new Date('2026-03-02T09:00:00Z')) {}
  now = (): Date => new Date(this.current);
  advanceDays(days: number): void {
    this.current = new Date(this.current.getTime() + days * 86_400_000);
  }
  advanceMinutes(minutes: number): void {
    this.current = new Date(this.current.getTime() + minutes * 60_000);
  }
}

/** Which store the test bots run on: the files (default) or PostgreSQL (TEST_STORE=postgres). */
export const TEST_STORE: 'file' | 'postgres' = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'file';

export interface RunningBot {
  app: App;
  store: 'file' | 'postgres';
  /** The database the bot runs on (PostgreSQL store only). */
  databaseUrl?: string;
  url: string;
  dataDir: string;
  clock: FakeClock;
  mintKeys(count: number, product?: string, seats?: number, months?: number): Promise<string[]>;
  /** Stops the process's app and starts a new one on the same files, as after a restart. */
  restart(): Promise<void>;
  /** Stops the app; its files stay for the secrets scan (the run's folder goes when the run ends). */
  stop(): Promise<void>;
}

export async function startBot(env: Record<string, string> = {}, options: { dataDir?: string; clock?: FakeClock } = {}): Promise<RunningBot> {
  const folder = newBotFolder();
  const dataDir = options.dataDir ?? join(folder, 'data');
  const clock = options.clock ?? new FakeClock();
  const database = TEST_STORE === 'postgres' && env.DATABASE_URL === undefined ? { DATABASE_URL: await databaseUrl() } : {};
  // Sweeps run when a test asks (app.sweep()) on its fake clock, not when the wall clock's minute turns:
  // one in between would do a test's work before the test looks.
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'trace', KEY_HASH_SECRET: TEST_SECRET, RELEASE_CRON: '0 0 1 1 *', ...database, ...env });
  const logFile = join(folder, 'bot.log');
  const log = createLogger(config.LOG_LEVEL, pino.destination({ dest: logFile, sync: true }));
  const trace: BotTrace = { dataDir, logFile, keyHashSecret: await loadKeyHashSecret(dataDir, config.KEY_HASH_SECRET) };
  recordBot(trace);
  const open = async () => {
    const app = await createApp({ config, log, now: clock.now });
    noteTypedKeys(app.server);
    // Only a database the bot reached is the scan's to read (a test may start one on a wrong URL).
    if (config.DATABASE_URL !== undefined) trace.databaseUrl = config.DATABASE_URL;
    return app;
  };
  const running: RunningBot = {
    app: await open(),
    store: config.DATABASE_URL === undefined ? 'file' : 'postgres',
    ...(config.DATABASE_URL !== undefined && { databaseUrl: config.DATABASE_URL }),
    url: '',
    dataDir,
    clock,
    async mintKeys(count, product = 'Microsoft 365 Business Standard', seats = 10, months = 12) {
      const keys = await running.app.embeddedCommerce.issueKeys({ product, seats, months, count });
      noteKeys(keys);
      return keys;
    },
    async restart() {
      await running.app.stop();
      running.app = await open();
      running.url = (await running.app.start()).url;
    },
    stop: () => running.app.stop(),
  };
  running.url = (await running.app.start()).url;
  return running;
}
