/** Reads the data folder as a whole: byte snapshots that prove a request changed nothing, and the embedded backend's records. */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file under the data folder, by path relative to it, with its exact bytes. */
export type Snapshot = Map<string, Buffer>;

export async function snapshotFiles(dataDir: string): Promise<Snapshot> {
  const entries = await readdir(dataDir, { withFileTypes: true, recursive: true });
  // The running bot's instance lock is not data: a copy of the folder does not have it.
  const files = entries.filter((entry) => entry.isFile() && !(entry.name === 'instance.lock' && entry.parentPath === dataDir)).map((entry) => join(entry.parentPath, entry.name));
  const contents = await Promise.all(files.map((file) => readFile(file)));
  return new Map(files.map((file, i) => [relative(dataDir, file), contents[i]!]));
}

/** Files added, removed or rewritten with other bytes between two snapshots, for a readable failure. */
export function changedFiles(before: Snapshot, after: Snapshot): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((path) => !before.has(path) || !after.has(path) || !before.get(path)!.equals(after.get(path)!)).sort();
}

/** The records of one kind over a folder's data files (`*.json`; a store may keep other files, such as backups, beside them). */
async function recordsIn(dir: string, field: string): Promise<any[]> {
  const records: any[] = [];
  const files = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.json'));
  for (const file of files) records.push(...Object.values(JSON.parse(await readFile(join(dir, file), 'utf8'))[field]));
  return records;
}

/** The customer tenants the embedded commerce backend holds, over all its files. */
export function commerceTenants(dataDir: string): Promise<any[]> {
  return recordsIn(join(dataDir, 'commerce', 'tenants'), 'tenants');
}

/** Who holds each reserved key, over all files of the reservation index. */
export function reservationHolders(dataDir: string): Promise<Array<{ tenantId: string; setupId: string }>> {
  return recordsIn(join(dataDir, 'reservations'), 'reservations');
}
