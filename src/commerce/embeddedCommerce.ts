/**
 * The embedded commerce default: a key catalogue kept the way a distributor issues key cards.
 * It stores a keyed hash and the last group of each key, never the key itself.
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { lastGroup, randomKey } from '../domain/productKey.js';
import { ShardedDocs } from '../store/shardedDocs.js';
import type { Commerce, KeyCheck } from './commerce.js';
import type { KeyHasher } from './keyHasher.js';

const CatalogEntrySchema = z.object({
  product: z.string().min(1),
  seats: z.number().int().positive(),
  termMonths: z.number().int().positive(),
  lastGroup: z.string().regex(/^[A-Z0-9]{5}$/),
  status: z.enum(['available', 'redeemed', 'blocked']),
  issuedAt: z.iso.datetime(),
});

const CatalogShardSchema = z.object({
  schemaVersion: z.literal(1),
  keys: z.record(z.string().regex(/^[0-9a-f]{64}$/), CatalogEntrySchema),
});
type CatalogShard = z.infer<typeof CatalogShardSchema>;

export const IssueRequestSchema = z.object({
  product: z.string().trim().min(1).max(100),
  seats: z.number().int().min(1).max(300),
  months: z.number().int().min(1).max(60),
  count: z.number().int().min(1).max(1000),
});
export type IssueRequest = z.infer<typeof IssueRequestSchema>;

export class EmbeddedCommerce implements Commerce {
  private constructor(
    private readonly catalog: ShardedDocs<CatalogShard>,
    private readonly hash: KeyHasher,
    private readonly now: () => Date,
  ) {}

  static async open(dataDir: string, hash: KeyHasher, now: () => Date): Promise<EmbeddedCommerce> {
    const catalog = await ShardedDocs.open(join(dataDir, 'commerce', 'catalog'), CatalogShardSchema, () => ({ schemaVersion: 1 as const, keys: {} }));
    return new EmbeddedCommerce(catalog, hash, now);
  }

  async checkKey(key: string): Promise<KeyCheck> {
    const ref = this.hash(key);
    const shard = this.catalog.get(ref);
    await shard.refresh();
    const entry = shard.data.keys[ref];
    if (!entry) return { status: 'unknown' };
    if (entry.status !== 'available') return { status: entry.status };
    return { status: 'valid', product: entry.product, seats: entry.seats, termMonths: entry.termMonths };
  }

  isEmpty(): boolean {
    for (const shard of this.catalog.all()) if (Object.keys(shard.data.keys).length > 0) return false;
    return true;
  }

  /** Mints new keys and returns them; this is the only moment the full keys exist. */
  async issueKeys(request: IssueRequest): Promise<string[]> {
    const { product, seats, months, count } = IssueRequestSchema.parse(request);
    const issued: string[] = [];
    while (issued.length < count) {
      const key = randomKey(randomInt);
      const ref = this.hash(key);
      const doc = this.catalog.get(ref);
      await doc.refresh();
      const added = await doc.update((shard) => {
        if (shard.keys[ref]) return false;
        shard.keys[ref] = { product, seats, termMonths: months, lastGroup: lastGroup(key), status: 'available', issuedAt: this.now().toISOString() };
        return true;
      });
      if (added) issued.push(key);
    }
    return issued;
  }

  /** Marks a key as blocked (for instance a key card reported stolen). Returns false for an unknown key. */
  async blockKey(key: string): Promise<boolean> {
    const ref = this.hash(key);
    const doc = this.catalog.get(ref);
    await doc.refresh();
    return doc.update((shard) => {
      const entry = shard.keys[ref];
      if (!entry) return false;
      entry.status = 'blocked';
      return true;
    });
  }
}
