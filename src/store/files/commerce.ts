/**
 * The embedded commerce's key catalogue and tenants on the files, in the documents the embedded
 * commerce writes. A creation follows its protocol: the tenant is written as `provisioning`, its keys
 * are redeemed one by one, then it becomes `active`; a failure undoes the keys and the tenant, and a
 * crash in between is rolled back by the bot at its next start (EmbeddedCommerce.open).
 */
import type { CatalogKey, CommerceTenant, CommerceTenantRepository, CreateTenantOutcome, KeyCatalogRepository, RedeemForRenewal } from '../repositories.js';
import { KeyedLock } from '../keyedLock.js';
import { shardHash } from '../shardedDocs.js';
import type { CatalogEntry, CommerceFiles, TenantRecord } from './commerceDocuments.js';

const HASH = /^[0-9a-f]{64}$/;

export class FileKeyCatalog implements KeyCatalogRepository {
  constructor(private readonly files: CommerceFiles) {}

  async key(ref: string): Promise<CatalogKey | undefined> {
    const entry = await this.entry(ref);
    return entry && { ref, ...structuredClone(entry) };
  }

  async entry(ref: string): Promise<CatalogEntry | undefined> {
    if (!HASH.test(ref)) return undefined;
    const shard = this.files.catalog.get(ref);
    // The key CLI may have written the shard since.
    await shard.refresh();
    return shard.data.keys[ref];
  }

  issue({ ref, ...entry }: CatalogKey): Promise<boolean> {
    return this.files.catalog.get(ref).update((draft) => {
      if (draft.keys[ref]) return false;
      draft.keys[ref] = entry;
      return true;
    });
  }

  async block(ref: string): Promise<boolean> {
    if (!HASH.test(ref)) return false;
    return this.files.catalog.get(ref).update((draft) => {
      const entry = draft.keys[ref];
      if (!entry) return false;
      entry.status = 'blocked';
      return true;
    });
  }

  async isEmpty(): Promise<boolean> {
    return [...this.files.catalog.all()].every((shard) => Object.keys(shard.data.keys).length === 0);
  }

  /** Redeems an available key for a tenant (and a renewal); true also when this very redemption was done before. */
  redeem(ref: string, tenantId: string, renewal?: string): Promise<boolean> {
    return this.files.catalog.get(ref).update((draft) => {
      const entry = draft.keys[ref];
      if (entry?.status === 'redeemed' && entry.redeemedFor === tenantId && entry.renewal === renewal) return true;
      if (entry?.status !== 'available') return false;
      Object.assign(entry, { status: 'redeemed', redeemedFor: tenantId }, renewal === undefined ? {} : { renewal });
      return true;
    });
  }

  /** Makes a key redeemed for this tenant (and renewal) available again. */
  async unredeem(ref: string, tenantId: string, renewal?: string): Promise<void> {
    await this.files.catalog.get(ref).update((draft) => {
      const entry = draft.keys[ref];
      if (entry?.status !== 'redeemed' || entry.redeemedFor !== tenantId || entry.renewal !== renewal) return;
      entry.status = 'available';
      delete entry.redeemedFor;
      delete entry.renewal;
    });
  }
}

/** The tenant as the repositories know it: without the file's status and GDAP relationships (kept in the file). */
function tenantFrom({ status: _status, relationships: _relationships, ...record }: TenantRecord): CommerceTenant {
  return structuredClone(record);
}

export class FileCommerceTenants implements CommerceTenantRepository {
  /** Creations run one at a time, changes of one tenant too (a change awaits the catalogue's files). */
  private readonly lock = new KeyedLock();
  /** Tenant id and idempotency key → initial domain, the key of the tenant files. */
  private readonly domains = new Map<string, string>();
  private readonly byKey = new Map<string, string>();

  constructor(
    private readonly files: CommerceFiles,
    private readonly catalog: FileKeyCatalog,
  ) {
    for (const shard of files.tenants.all()) for (const record of Object.values(shard.data.tenants)) this.remember(record);
  }

  async byDomain(domain: string): Promise<CommerceTenant | undefined> {
    const record = this.record(domain);
    return record?.status === 'active' ? tenantFrom(record) : undefined;
  }

