/**
 * Temporary files a killed process left behind. Every write has a temporary file of its own
 * (`.<file>.<uuid>.tmp`, see jsonFile.ts), so one that a kill -9 cut short is never reused and
 * would otherwise stay for good, one per crash and file being written. They are never read.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const LEFTOVER = /^\..+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.bak)?\.tmp$/;

/**
 * Removes the leftover temporary files below `dir` that are older than `minAgeMs`: the key CLI may
 * be writing the catalogue right now (it takes no instance lock), and a write takes milliseconds.
 * Returns how many were removed. Symbolic links are neither followed nor removed.
 */
export async function removeLeftoverTemps(dir: string, minAgeMs = 10 * 60_000): Promise<number> {
  let removed = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removed += await removeLeftoverTemps(path, minAgeMs);
    else if (entry.isFile() && LEFTOVER.test(entry.name)) {
      const stats = await stat(path).catch(() => undefined);
      // The real clock, not the bot's: file times are the file system's.
      if (stats && Date.now() - stats.mtimeMs >= minAgeMs) {
        await rm(path, { force: true });
        removed += 1;
      }
    }
  }
  return removed;
}
