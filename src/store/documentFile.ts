/**
 * One JSON document on disk, a lowdb database over `JsonFileWithBackup` (temporary file, `.bak`,
 * rename): validated on load (a sealed cache checked instead) and changed only through serialised
 * transactions. A change becomes visible to readers only after it is on disk.
 */
import { statSync } from 'node:fs';
import { current, isDraft, produce, setAutoFreeze } from 'immer';
import { Low } from 'lowdb';
import { problemInChange } from './changedParts.js';
import { lockFile } from './fileLock.js';
import { hiddenSibling, JsonFileWithBackup, type JsonFileOptions } from './jsonFile.js';
import type { z } from 'zod';

// Documents are never changed outside a transaction; freezing them on every change would only cost.
setAutoFreeze(false);

/** A change could not be written; nothing of it was kept. */
export class StoreWriteError extends Error {
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`Could not write ${path}: ${(cause as Error)?.message ?? String(cause)}`);
  }
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
  /** lowdb's database: its `data` runs ahead of `committed` while a write is under way. */
  private readonly db: Low<T>;
  /** The state last written to disk: what readers see. */
  private committed: T;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Array<PendingChange<T>> = [];
  private writeCount = 0;

  /** Modification time of the file as last read or written, to notice another process's write. */
  private knownMtime = 0;

  private constructor(
    readonly path: string,
    initial: T,
    private readonly schema: z.ZodType<T> | undefined,
    private readonly options: DocumentOptions,
  ) {
    this.db = new Low(new JsonFileWithBackup(path, schema, { sealed: options.sealed }), initial);
    this.committed = initial;
  }

  /** A document not on disk yet; it is written on its first change. */
  static fresh<T>(path: string, initial: T, schema?: z.ZodType<T>, options: DocumentOptions = {}): DocumentFile<T> {
    return new DocumentFile(path, initial, schema, options);
  }

  /** Loads and validates the file, or starts from `initial` when it does not exist yet (written on first change). */
  static async open<S extends z.ZodType>(path: string, schema: S, initial: () => z.infer<S>, options: DocumentOptions = {}): Promise<DocumentFile<z.infer<S>>> {
    const doc = new DocumentFile<z.infer<S>>(path, initial(), schema as z.ZodType<z.infer<S>>, options);
    await doc.load();
    return doc;
  }

  /** Reads the file, when there is one (the adapter gives null for none, and lowdb keeps the data). */
  private async load(): Promise<void> {
    // Only a shared file's time is used: it tells whether another process wrote the file since.
    const mtime = this.options.shared ? modifiedAt(this.path) : 0;
    await this.db.read();
    this.committed = this.db.data;
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
    const mtime = modifiedAt(this.path);
    if (mtime !== 0 && mtime !== this.knownMtime) await this.load();
  }

  get data(): Readonly<T> {
    return this.committed;
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
    let next = this.committed;
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
    this.db.data = next;
    try {
      await this.db.write();
      this.writeCount++;
    } catch (error) {
      this.db.data = this.committed;
      for (const { item } of applied) item.reject(new StoreWriteError(this.path, error));
      return;
    }
    this.committed = next;
    if (this.options.shared) this.knownMtime = modifiedAt(this.path);
    for (const { item, result } of applied) item.resolve(result);
  }

  /** A value that would make the file unreadable at the next start is refused before it is written. */
  private assertWritable(previous: T, next: T): void {
    const problem = this.schema && problemInChange(this.schema, previous, next);
    if (problem) throw new Error(`refused to write ${this.path}: ${problem}`);
  }
}

/**
 * A file's modification time; 0 when there is no file (or it cannot be looked at). Synchronous: a
 * shared document is looked at before each use, and a stat is far cheaper than a thread-pool round trip.
 */
function modifiedAt(path: string): number {
  try {
    return statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  } catch {
    return 0;
  }
}

/**
 * What a change returns may be part of its draft, which is revoked once the change is done: such
 * parts are replaced by plain copies (also inside a returned object or array).
 */
export function detached(value: unknown): unknown {
  if (isDraft(value)) return current(value);
  if (Array.isArray(value)) return value.some(isDraft) ? value.map(detached) : value;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value);
    return entries.some(([, v]) => isDraft(v)) ? Object.fromEntries(entries.map(([k, v]) => [k, detached(v)])) : value;
  }
  return value;
}

export interface DocumentOptions extends JsonFileOptions {
  /** Another process writes the file too (the key CLI, the catalogue): writes then hold a lock file. */
  shared?: boolean;
}

interface PendingChange<T> {
  change: (draft: T, current: Readonly<T>) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}
