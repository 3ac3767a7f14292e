/**
 * The embedded commerce default: a key catalogue kept the way a distributor issues key cards, and
 * the customer tenants created from those keys. It stores a keyed hash and the last group of each
 * key, never the key itself.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ONMICROSOFT, userPrincipalName } from '../domain/account.js';
import { temporaryPassword } from '../domain/password.js';
import { lastGroup, randomKey } from '../domain/productKey.js';
import { isoDay, planSubscriptions } from '../domain/subscriptions.js';
import { KeyedLock } from '../store/keyedLock.js';
import { ShardedDocs, shardHash } from '../store/shardedDocs.js';
import { daysBetween, DEFAULT_LIFECYCLE, subscriptionState, type LifecycleDays } from '../domain/lifecycle.js';
import { addMonths } from '../domain/subscriptions.js';
import { additionPlan, renewalPlan } from '../domain/keyChanges.js';
import { entraRole, GLOBAL_ADMINISTRATOR } from '../domain/entraRoles.js';
import * as gdap from '../domain/relationship.js';
import type { AutoExtendDuration, Relationship } from '../domain/relationship.js';
import {
  CommerceError,
  type AddKeysRequest,
  type AddUserRequest,
  type AdminPassword,
  type Commerce,
  type CreatedTenant,
  type CreateRelationshipRequest,
  type CreateTenantRequest,
  type KeyCheck,
  type RelationshipSide,
  type RenewRequest,
  type SubscriptionUpdate,
} from './commerce.js';
import type { KeyHasher } from './keyHasher.js';
import { CatalogShardSchema, TenantShardSchema, type CatalogEntry, type CatalogShard, type TenantRecord, type TenantShard } from '../store/files/commerceDocuments.js';


export const IssueRequestSchema = z.object({
  product: z.string().trim().min(1).max(100),
  seats: z.number().int().min(1).max(300),
  months: z.number().int().min(1).max(60),
  count: z.number().int().min(1).max(1000),
});
export type IssueRequest = z.infer<typeof IssueRequestSchema>;

const ADMIN_ROLE = 'Global Administrator';

/** A key this same change of a tenant already redeemed: the tenant's write failed after it, and this is the retry. */
function redeemedBy(entry: CatalogEntry, tenantId: string, change: string): boolean {
  return entry.status === 'redeemed' && entry.renewal === change && entry.redeemedFor === tenantId;
}

function toUpdate(s: TenantRecord['subscriptions'][number]): SubscriptionUpdate {
  return { id: s.id, product: s.product, seats: s.seats, assignedSeats: s.assignedSeats, startDate: s.startDate, endDate: s.endDate, billing: s.billing };
}

/** A new temporary password; like Microsoft's, it exists only in the answer that hands it out and is kept nowhere. */
function newPassword(): string {
  return temporaryPassword(randomInt);
}

function toCreated(record: TenantRecord): CreatedTenant {
  const admin = record.users[0]!;
  return {
    tenantId: record.tenantId,
    domain: record.domain,
    admin: { objectId: admin.objectId, userPrincipalName: admin.userPrincipalName, roles: admin.roles, license: admin.licenses[0] ?? '', temporaryPassword: newPassword() },
    subscriptions: record.subscriptions.map(({ renewals: _renewals, billing: _billing, ...s }) => s),
  };
}

type StoredRelationship = TenantRecord['relationships'][number];

const withoutKey = ({ idempotencyKey: _key, ...relationship }: StoredRelationship): Relationship => relationship;

export class EmbeddedCommerce implements Commerce {
  /** Changes of one tenant run one at a time: a change may await other files between read and write. */
  private readonly tenantLock = new KeyedLock();
  /** Creations of one partner's relationships run one at a time: display names are unique across its customers. */
  private readonly partnerLock = new KeyedLock();
  /** Tenant id → initial domain, the key of the tenant files; rebuilt from the files at open. */
  private readonly domains = new Map<string, string>();

