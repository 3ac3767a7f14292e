import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EmbeddedCommerce } from '../src/commerce/embeddedCommerce.js';
import { createKeyHasher } from '../src/commerce/keyHasher.js';
import { USER_ADMINISTRATOR } from '../src/domain/entraRoles.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';
import { FileAuditLog } from '../src/store/auditFile.js';
import { openFileRepositories } from '../src/store/files/index.js';
import { JsonFileStore } from '../src/store/store.js';
import { repositoryContract } from './support/repositoryContract.js';

repositoryContract('the file store', { severalInstances: false }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'file-repos-'));
  const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
  return {
    // One instance by design: the same store twice.
    instances: [files.repositories, files.repositories],
    trail: async (partnerTenantId) => {
      const entries = [];
      for await (const entry of FileAuditLog.in(dir).entries(partnerTenantId)) entries.push(entry);
      return entries;
    },
    close: async () => {
      await files.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('file repositories, beyond the contract: the documents the bot reads and writes', () => {
  const hash = createKeyHasher('s'.repeat(32));
  const now = () => new Date('2026-03-01T10:00:00Z');
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'file-repos-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes the partner file, setup book and indexes a bot on this data folder reads', async () => {
    const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    const customerTenantId = randomUUID();
    const setupId = randomUUID();
    const ref = 'a'.repeat(64);
    const { repositories: r } = files;
    await r.partners.saveProfile('partner-1', { organisationName: 'Contoso', partnerId: '1234567', cloudEssentials: true, timeZone: 'Europe/Berlin', updatedAt: now().toISOString(), updatedBy: 'u' });
    await r.customers.add('partner-1', {
      tenantId: customerTenantId,
      name: 'Fabrikam',
      domain: 'fabrikam.onmicrosoft.com',
      country: 'DE',
      language: 'de',
      admin: { name: 'Bea', email: 'bea@example.com', phone: '+49 1', userPrincipalName: 'bea@fabrikam.onmicrosoft.com', objectId: randomUUID() },
      createdAt: now().toISOString(),
      createdBy: { id: 'u', name: 'Ada' },
      setupId,
      subscriptions: [],
      offers: [],
      addedUsers: [],
    });
    await r.setups.insert('partner-1', { id: setupId, ownerId: 'u', ownerName: 'Ada', createdAt: now().toISOString(), updatedAt: now().toISOString(), rev: 0, status: 'reserved', keys: [] });
    expect(await r.setups.reserveKey(ref, 'partner-1', setupId, now())).to.equal(true);
    await files.close();

    // What the bot opens at start (src/app.ts), with no repository in between.
    const store = await JsonFileStore.open(dir);
    expect(store.partner('partner-1').data.profile?.organisationName).to.equal('Contoso');
    expect(store.partner('partner-1').data.customers.map((c) => c.name)).to.deep.equal(['Fabrikam']);
    expect(store.customerIndex(customerTenantId).data.customers[customerTenantId]).to.deep.equal({ partnerTenantId: 'partner-1' });
    expect(store.setupBook('partner-1').data.setups.map((s) => s.id)).to.deep.equal([setupId]);
    expect(store.reservations(ref).data.reservations[ref]).to.deep.include({ tenantId: 'partner-1', setupId });
  });

  it('shares the key catalogue and tenants with the embedded commerce', async () => {
    const commerce = await EmbeddedCommerce.open(dir, hash, now);
    const [key, spare] = await commerce.issueKeys({ product: 'Office 365 E3', seats: 5, months: 12, count: 2 });
    const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    const { keyCatalog, commerceTenants } = files.repositories;
    expect(await keyCatalog.key(hash(key!))).to.deep.include({ status: 'available', product: 'Office 365 E3', seats: 5, termMonths: 12, lastGroup: key!.slice(-5) });
    const tenantId = randomUUID();
    const created = await commerceTenants.create({
      tenantId,
      idempotencyKey: randomUUID(),
      partnerTenantId: 'partner-1',
      createdAt: now().toISOString(),
      organisationName: 'Fabrikam',
      country: 'DE',
      language: 'de',
      domain: 'fabrikam.onmicrosoft.com',
      users: [{ objectId: randomUUID(), userPrincipalName: 'bea@fabrikam.onmicrosoft.com', displayName: 'Bea', roles: ['Global Administrator'], licenses: ['Office 365 E3'] }],
      subscriptions: [{ id: randomUUID(), product: 'Office 365 E3', seats: 5, assignedSeats: 1, startDate: '2026-03-01', endDate: '2027-03-01', billing: 'partner', renewals: [] }],
      keyHandles: [hash(key!)],
      delegatedAdmins: [],
      addedUsers: {},
    });
    expect(created).to.have.property('created');
    // The running commerce sees the key redeemed (the catalogue is shared between processes); one
    // opened later (the tenants are the bot's alone) finds the domain taken and can change the tenant.
    expect(await commerce.checkKey(key!)).to.deep.equal({ status: 'redeemed' });
    const reopened = await EmbeddedCommerce.open(dir, hash, now);
    expect(await reopened.isDomainAvailable('fabrikam')).to.equal(false);
    await reopened.setDelegatedAdmin(tenantId, 'partner-1', true);
    expect(await reopened.blockKey(spare!)).to.equal(true);
    const relationship = await reopened.createRelationship({ idempotencyKey: randomUUID(), partnerTenantId: 'partner-1', customerTenantId: tenantId, displayName: 'Fabrikam helpdesk', roleIds: [USER_ADMINISTRATOR], duration: 'P730D', autoExtendDuration: 'PT0S' });
    const again = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    expect((await again.repositories.commerceTenants.get(tenantId))?.delegatedAdmins.map((a) => a.partnerTenantId)).to.deep.equal(['partner-1']);
    expect((await again.repositories.keyCatalog.key(hash(spare!)))?.status).to.equal('blocked');
    // A change through the repositories keeps what they do not know of the tenant: its GDAP relationships.
    const relationships = await reopened.listRelationships(tenantId, 'partner-1');
    expect(relationships).to.deep.include(relationship);
    await again.repositories.commerceTenants.update(tenantId, (t) => void (t.subscriptions[0]!.assignedSeats = 2));
    const last = await EmbeddedCommerce.open(dir, hash, now);
    expect(await last.listRelationships(tenantId, 'partner-1')).to.deep.equal(relationships);
  });
});
