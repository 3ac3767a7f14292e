/**
 * Finds product keys in files and databases however they were written: with or without hyphens,
 * spaced, in any case. A file (or a table) is read once; its letters and digits (hyphens and white
 * space dropped) are cut into every window of a key's length and looked up, so the cost follows the
 * bytes, not the keys.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { KEY_LENGTH } from '../../src/domain/productKey.js';

export interface KeyHit {
  /** The file, or the database and table (`postgres://…/db#table`). */
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

/** Every table's text in a PostgreSQL database, by table: each row as JSON, in one round trip. */
export async function databaseTables(url: string): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>("SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
    if (tables.length === 0) return new Map();
    const union = tables.map(({ name }) => `SELECT ${pg.escapeLiteral(name)} AS name, string_agg(row_to_json(t)::text, E'\\n') AS text FROM ${name} t`).join(' UNION ALL ');
    const { rows } = await client.query<{ name: string; text: string | null }>(union);
    return new Map(rows.map((row) => [row.name, row.text ?? '']));
  } finally {
    await client.end();
  }
}

/** Scans texts by name (the tables of a database, each named `where#table`) as scanForKeys scans files. */
export function scanTexts(where: string, texts: ReadonlyMap<string, string>, keys: Iterable<string>): ScanResult {
  const wanted = new Set([...keys].map(compact));
  const result: ScanResult = { files: 0, bytes: 0, keys: wanted.size, hits: [] };
  for (const [name, text] of texts) {
    result.files++;
    result.bytes += text.length;
    for (const key of keysIn(text, wanted)) result.hits.push({ file: `${where}#${name}`, key, lastGroup: key.slice(-5) });
  }
  return result;
}
