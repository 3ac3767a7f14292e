import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CommerceError, type CreateRelationshipRequest } from '../src/commerce/commerce.js';
import { EmbeddedCommerce, type CommerceRepositories } from '../src/commerce/embeddedCommerce.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';
import type { Pool } from '../src/store/postgres/database.js';
import { openPostgres } from '../src/store/postgres/index.js';
import { freshDatabase } from './support/postgres.js';
import { openFileCommerce } from '../src/store/files/commerce.js';
import { createKeyHasher } from '../src/commerce/keyHasher.js';
import { GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR } from '../src/domain/entraRoles.js';

const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';
const DAY = 86_400_000;

/** Where the commerce keeps its state: each call of `repositories` is the state as a new start (files) or another instance (PostgreSQL) sees it. */
interface CommerceStore {
  repositories(): Promise<CommerceRepositories>;
  close(): Promise<void>;
}

const STORES: Array<[name: string, open: (context: Mocha.Context) => Promise<CommerceStore>]> = [
  [
    'files',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'psb-gdap-'));
      return { repositories: () => openFileCommerce(dir), close: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'PostgreSQL',
    async (context) => {
      const url = await freshDatabase(context);
      const pools: Pool[] = [];
      return {
        async repositories() {
          const { pool, repositories } = await openPostgres(url, DEFAULT_LIFECYCLE);
          pools.push(pool);
          return repositories;
        },
        close: async () => void (await Promise.all(pools.map((pool) => pool.end()))),
      };
    },
  ],
];

