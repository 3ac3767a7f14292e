/** Documents keyed by a 64-hex-digit hash, split over up to 256 files by the hash's first two digits. */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { DocumentFile } from './documentFile.js';

export async function jsonFilesIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
}

export class ShardedDocs<T> {
  private constructor(
    private readonly dir: string,
    private readonly empty: () => T,
    private readonly schema: z.ZodType<T>,
    private readonly shards: Map<string, DocumentFile<T>>,
  ) {}

  static async open<S extends z.ZodType>(dir: string, schema: S, empty: () => z.infer<S>): Promise<ShardedDocs<z.infer<S>>> {
    const shards = new Map<string, DocumentFile<z.infer<S>>>();
    for (const name of await jsonFilesIn(dir)) {
      shards.set(name.replace(/\.json$/, ''), await DocumentFile.open(join(dir, name), schema, empty));
    }
    return new ShardedDocs<z.infer<S>>(dir, empty, schema as z.ZodType<z.infer<S>>, shards);
  }

  /** The shard holding `hash`; created in memory when new and written on its first change. */
  get(hash: string): DocumentFile<T> {
    const shard = hash.slice(0, 2);
    let doc = this.shards.get(shard);
    if (!doc) {
      doc = DocumentFile.fresh(join(this.dir, `${shard}.json`), this.empty(), this.schema);
      this.shards.set(shard, doc);
    }
    return doc;
  }

  all(): Iterable<DocumentFile<T>> {
    return this.shards.values();
  }
}
