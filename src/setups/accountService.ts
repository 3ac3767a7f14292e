/**
 * Step 2 of a setup: checks the customer's account, creates the tenant through the commerce
 * interface, and records the customer. The setup's status is saved as `creating` before the backend
 * is asked, and the backend is idempotent per setup, so neither a second press nor a crash can
 * create a second tenant.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CommerceError, type Commerce, type CreatedTenant } from '../commerce/commerce.js';
import { domainCandidates, validateAccount, type AccountInput } from '../domain/account.js';
import type { Customer } from '../domain/customer.js';
import { mayAct } from '../domain/relationship.js';
import * as rules from '../domain/setup.js';
import type { Setup } from '../domain/setup.js';
import { timeZoneOf } from '../domain/profile.js';
import { localDay } from '../domain/lifecycle.js';
import type { Actor } from '../domain/actor.js';
import type { Repositories, SetupRepository } from '../store/repositories.js';
import type { AccountCheck, CreateRefusal, CreateResult, PasswordReset, Refusal } from '../domain/outcomes.js';
import type { SetupService } from './setupService.js';
import type { AuditTrail } from '../partners/auditTrail.js';

/** Rewrites a stored setup whatever its owner or revision, for the bot's own follow-up steps; it must exist. */
export async function changeStoredSetup(setups: SetupRepository, tenantId: string, setupId: string, change: (setup: Setup) => Setup): Promise<Setup> {
  const setup = await setups.update(tenantId, setupId, change);
  if (!setup) throw new Error(`setup ${setupId} vanished from tenant ${tenantId}`);
  return setup;
}

/** The admin without a reset under way. */
function withoutPending({ pendingPasswordReset: _done, ...admin }: Customer['admin']): Customer['admin'] {
  return admin;
}

const CREATE_REFUSALS: readonly string[] = ['domainTaken', 'keyUnavailable', 'invalidRequest'];

const SUGGESTIONS = 3;

export class AccountService {
  constructor(
    private readonly repositories: Pick<Repositories, 'customers' | 'setups' | 'partners'>,
    private readonly commerce: Commerce,
    private readonly setups: SetupService,
    private readonly now: () => Date,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
  ) {}

  /** Checks the typed account; when it is complete and its domain free, saves it on the setup for review. */
  check(actor: Actor, setupId: string, rev: number, input: AccountInput): Promise<AccountCheck | Refusal> {
    return this.setups.exclusive(setupId, async () => {
      const refusal = await this.setups.refusalFor(actor, setupId, rev, 'account');
      if (refusal) return refusal;
      const checked = validateAccount(input);
      if ('errors' in checked) return { ok: false, errors: checked.errors, suggestions: [] };
      const { account } = checked;
      if (!(await this.commerce.isDomainAvailable(account.domainPrefix))) {
        return { ok: false, errors: [{ field: 'domainPrefix', code: 'domainTaken' }], suggestions: await this.freeDomains(account.organisationName, account.domainPrefix) };
      }
      const result = await this.setups.guarded(actor, setupId, rev, (setup) => rules.saveAccount(setup, account, this.now()), 'account');
      return 'refused' in result ? result : { ok: true, setup: result.setup };
    });
  }

  /** Creates the customer's tenant from the reviewed account and the setup's reserved keys. */
  create(actor: Actor, setupId: string, rev: number): Promise<CreateResult | Refusal> {
    return this.setups.exclusive(setupId, async () => {
      const refusal = await this.setups.refusalFor(actor, setupId, rev, 'create');
      if (refusal) return refusal;
      const started = await this.setups.guarded(actor, setupId, rev, (setup) => rules.startCreating(setup, this.now()), 'create');
      if ('refused' in started) return started;
      return this.createNow(actor.tenantId, started.setup);
    });
  }