  private constructor(
    private readonly catalog: ShardedDocs<CatalogShard>,
    private readonly tenants: ShardedDocs<TenantShard>,
    private readonly hash: KeyHasher,
    private readonly now: () => Date,
    private readonly lifecycle: LifecycleDays,
    /** Days an unanswered relationship request stays open (`OFFER_DAYS`). */
    private readonly offerDays: number,
  ) {
    for (const shard of tenants.all()) for (const record of Object.values(shard.data.tenants)) this.domains.set(record.tenantId, record.domain);
  }

  /** Opens the backend for the bot, which owns it: work a crash interrupted is undone first. */
  static async open(dataDir: string, hash: KeyHasher, now: () => Date, log?: Logger, lifecycle: LifecycleDays = DEFAULT_LIFECYCLE, offerDays = gdap.DEFAULT_OFFER_DAYS): Promise<EmbeddedCommerce> {
    const commerce = await EmbeddedCommerce.load(dataDir, hash, now, lifecycle, offerDays);
    const rolledBack = (await commerce.rollBackInterrupted()) + (await commerce.freeOrphanedRenewalKeys());
    if (rolledBack > 0) log?.warn({ rolledBack }, 'rolled back tenant creations and renewals a crash interrupted');
    return commerce;
  }

  /**
   * Opens the key catalogue beside a running bot (the key CLI), to issue and block keys. Recovery
   * stays with the bot: to another process, a tenant the bot is creating at that moment looks like
   * one a crash left half-done, and undoing it would break the bot's work in progress.
   */
  static forKeyIssuing(dataDir: string, hash: KeyHasher, now: () => Date): Promise<EmbeddedCommerce> {
    return EmbeddedCommerce.load(dataDir, hash, now, DEFAULT_LIFECYCLE, gdap.DEFAULT_OFFER_DAYS);
  }

  private static async load(dataDir: string, hash: KeyHasher, now: () => Date, lifecycle: LifecycleDays, offerDays: number): Promise<EmbeddedCommerce> {
    // The key CLI writes the catalogue while the bot runs; the tenants only the bot writes.
    const catalog = await ShardedDocs.open(join(dataDir, 'commerce', 'catalog'), CatalogShardSchema, () => ({ schemaVersion: 1 as const, keys: {} }), { shared: true });
    const tenants = await ShardedDocs.open(join(dataDir, 'commerce', 'tenants'), TenantShardSchema, () => ({ schemaVersion: 1 as const, tenants: {} }));
    return new EmbeddedCommerce(catalog, tenants, hash, now, lifecycle, offerDays);
  }

  checkKey(key: string): Promise<KeyCheck> {
    return this.recheckKey(this.hash(key));
  }

  async recheckKey(ref: string): Promise<KeyCheck> {
    if (!/^[0-9a-f]{64}$/.test(ref)) return { status: 'unknown' };
    const entry = await this.entry(ref);
    if (!entry) return { status: 'unknown' };
    if (entry.status !== 'available') return { status: entry.status };
    return { status: 'valid', product: entry.product, seats: entry.seats, termMonths: entry.termMonths, handle: ref };
  }

  async isDomainAvailable(prefix: string): Promise<boolean> {
    const domain = `${prefix}.${ONMICROSOFT}`;
    const shard = this.tenants.get(shardHash(domain));
    await shard.refresh();
    return !shard.data.tenants[domain];
  }

