/**
 * The embedded commerce's files: the key catalogue (`commerce/catalog/<xx>.json`, sharded by the
 * key's hash, shared with the key CLI) and the customer tenants (`commerce/tenants/<xx>.json`,
 * sharded by the hash of the tenant's initial domain), which the file repositories (./commerce.ts)
 * read and write, and the check value of the key-hash secret (`commerce/key-hash-check`).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { RelationshipSchema } from '../../domain/relationship.js';
import { ShardedDocs } from '../shardedDocs.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const CatalogEntrySchema = z.object({
  product: z.string().min(1),
  seats: z.number().int().positive(),
  termMonths: z.number().int().positive(),
  lastGroup: z.string().regex(/^[A-Z0-9]{5}$/),
  status: z.enum(['available', 'redeemed', 'blocked']),
  issuedAt: z.iso.datetime(),
  /** The customer tenant the key was redeemed for. */
  redeemedFor: z.string().optional(),
  /** The change of an existing tenant (a renewal, added keys) the key was redeemed for; a key whose change never reached the tenant is freed at open. */
  renewal: z.string().optional(),
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

export const CatalogShardSchema = z.object({ schemaVersion: z.literal(1), keys: z.record(hex64, CatalogEntrySchema) });
export type CatalogShard = z.infer<typeof CatalogShardSchema>;

export const TenantRecordSchema = z.object({
  tenantId: z.uuid(),
  idempotencyKey: z.string(),
  partnerTenantId: z.string(),
  /** `provisioning` until every key is redeemed; the bot rolls an interrupted one back at start. */
  status: z.enum(['provisioning', 'active']),
  createdAt: z.iso.datetime(),
  organisationName: z.string(),
  country: z.string(),
  language: z.string(),
  domain: z.string(),
  users: z.array(
    z.object({
      objectId: z.uuid(),
      userPrincipalName: z.string(),
      displayName: z.string(),
      email: z.string().optional(),
      phone: z.string().optional(),
      roles: z.array(z.string()),
      licenses: z.array(z.string()),
    }),
  ),
  subscriptions: z.array(
    z.object({
      id: z.uuid(),
      product: z.string(),
      seats: z.number().int().positive(),
      assignedSeats: z.number().int().nonnegative(),
      startDate: z.iso.date(),
      endDate: z.iso.date(),
      partnerOfRecord: z.string().optional(),
      billing: z.enum(['partner', 'direct']).default('partner'),
      renewals: z.array(z.string()).default([]),
    }),
  ),
  keyHandles: z.array(hex64),
  delegatedAdmins: z.array(z.object({ partnerTenantId: z.string(), roles: z.array(z.string()), since: z.iso.datetime() })).default([]),
  addedUsers: z.record(z.string(), z.string()).default({}),
  /** Granular delegated admin relationships, with the idempotency key of the request that made each. */
  relationships: z.array(RelationshipSchema.extend({ idempotencyKey: z.string() })).default([]),
});
export type TenantRecord = z.infer<typeof TenantRecordSchema>;

export const TenantShardSchema = z.object({ schemaVersion: z.literal(1), tenants: z.record(z.string(), TenantRecordSchema) });
export type TenantShard = z.infer<typeof TenantShardSchema>;

export interface CatalogFiles {
  catalog: ShardedDocs<CatalogShard>;
  /** Where the check value of the key-hash secret is kept. */
  secretCheckPath: string;
}

export interface CommerceFiles extends CatalogFiles {
  tenants: ShardedDocs<TenantShard>;
}

/** The key catalogue alone, as the key CLI opens it beside a running bot. */
export async function openCatalogFiles(dataDir: string): Promise<CatalogFiles> {
  // The key CLI writes the catalogue while the bot runs; the tenants only the bot writes.
  const catalog = await ShardedDocs.open(join(dataDir, 'commerce', 'catalog'), CatalogShardSchema, () => ({ schemaVersion: 1 as const, keys: {} }), { shared: true });
  return { catalog, secretCheckPath: join(dataDir, 'commerce', 'key-hash-check') };
}

export async function openCommerceFiles(dataDir: string): Promise<CommerceFiles> {
  const [catalog, tenants] = await Promise.all([
    openCatalogFiles(dataDir),
    ShardedDocs.open(join(dataDir, 'commerce', 'tenants'), TenantShardSchema, () => ({ schemaVersion: 1 as const, tenants: {} })),
  ]);
  return { ...catalog, tenants };
}
