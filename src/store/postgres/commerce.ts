/**
 * The embedded commerce on PostgreSQL: the key catalogue and the customer tenants. A creation is one
 * transaction (tenant, admin, subscriptions and the redemption of every key), so nothing is left half
 * done for a start-up to roll back; a key row goes from available to redeemed once.
 */
import type { CatalogKey, CommerceRelationship, CommerceSubscription, CommerceTenant, CommerceTenantRepository, CreateTenantOutcome, KeyCatalogRepository, RedeemForRenewal } from '../repositories.js';
import { transaction, type Pool, type Tx } from './database.js';
import { catalogKeyKey, defined, iso, isUuid, jsonOf } from './rows.js';
import { forgetTurnReads, readOnce } from '../turnReads.js';
import { copyOf } from '../copy.js';

type Queryable = Pool | Tx;
type Row = Record<string, any>;

const KEY_FIELDS = ['ref', 'product', 'seats', 'term_months', 'last_group', 'status', 'issued_at', 'redeemed_for', 'renewal'];
const KEY_HASH = /^[0-9a-f]{64}$/;

/** A catalogue key from its row (or from KEY_JSON's value). */
function keyFrom(row: Row): CatalogKey {
  return defined({
    ref: row.ref,
    product: row.product,
    seats: row.seats,
    termMonths: row.term_months,
    lastGroup: row.last_group,
    status: row.status,
    issuedAt: iso(row.issued_at),
    redeemedFor: row.redeemed_for,
    renewal: row.renewal,
  }) as CatalogKey;
}

/** The catalogue key (alias `k`) as one JSON value, beside another read's (PostgresSetups.keyHolder). */
export const KEY_JSON = jsonOf('k', KEY_FIELDS, ['issued_at']);

/** The catalogue key from KEY_JSON's value, as `key` reads it: undefined when the catalogue has none. */
export function keyFromJson(value: Row | null): CatalogKey | undefined {
  return value === null ? undefined : keyFrom(value);
}

export class PostgresKeyCatalog implements KeyCatalogRepository {
  constructor(private readonly pool: Pool) {}

  /** Read once per turn: a key check asks who holds the key first, and that read brings the key along. */
  async key(ref: string): Promise<CatalogKey | undefined> {
    if (!KEY_HASH.test(ref)) return undefined;
    return readOnce(catalogKeyKey(ref), async () => {
      const { rows } = await this.pool.query('SELECT * FROM commerce_keys WHERE ref = $1', [ref]);
      return rows[0] && keyFrom(rows[0]);
    });
  }

  async list(status?: CatalogKey['status']): Promise<CatalogKey[]> {
    const { rows } = await this.pool.query('SELECT * FROM commerce_keys WHERE $1::text IS NULL OR status = $1 ORDER BY issued_at, ref', [status ?? null]);
    return rows.map(keyFrom);
  }

  async issue(key: CatalogKey): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO commerce_keys (ref, product, seats, term_months, last_group, status, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ref) DO NOTHING`,
      [key.ref, key.product, key.seats, key.termMonths, key.lastGroup, key.status, key.issuedAt],
    );
    forgetTurnReads();
    return rowCount === 1;
  }

  async block(ref: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE commerce_keys SET status = 'blocked', redeemed_for = NULL, renewal = NULL WHERE ref = $1`, [ref]);
    forgetTurnReads();
    return rowCount === 1;
  }

  async isEmpty(): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT NOT EXISTS (SELECT 1 FROM commerce_keys) AS empty');
    return rows[0].empty;
  }

  async secretCheck(): Promise<string | undefined> {
    const { rows } = await this.pool.query('SELECT check_value FROM commerce_key_hash_check');
    return rows[0]?.check_value;
  }

  async recordSecretCheck(check: string): Promise<string> {
    // Instances starting together: the first insert wins, the others read it back.
    await this.pool.query('INSERT INTO commerce_key_hash_check (check_value) VALUES ($1) ON CONFLICT DO NOTHING', [check]);
    return (await this.secretCheck())!;
  }
}