  /**
   * Finishes creations a crash or a failed write interrupted (the backend is idempotent); returns
   * them for notices. Runs at start and in every sweep: a creation under way in a turn holds the
   * setup's lock, and is found finished once the lock is free.
   */
  async resumeInterrupted(): Promise<Array<{ tenantId: string; result: CreateResult }>> {
    const resumed: Array<{ tenantId: string; result: CreateResult }> = [];
    for (const { tenantId, setup: { id, target } } of await this.repositories.setups.withStatus('creating')) {
      // Keys for an existing customer are finished by the renewal service.
      if (target) continue;
      const result = await this.setups.exclusive(id, async () => {
        const setup = await this.repositories.setups.find(tenantId, id);
        return setup?.status === 'creating' ? this.createNow(tenantId, setup) : undefined;
      });
      if (!result) continue;
      this.log.warn({ tenantId, setupId: id, ok: result.ok }, 'resumed an interrupted account creation');
      resumed.push({ tenantId, result });
    }
    return resumed;
  }

  private async createNow(tenantId: string, setup: Setup): Promise<CreateResult> {
    const account = setup.account!;
    const now = this.now();
    const profile = await this.repositories.partners.profile(tenantId);
    let created: CreatedTenant;
    try {
      created = await this.commerce.createTenant({
        idempotencyKey: setup.id,
        partnerTenantId: tenantId,
        country: account.country,
        organisationName: account.organisationName,
        language: account.language,
        domainPrefix: account.domainPrefix,
        admin: { firstName: account.firstName, lastName: account.lastName, email: account.email, phone: account.phone, signInName: account.signInName },
        keyHandles: setup.keys.map((key) => key.handle),
        partnerOfRecord: account.partnerOfRecord ? profile?.partnerId : undefined,
        today: localDay(now, timeZoneOf(profile)),
      });
    } catch (error) {
      const reason = error instanceof CommerceError && CREATE_REFUSALS.includes(error.code) ? (error.code as CreateRefusal) : 'failed';
      if (reason === 'failed') this.log.error({ err: error, tenantId, setupId: setup.id }, 'tenant creation failed');
      const back = await changeStoredSetup(this.repositories.setups, tenantId, setup.id, (s) => rules.abandonCreating(s, now));
      return { ok: false, reason, setup: back };
    }
    const owner: Actor = { tenantId, userId: setup.ownerId, name: setup.ownerName };
    const who = await this.audit.actorOf(tenantId, owner);
    // The customer first, then the setup: a crash in between leaves the setup `creating`, and the
    // creation is finished at the next start (the backend and `add` are both idempotent). Recorded
    // once, with the customer: the setup id keys the creation, a resumed one included.
    const customer = await this.repositories.customers.add(tenantId, this.customerFrom(setup, created, now), (added) => [
      this.audit.draft(tenantId, who, {
        id: `account.create:${setup.id}`,
        verb: 'account.create',
        customerTenantId: added.tenantId,
        keys: setup.keys.map((key) => key.lastGroup),
        details: { customer: added.name, domain: added.domain, subscriptions: added.subscriptions.map((s) => `${s.product} (${s.seats})`).join(', ') },
        outcome: { result: 'done' },
      }),
    ]);
    const completed = await changeStoredSetup(this.repositories.setups, tenantId, setup.id, (s) => rules.complete(s, customer.tenantId, now));
    // The keys are redeemed now; a failure to drop their reservations is mended by the next sweep.
    await this.repositories.setups
      .releaseKeys(
        setup.id,
        setup.keys.map((key) => key.ref),
      )
      .catch((error) => this.log.warn({ err: error, setupId: setup.id }, 'reservation index not yet cleaned'));
    this.log.info({ tenantId, setupId: setup.id, customerTenantId: customer.tenantId, subscriptions: customer.subscriptions.length }, 'customer tenant created');
    return { ok: true, setup: completed, customer, temporaryPassword: created.admin.temporaryPassword };
  }

