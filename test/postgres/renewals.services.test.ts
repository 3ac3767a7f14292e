/**
 * The renewal and account services on PostgreSQL, as two instances of the bot run them: two service
 * instances on two pools of one database, sharing one backend. A switch to direct billing pressed on
 * both at once, scheduled switches run by both at once, and a double press of "Reset admin password"
 * landing on both: each is done, recorded and told once.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import { EmbeddedCommerce } from '../../src/commerce/embeddedCommerce.js';
import { createKeyHasher } from '../../src/commerce/keyHasher.js';
import type { Actor } from '../../src/domain/actor.js';
import type { Customer } from '../../src/domain/customer.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { AuditTrail } from '../../src/partners/auditTrail.js';
import { RenewalService } from '../../src/renewals/renewalService.js';
import { AccountService } from '../../src/setups/accountService.js';
import { SetupService } from '../../src/setups/setupService.js';
import { PostgresAuditLog } from '../../src/store/postgres/auditLog.js';
import type { Pool } from '../../src/store/postgres/database.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import type { Repositories } from '../../src/store/repositories.js';
import { freshDatabase } from '../support/postgres.js';

const PARTNER = 'a0a0a0a0-0000-4000-8000-0000000000aa';
const ANNA: Actor = { tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' };

describe('renewals and accounts on PostgreSQL, two instances at once', () => {
  let dir: string;
  let pools: Pool[];
  let repositories: [Repositories, Repositories];
  let commerce: EmbeddedCommerce;
  let clock: Date;
  let renewals: [RenewalService, RenewalService];
  let accounts: [AccountService, AccountService];

  before(async function () {
    const url = await freshDatabase(this);
    const [first, second] = [await openPostgres(url, DEFAULT_LIFECYCLE), await openPostgres(url, DEFAULT_LIFECYCLE)];
    pools = [first.pool, second.pool];
    repositories = [first.repositories, second.repositories];
    dir = await mkdtemp(join(tmpdir(), 'renewals-pg-'));
    const now = () => clock;
    clock = new Date('2026-03-01T10:00:00Z');
    commerce = await EmbeddedCommerce.open(repositories[0]!, createKeyHasher('s'.repeat(32)), now);
    const log = pino({ level: 'silent' });
    // The trail makes the entries (who acted, with which role); the repositories write them.
    const audit = new AuditTrail(repositories[0]!.partners, new PostgresAuditLog(first.pool), now, 730, log);
    const setups = new SetupService(repositories[0]!, commerce, createKeyHasher('s'.repeat(32)), now, { reservationDays: 7, retentionDays: 30, maxKeysPerSetup: 25, maxFieldLength: 2000, guessLimit: 10, guessWindowMinutes: 60, guessLockMinutes: 60 }, log, audit, { soleInstance: false });
    renewals = [0, 1].map((i) => new RenewalService(repositories[i]!, commerce, setups, now, DEFAULT_LIFECYCLE, log, audit)) as [RenewalService, RenewalService];
    accounts = [0, 1].map((i) => new AccountService(repositories[i]!, commerce, setups, now, log, audit)) as [AccountService, AccountService];
    await first.repositories.partners.saveProfile(PARTNER, { organisationName: 'Contoso Partners', partnerId: '1234567', cloudEssentials: true, timeZone: 'Europe/Berlin', updatedAt: clock.toISOString(), updatedBy: ANNA.userId });
  });

  after(async () => {
    await Promise.all((pools ?? []).map((pool) => pool.end()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A customer with one 5-seat subscription, made by the backend and recorded as the account service records it. */
  async function customer(): Promise<Customer> {
    const [key] = await commerce.issueKeys({ product: 'Office 365 E3', seats: 5, months: 12, count: 1 });
    const check = await commerce.checkKey(key!);
    if (check.status !== 'valid') throw new Error('the key just issued is not valid');
    const setupId = randomUUID();
    const prefix = `fabrikam${setupId.slice(0, 8)}`;
    const created = await commerce.createTenant({
      idempotencyKey: setupId,
      partnerTenantId: PARTNER,
      country: 'DE',
      organisationName: 'Fabrikam',
      language: 'de',
      domainPrefix: prefix,
      admin: { firstName: 'Bea', lastName: 'Admin', email: 'bea@fabrikam.example', phone: '+49 30 1234', signInName: 'bea' },
      keyHandles: [check.handle],
      partnerOfRecord: '1234567',
      today: '2026-03-01',
    });
    return repositories[0].customers.add(PARTNER, {
      tenantId: created.tenantId,
      name: 'Fabrikam',
      domain: created.domain,
      country: 'DE',
      language: 'de',
      admin: { name: 'Bea Admin', email: 'bea@fabrikam.example', phone: '+49 30 1234', userPrincipalName: created.admin.userPrincipalName, objectId: created.admin.objectId },
      createdAt: clock.toISOString(),
      createdBy: { id: ANNA.userId, name: ANNA.name },
      setupId,
      subscriptions: created.subscriptions.map((s) => ({ ...s, billing: 'partner' as const, renewalIds: [] })),
      offers: [],
      addedUsers: [],
    });
  }

  const entries = async (verb: string, customerTenantId: string) =>
    (await pools[0]!.query('SELECT id FROM audit_entries WHERE partner_tenant_id = $1 AND verb = $2 AND customer_tenant_id = $3', [PARTNER, verb, customerTenantId])).rows.map((row) => row.id);

  it('switches a subscription to direct billing once when both instances are pressed at once', async () => {
    const c = await customer();
    const subscriptionId = c.subscriptions[0]!.id;
    const answers = await Promise.all(renewals.map((service) => service.switchNow(ANNA, c.tenantId, subscriptionId)));
    for (const answer of answers) expect(answer && !('refused' in answer) ? answer.subscription.billing : answer).to.equal('direct');
    const stored = (await repositories[1].customers.get(PARTNER, c.tenantId))!.subscriptions[0]!;
    expect(stored).to.deep.include({ billing: 'direct', startDate: '2026-03-01', endDate: '2027-03-01' });
    expect(stored).not.to.have.property('scheduledSwitch');
    expect(await entries('billing.switch', c.tenantId)).to.deep.equal([`billing.switch:${subscriptionId}`]);
  });

  it('runs a scheduled switch on both instances at once: switched, recorded and told once', async () => {
    const c = await customer();
    const subscriptionId = c.subscriptions[0]!.id;
    const scheduled = await renewals[0].schedule(ANNA, c.tenantId, subscriptionId);
    expect(scheduled && !('refused' in scheduled) && scheduled.subscription.scheduledSwitch?.on).to.equal('2027-02-28');
    clock = new Date('2027-02-28T08:00:00Z');
    try {
      const runs = await Promise.all(renewals.map((service) => service.runScheduled()));
      const told = runs.flat().filter((done) => done.customer.tenantId === c.tenantId);
      expect(told.map((done) => [done.byId, done.subscription.billing])).to.deep.equal([[ANNA.userId, 'direct']]);
      expect(await entries('billing.scheduledSwitch', c.tenantId)).to.have.length(1);
      expect(await entries('billing.schedule', c.tenantId)).to.have.length(1);
    } finally {
      clock = new Date('2026-03-01T10:00:00Z');
    }
  });

  it('makes one password for a double press of "Reset admin password" landing on both instances', async () => {
    const c = await customer();
    const requestId = randomUUID();
    const answers = await Promise.all(accounts.map((service) => service.resetAdminPassword(ANNA, c.tenantId, requestId)));
    const made = answers.filter((answer) => answer.ok);
    expect(made).to.have.length(1);
    expect(answers.filter((answer) => !answer.ok).map((answer) => answer.reason)).to.deep.equal(['alreadyReset']);
    // A third press of the same card, later: still no second password.
    expect(await accounts[1].resetAdminPassword(ANNA, c.tenantId, requestId)).to.deep.include({ ok: false, reason: 'alreadyReset' });
    const admin = (await repositories[0].customers.get(PARTNER, c.tenantId))!.admin;
    expect(admin.passwordReset).to.deep.equal({ at: clock.toISOString(), by: { id: ANNA.userId, name: ANNA.name }, requestId });
    expect(admin).not.to.have.property('pendingPasswordReset');
    expect(await entries('password.reset', c.tenantId)).to.deep.equal([`password.reset:${requestId}`]);
    // Stored nowhere: not in any column of the customer.
    const password = (made[0] as { temporaryPassword: string }).temporaryPassword;
    const { rows } = await pools[0]!.query('SELECT row_to_json(c)::text AS row FROM customers c WHERE tenant_id = $1', [c.tenantId]);
    expect(rows[0].row).not.to.include(password);
  });
});