  async createTenant(request: CreateTenantRequest): Promise<CreatedTenant> {
    const domain = `${request.domainPrefix}.${ONMICROSOFT}`;
    const shard = this.tenants.get(shardHash(domain));
    await shard.refresh();
    const existing = shard.data.tenants[domain];
    // A retry is the same request of the same partner; anyone else asking for the domain finds it taken.
    if (existing && (existing.idempotencyKey !== request.idempotencyKey || existing.partnerTenantId !== request.partnerTenantId)) throw new CommerceError('domainTaken', `${domain} is taken`);
    if (existing?.status === 'active') return toCreated(existing);
    if (request.keyHandles.length === 0) throw new CommerceError('invalidRequest', 'no keys');

    const record = existing ?? (await this.newRecord(request, domain));
    if (!existing) {
      await shard.update((draft) => {
        if (draft.tenants[domain]) throw new CommerceError('domainTaken', `${domain} is taken`);
        draft.tenants[domain] = record;
      });
    }
    try {
      for (const handle of record.keyHandles) {
        const redeemed = await this.catalog.get(handle).update((draft) => {
          const entry = draft.keys[handle];
          if (entry?.status === 'redeemed' && entry.redeemedFor === record.tenantId) return true;
          if (entry?.status !== 'available') return false;
          entry.status = 'redeemed';
          entry.redeemedFor = record.tenantId;
          return true;
        });
        if (!redeemed) throw new CommerceError('keyUnavailable', 'a key is no longer available');
      }
      await shard.update((draft) => void (draft.tenants[domain]!.status = 'active'));
      this.domains.set(record.tenantId, domain);
    } catch (error) {
      await this.rollBack(record);
      throw error;
    }
    return toCreated({ ...record, status: 'active' });
  }

  async setDelegatedAdmin(customerTenantId: string, partnerTenantId: string, active: boolean): Promise<void> {
    await this.changeTenant(customerTenantId, (tenant) => {
      tenant.delegatedAdmins = tenant.delegatedAdmins.filter((admin) => admin.partnerTenantId !== partnerTenantId);
      if (active) tenant.delegatedAdmins.push({ partnerTenantId, roles: [ADMIN_ROLE], since: this.now().toISOString() });
    });
  }

  async resetAdminPassword(customerTenantId: string, partnerTenantId: string): Promise<AdminPassword> {
    const tenant = await this.activeTenant(customerTenantId);
    const allowed = tenant.partnerTenantId === partnerTenantId || gdap.mayAct('resetAdminPassword', this.relationshipsOf(tenant, partnerTenantId), this.now()).allowed;
    if (!allowed) throw new CommerceError('notDelegated', 'neither the creating partner nor one with a role that may reset it');
    return { userPrincipalName: tenant.users[0]!.userPrincipalName, temporaryPassword: newPassword() };
  }

  async addUser(request: AddUserRequest): Promise<{ objectId: string; userPrincipalName: string }> {
    return this.changeTenant(request.customerTenantId, (tenant) => {
      const done = tenant.addedUsers[request.idempotencyKey];
      const existing = done ? tenant.users.find((user) => user.objectId === done) : undefined;
      if (existing) return { objectId: existing.objectId, userPrincipalName: existing.userPrincipalName };
      const gate = gdap.mayAct('addUser', this.relationshipsOf(tenant, request.partnerTenantId), this.now());
      if (!gate.allowed) throw new CommerceError('notDelegated', `needs ${entraRole(gate.missingRoleId)?.name.en} in an active relationship`);
      const prefix = tenant.domain.slice(0, -`.${ONMICROSOFT}`.length);
      const upn = userPrincipalName(request.signInName, prefix);
      if (tenant.users.some((user) => user.userPrincipalName === upn)) throw new CommerceError('userExists', `${upn} exists`);
      const subscription = tenant.subscriptions.find((s) => s.product === request.product && s.assignedSeats < s.seats);
      if (!subscription) throw new CommerceError('noFreeSeats', `no free seat of ${request.product}`);
      subscription.assignedSeats += 1;
      const user = { objectId: randomUUID(), userPrincipalName: upn, displayName: `${request.firstName} ${request.lastName}`, roles: [], licenses: [request.product] };
      tenant.users.push(user);
      tenant.addedUsers[request.idempotencyKey] = user.objectId;
      return { objectId: user.objectId, userPrincipalName: upn };
    });
  }

