/**
 * One bot process per data folder. Two processes on one folder overwrite each other's files (a
 * setup gone, one key confirmed to two tenants), so the first takes `instance.lock` (its pid and
 * host) and a second one refuses to start. A lock whose process is gone (a crash, kill -9) is
 * taken over: on this host when its pid no longer runs, from another host when it was not touched
 * for a minute. The key CLI does not take it: it shares only the key catalogue, which has a lock
 * of its own per write.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { lockFile } from './fileLock.js';
import { FILE_MODE, FOLDER_MODE } from './jsonFile.js';

const LOCK_FILE = 'instance.lock';
/**
 * The holder touches its lock this often. A lock from another host (its pid cannot be checked there;
 * a container recreated on the same volume gets a new host name) counts as gone once untouched for
 * STALE_MS.
 */
const HEARTBEAT_MS = 10_000;
const STALE_MS = 60_000;

const HolderSchema = z.object({ pid: z.number().int().positive(), host: z.string(), since: z.string(), token: z.string() });
export type Holder = z.infer<typeof HolderSchema>;

/** Locks this process holds, by token: a lock file with this pid but another token is left over, not held. */
const heldHere = new Set<string>();

/** Another process uses the folder; the bot must not start. */
export class DataDirLockedError extends Error {
  constructor(dir: string, holder: Holder, sameHost: boolean) {
    const who = `process ${holder.pid} on host ${holder.host} (since ${holder.since})`;
    const unsure = sameHost ? '' : ` If no bot runs on ${holder.host} any more, start again in a minute (its lock is then stale) or delete ${join(dir, LOCK_FILE)}.`;
    super(
      `The data folder ${dir} is in use by another Partner Setup Bot: ${who}. One data folder serves one bot process; ` +
        `to run several instances, give them the server database (PostgreSQL) instead of the data folder.${unsure}`,
    );
  }
}

/** The data folder cannot be written: every change would fail turn by turn, so the bot does not start. */
export class DataDirNotWritableError extends Error {
  constructor(dir: string, code: string | undefined) {
    super(`The data folder ${dir} cannot be written (${code ?? 'error'}): the bot saves every change there. Make it writable for this user, or set DATA_DIR to a folder that is.`);
  }
}

export interface InstanceLock {
  /** The holder whose lock was taken over because its process is gone. */
  readonly tookOver?: Holder;
  /** Whether a file can still be written in the folder (the health check asks). */
  writable(): Promise<boolean>;
  release(): Promise<void>;
}

/** Takes the folder for this process; throws DataDirLockedError or DataDirNotWritableError. */
export async function lockDataDir(dataDir: string): Promise<InstanceLock> {
  const dir = resolve(dataDir);
  try {
    await mkdir(dir, { recursive: true, mode: FOLDER_MODE });
  } catch (error) {
    throw new DataDirNotWritableError(dir, (error as NodeJS.ErrnoException).code);
  }
  const problem = await writeErrorCode(dir);
  if (problem) throw new DataDirNotWritableError(dir, problem);
  // A folder made before files were kept private (or by another tool) is closed to other users too.
  await chmod(dir, FOLDER_MODE).catch(() => undefined);
  const path = join(dir, LOCK_FILE);
  // Reading the holder and writing ours is one step between processes: two starting together cannot both win.
  const unlock = await lockFile(path, join(dir, `.${LOCK_FILE}.lock`));
  let tookOver: Holder | undefined;
  const token = randomUUID();
  try {
    const holder = await readHolder(path);
    if (holder) {
      const sameHost = holder.host === hostname();
      const running = sameHost ? isRunning(holder) : Date.now() - (await touchedAt(path)) < STALE_MS;
      if (running) throw new DataDirLockedError(dir, holder, sameHost);
      tookOver = holder;
    }
    const mine: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token };
    const temp = join(dir, `.${LOCK_FILE}.${token}.tmp`);
    await writeFile(temp, JSON.stringify(mine), { mode: FILE_MODE, flag: 'wx' });
    await rename(temp, path);
    heldHere.add(token);
  } finally {
    await unlock().catch(() => undefined);
  }
  let checking: Promise<boolean> | undefined;
  // A failed touch (a read-only folder) only lets the lock look stale to another host sooner.
  const heartbeat = setInterval(() => void utimes(path, new Date(), new Date()).catch(() => undefined), HEARTBEAT_MS).unref();
  return {
    tookOver,
    // Requests that come together share one check: a flood of health checks writes one file at a time.
    writable: () => (checking ??= writeErrorCode(dir).then((code) => code === undefined).finally(() => (checking = undefined))),
    async release() {
      clearInterval(heartbeat);
      if (!heldHere.delete(token)) return;
      // Only our own lock goes: a folder copied or restored meanwhile may hold another.
      // One left behind (a read-only folder) names a process that is gone: the next start takes it over.
      if ((await readHolder(path).catch(() => undefined))?.token === token) await rm(path, { force: true }).catch(() => undefined);
    },
  };
}

/** When the lock file was last written or touched; 0 when unknown. */
function touchedAt(path: string): Promise<number> {
  return stat(path).then((stats) => stats.mtimeMs, () => 0);
}

/** The lock's holder; undefined when there is none. A damaged lock file holds no one. */
async function readHolder(path: string): Promise<Holder | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = HolderSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder still runs (on this host). This process's own pid counts only with a token it
 * holds: a lock file with our pid and another token was left by an earlier process that had the
 * same pid (a container's pid 1 after a restart) or came with a copied folder.
 */
function isRunning(holder: Holder): boolean {
  if (holder.pid === process.pid) return heldHere.has(holder.token);
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes and removes a small file; the error's code when that fails. */
async function writeErrorCode(dir: string): Promise<string | undefined> {
  const probe = join(dir, `.write-check.${randomUUID()}.tmp`);
  try {
    await writeFile(probe, '', { mode: FILE_MODE, flag: 'wx' });
    await rm(probe, { force: true });
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
}
