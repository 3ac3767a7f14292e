/**
 * The bot's own data: one file per partner tenant plus a sharded reservation index.
 * A change rewrites only the files it touches, so its cost follows what changed, not what is stored.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DocumentFile, StoreFileError, type Doc } from './documentFile.js';
import {
  CustomerIndexShardSchema,
  emptyCustomerIndexShard,
  type CustomerIndexShard,
  PartnerDocSchema,
  ReservationShardSchema,
  emptyPartnerDoc,
  emptyReservationShard,
  type PartnerDoc,
  type ReservationShard,
} from './documents.js';
import { fileNameFor } from './fileNames.js';
import { ShardedDocs, inBatches, jsonFilesIn } from './shardedDocs.js';

/** The narrow interface the bot uses; a server database can implement it later. */
export interface Store {
  /** The partner tenant's document; an empty one when the tenant is new. */
  partner(tenantId: string): Doc<PartnerDoc>;
  partners(): Iterable<Doc<PartnerDoc>>;
  /** The reservation shard that holds the key with this hash. */
  reservations(keyRef: string): Doc<ReservationShard>;
  reservationShards(): Iterable<Doc<ReservationShard>>;
  /** The index shard that says which partner set up this customer tenant. */
  customerIndex(customerTenantId: string): Doc<CustomerIndexShard>;
}

/** The hash that places a customer tenant in the index's shards. */
export function customerIndexHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export class JsonFileStore implements Store {
  private constructor(
    private readonly partnersDir: string,
    private readonly partnerDocs: Map<string, DocumentFile<PartnerDoc>>,
    private readonly shards: ShardedDocs<ReservationShard>,
    private readonly customerShards: ShardedDocs<CustomerIndexShard>,
  ) {}

  /** Loads and validates every file now, so a damaged file stops the start, naming the file. */
  static async open(dir: string): Promise<JsonFileStore> {
    const partnersDir = join(dir, 'partners');
    const partnerDocs = new Map<string, DocumentFile<PartnerDoc>>();
    const names = await jsonFilesIn(partnersDir);
    const docs = await inBatches(names, (name) => DocumentFile.open(join(partnersDir, name), PartnerDocSchema, () => emptyPartnerDoc('')));
    docs.forEach((doc, i) => {
      if (fileNameFor(doc.data.tenantId) !== names[i]) {
        throw new StoreFileError(doc.path, `it holds tenant ${doc.data.tenantId}, which belongs in another file`);
      }
      partnerDocs.set(doc.data.tenantId, doc);
    });
    const shards = await ShardedDocs.open(join(dir, 'reservations'), ReservationShardSchema, emptyReservationShard);
    const customerShards = await ShardedDocs.open(join(dir, 'customers'), CustomerIndexShardSchema, emptyCustomerIndexShard);
    return new JsonFileStore(partnersDir, partnerDocs, shards, customerShards);
  }

  partner(tenantId: string): Doc<PartnerDoc> {
    let doc = this.partnerDocs.get(tenantId);
    if (!doc) {
      doc = DocumentFile.fresh(join(this.partnersDir, fileNameFor(tenantId)), emptyPartnerDoc(tenantId), PartnerDocSchema);
      this.partnerDocs.set(tenantId, doc);
    }
    return doc;
  }

  partners(): Iterable<Doc<PartnerDoc>> {
    return this.partnerDocs.values();
  }

  reservations(keyRef: string): Doc<ReservationShard> {
    return this.shards.get(keyRef);
  }

  reservationShards(): Iterable<Doc<ReservationShard>> {
    return this.shards.all();
  }

  customerIndex(customerTenantId: string): Doc<CustomerIndexShard> {
    return this.customerShards.get(customerIndexHash(customerTenantId));
  }
}
