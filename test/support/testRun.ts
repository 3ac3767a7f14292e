/**
 * One folder per test run for what the in-process bots leave behind (a log file and a data folder
 * each), so that the secrets scan after all suites can read all of it. The folder goes when the
 * process ends, unless the scan found something to look at.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BotTrace {
  /** The bot's data folder: in the run folder, unless a test chose its own (and removes it). */
  dataDir: string;
  logFile: string;
  /** The secret of the key hashes in the bot's catalogue. */
  keyHashSecret: string;
  /** The database the bot ran on (PostgreSQL store), set once the bot has connected to it. */
  databaseUrl?: string;
}

let folder: string | undefined;
let keep = false;
let botFolders = 0;
const bots: BotTrace[] = [];

export function runFolder(): string {
  if (!folder) {
    const made = mkdtempSync(join(tmpdir(), 'psb-run-'));
    process.once('exit', () => keep || rmSync(made, { recursive: true, force: true }));
    folder = made;
  }
  return folder;
}

/** A new, empty folder for one bot of this run. */
export function newBotFolder(): string {
  const dir = join(runFolder(), `bot-${++botFolders}`);
  mkdirSync(dir);
  return dir;
}

export function recordBot(trace: BotTrace): void {
  bots.push(trace);
}

export function botsOfRun(): readonly BotTrace[] {
  return bots;
}

/** Keeps the run folder after the process ends; returns where it is. */
export function keepRunFolder(): string {
  keep = true;
  return runFolder();
}