for (const [storeName, openStore] of STORES) describe(`embedded commerce: delegated admin relationships (${storeName})`, () => {
  const hash = createKeyHasher('g'.repeat(32));
  let store: CommerceStore;
  let clock: Date;
  let commerce: EmbeddedCommerce;
  let contoso: string;
  let fabrikam: string;
  const later = (days: number) => (clock = new Date(clock.getTime() + days * DAY));

  async function tenant(prefix: string, partnerTenantId = 'partner'): Promise<string> {
    const [key] = await commerce.issueKeys({ product: 'Business Standard', seats: 5, months: 12, count: 1 });
    const created = await commerce.createTenant({
      idempotencyKey: `tenant-${prefix}`,
      partnerTenantId,
      country: 'DE',
      organisationName: prefix,
      language: 'de',
      domainPrefix: prefix,
      admin: { firstName: 'Eva', lastName: 'Muster', email: `eva@${prefix}.example`, phone: '+4989123456', signInName: 'eva' },
      keyHandles: [hash(key!)],
      today: clock.toISOString().slice(0, 10),
    });
    return created.tenantId;
  }

  const request = (extra: Partial<CreateRelationshipRequest> = {}): CreateRelationshipRequest => ({
    idempotencyKey: 'rel-1',
    partnerTenantId: 'partner',
    customerTenantId: contoso,
    displayName: 'Contoso helpdesk',
    roleIds: [HELPDESK],
    duration: 'P730D',
    autoExtendDuration: 'PT0S',
    ...extra,
  });
  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => (error instanceof CommerceError ? { code: error.code, reason: error.message } : error));
  const addUser = (idempotencyKey: string, signInName: string) =>
    commerce.addUser({ idempotencyKey, customerTenantId: contoso, partnerTenantId: 'partner', firstName: 'Max', lastName: 'Muster', signInName, product: 'Business Standard' });

  beforeEach(async function () {
    store = await openStore(this);
    clock = new Date('2026-01-31T10:00:00Z');
    commerce = await EmbeddedCommerce.open(await store.repositories(), hash, () => clock);
    contoso = await tenant('contoso');
    fabrikam = await tenant('fabrikam');
  });
  afterEach(() => store?.close());

  it('creates a request awaiting approval with Graph fields, once per idempotency key, and keeps it in its files', async () => {
    const created = await commerce.createRelationship(request());
    expect(created).to.deep.include({
      displayName: 'Contoso helpdesk',
      partnerTenantId: 'partner',
      customer: { tenantId: contoso, displayName: 'contoso' },
      accessDetails: { unifiedRoles: [{ roleDefinitionId: HELPDESK }] },
      duration: 'P730D',
      autoExtendDuration: 'PT0S',
      status: 'approvalPending',
      createdDateTime: '2026-01-31T10:00:00.000Z',
    });
    expect(created).not.to.have.property('idempotencyKey');
    expect(created.activatedDateTime).to.equal(undefined);
    expect(await commerce.createRelationship(request()), 'a retry').to.deep.equal(created);
    const reopened = await EmbeddedCommerce.open(await store.repositories(), hash, () => clock);
    expect(await reopened.listRelationships(contoso, 'partner')).to.deep.equal([created]);
    expect(await reopened.relationshipNames('partner')).to.deep.equal(['Contoso helpdesk']);
  });

  it('refuses a display name the partner used with any customer, and bad requests, changing nothing', async () => {
    await commerce.createRelationship(request());
    expect(await refusal(commerce.createRelationship(request({ idempotencyKey: 'rel-2', customerTenantId: fabrikam, displayName: 'contoso HELPDESK' })))).to.deep.equal({ code: 'displayNameTaken', reason: 'displayName: taken' });
    expect(await refusal(commerce.createRelationship(request({ idempotencyKey: 'rel-3', displayName: 'Admin', roleIds: [GLOBAL_ADMINISTRATOR], autoExtendDuration: 'P180D' })))).to.deep.equal({
      code: 'invalidRequest',
      reason: 'autoExtendDuration: withGlobalAdministrator',
    });
    expect(await refusal(commerce.createRelationship(request({ idempotencyKey: 'rel-4', displayName: 'Long', duration: 'P731D', roleIds: ['nope'] })))).to.deep.equal({
      code: 'invalidRequest',
      reason: 'roles: unknown, duration: outOfRange',
    });
    expect(await commerce.listRelationships(fabrikam, 'partner')).to.deep.equal([]);
    expect(await commerce.listRelationships(contoso, 'partner')).to.have.length(1);
    // Another partner may use the name: uniqueness is per partner.
    expect((await commerce.createRelationship(request({ idempotencyKey: 'rel-5', partnerTenantId: 'other' }))).status).to.equal('approvalPending');
  });

  it('makes an approved relationship active until activation + duration, and answers a retried approval with the same', async () => {
    const { id } = await commerce.createRelationship(request({ duration: 'P60D' }));
    later(1);
    const active = await commerce.approveRelationship(contoso, id);
    expect(active).to.deep.include({ status: 'active', activatedDateTime: '2026-02-01T10:00:00.000Z', endDateTime: '2026-04-02T10:00:00.000Z' });
    expect(await commerce.approveRelationship(contoso, id)).to.deep.equal(active);
    const declined = (await refusal(commerce.declineRelationship(contoso, id))) as { code: string; reason: string };
    expect(declined).to.deep.equal({ code: 'relationshipState', reason: 'answered' });
    later(31);
    expect((await commerce.listRelationships(contoso, 'partner'))[0]!.status, '29 days before the end').to.equal('expiring');
    later(29);
    expect((await commerce.listRelationships(contoso, 'partner'))[0]!.status).to.equal('expired');
  });

  it('declines a request as terminated by the customer, never active; a second answer is refused', async () => {
    const { id } = await commerce.createRelationship(request());
    const declined = await commerce.declineRelationship(contoso, id);
    expect(declined).to.deep.include({ status: 'terminated', terminatedBy: 'customer', endDateTime: clock.toISOString() });
    expect(await commerce.declineRelationship(contoso, id), 'a retry').to.deep.equal(declined);
    const error = await commerce.approveRelationship(contoso, id).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CommerceError).with.property('code', 'relationshipState');
    expect((error as CommerceError).relationship?.status, 'the relationship as it stands comes with the refusal').to.equal('terminated');
  });

  it('lets an unanswered request run out after the offer days', async () => {
    const short = await EmbeddedCommerce.open(await store.repositories(), hash, () => clock, undefined, undefined, 7);
    const { id } = await short.createRelationship(request());
    later(7);
    expect((await short.listRelationships(contoso, 'partner'))[0]).to.deep.include({ status: 'expired', endDateTime: '2026-02-07T10:00:00.000Z' });
    expect(await refusal(short.approveRelationship(contoso, id))).to.deep.equal({ code: 'relationshipState', reason: 'expired' });
  });

  it('is ended by either side, only the partner withdraws a request, and another partner sees none of it', async () => {
    const pending = await commerce.createRelationship(request());
    expect(await refusal(commerce.terminateRelationship(contoso, pending.id, { side: 'customer' }))).to.deep.equal({ code: 'relationshipState', reason: 'notActive' });
    expect(await refusal(commerce.terminateRelationship(contoso, pending.id, { side: 'partner', partnerTenantId: 'other' }))).to.deep.equal({ code: 'unknownRelationship', reason: 'no such relationship' });
    expect(await commerce.listRelationships(contoso, 'other')).to.deep.equal([]);
    expect(await commerce.terminateRelationship(contoso, pending.id, { side: 'partner', partnerTenantId: 'partner' })).to.deep.include({ status: 'terminated', terminatedBy: 'partner' });

    const second = await commerce.createRelationship(request({ idempotencyKey: 'rel-2', displayName: 'Second' }));
    await commerce.approveRelationship(contoso, second.id);
    later(5);
    const ended = await commerce.terminateRelationship(contoso, second.id, { side: 'customer' });
    expect(ended).to.deep.include({ status: 'terminated', terminatedBy: 'customer', endDateTime: '2026-02-05T10:00:00.000Z' });
    expect(await commerce.terminateRelationship(contoso, second.id, { side: 'customer' }), 'a retry').to.deep.equal(ended);
    expect(await refusal(commerce.terminateRelationship(contoso, second.id, { side: 'partner', partnerTenantId: 'partner' }))).to.deep.equal({ code: 'relationshipState', reason: 'ended' });
  });

  it('extends itself by 180 days at the end when auto-extend is on, never with Global Administrator', async () => {
    const { id } = await commerce.createRelationship(request({ duration: 'P10D' }));
    await commerce.approveRelationship(contoso, id);
    const on = await commerce.setRelationshipAutoExtend(contoso, 'partner', id, 'P180D');
    expect(on).to.deep.include({ autoExtendDuration: 'P180D', endDateTime: '2026-02-10T10:00:00.000Z', status: 'active' });
    later(10);
    expect((await commerce.listRelationships(contoso, 'partner'))[0]).to.deep.include({ status: 'active', endDateTime: '2026-08-09T10:00:00.000Z' });

    const admin = await commerce.createRelationship(request({ idempotencyKey: 'rel-2', displayName: 'Onboarding', roleIds: [HELPDESK, GLOBAL_ADMINISTRATOR], duration: 'P7D' }));
    await commerce.approveRelationship(contoso, admin.id);
    expect(await refusal(commerce.setRelationshipAutoExtend(contoso, 'partner', admin.id, 'P180D'))).to.deep.equal({ code: 'relationshipState', reason: 'autoExtendWithGlobalAdministrator' });
    const reduced = await commerce.removeGlobalAdministrator(contoso, 'partner', admin.id);
    expect(reduced.accessDetails.unifiedRoles).to.deep.equal([{ roleDefinitionId: HELPDESK }]);
    expect(await commerce.removeGlobalAdministrator(contoso, 'partner', admin.id), 'a retry').to.deep.equal(reduced);
    expect((await commerce.setRelationshipAutoExtend(contoso, 'partner', admin.id, 'P180D')).autoExtendDuration).to.equal('P180D');
  });

  it('adds a user only through a relationship in force with User Administrator or Global Administrator', async () => {
    const helpdesk = await commerce.createRelationship(request());
    await commerce.approveRelationship(contoso, helpdesk.id);
    expect(await refusal(addUser('u1', 'max'))).to.deep.equal({ code: 'notDelegated', reason: 'needs User Administrator in an active relationship' });
    const users = await commerce.createRelationship(request({ idempotencyKey: 'rel-2', displayName: 'Users', roleIds: [USER_ADMINISTRATOR], duration: 'P7D' }));
    expect(await refusal(addUser('u1', 'max')), 'not yet approved').to.have.property('code', 'notDelegated');
    await commerce.approveRelationship(contoso, users.id);
    expect((await addUser('u1', 'max')).userPrincipalName).to.equal('max@contoso.onmicrosoft.com');
    later(7);
    expect(await refusal(addUser('u2', 'moritz')), 'expired').to.have.property('code', 'notDelegated');
  });

  it('shows the old delegated admin as an active Global Administrator relationship with no end, which either side can end once', async () => {
    await commerce.setDelegatedAdmin(contoso, 'partner', true);
    const [legacy] = await commerce.listRelationships(contoso, 'partner');
    expect(legacy).to.deep.include({ status: 'active', legacy: true, accessDetails: { unifiedRoles: [{ roleDefinitionId: GLOBAL_ADMINISTRATOR }] } });
    expect(legacy!.endDateTime).to.equal(undefined);
    expect((await addUser('u1', 'max')).userPrincipalName).to.equal('max@contoso.onmicrosoft.com');
    expect(await refusal(commerce.setRelationshipAutoExtend(contoso, 'partner', legacy!.id, 'PT0S'))).to.deep.equal({ code: 'relationshipState', reason: 'legacy' });
    const ended = await commerce.terminateRelationship(contoso, legacy!.id, { side: 'customer' });
    expect(ended).to.deep.include({ status: 'terminated', terminatedBy: 'customer', legacy: true });
    expect(await commerce.terminateRelationship(contoso, legacy!.id, { side: 'customer' }), 'a retry').to.deep.equal(ended);
    expect(await commerce.listRelationships(contoso, 'partner')).to.deep.equal([ended]);
    expect(await refusal(addUser('u2', 'moritz'))).to.have.property('code', 'notDelegated');
  });

  it('holds several relationships of one customer side by side', async () => {
    const onboarding = await commerce.createRelationship(request({ idempotencyKey: 'a', displayName: 'Onboarding', roleIds: [GLOBAL_ADMINISTRATOR], duration: 'P7D' }));
    const longTerm = await commerce.createRelationship(request({ idempotencyKey: 'b', displayName: 'Long term', roleIds: [HELPDESK, USER_ADMINISTRATOR], autoExtendDuration: 'P180D' }));
    await commerce.approveRelationship(contoso, onboarding.id);
    await commerce.approveRelationship(contoso, longTerm.id);
    later(8);
    const listed = await commerce.listRelationships(contoso, 'partner');
    expect(listed.map((r) => [r.displayName, r.status])).to.deep.equal([
      ['Onboarding', 'expired'],
      ['Long term', 'active'],
    ]);
    expect((await addUser('u1', 'max')).userPrincipalName).to.equal('max@contoso.onmicrosoft.com');
  });
});
