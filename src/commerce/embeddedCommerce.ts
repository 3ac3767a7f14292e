/**
 * The embedded commerce default: a key catalogue kept the way a distributor issues key cards, and
 * the customer tenants created from those keys, on the repositories (KeyCatalogRepository,
 * CommerceTenantRepository), so it runs on the files and on PostgreSQL alike. It stores a keyed hash
 * and the last group of each key, never the key itself. Every change of a tenant is one repository
 * change (one transaction); the clock is read before it, so a change that runs again is the same.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ONMICROSOFT, userPrincipalName } from '../domain/account.js';
import { temporaryPassword } from '../domain/password.js';
import { isoDay, planSubscriptions } from '../domain/subscriptions.js';
import { daysBetween, DEFAULT_LIFECYCLE, subscriptionState, type LifecycleDays } from '../domain/lifecycle.js';
import { addMonths } from '../domain/subscriptions.js';
import { additionPlan, renewalPlan } from '../domain/keyChanges.js';
import { entraRole, GLOBAL_ADMINISTRATOR } from '../domain/entraRoles.js';
import * as gdap from '../domain/relationship.js';
import type { AutoExtendDuration, Relationship } from '../domain/relationship.js';
import type { CatalogKey, CommerceRelationship, CommerceTenant, CommerceTenantRepository, KeyCatalogRepository, RedeemForRenewal } from '../store/repositories.js';
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
import { KeyIssuer, type IssueRequest } from './keyIssuer.js';

/** The repositories the embedded commerce keeps its state in: the ones the composition built for the process. */
export interface CommerceRepositories {
  keyCatalog: KeyCatalogRepository;
  commerceTenants: CommerceTenantRepository;
}

const ADMIN_ROLE = 'Global Administrator';
const HASH = /^[0-9a-f]{64}$/;

function toUpdate(s: CommerceTenant['subscriptions'][number]): SubscriptionUpdate {
  return { id: s.id, product: s.product, seats: s.seats, assignedSeats: s.assignedSeats, startDate: s.startDate, endDate: s.endDate, billing: s.billing };
}

/** A new temporary password; like Microsoft's, it exists only in the answer that hands it out and is kept nowhere. */
function newPassword(): string {
  return temporaryPassword(randomInt);
}

function toCreated(tenant: CommerceTenant): CreatedTenant {
  const admin = tenant.users[0]!;
  return {
    tenantId: tenant.tenantId,
    domain: tenant.domain,
    admin: { objectId: admin.objectId, userPrincipalName: admin.userPrincipalName, roles: admin.roles, license: admin.licenses[0] ?? '', temporaryPassword: newPassword() },
    subscriptions: tenant.subscriptions.map(({ renewals: _renewals, billing: _billing, ...s }) => s),
  };
}

const withoutKey = ({ idempotencyKey: _key, ...relationship }: CommerceRelationship): Relationship => relationship;

/** A key this same change of a tenant already redeemed: a retry of a change that went through. */
function redeemedBy(key: CatalogKey, tenantId: string, change: string): boolean {
  return key.status === 'redeemed' && key.renewal === change && key.redeemedFor === tenantId;
}

export class EmbeddedCommerce implements Commerce {
  private readonly issuer: KeyIssuer;

  private constructor(
    private readonly catalog: KeyCatalogRepository,
    private readonly tenants: CommerceTenantRepository,
    private readonly hash: KeyHasher,
    private readonly now: () => Date,
    private readonly lifecycle: LifecycleDays,
    /** Days an unanswered relationship request stays open (`OFFER_DAYS`). */
    private readonly offerDays: number,
  ) {
    this.issuer = new KeyIssuer(catalog, hash, now);
  }

  /**
   * The backend for the bot, on the process's repositories; the bot owns the tenants, so work a
   * crash interrupted is undone first (the key CLI opens the catalogue alone, with a KeyIssuer).
   */
  static async open(repositories: CommerceRepositories, hash: KeyHasher, now: () => Date, log?: Logger, lifecycle: LifecycleDays = DEFAULT_LIFECYCLE, offerDays = gdap.DEFAULT_OFFER_DAYS): Promise<EmbeddedCommerce> {
    const rolledBack = await repositories.commerceTenants.recoverInterrupted();
    if (rolledBack > 0) log?.warn({ rolledBack }, 'rolled back tenant creations and renewals a crash interrupted');
    return new EmbeddedCommerce(repositories.keyCatalog, repositories.commerceTenants, hash, now, lifecycle, offerDays);
  }

