/**
 * The store's JSON files on disk, as a lowdb adapter: a read parses and validates the file; a write
 * goes to a temporary file that is then renamed over the document, so a crash never leaves a
 * half-written file, and the version it replaces is kept as `<file>.bak`.
 */
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import type { z } from 'zod';

/** The file exists but cannot be used; the bot must not start on it, nor overwrite it. */
export class StoreFileError extends Error {
  constructor(readonly path: string, reason: string) {
    const backup = backupPathOf(path);
    const remedy = existsSync(backup)
      ? `${backup} holds its previous version: stop the bot, copy ${basename(backup)} over ${basename(path)} and start again`
      : 'restore it from a backup or move it away';
    super(`Cannot read the database file ${path}: ${reason}. The file was left untouched; ${remedy}.`);
  }
}

/** Where the version a write replaced is kept. */
export function backupPathOf(path: string): string {
  return `${path}.bak`;
}

/** A name in the document's folder that the store never loads (it only loads `*.json`). */
export function hiddenSibling(path: string, suffix: string): string {
  return join(dirname(path), `.${basename(path)}.${suffix}`);
}

/** A file's text as a document: parsed, and validated when a schema is given; a damaged file names itself. */
export function parseDocument<T>(path: string, text: string, schema?: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StoreFileError(path, (error as Error).message);
  }
  if (!schema) return raw as T;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StoreFileError(path, `unexpected content at ${issue?.path.join('.') || 'the top level'} (${issue?.message})`);
  }
  return parsed.data;
}

export class JsonFileWithBackup<T> implements Adapter<T> {
  constructor(
    readonly path: string,
    private readonly schema?: z.ZodType<T>,
  ) {}

  /** The validated document, or null when there is no file yet. */
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return parseDocument(this.path, text, this.schema);
  }

  /**
   * Writes the whole document to a temporary file, keeps the current file as `<file>.bak` and
   * renames the temporary file over the document. The document is never missing or partly
   * written; until the last rename nothing a reader sees has changed, so a failure in any step
   * (a full disk, no permission, a backup that cannot be kept) fails the write as a whole.
   */
  async write(data: T): Promise<void> {
    const temp = hiddenSibling(this.path, 'tmp');
    const backupTemp = hiddenSibling(this.path, 'bak.tmp');
    try {
      // Compact JSON: a third smaller than indented JSON, and faster to write and read. The
      // backup's link is made while it is written: neither is seen before the renames, and each
      // step waits for a thread of the file system pool, so they overlap.
      const [written, linked] = await Promise.allSettled([this.writeTemp(temp, JSON.stringify(data)), this.linkCurrent(backupTemp)]);
      if (written.status === 'rejected') throw written.reason;
      if (linked.status === 'rejected') throw linked.reason;
      // A crash between the renames leaves the old backup or the new one, and the old document.
      if (linked.value) await rename(backupTemp, backupPathOf(this.path));
      await rename(temp, this.path);
    } catch (error) {
      // A failed write leaves no trace, and on a full disk no partial copy taking up space.
      await Promise.all([temp, backupTemp].map((file) => rm(file, { force: true }).catch(() => undefined)));
      throw error;
    }
  }

  /** The folder is made by the first write into it, so that later writes need no call for it. */
  private async writeTemp(temp: string, text: string): Promise<void> {
    try {
      await writeFile(temp, text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(temp), { recursive: true });
      await writeFile(temp, text);
    }
  }

  /**
   * Links the current file under a temporary name, to become `<file>.bak` (a hard link: no copy,
   * however large the file). False when there is no current file yet: before the first write
   * there is nothing to keep.
   */
  private async linkCurrent(temp: string): Promise<boolean> {
    try {
      await link(this.path, temp);
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      if (code === 'ENOENT') return false;
      // A link a crash left between the link and the rename goes; on a file system without hard
      // links (some network shares), and once after such a crash, a copy is slower and as safe.
      if (code === 'EEXIST') await rm(temp);
      await copyFile(this.path, temp);
    }
    return true;
  }
}