function relationshipFrom(r: Row): CommerceRelationship {
  return defined({
    id: r.id,
    displayName: r.display_name,
    partnerTenantId: r.partner_tenant_id,
    customer: { tenantId: r.tenant_id, displayName: r.customer_display_name },
    accessDetails: { unifiedRoles: (r.role_ids as string[]).map((roleDefinitionId) => ({ roleDefinitionId })) },
    duration: r.duration,
    autoExtendDuration: r.auto_extend_duration,
    status: r.status,
    createdDateTime: iso(r.created_at),
    lastModifiedDateTime: iso(r.last_modified_at),
    activatedDateTime: iso(r.activated_at),
    endDateTime: iso(r.ends_at),
    terminatedBy: r.terminated_by,
    legacy: r.legacy ? true : undefined,
    idempotencyKey: r.idempotency_key,
  }) as CommerceRelationship;
}

async function assemble(db: Queryable, row: Row | undefined): Promise<CommerceTenant | undefined> {
  if (!row) return undefined;
  const id = row.tenant_id;
  const users = await db.query('SELECT * FROM commerce_users WHERE tenant_id = $1 ORDER BY position', [id]);
  const subscriptions = await db.query(
    `SELECT s.*, array(SELECT r.idempotency_key FROM commerce_subscription_renewals r WHERE r.subscription_id = s.id ORDER BY r.idempotency_key) AS renewals
     FROM commerce_subscriptions s WHERE s.tenant_id = $1 ORDER BY s.position`,
    [id],
  );
  const keys = await db.query('SELECT ref FROM commerce_keys WHERE redeemed_for = $1 AND renewal IS NULL ORDER BY ref', [id]);
  const admins = await db.query('SELECT * FROM commerce_delegated_admins WHERE tenant_id = $1 ORDER BY since, partner_tenant_id', [id]);
  const relationships = await db.query('SELECT * FROM commerce_relationships WHERE tenant_id = $1 ORDER BY position', [id]);
  return {
    tenantId: id,
    idempotencyKey: row.idempotency_key,
    partnerTenantId: row.partner_tenant_id,
    createdAt: iso(row.created_at),
    organisationName: row.organisation_name,
    country: row.country,
    language: row.language,
    domain: row.domain,
    users: users.rows.map((u) => defined({ objectId: u.object_id, userPrincipalName: u.user_principal_name, displayName: u.display_name, email: u.email, phone: u.phone, roles: u.roles, licenses: u.licenses })),
    subscriptions: subscriptions.rows.map(
      (s) =>
        defined({
          id: s.id,
          product: s.product,
          seats: s.seats,
          assignedSeats: s.assigned_seats,
          startDate: s.start_date,
          endDate: s.end_date,
          partnerOfRecord: s.partner_of_record,
          billing: s.billing,
          renewals: s.renewals,
        }) as CommerceSubscription,
    ),
    keyHandles: keys.rows.map((k) => k.ref),
    delegatedAdmins: admins.rows.map((a) => ({ partnerTenantId: a.partner_tenant_id, roles: a.roles, since: iso(a.since) })),
    addedUsers: Object.fromEntries(users.rows.filter((u) => u.added_by_request !== null).map((u) => [u.added_by_request, u.object_id])),
    relationships: relationships.rows.map(relationshipFrom),
  };
}

/** Refused inside the creation's transaction: it rolls back whole. */
class Refused extends Error {
  constructor(readonly reason: 'domainTaken' | 'keyUnavailable') {
    super(reason);
  }
}

export class PostgresCommerceTenants implements CommerceTenantRepository {
  constructor(private readonly pool: Pool) {}