  checkKey(key: string): Promise<KeyCheck> {
    return this.recheckKey(this.hash(key));
  }

  async recheckKey(ref: string): Promise<KeyCheck> {
    const entry = await this.catalog.key(ref);
    if (!entry) return { status: 'unknown' };
    if (entry.status !== 'available') return { status: entry.status };
    return { status: 'valid', product: entry.product, seats: entry.seats, termMonths: entry.termMonths, handle: ref };
  }

  async isDomainAvailable(prefix: string): Promise<boolean> {
    return !(await this.tenants.domainInUse(`${prefix}.${ONMICROSOFT}`));
  }

  async createTenant(request: CreateTenantRequest): Promise<CreatedTenant> {
    const domain = `${request.domainPrefix}.${ONMICROSOFT}`;
    const existing = await this.tenants.byDomain(domain);
    // A retry is the same request of the same partner; anyone else asking for the domain finds it taken.
    if (existing && (existing.idempotencyKey !== request.idempotencyKey || existing.partnerTenantId !== request.partnerTenantId)) throw new CommerceError('domainTaken', `${domain} is taken`);
    if (existing) return toCreated(existing);
    if (request.keyHandles.length === 0) throw new CommerceError('invalidRequest', 'no keys');
    const outcome = await this.tenants.create(await this.newTenant(request, domain));
    if ('refused' in outcome) throw new CommerceError(outcome.refused, outcome.refused === 'domainTaken' ? `${domain} is taken` : 'a key is no longer available');
    return toCreated('created' in outcome ? outcome.created : outcome.existing);
  }

  async setDelegatedAdmin(customerTenantId: string, partnerTenantId: string, active: boolean): Promise<void> {
    const since = this.now().toISOString();
    await this.change(customerTenantId, (tenant) => {
      tenant.delegatedAdmins = tenant.delegatedAdmins.filter((admin) => admin.partnerTenantId !== partnerTenantId);
      if (active) tenant.delegatedAdmins.push({ partnerTenantId, roles: [ADMIN_ROLE], since });
    });
  }

  async resetAdminPassword(customerTenantId: string, partnerTenantId: string): Promise<AdminPassword> {
    const tenant = await this.activeTenant(customerTenantId);
    const now = this.now();
    const allowed = tenant.partnerTenantId === partnerTenantId || gdap.mayAct('resetAdminPassword', this.relationshipsOf(tenant, partnerTenantId, now), now).allowed;
    if (!allowed) throw new CommerceError('notDelegated', 'neither the creating partner nor one with a role that may reset it');
    // Nothing is stored: the password exists only in this answer.
    return { userPrincipalName: tenant.users[0]!.userPrincipalName, temporaryPassword: newPassword() };
  }

  async addUser(request: AddUserRequest): Promise<{ objectId: string; userPrincipalName: string }> {
    const now = this.now();
    const objectId = randomUUID();
    return this.change(request.customerTenantId, (tenant) => {
      const done = tenant.addedUsers[request.idempotencyKey];
      const existing = done ? tenant.users.find((user) => user.objectId === done) : undefined;
      if (existing) return { objectId: existing.objectId, userPrincipalName: existing.userPrincipalName };
      const gate = gdap.mayAct('addUser', this.relationshipsOf(tenant, request.partnerTenantId, now), now);
      if (!gate.allowed) throw new CommerceError('notDelegated', `needs ${entraRole(gate.missingRoleId)?.name.en} in an active relationship`);
      const prefix = tenant.domain.slice(0, -`.${ONMICROSOFT}`.length);
      const upn = userPrincipalName(request.signInName, prefix);
      if (tenant.users.some((user) => user.userPrincipalName === upn)) throw new CommerceError('userExists', `${upn} exists`);
      const subscription = tenant.subscriptions.find((s) => s.product === request.product && s.assignedSeats < s.seats);
      if (!subscription) throw new CommerceError('noFreeSeats', `no free seat of ${request.product}`);
      subscription.assignedSeats += 1;
      tenant.users.push({ objectId, userPrincipalName: upn, displayName: `${request.firstName} ${request.lastName}`, roles: [], licenses: [request.product] });
      tenant.addedUsers[request.idempotencyKey] = objectId;
      return { objectId, userPrincipalName: upn };
    });
  }

