/**
 * The embedded commerce's key catalogue and tenants on the files. A creation follows its protocol:
 * the tenant is written as `provisioning`, its keys are redeemed one by one, then it becomes
 * `active`; a failure undoes the keys and the tenant, and a crash in between is undone by
 * `recoverInterrupted` at the bot's next start. A change of a tenant that redeems keys writes the
 * catalogue first: keys whose change never reached the tenant are freed the same way.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FILE_MODE, FOLDER_MODE, hiddenSibling } from '../jsonFile.js';
import type { CatalogKey, CommerceTenant, CommerceTenantRepository, CreateTenantOutcome, KeyCatalogRepository, RedeemForRenewal } from '../repositories.js';
import { KeyedLock } from '../keyedLock.js';
import { shardHash } from '../shardedDocs.js';
import { openCatalogFiles, openCommerceFiles, type CatalogEntry, type CatalogFiles, type CommerceFiles, type TenantRecord } from './commerceDocuments.js';
import { copyOf } from '../copy.js';

const HASH = /^[0-9a-f]{64}$/;

export class FileKeyCatalog implements KeyCatalogRepository {
  constructor(private readonly files: CatalogFiles) {}

  async key(ref: string): Promise<CatalogKey | undefined> {
    const entry = await this.entry(ref);
    // An entry holds only strings and numbers: spreading it copies it whole.
    return entry && { ref, ...entry };
  }

  async entry(ref: string): Promise<CatalogEntry | undefined> {
    if (!HASH.test(ref)) return undefined;
    const shard = this.files.catalog.get(ref);
    // The key CLI may have written the shard since.
    await shard.refresh();
    return shard.data.keys[ref];
  }

  async list(status?: CatalogKey['status']): Promise<CatalogKey[]> {
    const keys: CatalogKey[] = [];
    for (const shard of this.files.catalog.all()) {
      await shard.refresh();
      for (const [ref, entry] of Object.entries(shard.data.keys)) if (status === undefined || entry.status === status) keys.push({ ref, ...entry });
    }
    return keys.sort((a, b) => a.issuedAt.localeCompare(b.issuedAt) || a.ref.localeCompare(b.ref));
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

  async secretCheck(): Promise<string | undefined> {
    const text = await readFile(this.files.secretCheckPath, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
    return text.trim() || undefined;
  }

  async recordSecretCheck(check: string): Promise<string> {
    const recorded = await this.secretCheck();
    if (recorded) return recorded;
    const path = this.files.secretCheckPath;
    await mkdir(dirname(path), { recursive: true, mode: FOLDER_MODE });
    const temporary = hiddenSibling(path, `${randomUUID()}.tmp`);
    await writeFile(temporary, `${check}\n`, { mode: FILE_MODE, flag: 'wx' });
    try {
      // A link is made whole or not at all, and never over a file: the bot and the key CLI may both be first.
      await link(temporary, path).catch((error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? undefined : Promise.reject(error)));
    } finally {
      await unlink(temporary);
    }
    return (await this.secretCheck())!;
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

  /** Keys redeemed for a change of an existing tenant (a renewal, added keys), with that change. */
  redeemedForChanges(): Array<{ ref: string; tenantId: string; renewal: string }> {
    const found: Array<{ ref: string; tenantId: string; renewal: string }> = [];
    for (const shard of this.files.catalog.all()) {
      for (const [ref, entry] of Object.entries(shard.data.keys)) if (entry.status === 'redeemed' && entry.redeemedFor && entry.renewal) found.push({ ref, tenantId: entry.redeemedFor, renewal: entry.renewal });
    }
    return found;
  }
}

/** The tenant as the repositories know it: without the file's creation status. */
function tenantFrom({ status: _status, ...record }: TenantRecord): CommerceTenant {
  return copyOf(record);
}

type Change<R> = (tenant: CommerceTenant, redeem: RedeemForRenewal) => Promise<R> | R;

export class FileCommerceTenants implements CommerceTenantRepository {
  /** Creations of one domain or idempotency key run one at a time, changes of one tenant too (a change awaits the catalogue's files). */
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

  async domainInUse(domain: string): Promise<boolean> {
    return this.record(domain) !== undefined;
  }

  async relationshipNames(partnerTenantId: string): Promise<string[]> {
    return this.namesOf(partnerTenantId);
  }

  create(tenant: CommerceTenant): Promise<CreateTenantOutcome> {
    // A retry (same key) and a rival for the domain wait for the creation under way; others run beside it.
    return this.lock.run(`creation ${tenant.idempotencyKey}`, () => this.lock.run(`domain ${tenant.domain}`, () => this.createNow(tenant)));
  }