  async byDomain(domain: string): Promise<CommerceTenant | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM commerce_tenants WHERE domain = $1', [domain]);
    return assemble(this.pool, rows[0]);
  }

  async get(tenantId: string): Promise<CommerceTenant | undefined> {
    if (!isUuid(tenantId)) return undefined;
    const { rows } = await this.pool.query('SELECT * FROM commerce_tenants WHERE tenant_id = $1', [tenantId]);
    return assemble(this.pool, rows[0]);
  }

  async domainInUse(domain: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT EXISTS (SELECT 1 FROM commerce_tenants WHERE domain = $1) AS used', [domain]);
    return rows[0].used;
  }

  async relationshipNames(partnerTenantId: string): Promise<string[]> {
    const { rows } = await this.pool.query('SELECT display_name FROM commerce_relationships WHERE partner_tenant_id = $1 ORDER BY created_at, id', [partnerTenantId]);
    return rows.map((row) => row.display_name);
  }

  async recoverInterrupted(): Promise<number> {
    return 0;
  }

  async create(tenant: CommerceTenant): Promise<CreateTenantOutcome> {
    try {
      return await transaction(this.pool, async (tx) => {
        // Racing creations of one domain or one idempotency key wait here for the first to commit.
        const { rowCount } = await tx.query(
          `INSERT INTO commerce_tenants (tenant_id, idempotency_key, partner_tenant_id, created_at, organisation_name, country, language, domain)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
          [tenant.tenantId, tenant.idempotencyKey, tenant.partnerTenantId, tenant.createdAt, tenant.organisationName, tenant.country, tenant.language, tenant.domain],
        );
        if (rowCount === 0) {
          const { rows } = await tx.query('SELECT * FROM commerce_tenants WHERE idempotency_key = $1 OR domain = $2 ORDER BY (idempotency_key = $1) DESC LIMIT 1', [tenant.idempotencyKey, tenant.domain]);
          const existing = rows[0];
          // A retry is the same request of the same partner; anyone else asking for the domain finds it taken.
          if (existing?.idempotency_key === tenant.idempotencyKey && existing.partner_tenant_id === tenant.partnerTenantId) return { existing: (await assemble(tx, existing))! };
          throw new Refused('domainTaken');
        }
        for (const ref of new Set(tenant.keyHandles)) {
          const redeemed = await tx.query(`UPDATE commerce_keys SET status = 'redeemed', redeemed_for = $2 WHERE ref = $1 AND status = 'available'`, [ref, tenant.tenantId]);
          if (redeemed.rowCount !== 1) throw new Refused('keyUnavailable');
        }
        await this.write(tx, tenant);
        return { created: (await assemble(tx, this.row(tenant)))! };
      });
    } catch (error) {
      if (error instanceof Refused) return { refused: error.reason };
      throw error;
    }
  }

  update<R>(tenantId: string, change: (tenant: CommerceTenant, redeem: RedeemForRenewal) => Promise<R> | R): Promise<{ found: false } | { found: true; result: R }> {
    return this.change(tenantId, undefined, (tenant, redeem) => change(tenant, redeem));
  }

  updateForPartner<R>(tenantId: string, partnerTenantId: string, change: (tenant: CommerceTenant, takenNames: readonly string[]) => Promise<R> | R): Promise<{ found: false } | { found: true; result: R }> {
    return this.change(tenantId, partnerTenantId, (tenant, _redeem, names) => change(tenant, names));
  }

  /**
   * One transaction: with a partner, its relationships' names are read under a lock of the partner
   * (taken before the tenant's row, by every such change), so two instances naming at once serialize.
   */
  private async change<R>(tenantId: string, partnerTenantId: string | undefined, change: (tenant: CommerceTenant, redeem: RedeemForRenewal, takenNames: readonly string[]) => Promise<R> | R): Promise<{ found: false } | { found: true; result: R }> {
    if (!isUuid(tenantId)) return { found: false };
    return transaction(this.pool, async (tx) => {
      let names: string[] = [];
      if (partnerTenantId !== undefined) {
        await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('commerce relationships ' || $1, 0))", [partnerTenantId]);
        names = (await tx.query('SELECT display_name FROM commerce_relationships WHERE partner_tenant_id = $1', [partnerTenantId])).rows.map((row) => row.display_name);
      }
      const { rows } = await tx.query('SELECT * FROM commerce_tenants WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      const tenant = await assemble(tx, rows[0]);
      if (!tenant) return { found: false as const };
      const before = copyOf(tenant);
      const redeem: RedeemForRenewal = async (ref, renewal) => {
        const { rowCount } = await tx.query(
          `UPDATE commerce_keys SET status = 'redeemed', redeemed_for = $2, renewal = $3
           WHERE ref = $1 AND (status = 'available' OR (status = 'redeemed' AND redeemed_for = $2 AND renewal = $3))`,
          [ref, tenantId, renewal],
        );
        return rowCount === 1;
      };
      const result = await change(tenant, redeem, names);
      await this.write(tx, tenant, before);
      return { found: true as const, result };
    });
  }

  private row(tenant: CommerceTenant): Row {
    return {
      tenant_id: tenant.tenantId,
      idempotency_key: tenant.idempotencyKey,
      partner_tenant_id: tenant.partnerTenantId,
      created_at: new Date(tenant.createdAt),
      organisation_name: tenant.organisationName,
      country: tenant.country,
      language: tenant.language,
      domain: tenant.domain,
    };
  }

  /**
   * Writes what the tenant holds (its row exists and is locked or new); its identity never changes.
   * With the tenant as read `before` the change, rows the change left as they were are not written.
   */
  private async write(tx: Tx, tenant: CommerceTenant, before?: CommerceTenant): Promise<void> {
    const addedBy = new Map(Object.entries(tenant.addedUsers).map(([request, objectId]) => [objectId, request]));
    const addedBefore = new Map(Object.entries(before?.addedUsers ?? {}).map(([request, objectId]) => [objectId, request]));
    const kept = <T>(now: T, then: T | undefined) => then !== undefined && JSON.stringify(now) === JSON.stringify(then);
    if (before?.users.some((u) => !tenant.users.some((v) => v.objectId === u.objectId)) ?? true) {
      await tx.query('DELETE FROM commerce_users WHERE tenant_id = $1 AND NOT (object_id = ANY($2::uuid[]))', [tenant.tenantId, tenant.users.map((u) => u.objectId)]);
    }
    for (const [position, u] of tenant.users.entries()) {
      if (kept(u, before?.users[position]) && addedBy.get(u.objectId) === addedBefore.get(u.objectId)) continue;
      await tx.query(
        `INSERT INTO commerce_users (object_id, tenant_id, position, user_principal_name, display_name, email, phone, roles, licenses, added_by_request)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (object_id) DO UPDATE SET position = $3, user_principal_name = $4, display_name = $5, email = $6, phone = $7, roles = $8, licenses = $9, added_by_request = $10
         WHERE commerce_users.tenant_id = $2`,
        [u.objectId, tenant.tenantId, position, u.userPrincipalName, u.displayName, u.email ?? null, u.phone ?? null, u.roles, u.licenses, addedBy.get(u.objectId) ?? null],
      );
    }
    for (const [position, s] of tenant.subscriptions.entries()) {
      if (kept(s, before?.subscriptions[position])) continue;
      await tx.query(
        `INSERT INTO commerce_subscriptions (id, tenant_id, product, seats, assigned_seats, start_date, end_date, partner_of_record, billing, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET product = $3, seats = $4, assigned_seats = $5, start_date = $6, end_date = $7, partner_of_record = $8, billing = $9, position = $10
         WHERE commerce_subscriptions.tenant_id = $2`,
        [s.id, tenant.tenantId, s.product, s.seats, s.assignedSeats, s.startDate, s.endDate, s.partnerOfRecord ?? null, s.billing, position],
      );
      await tx.query('INSERT INTO commerce_subscription_renewals (subscription_id, idempotency_key) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [s.id, s.renewals]);
    }
    if (!kept(tenant.delegatedAdmins, before?.delegatedAdmins)) {
      await tx.query('DELETE FROM commerce_delegated_admins WHERE tenant_id = $1', [tenant.tenantId]);
      for (const a of tenant.delegatedAdmins) {
        await tx.query('INSERT INTO commerce_delegated_admins (tenant_id, partner_tenant_id, roles, since) VALUES ($1, $2, $3, $4)', [tenant.tenantId, a.partnerTenantId, a.roles, a.since]);
      }
    }
    // Relationships are never removed (an ended one stays, as in Graph): each is written as it stands.
    for (const [position, r] of tenant.relationships.entries()) {
      if (kept(r, before?.relationships[position])) continue;
      await tx.query(
        `INSERT INTO commerce_relationships (tenant_id, id, partner_tenant_id, idempotency_key, display_name, customer_display_name, role_ids, duration, auto_extend_duration, status, created_at, last_modified_at, activated_at, ends_at, terminated_by, legacy, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = $5, customer_display_name = $6, role_ids = $7, duration = $8, auto_extend_duration = $9, status = $10,
           last_modified_at = $12, activated_at = $13, ends_at = $14, terminated_by = $15, position = $17
         WHERE commerce_relationships.partner_tenant_id = $3`,
        [
          tenant.tenantId,
          r.id,
          r.partnerTenantId,
          r.idempotencyKey,
          r.displayName,
          r.customer.displayName,
          r.accessDetails.unifiedRoles.map((role) => role.roleDefinitionId),
          r.duration ?? null,
          r.autoExtendDuration,
          r.status,
          r.createdDateTime,
          r.lastModifiedDateTime,
          r.activatedDateTime ?? null,
          r.endDateTime ?? null,
          r.terminatedBy ?? null,
          r.legacy === true,
          position,
        ],
      );
    }
  }
}
