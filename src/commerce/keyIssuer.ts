/**
 * Issuing and blocking keys of the embedded commerce's catalogue, as a distributor issues key cards:
 * for the key CLI (on either store) and the demo keys of a first local start. Only a keyed hash and
 * the last group of a key are stored; a minted key exists in full only in the answer that returns it.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { lastGroup, randomKey } from '../domain/productKey.js';
import type { CatalogKey, KeyCatalogRepository } from '../store/repositories.js';
import type { KeyHasher } from './keyHasher.js';

export const IssueRequestSchema = z.object({
  product: z.string().trim().min(1).max(100),
  seats: z.number().int().min(1).max(300),
  months: z.number().int().min(1).max(60),
  count: z.number().int().min(1).max(1000),
});
export type IssueRequest = z.infer<typeof IssueRequestSchema>;

export class KeyIssuer {
  constructor(
    private readonly catalog: KeyCatalogRepository,
    private readonly hash: KeyHasher,
    private readonly now: () => Date,
  ) {}

  /** Mints new keys and returns them; this is the only moment the full keys exist. */
  async issueKeys(request: IssueRequest): Promise<string[]> {
    const { product, seats, months, count } = IssueRequestSchema.parse(request);
    const issued: string[] = [];
    while (issued.length < count) {
      const key = randomKey(randomInt);
      const added = await this.catalog.issue({ ref: this.hash(key), product, seats, termMonths: months, lastGroup: lastGroup(key), status: 'available', issuedAt: this.now().toISOString() });
      if (added) issued.push(key);
    }
    return issued;
  }

  /** Marks a key as blocked (for instance a key card reported stolen). Returns false for an unknown key. */
  blockKey(key: string): Promise<boolean> {
    return this.catalog.block(this.hash(key));
  }

  /** The catalogue as stored: hashes and last groups, never a key. */
  listKeys(status?: CatalogKey['status']): Promise<CatalogKey[]> {
    return this.catalog.list(status);
  }

  isEmpty(): Promise<boolean> {
    return this.catalog.isEmpty();
  }
}