  async renewSubscription(request: RenewRequest): Promise<SubscriptionUpdate> {
    const today = this.calendarDay(request.today);
    return this.change(request.customerTenantId, async (tenant, redeem) => {
      const subscription = tenant.subscriptions.find((s) => s.id === request.subscriptionId);
      if (!subscription) throw new CommerceError('invalidRequest', 'no such subscription');
      if (subscription.renewals.includes(request.idempotencyKey)) return toUpdate(subscription);
      if (subscription.billing !== 'partner') throw new CommerceError('notPartnerBilled', 'billed directly');
      const keys = await this.usableKeys(request.keyHandles, tenant.tenantId, request.idempotencyKey);
      const plan = renewalPlan(subscription, keys, today, this.lifecycle);
      if ('refused' in plan) throw new CommerceError(plan.refused === 'noKeys' ? 'invalidRequest' : plan.refused, plan.refused);
      await this.redeemKeys(request.keyHandles, request.idempotencyKey, redeem);
      subscription.endDate = plan.endAfter;
      subscription.seats = plan.seatsAfter;
      subscription.renewals.push(request.idempotencyKey);
      return toUpdate(subscription);
    });
  }

  async addKeys(request: AddKeysRequest): Promise<SubscriptionUpdate[]> {
    const today = this.calendarDay(request.today);
    const newIds = request.keyHandles.map(() => randomUUID());
    return this.change(request.customerTenantId, async (tenant, redeem) => {
      const done = tenant.subscriptions.filter((s) => s.renewals.includes(request.idempotencyKey));
      if (done.length > 0) return done.map(toUpdate);
      const partner = request.partnerTenantId;
      if (tenant.partnerTenantId !== partner && !tenant.delegatedAdmins.some((admin) => admin.partnerTenantId === partner)) throw new CommerceError('notDelegated', 'not the partner of this tenant');
      const keys = await this.usableKeys(request.keyHandles, tenant.tenantId, request.idempotencyKey);
      if (keys.length === 0) throw new CommerceError('invalidRequest', 'no keys');
      const steps = additionPlan(tenant.subscriptions, keys, today, this.lifecycle);
      await this.redeemKeys(request.keyHandles, request.idempotencyKey, redeem);
      const changed = steps.map((step, i) => {
        if (step.kind === 'addSeats') {
          const subscription = tenant.subscriptions.find((s) => s.id === step.subscriptionId)!;
          subscription.seats = step.seatsAfter;
          subscription.renewals.push(request.idempotencyKey);
          return subscription;
        }
        const started = {
          id: newIds[i]!,
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
  private async usableKeys(handles: readonly string[], tenantId: string, change: string): Promise<CatalogKey[]> {
    const entries: CatalogKey[] = [];
    for (const handle of new Set(handles)) {
      const entry = await this.catalog.key(handle);
      if (!entry || (entry.status !== 'available' && !redeemedBy(entry, tenantId, change))) throw new CommerceError('keyUnavailable', 'a key is not available');
      entries.push(entry);
    }
    return entries;
  }

  /** Redeems keys for one change of an existing tenant, all or none: a refusal fails the change, which redeems nothing then. */
  private async redeemKeys(handles: readonly string[], change: string, redeem: RedeemForRenewal): Promise<void> {
    for (const handle of new Set(handles)) if (!(await redeem(handle, change))) throw new CommerceError('keyUnavailable', 'a key is no longer available');
  }

  async switchToDirectBilling(customerTenantId: string, subscriptionId: string, day: string): Promise<SubscriptionUpdate> {
    const today = this.calendarDay(day);
    return this.change(customerTenantId, (tenant) => {
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
    const now = this.now();
    const id = randomUUID();
    const outcome = await this.tenants.updateForPartner(request.customerTenantId, request.partnerTenantId, (tenant, takenNames) => {
      const done = tenant.relationships.find((r) => r.idempotencyKey === request.idempotencyKey && r.partnerTenantId === request.partnerTenantId);
      if (done) return gdap.relationshipAt(withoutKey(done), now, this.offerDays);
      const checked = gdap.validateRequest({ displayName: request.displayName, roleIds: request.roleIds, duration: request.duration, autoExtendDuration: request.autoExtendDuration }, takenNames);
      if ('errors' in checked) {
        const taken = checked.errors.some((e) => e.code === 'taken');
        throw new CommerceError(taken ? 'displayNameTaken' : 'invalidRequest', checked.errors.map((e) => `${e.field}: ${e.code}`).join(', '));
      }
      const customer = { tenantId: tenant.tenantId, displayName: tenant.organisationName };
      const created = gdap.newRelationship({ ...checked.request, id, partnerTenantId: request.partnerTenantId, customer }, now);
      const sent = this.applied(gdap.lockForApproval(created, now, this.offerDays), created);
      tenant.relationships.push({ ...sent, idempotencyKey: request.idempotencyKey });
      return sent;
    });
    if (!outcome.found) throw new CommerceError('unknownTenant', 'no such tenant');
    return outcome.result;
  }

  async listRelationships(customerTenantId: string, partnerTenantId: string): Promise<Relationship[]> {
    return this.relationshipsOf(await this.activeTenant(customerTenantId), partnerTenantId, this.now());
  }

  relationshipNames(partnerTenantId: string): Promise<string[]> {
    return this.tenants.relationshipNames(partnerTenantId);
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

  /** A customer's relationships with one partner as they stand at `now`, the old delegated admin among them, oldest first. */
  private relationshipsOf(tenant: CommerceTenant, partnerTenantId: string, now: Date): Relationship[] {
    const customer = { tenantId: tenant.tenantId, displayName: tenant.organisationName };
    const legacy = tenant.delegatedAdmins.filter((admin) => admin.partnerTenantId === partnerTenantId).map((admin) => gdap.legacyRelationship(partnerTenantId, customer, admin.since));
    const granular = tenant.relationships.filter((r) => r.partnerTenantId === partnerTenantId).map((r) => gdap.relationshipAt(withoutKey(r), now, this.offerDays));
    return [...legacy, ...granular].sort((a, b) => a.createdDateTime.localeCompare(b.createdDateTime));
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
    const now = this.now();
    return this.change(customerTenantId, (tenant) => {
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
  private changeLegacy(tenant: CommerceTenant, relationshipId: string, partnerTenantId: string | undefined, step: (relationship: Relationship, now: Date) => gdap.Transition, now: Date): Relationship {
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

  /** Changes an active tenant by its id in one repository change; an unknown tenant is a refusal, not a failure. */
  private async change<R>(tenantId: string, change: (tenant: CommerceTenant, redeem: RedeemForRenewal) => R | Promise<R>): Promise<R> {
    const outcome = await this.tenants.update(tenantId, change);
    if (!outcome.found) throw new CommerceError('unknownTenant', 'no such tenant');
    return outcome.result;
  }

  private async activeTenant(tenantId: string): Promise<CommerceTenant> {
    const tenant = await this.tenants.get(tenantId);
    if (!tenant) throw new CommerceError('unknownTenant', 'no such tenant');
    return tenant;
  }

  /** The caller's calendar day, which can differ from the UTC day by one either way (time zones run from -12 to +14 hours). */
  private calendarDay(day: string): string {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Math.abs(daysBetween(isoDay(this.now()), day)) > 1) throw new CommerceError('invalidRequest', `not today in any time zone: ${day}`);
    return day;
  }

  isEmpty(): Promise<boolean> {
    return this.issuer.isEmpty();
  }

  /** Mints new keys and returns them; this is the only moment the full keys exist. */
  issueKeys(request: IssueRequest): Promise<string[]> {
    return this.issuer.issueKeys(request);
  }

  /** Marks a key as blocked (for instance a key card reported stolen). Returns false for an unknown key. */
  blockKey(key: string): Promise<boolean> {
    return this.issuer.blockKey(key);
  }

  private async newTenant(request: CreateTenantRequest, domain: string): Promise<CommerceTenant> {
    const keys: Array<CatalogKey & { handle: string }> = [];
    for (const handle of new Set(request.keyHandles)) {
      const entry = HASH.test(handle) ? await this.catalog.key(handle) : undefined;
      // A key redeemed meanwhile may be this very creation's, done by a retry racing this one: the
      // repository's creation tells (the tenant made, or the key unavailable).
      if (!entry || entry.status === 'blocked') throw new CommerceError('keyUnavailable', 'a key is no longer available');
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
}
