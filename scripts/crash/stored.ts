/**
 * What the crash test checks, read straight from where the bot keeps it, in one shape for both
 * stores: the data folder's JSON files, or the PostgreSQL tables (plain SQL on a connection of the
 * test's own, so a row stored twice is seen twice, never folded by a repository).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';

/** A customer as the checks need it (the partner file's fields). */
export interface StoredCustomer {
  tenantId: string;
  setupId: string;
  domain: string;
  offers: Array<{ id: string; relationship?: { id: string } }>;
  subscriptions: Array<{ id: string; endDate: string; renewalIds: string[] }>;
}

export interface StoredSetup {
  id: string;
  status: string;
  keys: Array<{ ref: string }>;
  customerId?: string;
}

export interface StoredCatalogKey {
  status: string;
  redeemedFor?: string;
  lastGroup: string;
}

export interface StoredTenant {
  tenantId: string;
  idempotencyKey: string;
  partnerTenantId: string;
  domain: string;
  /** 'active' once made; the files keep a creation under way too (PostgreSQL makes a tenant in one transaction). */
  status: string;
  keyHandles: string[];
  subscriptions: Array<{ id: string; startDate: string; endDate: string; renewals: string[] }>;
  relationships: Array<{ id: string; partnerTenantId: string; idempotencyKey: string }>;
}

export interface Stored {
  partners: Array<{ tenantId: string; customers: StoredCustomer[] }>;
  setups: Array<{ tenantId: string; setup: StoredSetup }>;
  /** Key ref → the setup holding it. */
  reservations: Map<string, { tenantId: string; setupId: string }>;
  catalog: Map<string, StoredCatalogKey>;
  tenants: StoredTenant[];
}

async function jsonFiles(dir: string): Promise<any[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8'))));
}

/** The partner files of a data folder, as they are on disk (with their audit outboxes). */
export const partnerFiles = (dataDir: string) => jsonFiles(join(dataDir, 'partners'));
export const setupBooks = (dataDir: string) => jsonFiles(join(dataDir, 'setups'));

export async function readFileStore(dataDir: string): Promise<Stored> {
  const partners = await partnerFiles(dataDir);
  const books = await setupBooks(dataDir);
  const reservations = new Map<string, { tenantId: string; setupId: string }>();
  for (const shard of await jsonFiles(join(dataDir, 'reservations'))) for (const [ref, r] of Object.entries<any>(shard.reservations)) reservations.set(ref, r);
  const catalog = new Map<string, StoredCatalogKey>();
  for (const shard of await jsonFiles(join(dataDir, 'commerce', 'catalog'))) for (const [ref, entry] of Object.entries<any>(shard.keys)) catalog.set(ref, entry);
  const tenants: StoredTenant[] = [];
  for (const shard of await jsonFiles(join(dataDir, 'commerce', 'tenants'))) tenants.push(...Object.values<any>(shard.tenants).map((t) => ({ ...t, relationships: t.relationships ?? [] })));
  return {
    partners: partners.map((p) => ({ tenantId: p.tenantId, customers: p.customers })),
    setups: books.flatMap((b) => b.setups.map((setup: StoredSetup) => ({ tenantId: b.tenantId as string, setup }))),
    reservations,
    catalog,
    tenants,
  };
}

/** Something to run SQL on: a pool, or a client inside a transaction (the tamper check). */
export type Sql = Pick<pg.ClientBase, 'query'>;