  async get(tenantId: string): Promise<CommerceTenant | undefined> {
    const record = this.record(this.domains.get(tenantId));
    return record?.status === 'active' && record.tenantId === tenantId ? tenantFrom(record) : undefined;
  }

  create(tenant: CommerceTenant): Promise<CreateTenantOutcome> {
    return this.lock.run('create', () => this.createNow(tenant));
  }

  private async createNow(tenant: CommerceTenant): Promise<CreateTenantOutcome> {
    const retried = this.record(this.byKey.get(tenant.idempotencyKey));
    if (retried?.status === 'active' && retried.partnerTenantId === tenant.partnerTenantId) return { existing: tenantFrom(retried) };
    if (retried || this.record(tenant.domain)) return { refused: 'domainTaken' };
    const keyHandles = [...new Set(tenant.keyHandles)].sort();
    for (const ref of keyHandles) if ((await this.catalog.entry(ref))?.status !== 'available') return { refused: 'keyUnavailable' };
    const record: TenantRecord = { ...structuredClone(tenant), keyHandles, status: 'provisioning', relationships: [] };
    const shard = this.files.tenants.get(shardHash(tenant.domain));
    await shard.update((draft) => void (draft.tenants[tenant.domain] = record));
    this.remember(record);
    const redeemed: string[] = [];
    try {
      for (const ref of keyHandles) {
        if (!(await this.catalog.redeem(ref, tenant.tenantId))) return await this.undo(record, redeemed);
        redeemed.push(ref);
      }
      await shard.update((draft) => void (draft.tenants[tenant.domain]!.status = 'active'));
    } catch (error) {
      await this.undo(record, redeemed);
      throw error;
    }
    return { created: tenantFrom(record) };
  }

  /** Undoes a creation that did not finish: its keys are available again and the tenant is gone. */
  private async undo(record: TenantRecord, redeemed: readonly string[]): Promise<CreateTenantOutcome> {
    for (const ref of redeemed) await this.catalog.unredeem(ref, record.tenantId);
    await this.files.tenants.get(shardHash(record.domain)).update((draft) => {
      if (draft.tenants[record.domain]?.tenantId === record.tenantId) delete draft.tenants[record.domain];
    });
    this.domains.delete(record.tenantId);
    this.byKey.delete(record.idempotencyKey);
    return { refused: 'keyUnavailable' };
  }

  update<R>(tenantId: string, change: (tenant: CommerceTenant, redeem: RedeemForRenewal) => Promise<R> | R): Promise<{ found: false } | { found: true; result: R }> {
    return this.lock.run(tenantId, async () => {
      const domain = this.domains.get(tenantId);
      const stored = this.record(domain);
      if (stored?.status !== 'active' || stored.tenantId !== tenantId) return { found: false as const };
      const tenant = tenantFrom(stored);
      // Keys redeemed by this change, undone if it fails: on PostgreSQL they roll back with it.
      const redeemed: Array<[ref: string, renewal: string]> = [];
      const redeem: RedeemForRenewal = async (ref, renewal) => {
        const wasRedeemed = (await this.catalog.entry(ref))?.status === 'redeemed';
        const ok = await this.catalog.redeem(ref, tenantId, renewal);
        if (ok && !wasRedeemed) redeemed.push([ref, renewal]);
        return ok;
      };
      try {
        const result = await change(tenant, redeem);
        if (tenant.tenantId !== tenantId || tenant.domain !== domain) throw new Error("a change may not change a tenant's id or domain");
        // What the repositories do not know of the tenant (its GDAP relationships) stays as it was.
        await this.files.tenants.get(shardHash(domain)).update((draft) => void (draft.tenants[domain] = { ...draft.tenants[domain]!, ...tenant, status: 'active' }));
        return { found: true as const, result };
      } catch (error) {
        for (const [ref, renewal] of redeemed) await this.catalog.unredeem(ref, tenantId, renewal);
        throw error;
      }
    });
  }

  private record(domain: string | undefined): Readonly<TenantRecord> | undefined {
    return domain === undefined ? undefined : this.files.tenants.get(shardHash(domain)).data.tenants[domain];
  }

  private remember(record: TenantRecord): void {
    this.domains.set(record.tenantId, record.domain);
    this.byKey.set(record.idempotencyKey, record.domain);
  }
}