  async renewSubscription(request: RenewRequest): Promise<SubscriptionUpdate> {
    const today = this.calendarDay(request.today);
    return this.changeTenant(request.customerTenantId, async (tenant) => {
      const subscription = tenant.subscriptions.find((s) => s.id === request.subscriptionId);
      if (!subscription) throw new CommerceError('invalidRequest', 'no such subscription');
      if (subscription.renewals.includes(request.idempotencyKey)) return toUpdate(subscription);
      if (subscription.billing !== 'partner') throw new CommerceError('notPartnerBilled', 'billed directly');
      const keys = await this.usableKeys(request.keyHandles, tenant.tenantId, request.idempotencyKey);
      const plan = renewalPlan(subscription, keys, today, this.lifecycle);
      if ('refused' in plan) throw new CommerceError(plan.refused === 'noKeys' ? 'invalidRequest' : plan.refused, plan.refused);
      await this.redeemKeys(request.keyHandles, tenant.tenantId, request.idempotencyKey);
      subscription.endDate = plan.endAfter;
      subscription.seats = plan.seatsAfter;
      subscription.renewals.push(request.idempotencyKey);
      return toUpdate(subscription);
    });
  }

  async addKeys(request: AddKeysRequest): Promise<SubscriptionUpdate[]> {
    const today = this.calendarDay(request.today);
    return this.changeTenant(request.customerTenantId, async (tenant) => {
      const done = tenant.subscriptions.filter((s) => s.renewals.includes(request.idempotencyKey));
      if (done.length > 0) return done.map(toUpdate);
      const partner = request.partnerTenantId;
      if (tenant.partnerTenantId !== partner && !tenant.delegatedAdmins.some((admin) => admin.partnerTenantId === partner)) throw new CommerceError('notDelegated', 'not the partner of this tenant');
      const keys = await this.usableKeys(request.keyHandles, tenant.tenantId, request.idempotencyKey);
      if (keys.length === 0) throw new CommerceError('invalidRequest', 'no keys');
      const steps = additionPlan(tenant.subscriptions, keys, today, this.lifecycle);
      await this.redeemKeys(request.keyHandles, tenant.tenantId, request.idempotencyKey);
      const changed = steps.map((step) => {
        if (step.kind === 'addSeats') {
          const subscription = tenant.subscriptions.find((s) => s.id === step.subscriptionId)!;
          subscription.seats = step.seatsAfter;
          subscription.renewals.push(request.idempotencyKey);
          return subscription;
        }
        const started = {
          id: randomUUID(),
          product: step.product,
          seats: step.seats,
          assignedSeats: 0,
          startDate: step.startDate,
          endDate: step.endDate,
          ...(request.partnerOfRecord ? { partnerOfRecord: request.partnerOfRecord } : {}),
          billing: 'partner' as const,
          renewals: [request.idempotencyKey],
        };
        tenant.subscriptions.push(started);
        return started;
      });
      return changed.map(toUpdate);
    });
  }

  /** The keys' catalogue entries: each must be available, or redeemed already by this same change (its retry). */
  private async usableKeys(handles: readonly string[], tenantId: string, change: string): Promise<CatalogEntry[]> {
    const entries: CatalogEntry[] = [];
    for (const handle of new Set(handles)) {
      const entry = /^[0-9a-f]{64}$/.test(handle) ? await this.entry(handle) : undefined;
      if (!entry || (entry.status !== 'available' && !redeemedBy(entry, tenantId, change))) throw new CommerceError('keyUnavailable', 'a key is not available');
      entries.push(entry);
    }
    return entries;
  }

  /**
   * Redeems keys for one change of an existing tenant, all or none. The tenant records the change
   * after this; a crash in between leaves keys whose change no tenant knows, freed at the next open.
   */
  private async redeemKeys(handles: readonly string[], tenantId: string, change: string): Promise<void> {
    const redeemed: string[] = [];
    for (const handle of new Set(handles)) {
      const ok = await this.catalog.get(handle).update((draft) => {
        const entry = draft.keys[handle];
        if (entry && redeemedBy(entry, tenantId, change)) return true;
        if (entry?.status !== 'available') return false;
        entry.status = 'redeemed';
        entry.redeemedFor = tenantId;
        entry.renewal = change;
        return true;
      });
      if (!ok) {
        await this.freeKeys(redeemed, (entry) => redeemedBy(entry, tenantId, change));
        throw new CommerceError('keyUnavailable', 'a key is no longer available');
      }
      redeemed.push(handle);
    }
  }

