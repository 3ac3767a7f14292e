/**
 * One JSON document on disk, validated on load and changed only through serialised transactions.
 * A write goes to a temporary file that is then renamed over the document, so a crash never leaves
 * a half-written file; the version it replaces is kept as `<file>.bak`. A change becomes visible to
 * readers only after it is on disk.
 */
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { current, isDraft, produce, setAutoFreeze } from 'immer';
import { problemInChange } from './changedParts.js';
import { lockFile } from './fileLock.js';
import type { z } from 'zod';

// Documents are never changed outside a transaction; freezing them on every change would only cost.
setAutoFreeze(false);

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

/** A change could not be written; nothing of it was kept. */
export class StoreWriteError extends Error {
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`Could not write ${path}: ${(cause as Error)?.message ?? String(cause)}`);
  }
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

export interface Doc<T> {
  /** The last state written to disk. Treat as read-only. */
  readonly data: Readonly<T>;
  /**
   * Applies `change` to a copy and writes it; readers see the new state only once it is on disk.
   * Transactions on one document run one at a time; a throw in `change` writes nothing. `current`
   * is the state the change applies to, for reading much of it without the draft's copying cost.
   */
  update<R>(change: (draft: T, current: Readonly<T>) => R): Promise<R>;
}

export class DocumentFile<T> implements Doc<T> {
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Array<PendingChange<T>> = [];
  private writeCount = 0;

  /** Modification time of the file as last read or written, to notice another process's write. */
  private knownMtime = 0;

  private constructor(
    readonly path: string,
    private current: T,
    private readonly schema: z.ZodType<T> | undefined,
    private readonly options: DocumentOptions,
  ) {}

  /** A document not on disk yet; it is written on its first change. */
  static fresh<T>(path: string, initial: T, schema?: z.ZodType<T>, options: DocumentOptions = {}): DocumentFile<T> {
    return new DocumentFile(path, initial, schema, options);
  }

  /** Loads and validates the file, or starts from `initial` when it does not exist yet (written on first change). */
  static async open<S extends z.ZodType>(path: string, schema: S, initial: () => z.infer<S>, options: DocumentOptions = {}): Promise<DocumentFile<z.infer<S>>> {
    const doc = new DocumentFile<z.infer<S>>(path, initial(), schema as z.ZodType<z.infer<S>>, options);
    if (existsSync(path)) await doc.load();
    return doc;
  }

  private async load(): Promise<void> {
    const mtime = (await stat(this.path)).mtimeMs;
    this.current = parseDocument(this.path, await readFile(this.path, 'utf8'), this.schema);
    this.knownMtime = mtime;
  }

  /**
   * Waits for the writes under way; a shared document then re-reads the file if another process
   * wrote it since (the key CLI writes the catalogue while the bot runs). A file only this process
   * writes cannot have changed, so it is not looked at.
   */
  refresh(): Promise<void> {
    const run = this.queue.then(() => (this.options.shared ? this.loadIfChanged() : undefined));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async loadIfChanged(): Promise<void> {
    const mtime = await stat(this.path).then((s) => s.mtimeMs, () => 0);
    if (mtime !== 0 && mtime !== this.knownMtime) await this.load();
  }

  get data(): Readonly<T> {
    return this.current;
  }

  /**
   * Changes that arrive while a write is under way are coalesced: the next write applies them all,
   * in order, to one copy and writes the file once. A change that throws is undone alone.
   */
  update<R>(change: (draft: T, current: Readonly<T>) => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ change, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1) {
        const run = this.queue.then(() => this.writeBatch());
        this.queue = run.catch(() => undefined);
      }
    });
  }

  /** How many times the file was written; a test sees coalescing through it. */
  get writes(): number {
    return this.writeCount;
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending.splice(0);
    if (!this.options.shared) return this.applyAndWrite(batch);
    // Another process writes this file too: from reading its latest version to the rename, the
    // file is locked, so that neither process writes over a change of the other.
    let release: () => Promise<void>;
    try {
      release = await lockFile(this.path, hiddenSibling(this.path, 'lock'));
    } catch (error) {
      for (const item of batch) item.reject(new StoreWriteError(this.path, error));
      return;
    }
    try {
      await this.loadIfChanged();
      await this.applyAndWrite(batch);
    } catch (error) {
      // Only reading the other process's version throws here; the changes were not applied.
      for (const item of batch) item.reject(error);
    } finally {
      await release().catch(() => undefined);
    }
  }

  private async applyAndWrite(batch: Array<PendingChange<T>>): Promise<void> {
    // Copy-on-write (immer): a change copies only what it touches and shares the rest, so a
    // transaction on a large document costs what it changes; a change that throws leaves no trace.
    let next = this.current;
    const applied: Array<{ item: PendingChange<T>; result: unknown }> = [];
    for (const item of batch) {
      try {
        let result: unknown;
        const base = next;
        const produced = produce(base, (draft) => {
          result = detached(item.change(draft as T, base));
        }) as T;
        this.assertWritable(next, produced);
        next = produced;
        applied.push({ item, result });
      } catch (error) {
        item.reject(error);
      }
    }
    if (applied.length === 0) return;
    try {
      await this.replaceFile(next);
      this.writeCount++;
    } catch (error) {
      for (const { item } of applied) item.reject(new StoreWriteError(this.path, error));
      return;
    }
    this.current = next;
    if (this.options.shared) this.knownMtime = await stat(this.path).then((s) => s.mtimeMs, () => 0);
    for (const { item, result } of applied) item.resolve(result);
  }

  /**
   * Writes the whole document to a temporary file, keeps the current file as `<file>.bak` and
   * renames the temporary file over the document. The document is never missing or partly
   * written; until the last rename nothing a reader sees has changed, so a failure in any step
   * (a full disk, no permission, a backup that cannot be kept) fails the change as a whole.
   */
  private async replaceFile(next: T): Promise<void> {
    const temp = hiddenSibling(this.path, 'tmp');
    const backupTemp = hiddenSibling(this.path, 'bak.tmp');
    try {
      // Compact JSON: a third smaller than indented JSON, and faster to write and read. The
      // backup's link is made while it is written: neither is seen before the renames, and each
      // step waits for a thread of the file system pool, so they overlap.
      const [written, linked] = await Promise.allSettled([this.writeTemp(temp, JSON.stringify(next)), this.linkCurrent(backupTemp)]);
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

  /** A value that would make the file unreadable at the next start is refused before it is written. */
  private assertWritable(previous: T, next: T): void {
    const problem = this.schema && problemInChange(this.schema, previous, next);
    if (problem) throw new Error(`refused to write ${this.path}: ${problem}`);
  }
}

/** A name in the document's folder that the store never loads (it only loads `*.json`). */
function hiddenSibling(path: string, suffix: string): string {
  return join(dirname(path), `.${basename(path)}.${suffix}`);
}

/**
 * What a change returns may be part of its draft, which is revoked once the change is done: such
 * parts are replaced by plain copies (also inside a returned object or array).
 */
function detached(value: unknown): unknown {
  if (isDraft(value)) return current(value);
  if (Array.isArray(value)) return value.some(isDraft) ? value.map(detached) : value;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value);
    return entries.some(([, v]) => isDraft(v)) ? Object.fromEntries(entries.map(([k, v]) => [k, detached(v)])) : value;
  }
  return value;
}

export interface DocumentOptions {
  /** Another process writes the file too (the key CLI, the catalogue): writes then hold a lock file. */
  shared?: boolean;
}

interface PendingChange<T> {
  change: (draft: T, current: Readonly<T>) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}
