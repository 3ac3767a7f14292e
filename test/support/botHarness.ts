/** Builds the real app (restify, CloudAdapter, JSON files) on a temporary folder and a fake clock. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

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

export interface RunningBot {
  app: App;
  url: string;
  dataDir: string;
  clock: FakeClock;
  mintKeys(count: number, product?: string, seats?: number, months?: number): Promise<string[]>;
  /** Stops the process's app and starts a new one on the same files, as after a restart. */
  restart(): Promise<void>;
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export async function startBot(env: Record<string, string> = {}, options: { dataDir?: string; clock?: FakeClock } = {}): Promise<RunningBot> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'psb-test-')));
  const clock = options.clock ?? new FakeClock();
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', KEY_HASH_SECRET: TEST_SECRET, ...env });
  const log = pino({ level: 'silent' });
  const running: RunningBot = {
    app: await createApp({ config, log, now: clock.now }),
    url: '',
    dataDir,
    clock,
    mintKeys: (count, product = 'Microsoft 365 Business Standard', seats = 10, months = 12) =>
      running.app.embeddedCommerce.issueKeys({ product, seats, months, count }),
    async restart() {
      await running.app.stop();
      running.app = await createApp({ config, log, now: clock.now });
      running.url = (await running.app.start()).url;
    },
    async stop({ keepData = false } = {}) {
      await running.app.stop();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
  running.url = (await running.app.start()).url;
  return running;
}