  /** Makes redeemed keys available again, those `mine` says belong to the change being undone. */
  private async freeKeys(handles: readonly string[], mine: (entry: CatalogEntry) => boolean): Promise<void> {
    for (const handle of handles) {
      await this.catalog.get(handle).update((draft) => {
        const entry = draft.keys[handle];
        if (entry?.status !== 'redeemed' || !mine(entry)) return;
        entry.status = 'available';
        delete entry.redeemedFor;
        delete entry.renewal;
      });
    }
  }

  async switchToDirectBilling(customerTenantId: string, subscriptionId: string, day: string): Promise<SubscriptionUpdate> {
    const today = this.calendarDay(day);
    return this.changeTenant(customerTenantId, (tenant) => {
      const subscription = tenant.subscriptions.find((s) => s.id === subscriptionId);
      if (!subscription) throw new CommerceError('invalidRequest', 'no such subscription');
      if (subscription.billing === 'direct') return toUpdate(subscription);
      if (subscriptionState(subscription.endDate, today, this.lifecycle) === 'deprovisioned') throw new CommerceError('deprovisioned', 'deprovisioned');
      // Microsoft's own subscription starts at once, for a year; the partner-billed term ends with it.
      subscription.billing = 'direct';
      subscription.startDate = today;
      subscription.endDate = addMonths(today, 12);
      delete subscription.partnerOfRecord;
      return toUpdate(subscription);
    });
  }

  async createRelationship(request: CreateRelationshipRequest): Promise<Relationship> {
    return this.partnerLock.run(request.partnerTenantId, () =>
      this.changeTenant(request.customerTenantId, (tenant) => {
        const done = tenant.relationships.find((r) => r.idempotencyKey === request.idempotencyKey && r.partnerTenantId === request.partnerTenantId);
        if (done) return gdap.relationshipAt(withoutKey(done), this.now(), this.offerDays);
        const checked = gdap.validateRequest(
          { displayName: request.displayName, roleIds: request.roleIds, duration: request.duration, autoExtendDuration: request.autoExtendDuration },
          this.namesOf(request.partnerTenantId),
        );
        if ('errors' in checked) {
          const taken = checked.errors.some((e) => e.code === 'taken');
          throw new CommerceError(taken ? 'displayNameTaken' : 'invalidRequest', checked.errors.map((e) => `${e.field}: ${e.code}`).join(', '));
        }
        const now = this.now();
        const customer = { tenantId: tenant.tenantId, displayName: tenant.organisationName };
        const created = gdap.newRelationship({ ...checked.request, id: randomUUID(), partnerTenantId: request.partnerTenantId, customer }, now);
        const sent = this.applied(gdap.lockForApproval(created, now, this.offerDays), created);
        tenant.relationships.push({ ...sent, idempotencyKey: request.idempotencyKey });
        return sent;
      }),
    );
  }

  async listRelationships(customerTenantId: string, partnerTenantId: string): Promise<Relationship[]> {
    return this.tenantLock.run(customerTenantId, async () => this.relationshipsOf(await this.activeTenant(customerTenantId), partnerTenantId));
  }

  async relationshipNames(partnerTenantId: string): Promise<string[]> {
    return this.namesOf(partnerTenantId);
  }

  approveRelationship(customerTenantId: string, relationshipId: string): Promise<Relationship> {
    // A retry of an approval that went through finds it approved.
    return this.changeRelationship(customerTenantId, relationshipId, undefined, (r, now) => gdap.approve(r, now, this.offerDays), (r) => r.activatedDateTime !== undefined && r.status !== 'terminated');
  }