  private async createNow(tenant: CommerceTenant): Promise<CreateTenantOutcome> {
    const retried = this.record(this.byKey.get(tenant.idempotencyKey));
    if (retried?.status === 'active' && retried.partnerTenantId === tenant.partnerTenantId) return { existing: tenantFrom(retried) };
    if (retried || this.record(tenant.domain)) return { refused: 'domainTaken' };
    const keyHandles = [...new Set(tenant.keyHandles)].sort();
    for (const ref of keyHandles) if ((await this.catalog.entry(ref))?.status !== 'available') return { refused: 'keyUnavailable' };
    const record: TenantRecord = { ...copyOf(tenant), keyHandles, status: 'provisioning' };
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

  update<R>(tenantId: string, change: Change<R>): Promise<{ found: false } | { found: true; result: R }> {
    return this.lock.run(tenantId, () => this.updateNow(tenantId, change));
  }

  updateForPartner<R>(tenantId: string, partnerTenantId: string, change: (tenant: CommerceTenant, takenNames: readonly string[]) => Promise<R> | R): Promise<{ found: false } | { found: true; result: R }> {
    // The partner's lock first, then the tenant's: every change that takes both takes them in this order.
    return this.lock.run(`partner ${partnerTenantId}`, () => this.update(tenantId, (tenant) => change(tenant, this.namesOf(partnerTenantId))));
  }

  private async updateNow<R>(tenantId: string, change: Change<R>): Promise<{ found: false } | { found: true; result: R }> {
    const domain = this.domains.get(tenantId);
    const stored = this.record(domain);
    if (stored?.status !== 'active' || stored.tenantId !== tenantId || domain === undefined) return { found: false };
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
      await this.files.tenants.get(shardHash(domain)).update((draft) => void (draft.tenants[domain] = { ...tenant, status: 'active' }));
      return { found: true, result };
    } catch (error) {
      for (const [ref, renewal] of redeemed) await this.catalog.unredeem(ref, tenantId, renewal);
      throw error;
    }
  }

  async recoverInterrupted(): Promise<number> {
    const interrupted = [...this.files.tenants.all()].flatMap((shard) => Object.values(shard.data.tenants).filter((t) => t.status === 'provisioning'));
    for (const record of interrupted) await this.undo(record, record.keyHandles);
    // Keys redeemed for a renewal or added keys that the tenant never recorded (a crash between the two writes).
    const orphans = this.catalog.redeemedForChanges().filter(({ tenantId, renewal }) => {
      const record = this.record(this.domains.get(tenantId));
      return !record?.subscriptions.some((s) => s.renewals.includes(renewal));
    });
    for (const { ref, tenantId, renewal } of orphans) await this.catalog.unredeem(ref, tenantId, renewal);
    return interrupted.length + orphans.length;
  }

  /** The display names of all of a partner's relationships; only this process writes the tenants, so memory is current. */
  private namesOf(partnerTenantId: string): string[] {
    const names: string[] = [];
    for (const shard of this.files.tenants.all()) {
      for (const tenant of Object.values(shard.data.tenants)) for (const r of tenant.relationships) if (r.partnerTenantId === partnerTenantId) names.push(r.displayName);
    }
    return names;
  }

  private record(domain: string | undefined): Readonly<TenantRecord> | undefined {
    return domain === undefined ? undefined : this.files.tenants.get(shardHash(domain)).data.tenants[domain];
  }

  private remember(record: TenantRecord): void {
    this.domains.set(record.tenantId, record.domain);
    this.byKey.set(record.idempotencyKey, record.domain);
  }
}

export interface FileCommerce {
  keyCatalog: FileKeyCatalog;
  commerceTenants: FileCommerceTenants;
  files: CommerceFiles;
}

/** The embedded commerce's catalogue and tenants in `dataDir`, opened once per process (openFileRepositories does). */
export async function openFileCommerce(dataDir: string): Promise<FileCommerce> {
  const files = await openCommerceFiles(dataDir);
  const keyCatalog = new FileKeyCatalog(files);
  return { keyCatalog, commerceTenants: new FileCommerceTenants(files, keyCatalog), files };
}

/** The key catalogue alone, for the key CLI beside a running bot (whose tenants it leaves alone). */
export async function openFileKeyCatalog(dataDir: string): Promise<FileKeyCatalog> {
  return new FileKeyCatalog(await openCatalogFiles(dataDir));
}
