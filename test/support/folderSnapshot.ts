/** A folder's files and their exact bytes, to prove that something changed none of them. */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Every file under `dir` (hidden temporary files included), by path relative to it, with a hash of
 * its bytes: two snapshots compare equal only if no file was added, removed or rewritten, and a
 * failed comparison names the files.
 */
export async function snapshotFolder(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
  const hashes = await Promise.all(files.map(async (file) => createHash('sha256').update(await readFile(file)).digest('hex')));
  return Object.fromEntries(files.map((file, i) => [relative(dir, file), hashes[i]!]));
}
