/**
 * The embedded commerce on PostgreSQL, as two instances of the bot run it: two EmbeddedCommerce on
 * two pools of one database agree on which keys exist and who redeemed them, and nothing is done twice.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { CommerceError, type CreateTenantRequest } from '../../src/commerce/commerce.js';
import { EmbeddedCommerce } from '../../src/commerce/embeddedCommerce.js';
import { createKeyHasher } from '../../src/commerce/keyHasher.js';
import { USER_ADMINISTRATOR } from '../../src/domain/entraRoles.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import type { Pool } from '../../src/store/postgres/database.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import { freshDatabase } from '../support/postgres.js';

describe('the embedded commerce on PostgreSQL, two instances', () => {
  const hash = createKeyHasher('p'.repeat(32));
  const now = () => new Date('2026-03-02T09:00:00Z');
  const pools: Pool[] = [];
  let a: EmbeddedCommerce;
  let b: EmbeddedCommerce;
  before(async function () {
    const url = await freshDatabase(this);
    const [first, second] = await Promise.all(
      [1, 2].map(async () => {
        const { pool, repositories } = await openPostgres(url, DEFAULT_LIFECYCLE);
        pools.push(pool);
        return EmbeddedCommerce.open(repositories, hash, now);
      }),
    );
    [a, b] = [first!, second!];
  });
  after(() => Promise.all(pools.map((pool) => pool.end())));

  const request = (prefix: string, keys: string[], extra: Partial<CreateTenantRequest> = {}): CreateTenantRequest => ({
    idempotencyKey: randomUUID(),
    partnerTenantId: 'partner',
    country: 'DE',
    organisationName: prefix,
    language: 'de',
    domainPrefix: prefix,
    admin: { firstName: 'Eva', lastName: 'Muster', email: `eva@${prefix}.example`, phone: '+4989123456', signInName: 'eva' },
    keyHandles: keys.map((key) => hash(key)),
    today: '2026-03-02',
    ...extra,
  });
  const code = (promise: Promise<unknown>) => promise.then(() => 'done', (error: unknown) => (error instanceof CommerceError ? error.code : Promise.reject(error)));

  it('creates one tenant from a key however many creations race for it on both instances', async () => {
    const [key] = await a.issueKeys({ product: 'Business Standard', seats: 10, months: 12, count: 1 });
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => code([a, b][i % 2]!.createTenant(request(`race${i}`, [key!])))));
    expect(outcomes.filter((outcome) => outcome === 'done')).to.have.length(1);
    expect(outcomes.filter((outcome) => outcome === 'keyUnavailable')).to.have.length(19);
    expect(await b.checkKey(key!)).to.deep.equal({ status: 'redeemed' });
  });

  it('answers a retried creation on the other instance with the same tenant, and the domain is taken for anyone else', async () => {
    const keys = await b.issueKeys({ product: 'Business Standard', seats: 10, months: 12, count: 1 });
    const first = request('contoso', keys);
    const created = await a.createTenant(first);
    const retried = await b.createTenant(first);
    expect({ ...retried, admin: { ...retried.admin, temporaryPassword: '' } }).to.deep.equal({ ...created, admin: { ...created.admin, temporaryPassword: '' } });
    expect(await b.isDomainAvailable('contoso')).to.equal(false);
    expect(await code(b.createTenant(request('contoso', keys)))).to.equal('domainTaken');
  });

  it('renews with two keys once, whichever instance the retry reaches, and switches billing once', async () => {
    const [first] = await a.issueKeys({ product: 'Business Standard', seats: 10, months: 12, count: 1 });
    const created = await a.createTenant(request('fabrikam', [first!]));
    const renewalKeys = await b.issueKeys({ product: 'Business Standard', seats: 5, months: 12, count: 2 });
    const renewal = { idempotencyKey: randomUUID(), customerTenantId: created.tenantId, subscriptionId: created.subscriptions[0]!.id, keyHandles: renewalKeys.map((key) => hash(key)), today: '2026-03-02' };
    const [once, again] = await Promise.all([a.renewSubscription(renewal), b.renewSubscription(renewal)]);
    expect(once).to.deep.equal(again);
    expect(once).to.deep.include({ seats: 10, endDate: '2028-03-02' });
    for (const key of renewalKeys) expect(await a.checkKey(key)).to.deep.equal({ status: 'redeemed' });
    expect(await code(b.renewSubscription({ ...renewal, idempotencyKey: randomUUID() }))).to.equal('keyUnavailable');
    const switched = await Promise.all([a.switchToDirectBilling(created.tenantId, once.id, '2026-03-02'), b.switchToDirectBilling(created.tenantId, once.id, '2026-03-02')]);
    expect(switched[0]).to.deep.equal(switched[1]);
    expect(switched[0]).to.deep.include({ billing: 'direct', startDate: '2026-03-02', endDate: '2027-03-02' });
  });

  it('gives a relationship name once across both instances, and adds a user once through it', async () => {
    const keys = await a.issueKeys({ product: 'Business Standard', seats: 10, months: 12, count: 2 });
    const tenants = [await a.createTenant(request('northwind', [keys[0]!])), await b.createTenant(request('tailspin', [keys[1]!]))];
    const ask = (i: number) => ({ idempotencyKey: randomUUID(), partnerTenantId: 'partner', customerTenantId: tenants[i % 2]!.tenantId, displayName: 'Onboarding', roleIds: [USER_ADMINISTRATOR], duration: 'P30D', autoExtendDuration: 'PT0S' as const });
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => code([a, b][i % 2]!.createRelationship(ask(i)))));
    expect(outcomes.filter((outcome) => outcome === 'done')).to.have.length(1);
    expect(outcomes.filter((outcome) => outcome === 'displayNameTaken')).to.have.length(9);
    expect(await b.relationshipNames('partner')).to.deep.equal(['Onboarding']);
    const lists = await Promise.all(tenants.map((t) => a.listRelationships(t.tenantId, 'partner')));
    const owner = tenants[lists.findIndex((list) => list.length === 1)]!;
    expect(lists.flat()).to.have.length(1);
    const [relationship] = await b.listRelationships(owner.tenantId, 'partner');
    await a.approveRelationship(owner.tenantId, relationship!.id);
    const user = { idempotencyKey: randomUUID(), customerTenantId: owner.tenantId, partnerTenantId: 'partner', firstName: 'Max', lastName: 'Muster', signInName: 'max', product: 'Business Standard' };
    const added = await Promise.all([a.addUser(user), b.addUser(user)]);
    expect(added[0]).to.deep.equal(added[1]);
    expect(await code(b.addUser({ ...user, idempotencyKey: randomUUID() }))).to.equal('userExists');
  });
});