  declineRelationship(customerTenantId: string, relationshipId: string): Promise<Relationship> {
    return this.changeRelationship(customerTenantId, relationshipId, undefined, (r, now) => gdap.decline(r, now, this.offerDays), (r) => r.status === 'terminated' && r.terminatedBy === 'customer' && !r.activatedDateTime);
  }

  terminateRelationship(customerTenantId: string, relationshipId: string, by: RelationshipSide): Promise<Relationship> {
    const partner = by.side === 'partner' ? by.partnerTenantId : undefined;
    return this.changeRelationship(customerTenantId, relationshipId, partner, (r, now) => gdap.terminate(r, by.side, now, this.offerDays), (r) => r.status === 'terminated' && r.terminatedBy === by.side);
  }

  setRelationshipAutoExtend(customerTenantId: string, partnerTenantId: string, relationshipId: string, autoExtendDuration: AutoExtendDuration): Promise<Relationship> {
    return this.changeRelationship(customerTenantId, relationshipId, partnerTenantId, (r, now) => gdap.setAutoExtend(r, autoExtendDuration, now, this.offerDays));
  }

  removeGlobalAdministrator(customerTenantId: string, partnerTenantId: string, relationshipId: string): Promise<Relationship> {
    return this.changeRelationship(customerTenantId, relationshipId, partnerTenantId, (r, now) => gdap.removeGlobalAdministrator(r, now, this.offerDays), (r) => r.status !== 'terminated' && r.status !== 'expired' && !gdap.roleIds(r).includes(GLOBAL_ADMINISTRATOR));
  }

  /** A customer's relationships with one partner as they stand now, the old delegated admin among them, oldest first. */
  private relationshipsOf(tenant: TenantRecord, partnerTenantId: string): Relationship[] {
    const now = this.now();
    const customer = { tenantId: tenant.tenantId, displayName: tenant.organisationName };
    const legacy = tenant.delegatedAdmins.filter((admin) => admin.partnerTenantId === partnerTenantId).map((admin) => gdap.legacyRelationship(partnerTenantId, customer, admin.since));
    const granular = tenant.relationships.filter((r) => r.partnerTenantId === partnerTenantId).map((r) => gdap.relationshipAt(withoutKey(r), now, this.offerDays));
    return [...legacy, ...granular].sort((a, b) => a.createdDateTime.localeCompare(b.createdDateTime));
  }

  /** The display names of all of a partner's relationships; only this process writes the tenants, so memory is current. */
  private namesOf(partnerTenantId: string): string[] {
    const names: string[] = [];
    for (const shard of this.tenants.all()) {
      for (const tenant of Object.values(shard.data.tenants)) for (const r of tenant.relationships) if (r.partnerTenantId === partnerTenantId) names.push(r.displayName);
    }
    return names;
  }

  /**
   * Applies a life-cycle step to one relationship of the customer, seen by the partner when given
   * (another partner's relationships do not exist for it). A step already done (`done`) returns
   * the relationship as it stands, so a retry changes nothing; any other refusal names the reason.
   */
  private changeRelationship(
    customerTenantId: string,
    relationshipId: string,
    partnerTenantId: string | undefined,
    step: (relationship: Relationship, now: Date) => gdap.Transition,
    done: (relationship: Relationship) => boolean = () => false,
  ): Promise<Relationship> {
    return this.changeTenant(customerTenantId, (tenant) => {
      const now = this.now();
      const index = tenant.relationships.findIndex((r) => r.id === relationshipId && (partnerTenantId === undefined || r.partnerTenantId === partnerTenantId));
      if (index < 0) return this.changeLegacy(tenant, relationshipId, partnerTenantId, step, now);
      const stored = tenant.relationships[index]!;
      const current = gdap.relationshipAt(withoutKey(stored), now, this.offerDays);
      const result = step(current, now);
      if (!result.ok && done(current)) return current;
      const changed = this.applied(result, current);
      tenant.relationships[index] = { ...changed, idempotencyKey: stored.idempotencyKey };
      return changed;
    });
  }