/** Rows grouped by a column, in the order the query returned them. */
async function grouped<R extends pg.QueryResultRow>(db: Sql, sql: string, by: keyof R): Promise<Map<string, R[]>> {
  const groups = new Map<string, R[]>();
  for (const row of (await db.query<R>(sql)).rows) {
    const key = String(row[by]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(row);
  }
  return groups;
}

export async function readDatabase(db: Sql): Promise<Stored> {
  const offers = await grouped<{ customer: string; id: string; relationship: string | null }>(db, 'SELECT customer_tenant_id AS customer, id::text, relationship_id AS relationship FROM offers ORDER BY position', 'customer');
  const renewals = await grouped<{ subscription: string; id: string }>(db, 'SELECT subscription_id AS subscription, request_id AS id FROM subscription_renewals ORDER BY seq', 'subscription');
  const subscriptions = await grouped<{ customer: string; id: string; end: string }>(db, 'SELECT customer_tenant_id AS customer, id, end_date::text AS end FROM subscriptions ORDER BY position', 'customer');
  const customers = await grouped<{ partner: string; tenant: string; setup: string; domain: string }>(db, 'SELECT partner_tenant_id AS partner, tenant_id AS tenant, setup_id::text AS setup, domain FROM customers ORDER BY created_at', 'partner');
  const { rows: partnerRows } = await db.query<{ tenant: string }>('SELECT tenant_id AS tenant FROM partners ORDER BY tenant_id');
  const partners = partnerRows.map(({ tenant }) => ({
    tenantId: tenant,
    customers: (customers.get(tenant) ?? []).map((c) => ({
      tenantId: c.tenant,
      setupId: c.setup,
      domain: c.domain,
      offers: (offers.get(c.tenant) ?? []).map((o) => ({ id: o.id, ...(o.relationship !== null && { relationship: { id: o.relationship } }) })),
      subscriptions: (subscriptions.get(c.tenant) ?? []).map((s) => ({ id: s.id, endDate: s.end, renewalIds: (renewals.get(s.id) ?? []).map((r) => r.id) })),
    })),
  }));

  const setupKeys = await grouped<{ setup: string; ref: string }>(db, 'SELECT setup_id::text AS setup, ref FROM setup_keys ORDER BY position', 'setup');
  const { rows: setupRows } = await db.query<{ partner: string; id: string; status: string; customer: string | null }>('SELECT partner_tenant_id AS partner, id::text, status, customer_tenant_id AS customer FROM setups ORDER BY created_at');
  const setups = setupRows.map((s) => ({ tenantId: s.partner, setup: { id: s.id, status: s.status, keys: (setupKeys.get(s.id) ?? []).map(({ ref }) => ({ ref })), ...(s.customer !== null && { customerId: s.customer }) } }));

  const { rows: reservationRows } = await db.query<{ ref: string; tenant: string; setup: string }>('SELECT r.key_ref AS ref, s.partner_tenant_id AS tenant, r.setup_id::text AS setup FROM key_reservations r JOIN setups s ON s.id = r.setup_id');
  const { rows: keyRows } = await db.query<{ ref: string; status: string; tenant: string | null; last: string; renewal: string | null }>('SELECT ref, status, redeemed_for::text AS tenant, last_group AS last, renewal FROM commerce_keys');

  const tenantSubscriptions = await grouped<{ tenant: string; id: string; start: string; end: string }>(db, 'SELECT tenant_id::text AS tenant, id::text, start_date::text AS start, end_date::text AS end FROM commerce_subscriptions ORDER BY start_date, id', 'tenant');
  const tenantRenewals = await grouped<{ subscription: string; key: string }>(db, 'SELECT subscription_id::text AS subscription, idempotency_key AS key FROM commerce_subscription_renewals', 'subscription');
  const relationships = await grouped<{ tenant: string; id: string; partner: string; key: string }>(db, 'SELECT tenant_id::text AS tenant, id, partner_tenant_id AS partner, idempotency_key AS key FROM commerce_relationships ORDER BY position', 'tenant');
  const { rows: tenantRows } = await db.query<{ tenant: string; key: string; partner: string; domain: string }>('SELECT tenant_id::text AS tenant, idempotency_key AS key, partner_tenant_id AS partner, domain FROM commerce_tenants ORDER BY created_at');
  const tenants = tenantRows.map((t) => ({
    tenantId: t.tenant,
    idempotencyKey: t.key,
    partnerTenantId: t.partner,
    domain: t.domain,
    status: 'active',
    // The keys its creation redeemed (a renewal's key names its renewal).
    keyHandles: keyRows.filter((k) => k.tenant === t.tenant && k.renewal === null).map((k) => k.ref),
    subscriptions: (tenantSubscriptions.get(t.tenant) ?? []).map((s) => ({ id: s.id, startDate: s.start, endDate: s.end, renewals: (tenantRenewals.get(s.id) ?? []).map((r) => r.key) })),
    relationships: (relationships.get(t.tenant) ?? []).map((r) => ({ id: r.id, partnerTenantId: r.partner, idempotencyKey: r.key })),
  }));

  return {
    partners,
    setups,
    reservations: new Map(reservationRows.map((r) => [r.ref, { tenantId: r.tenant, setupId: r.setup }])),
    catalog: new Map(keyRows.map((k) => [k.ref, { status: k.status, lastGroup: k.last, ...(k.tenant !== null && { redeemedFor: k.tenant }) }])),
    tenants,
  };
}

/** Every row of every table as text, one table after the other: what a scan for full product keys reads. */
export async function databaseText(db: Sql): Promise<string> {
  const { rows: tables } = await db.query<{ name: string }>("SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${name} t`);
    parts.push(`-- ${name}`, ...rows.map((r) => r.row));
  }
  return parts.join('\n');
}