  /**
   * Has the backend make a new temporary password for the customer's admin. Only when and by whom
   * it was made is saved; the password goes back to the caller alone. `requestId` is the press (the
   * card carries it): the press is claimed on the customer before the backend is asked, in one
   * conditional change, so a second press of the same card, here or on another instance, makes no
   * second password (the first one was shown in the answer to the first press; none is kept to show again).
   */
  async resetAdminPassword(actor: Actor, customerTenantId: string, requestId: string = randomUUID()): Promise<PasswordReset> {
    const customers = this.repositories.customers;
    const customer = await customers.get(actor.tenantId, customerTenantId);
    if (!customer) return { ok: false, reason: 'customerNotFound' };
    const by = { id: actor.userId, name: actor.name };
    const press = { at: this.now().toISOString(), by, requestId };
    const pressedBefore = (c: Customer) => c.admin.passwordReset?.requestId === requestId || c.admin.pendingPasswordReset?.requestId === requestId;
    if (pressedBefore(customer)) return { ok: false, reason: 'alreadyReset', customer };
    let temporaryPassword: string;
    try {
      // The person who created the account may; anyone else of the partner through delegated administration.
      const delegated = async () => mayAct('resetAdminPassword', await this.commerce.listRelationships(customerTenantId, actor.tenantId), this.now()).allowed;
      if (customer.createdBy.id !== actor.userId && !(await delegated())) return { ok: false, reason: 'notAllowed', customer };
      const claimed = await customers.update(actor.tenantId, customerTenantId, (c) => (pressedBefore(c) ? undefined : { ...c, admin: { ...c.admin, pendingPasswordReset: press } }));
      if (!claimed) {
        const now = await customers.get(actor.tenantId, customerTenantId);
        return now ? { ok: false, reason: 'alreadyReset', customer: now } : { ok: false, reason: 'customerNotFound' };
      }
      try {
        ({ temporaryPassword } = await this.commerce.resetAdminPassword(customerTenantId, actor.tenantId));
      } catch (error) {
        // No password was made: the same card may try again.
        await customers.update(actor.tenantId, customerTenantId, (c) => (c.admin.pendingPasswordReset?.requestId === requestId ? { ...c, admin: withoutPending(c.admin) } : undefined)).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      // The backend no longer sees the partner as delegated admin (ended in the customer's tenant).
      if (error instanceof CommerceError && error.code === 'notDelegated') return { ok: false, reason: 'notAllowed', customer };
      this.log.error({ err: error, tenantId: actor.tenantId, customerTenantId }, 'admin password reset failed');
      return { ok: false, reason: 'failed', customer };
    }
    // Recorded with the change: who reset it and when, never the password.
    const who = await this.audit.actorOf(actor.tenantId, actor);
    const saved = await customers.update(
      actor.tenantId,
      customerTenantId,
      (c) => ({ ...c, admin: { ...(c.admin.pendingPasswordReset?.requestId === requestId ? withoutPending(c.admin) : c.admin), passwordReset: press } }),
      (c) => [
        this.audit.draft(actor.tenantId, who, {
          id: `password.reset:${requestId}`,
          verb: 'password.reset',
          customerTenantId,
          details: { admin: c.admin.userPrincipalName },
          outcome: { result: 'done' },
        }),
      ],
    );
    if (!saved) throw new Error(`customer ${customerTenantId} vanished while its admin password was reset`);
    this.log.info({ tenantId: actor.tenantId, customerTenantId }, 'admin password reset');
    return { ok: true, customer: saved, temporaryPassword };
  }

  private customerFrom(setup: Setup, created: CreatedTenant, now: Date): Customer {
    const account = setup.account!;
    return {
      tenantId: created.tenantId,
      name: account.organisationName,
      domain: created.domain,
      country: account.country,
      language: account.language,
      admin: {
        name: `${account.firstName} ${account.lastName}`,
        email: account.email,
        phone: account.phone,
        userPrincipalName: created.admin.userPrincipalName,
        objectId: created.admin.objectId,
      },
      createdAt: now.toISOString(),
      createdBy: { id: setup.ownerId, name: setup.ownerName },
      setupId: setup.id,
      subscriptions: created.subscriptions.map((s) => ({ ...s, billing: 'partner' as const, renewalIds: [] })),
      offers: [],
      addedUsers: [],
    };
  }

  private async freeDomains(organisationName: string, taken: string): Promise<string[]> {
    const free: string[] = [];
    for (const candidate of domainCandidates(organisationName, taken)) {
      if (free.length === SUGGESTIONS) break;
      if (await this.commerce.isDomainAvailable(candidate)) free.push(candidate);
    }
    return free;
  }
}
