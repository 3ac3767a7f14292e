/** The bot as `npm start` runs it, in a process of its own, for tests of what only a process shows. */
import { spawn, type ChildProcess } from 'node:child_process';

/** The key-hash secret of bot processes started by tests (unless a test gives its own). */
export const PROCESS_SECRET = 'security-test-secret-security-test-secret';

/** The bot as `npm start` runs it, in its own process. */
export class BotProcess {
  readonly child: ChildProcess;
  output = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly listening: Promise<string>;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', DEMO_KEY_COUNT: '0', KEY_HASH_SECRET: PROCESS_SECRET, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.listening = new Promise((resolve, reject) => {
      this.child.stdout!.on('data', (chunk) => {
        this.output += chunk;
        const url = this.output.match(/listening on (http:\/\/[\d.:]+)\/api\/messages/)?.[1];
        if (url) resolve(url);
      });
      this.child.stderr!.on('data', (chunk) => (this.stderr += chunk));
      void this.exited.then((code) => reject(new Error(`the bot exited (${code}) before listening: ${this.stderr}`)));
    });
  }

  /** The bot's URL once it listens. */
  url(): Promise<string> {
    return this.listening;
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
