/**
 * Finds product keys in files however they were written: with or without hyphens, spaced, in any
 * case. A file is read once; its letters and digits (hyphens and white space dropped) are cut into
 * every window of a key's length and looked up, so the cost follows the bytes, not the keys.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_LENGTH } from '../../src/domain/productKey.js';

export interface KeyHit {
  file: string;
  /** The whole key, compact, to match with other records; never printed. */
  key: string;
  /** Only the last group, so that a report of a leak does not leak it again. */
  lastGroup: string;
}

export interface ScanResult {
  files: number;
  bytes: number;
  keys: number;
  hits: KeyHit[];
}

/** The form keys are compared in: 25 upper-case letters and digits. */
export const compact = (text: string) => text.replace(/[-\s]/g, '').toUpperCase();
const RUN = new RegExp(`[A-Z0-9]{${KEY_LENGTH},}`, 'g');

/** The runs of letters and digits in `text` (hyphens and white space dropped) long enough to hold a key. */
export function keyRuns(text: string): string[] {
  return compact(text).match(RUN) ?? [];
}

/** The keys of `keys` (in compact form) that occur in `text`. */
export function keysIn(text: string, keys: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  for (const run of keyRuns(text)) {
    for (let i = 0; i + KEY_LENGTH <= run.length; i++) {
      const window = run.slice(i, i + KEY_LENGTH);
      if (keys.has(window)) found.add(window);
    }
  }
  return found;
}

/** Every file under a folder, at any depth; none when the folder is gone. */
export async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

export async function scanForKeys(files: readonly string[], keys: Iterable<string>): Promise<ScanResult> {
  const wanted = new Set([...keys].map(compact));
  const result: ScanResult = { files: 0, bytes: 0, keys: wanted.size, hits: [] };
  for (const file of files) {
    // Keys are ASCII: reading bytes as Latin-1 keeps every byte one character, whatever the encoding.
    const text = await readFile(file, 'latin1');
    result.files++;
    result.bytes += text.length;
    for (const key of keysIn(text, wanted)) result.hits.push({ file, key, lastGroup: key.slice(-5) });
  }
  return result;
}