  /** The old delegated admin can only be ended (any other step is refused); that ends its rights too. */
  private changeLegacy(tenant: TenantRecord, relationshipId: string, partnerTenantId: string | undefined, step: (relationship: Relationship, now: Date) => gdap.Transition, now: Date): Relationship {
    const customer = { tenantId: tenant.tenantId, displayName: tenant.organisationName };
    const admin = tenant.delegatedAdmins.find((a) => (partnerTenantId === undefined || a.partnerTenantId === partnerTenantId) && gdap.legacyRelationship(a.partnerTenantId, customer, a.since).id === relationshipId);
    if (!admin) throw new CommerceError('unknownRelationship', 'no such relationship');
    const legacy = gdap.legacyRelationship(admin.partnerTenantId, customer, admin.since);
    const changed = this.applied(step(legacy, now), legacy);
    tenant.delegatedAdmins = tenant.delegatedAdmins.filter((a) => a !== admin);
    // Kept as an ended relationship, so the customer card shows it and a retry finds it ended.
    tenant.relationships.push({ ...changed, idempotencyKey: changed.id });
    return changed;
  }

  private applied(result: gdap.Transition, current: Relationship): Relationship {
    if (result.ok) return result.relationship;
    throw new CommerceError('relationshipState', result.error, current);
  }

  /** Changes an active tenant by its id; an unknown tenant is a refusal, not a failure. */
  private changeTenant<R>(tenantId: string, change: (tenant: TenantRecord) => R | Promise<R>): Promise<R> {
    return this.tenantLock.run(tenantId, () => this.changeTenantNow(tenantId, change));
  }

  private async changeTenantNow<R>(tenantId: string, change: (tenant: TenantRecord) => R | Promise<R>): Promise<R> {
    const tenant = await this.activeTenant(tenantId);
    const domain = tenant.domain;
    const shard = this.tenants.get(shardHash(domain));
    // The change works on a copy, which is written only if it succeeds (it may await other files).
    const draft = structuredClone(tenant);
    const result = await change(draft);
    await shard.update((doc) => void (doc.tenants[domain] = draft));
    return result;
  }

  private async activeTenant(tenantId: string): Promise<TenantRecord> {
    const domain = this.domains.get(tenantId);
    if (!domain) throw new CommerceError('unknownTenant', 'no such tenant');
    const shard = this.tenants.get(shardHash(domain));
    await shard.refresh();
    const tenant = shard.data.tenants[domain];
    if (tenant?.status !== 'active' || tenant.tenantId !== tenantId) throw new CommerceError('unknownTenant', 'no such tenant');
    return tenant;
  }

