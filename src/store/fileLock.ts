/**
 * A lock between processes on one file, for the files two processes write: the bot and the key CLI
 * both change the key catalogue. proper-lockfile makes the lock a folder (made atomically, on any
 * file system); a holder that died without unlocking (a crash) is taken over once its lock is stale.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { lock } from 'proper-lockfile';
import { FOLDER_MODE } from './jsonFile.js';

/** A write takes milliseconds; a lock this old belongs to a process that is gone. */
const STALE_MS = 5_000;
/** Waits long enough to take over a stale lock: about 7 s in steps of 5 to 50 ms. */
const RETRIES = { retries: 150, factor: 1.2, minTimeout: 5, maxTimeout: 50 };

/** Takes the lock `lockPath` for `path`; resolves to its release. */
export async function lockFile(path: string, lockPath: string): Promise<() => Promise<void>> {
  // proper-lockfile retries every error, a missing folder too: the folder is made first.
  await mkdir(dirname(lockPath), { recursive: true, mode: FOLDER_MODE });
  return lock(path, {
    realpath: false,
    lockfilePath: lockPath,
    stale: STALE_MS,
    retries: RETRIES,
    // Held past STALE_MS (a stalled disk), the lock may be taken over. The write itself stays whole
    // (temporary file and rename); only a change the other process made meanwhile could be lost,
    // as it could without a lock, so there is nothing better to do than go on.
    onCompromised: () => undefined,
  });
}
