/** Documents keyed by a 64-hex-digit hash, split over up to 256 files by the hash's first two digits. */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { DocumentFile, type DocumentOptions } from './documentFile.js';
import { sha256, StoreFileError } from './jsonFile.js';

/** Loads files a few dozen at a time: in parallel, but without opening thousands at once. */
export async function inBatches<T, R>(items: readonly T[], load: (item: T) => Promise<R>, size = 32): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(load))));
  return out;
}

export async function jsonFilesIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
}

/** The hash that places an id (a customer tenant, a domain, a file name) in its shard. */
export function shardHash(id: string): string {
  return sha256(id);
}

/** The file a hash belongs in: its first two hex digits. */
export function shardName(hash: string): string {
  return hash.slice(0, 2);
}

export class ShardedDocs<T> {
  private constructor(
    private readonly dir: string,
    private readonly empty: () => T,
    private readonly schema: z.ZodType<T>,
    private readonly shards: Map<string, DocumentFile<T>>,
    private readonly options: DocumentOptions,
  ) {}

  /**
   * Loads every shard. A damaged shard stops the start (StoreFileError), unless the documents are a
   * cache that can be rebuilt: then `rebuildDamaged` starts it empty and it is rewritten on its next change.
   */
  static async open<S extends z.ZodType>(dir: string, schema: S, empty: () => z.infer<S>, { rebuildDamaged = false, ...options }: DocumentOptions & { rebuildDamaged?: boolean } = {}): Promise<ShardedDocs<z.infer<S>>> {
    const names = await jsonFilesIn(dir);
    const open = (name: string) => DocumentFile.open(join(dir, name), schema, empty, options);
    const docs = await inBatches(names, (name) =>
      rebuildDamaged ? open(name).catch((error) => (error instanceof StoreFileError ? DocumentFile.fresh(join(dir, name), empty(), schema as z.ZodType<z.infer<S>>, options) : Promise.reject(error))) : open(name),
    );
    const shards = new Map(names.map((name, i) => [name.replace(/\.json$/, ''), docs[i]!] as const));
    return new ShardedDocs<z.infer<S>>(dir, empty, schema as z.ZodType<z.infer<S>>, shards, options);
  }

  /** The shard holding `hash`; created in memory when new and written on its first change. */
  get(hash: string): DocumentFile<T> {
    const shard = shardName(hash);
    let doc = this.shards.get(shard);
    if (!doc) {
      doc = DocumentFile.fresh(join(this.dir, `${shard}.json`), this.empty(), this.schema, this.options);
      this.shards.set(shard, doc);
    }
    return doc;
  }

  all(): Iterable<DocumentFile<T>> {
    return this.shards.values();
  }
}