  /** The caller's calendar day, which can differ from the UTC day by one either way (time zones run from -12 to +14 hours). */
  private calendarDay(day: string): string {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Math.abs(daysBetween(isoDay(this.now()), day)) > 1) throw new CommerceError('invalidRequest', `not today in any time zone: ${day}`);
    return day;
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
      const added = await this.changeEntry(ref, (keys) => {
        if (keys[ref]) return false;
        keys[ref] = { product, seats, termMonths: months, lastGroup: lastGroup(key), status: 'available', issuedAt: this.now().toISOString() };
        return true;
      });
      if (added) issued.push(key);
    }
    return issued;
  }

  /** Marks a key as blocked (for instance a key card reported stolen). Returns false for an unknown key. */
  blockKey(key: string): Promise<boolean> {
    const ref = this.hash(key);
    return this.changeEntry(ref, (keys) => {
      const entry = keys[ref];
      if (!entry) return false;
      entry.status = 'blocked';
      return true;
    });
  }

  private async entry(ref: string): Promise<CatalogEntry | undefined> {
    const shard = this.catalog.get(ref);
    await shard.refresh();
    return shard.data.keys[ref];
  }

  /** A catalogue shard is shared with the key CLI: its write locks the file and starts from its latest version. */
  private changeEntry<R>(ref: string, change: (keys: CatalogShard['keys']) => R): Promise<R> {
    return this.catalog.get(ref).update((draft) => change(draft.keys));
  }

  private async newRecord(request: CreateTenantRequest, domain: string): Promise<TenantRecord> {
    const keys: Array<CatalogEntry & { handle: string }> = [];
    for (const handle of new Set(request.keyHandles)) {
      const entry = await this.entry(handle);
      if (entry?.status !== 'available') throw new CommerceError('keyUnavailable', 'a key is no longer available');
      keys.push({ ...entry, handle });
    }
    const plans = planSubscriptions(keys, this.calendarDay(request.today));
    // The admin's license comes from the subscription with the most seats.
    const licensed = plans.reduce((best, plan) => (plan.seats > best.seats ? plan : best), plans[0]!);
    const subscriptions = plans.map((plan) => ({
      id: randomUUID(),
      product: plan.product,
      seats: plan.seats,
      assignedSeats: plan === licensed ? 1 : 0,
      startDate: plan.startDate,
      endDate: plan.endDate,
      ...(request.partnerOfRecord ? { partnerOfRecord: request.partnerOfRecord } : {}),
      billing: 'partner' as const,
      renewals: [],
    }));
    const { admin } = request;
    return {
      tenantId: randomUUID(),
      idempotencyKey: request.idempotencyKey,
      partnerTenantId: request.partnerTenantId,
      status: 'provisioning',
      createdAt: this.now().toISOString(),
      organisationName: request.organisationName,
      country: request.country,
      language: request.language,
      domain,
      users: [
        {
          objectId: randomUUID(),
          userPrincipalName: userPrincipalName(admin.signInName, request.domainPrefix),
          displayName: `${admin.firstName} ${admin.lastName}`,
          email: admin.email,
          phone: admin.phone,
          roles: [ADMIN_ROLE],
          licenses: [licensed.product],
        },
      ],
      subscriptions,
      keyHandles: keys.map((key) => key.handle),
      delegatedAdmins: [],
      addedUsers: {},
      relationships: [],
    };
  }

  /** Undoes a creation that did not finish: its keys become available again and the tenant is gone. */
  private async rollBack(record: TenantRecord): Promise<void> {
    await this.freeKeys(record.keyHandles, (entry) => entry.redeemedFor === record.tenantId);
    await this.tenants.get(shardHash(record.domain)).update((draft) => {
      if (draft.tenants[record.domain]?.tenantId === record.tenantId) delete draft.tenants[record.domain];
    });
  }

  /** Keys redeemed for a renewal that the tenant never recorded (a crash between the two writes). */
  private async freeOrphanedRenewalKeys(): Promise<number> {
    let freed = 0;
    for (const shard of this.catalog.all()) {
      const orphans = Object.entries(shard.data.keys)
        .filter(([, entry]) => entry.status === 'redeemed' && entry.renewal && !this.renewalRecorded(entry.redeemedFor, entry.renewal))
        .map(([ref]) => ref);
      if (orphans.length === 0) continue;
      await shard.update((draft) => {
        for (const ref of orphans) {
          const entry = draft.keys[ref]!;
          entry.status = 'available';
          delete entry.redeemedFor;
          delete entry.renewal;
        }
      });
      freed += orphans.length;
    }
    return freed;
  }

  private renewalRecorded(tenantId: string | undefined, renewal: string): boolean {
    const domain = tenantId && this.domains.get(tenantId);
    const tenant = domain ? this.tenants.get(shardHash(domain)).data.tenants[domain] : undefined;
    return tenant?.subscriptions.some((s) => s.renewals.includes(renewal)) ?? false;
  }

  private async rollBackInterrupted(): Promise<number> {
    const interrupted = [...this.tenants.all()].flatMap((shard) => Object.values(shard.data.tenants).filter((t) => t.status === 'provisioning'));
    for (const record of interrupted) await this.rollBack(record);
    return interrupted.length;
  }
}
