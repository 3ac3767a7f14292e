/**
 * Step 2 of a setup: checks the customer's account, creates the tenant through the commerce
 * interface, and records the customer. The setup's status is saved as `creating` before the backend
 * is asked, and the backend is idempotent per setup, so neither a second press nor a crash can
 * create a second tenant.
 */
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
import { indexCustomer } from '../store/customerIndex.js';
import type { Store } from '../store/store.js';
import type { AccountCheck, CreateRefusal, CreateResult, PasswordReset, Refusal } from '../domain/outcomes.js';
import type { SetupService } from './setupService.js';
import type { AuditTrail } from '../partners/auditTrail.js';

const CREATE_REFUSALS: readonly string[] = ['domainTaken', 'keyUnavailable', 'invalidRequest'];

const SUGGESTIONS = 3;

export class AccountService {
  constructor(
    private readonly store: Store,
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
    for (const book of this.store.setupBooks()) {
      const { tenantId } = book.data;
      // Keys for an existing customer are finished by the renewal service.
      for (const { id } of book.data.setups.filter((s) => s.status === 'creating' && !s.target)) {
        const result = await this.setups.exclusive(id, async () => {
          const setup = book.data.setups.find((s) => s.id === id);
          return setup?.status === 'creating' ? this.createNow(tenantId, setup) : undefined;
        });
        if (!result) continue;
        this.log.warn({ tenantId, setupId: id, ok: result.ok }, 'resumed an interrupted account creation');
        resumed.push({ tenantId, result });
      }
    }
    return resumed;
  }

  private async createNow(tenantId: string, setup: Setup): Promise<CreateResult> {
    const account = setup.account!;
    const profile = this.store.head(tenantId).profile;
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
        today: localDay(this.now(), timeZoneOf(profile)),
      });
    } catch (error) {
      const reason = error instanceof CommerceError && CREATE_REFUSALS.includes(error.code) ? (error.code as CreateRefusal) : 'failed';
      if (reason === 'failed') this.log.error({ err: error, tenantId, setupId: setup.id }, 'tenant creation failed');
      const back = await this.setups.updateSetup(tenantId, setup.id, (s) => rules.abandonCreating(s, this.now()));
      return { ok: false, reason, setup: back };
    }
    const customer = this.customerFrom(setup, created);
    // The index first: an entry whose customer never reached the partner's file points at nothing
    // and is harmless, while a customer missing from the index would not know its partner.
    // Sending an offer writes the entry again, so one lost here is mended before it matters.
    await indexCustomer(this.store, tenantId, customer.tenantId).catch((error) => this.log.warn({ err: error }, 'customer index not yet written'));
    // The customer first, then the setup: a crash in between leaves the setup `creating`, and the
    // creation is finished at the next start (the backend and this write are both idempotent).
    await this.audit.inPartner(tenantId, (doc) => {
      if (doc.customers.some((c) => c.tenantId === customer.tenantId)) return { result: undefined };
      doc.customers.push(customer);
      // Recorded once, with the change: the setup id keys the creation, a resumed one included.
      const entry = this.audit.draft(tenantId, { tenantId, userId: setup.ownerId, name: setup.ownerName }, {
        id: `account.create:${setup.id}`,
        verb: 'account.create',
        customerTenantId: customer.tenantId,
        keys: setup.keys.map((key) => key.lastGroup),
        details: { customer: customer.name, domain: customer.domain, subscriptions: customer.subscriptions.map((s) => `${s.product} (${s.seats})`).join(', ') },
        outcome: { result: 'done' },
      });
      return { result: undefined, entry };
    });
    const completed = await this.setups.updateSetup(tenantId, setup.id, (s) => rules.complete(s, customer.tenantId, this.now()));
    // The keys are redeemed now; a failure to drop their index entries is mended by the next sweep.
    await this.setups.releaseKeys({ tenantId, setupId: setup.id }, setup.keys).catch((error) => this.log.warn({ err: error, setupId: setup.id }, 'reservation index not yet cleaned'));
    this.log.info({ tenantId, setupId: setup.id, customerTenantId: customer.tenantId, subscriptions: customer.subscriptions.length }, 'customer tenant created');
    return { ok: true, setup: completed, customer, temporaryPassword: created.admin.temporaryPassword };
  }

  /**
   * Has the backend make a new temporary password for the customer's admin. Only when and by whom
   * it was made is saved; the password goes back to the caller alone.
   */
  async resetAdminPassword(actor: Actor, customerTenantId: string): Promise<PasswordReset> {
    const partner = this.store.partner(actor.tenantId);
    const customer = partner.data.customers.find((c) => c.tenantId === customerTenantId);
    if (!customer) return { ok: false, reason: 'customerNotFound' };
    let temporaryPassword: string;
    try {
      // The person who created the account may; anyone else of the partner through delegated administration.
      const delegated = async () => mayAct('resetAdminPassword', await this.commerce.listRelationships(customerTenantId, actor.tenantId), this.now()).allowed;
      if (customer.createdBy.id !== actor.userId && !(await delegated())) return { ok: false, reason: 'notAllowed', customer };
      ({ temporaryPassword } = await this.commerce.resetAdminPassword(customerTenantId, actor.tenantId));
    } catch (error) {
      // The backend no longer sees the partner as delegated admin (ended in the customer's tenant).
      if (error instanceof CommerceError && error.code === 'notDelegated') return { ok: false, reason: 'notAllowed', customer };
      this.log.error({ err: error, tenantId: actor.tenantId, customerTenantId }, 'admin password reset failed');
      return { ok: false, reason: 'failed', customer };
    }
    const passwordReset = { at: this.now().toISOString(), by: { id: actor.userId, name: actor.name } };
    // Recorded with the change: who reset it and when, never the password.
    const saved = await this.audit.inPartner(actor.tenantId, (doc) => {
      const stored = doc.customers.find((c) => c.tenantId === customerTenantId)!;
      stored.admin.passwordReset = passwordReset;
      const entry = this.audit.draft(actor.tenantId, actor, {
        id: `password.reset:${customerTenantId}:${passwordReset.at}`,
        verb: 'password.reset',
        customerTenantId,
        details: { admin: stored.admin.userPrincipalName },
        outcome: { result: 'done' },
      });
      return { result: stored, entry };
    });
    this.log.info({ tenantId: actor.tenantId, customerTenantId }, 'admin password reset');
    return { ok: true, customer: saved, temporaryPassword };
  }

  private customerFrom(setup: Setup, created: CreatedTenant): Customer {
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
      createdAt: this.now().toISOString(),
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
