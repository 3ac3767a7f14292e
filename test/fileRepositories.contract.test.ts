import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EmbeddedCommerce } from '../src/commerce/embeddedCommerce.js';
import { openFileCommerce } from '../src/store/files/commerce.js';
import { createKeyHasher } from '../src/commerce/keyHasher.js';
import { USER_ADMINISTRATOR } from '../src/domain/entraRoles.js';
import type { Customer } from '../src/domain/customer.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';
import { FileAuditLog } from '../src/store/auditFile.js';
import { openFileRepositories } from '../src/store/files/index.js';
import { shardHash } from '../src/store/shardedDocs.js';
import { seal } from '../src/store/jsonFile.js';
import { PartnerSummarySchema } from '../src/store/partnerSummary.js';
import { SCHEMA_VERSION } from '../src/store/documents.js';
import { z } from 'zod';
import { JsonFileStore } from '../src/store/store.js';
import { draft } from './support/auditLogContract.js';
import { fileNameFor } from '../src/store/fileNames.js';
import { repositoryContract } from './support/repositoryContract.js';

repositoryContract('the file store', { severalInstances: false }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'file-repos-'));
  const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
  return {
    // One instance by design: the same store twice.
    instances: [files.repositories, files.repositories],
    auditIds: async (partnerTenantId) => {
      const ids: string[] = [];
      for await (const entry of FileAuditLog.in(dir).entries(partnerTenantId)) ids.push(entry.id);
      return ids;
    },
    // A partner file written before roles has no `roles` at all.
    predateRoles: (partnerTenantId) => files.store.partner(partnerTenantId).update((doc) => void delete doc.roles),
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
  const fabrikam = (overrides: Partial<Customer>): Customer => ({
    tenantId: randomUUID(),
    name: 'Fabrikam',
    domain: 'fabrikam.onmicrosoft.com',
    country: 'DE',
    language: 'de',
    admin: { name: 'Bea', email: 'bea@example.com', phone: '+49 1', userPrincipalName: 'bea@fabrikam.onmicrosoft.com', objectId: randomUUID() },
    createdAt: now().toISOString(),
    createdBy: { id: 'u', name: 'Ada' },
    setupId: randomUUID(),
    subscriptions: [],
    offers: [],
    addedUsers: [],
    ...overrides,
  });

  it('writes the partner file, setup book and indexes a bot on this data folder reads', async () => {
    const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    const customerTenantId = randomUUID();
    const setupId = randomUUID();
    const ref = 'a'.repeat(64);
    const { repositories: r } = files;
    await r.partners.saveProfile('partner-1', { organisationName: 'Contoso', partnerId: '1234567', cloudEssentials: true, timeZone: 'Europe/Berlin', updatedAt: now().toISOString(), updatedBy: 'u' });
    await r.customers.add('partner-1', fabrikam({ tenantId: customerTenantId, setupId }));
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

  it('finds due reminders from the summaries alone, reading no partner file, also after a summary cache from before the ids were kept', async () => {
    const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    const { partners, customers } = files.repositories;
    const subscriptionIds: string[] = [];
    for (const [i, endDate] of ['2026-04-30', '2026-09-30'].entries()) {
      const partner = `partner-${i}`;
      await partners.saveProfile(partner, { organisationName: 'Contoso', partnerId: '1234567', cloudEssentials: true, timeZone: 'UTC', updatedAt: now().toISOString(), updatedBy: 'u' });
      const id = randomUUID();
      subscriptionIds.push(id);
      await customers.add(partner, fabrikam({ subscriptions: [{ id, product: 'Office 365 E3', seats: 5, assignedSeats: 1, startDate: '2025-05-01', endDate, partnerOfRecord: '1234567', billing: 'partner', renewalIds: [] }] }));
    }
    await files.close();
    // A summary cache as written before the ids were kept, sealed for the schema of then: rebuilt
    // from the files at the next start.
    const before = z.object({
      schemaVersion: z.literal(SCHEMA_VERSION),
      files: z.record(z.string(), z.object({ tenantId: z.string().min(1), mtimeMs: z.number(), size: z.number().int(), summary: PartnerSummarySchema.omit({ reminderIds: true }) })),
    });
    const cacheDir = join(dir, 'partner-summaries');
    for (const name of (await readdir(cacheDir)).filter((n) => n.endsWith('.json'))) {
      const shard = JSON.parse(await readFile(join(cacheDir, name), 'utf8')).document;
      for (const entry of Object.values<any>(shard.files)) delete entry.summary.reminderIds;
      await writeFile(join(cacheDir, name), seal(JSON.stringify(shard), before));
    }
    await (await openFileRepositories(dir, DEFAULT_LIFECYCLE)).close();
    const reopened = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    // Any partner file read from now on would stop the call: none is.
    for (const partner of ['partner-0', 'partner-1']) await writeFile(join(dir, 'partners', fileNameFor(partner)), '{"damaged');
    const due = await reopened.repositories.reminders.dueReminders(new Date('2026-03-01T10:00:00Z'), 100);
    expect(due.map((d) => [d.partnerTenantId, d.subscriptionId, d.endDate, d.today])).to.deep.equal([['partner-0', subscriptionIds[0], '2026-04-30', '2026-03-01']]);
  });

  it('appends at start, once, the audit entries a crash left in the outboxes of partner files and setup books', async () => {
    const store = await JsonFileStore.open(dir);
    // Changes on disk with their entries queued; the process died before appending them.
    await store.partner('partner-1').update((doc) => void doc.auditOutbox.push(draft('partner-1', 1)));
    await store.setupBook('partner-1').update((book) => void book.auditOutbox.push(draft('partner-1', 2)));
    await store.flush();
    const ids = async () => {
      const out: string[] = [];
      for await (const entry of FileAuditLog.in(dir).entries('partner-1')) out.push(entry.id);
      return out;
    };
    expect(await ids()).to.deep.equal([]);
    const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    expect(await files.recoverAudit()).to.equal(2);
    expect(await ids()).to.deep.equal(['partner-1-1', 'partner-1-2']);
    await files.close();
    // Another start finds them in the trail and appends nothing twice.
    const again = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    await again.recoverAudit();
    expect(await ids()).to.deep.equal(['partner-1-1', 'partner-1-2']);
    await again.close();
  });

  it('undoes at start what a crash left between two files: a creation under way, keys of a renewal the tenant never recorded', async () => {
    const first = await openFileCommerce(dir);
    const keys = ['a', 'b', 'c'].map((c) => c.repeat(64));
    for (const ref of keys) await first.keyCatalog.issue({ ref, product: 'Office 365 E3', seats: 5, termMonths: 12, lastGroup: 'AB12C', status: 'available', issuedAt: now().toISOString() });
    const tenant = { tenantId: randomUUID(), idempotencyKey: randomUUID(), partnerTenantId: 'partner-1', createdAt: now().toISOString(), organisationName: 'Fabrikam', country: 'DE', language: 'de', domain: 'fabrikam.onmicrosoft.com', users: [], subscriptions: [{ id: randomUUID(), product: 'Office 365 E3', seats: 5, assignedSeats: 0, startDate: '2026-03-01', endDate: '2027-03-01', billing: 'partner' as const, renewals: ['recorded'] }], keyHandles: [keys[0]!], delegatedAdmins: [], addedUsers: {}, relationships: [] };
    expect(await first.commerceTenants.create(tenant)).to.have.property('created');
    // Killed after the catalogue's write, before the tenant's: one renewal key recorded, one not.
    expect(await first.keyCatalog.redeem(keys[1]!, tenant.tenantId, 'recorded')).to.equal(true);
    expect(await first.keyCatalog.redeem(keys[2]!, tenant.tenantId, 'lost')).to.equal(true);
    // And a second tenant killed half-way through its creation.
    const halfDone = { ...tenant, tenantId: randomUUID(), idempotencyKey: randomUUID(), domain: 'contoso.onmicrosoft.com', keyHandles: [] };
    await first.files.tenants.get(shardHash(halfDone.domain)).update((d) => void (d.tenants[halfDone.domain] = { ...halfDone, status: 'provisioning' }));

    const next = await openFileCommerce(dir);
    expect(await next.commerceTenants.domainInUse('contoso.onmicrosoft.com')).to.equal(true);
    expect(await next.commerceTenants.recoverInterrupted()).to.equal(2);
    expect(await next.commerceTenants.domainInUse('contoso.onmicrosoft.com')).to.equal(false);
    expect((await next.keyCatalog.key(keys[2]!))?.status).to.equal('available');
    expect(await next.keyCatalog.key(keys[1]!)).to.deep.include({ status: 'redeemed', renewal: 'recorded' });
    expect(await next.keyCatalog.key(keys[0]!)).to.deep.include({ status: 'redeemed', redeemedFor: tenant.tenantId });
    expect(await next.commerceTenants.recoverInterrupted()).to.equal(0);
  });

  it('the embedded commerce keeps its state in the repositories it is given: the catalogue and tenant files', async () => {
    const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    const commerce = await EmbeddedCommerce.open(files.repositories, hash, now);
    const [key, spare] = await commerce.issueKeys({ product: 'Office 365 E3', seats: 5, months: 12, count: 2 });
    const { keyCatalog, commerceTenants } = files.repositories;
    expect(await keyCatalog.key(hash(key!))).to.deep.include({ status: 'available', product: 'Office 365 E3', seats: 5, termMonths: 12, lastGroup: key!.slice(-5) });
    const admin = { firstName: 'Bea', lastName: 'Admin', email: 'bea@example.com', phone: '+49 1', signInName: 'bea' };
    const created = await commerce.createTenant({ idempotencyKey: randomUUID(), partnerTenantId: 'partner-1', country: 'DE', organisationName: 'Fabrikam', language: 'de', domainPrefix: 'fabrikam', admin, keyHandles: [hash(key!)], today: '2026-03-01' });
    // A change made through the repositories is the commerce's own state, and the other way round.
    await commerceTenants.update(created.tenantId, (t) => void (t.delegatedAdmins = [{ partnerTenantId: 'partner-1', roles: ['Global Administrator'], since: now().toISOString() }]));
    expect((await commerce.listRelationships(created.tenantId, 'partner-1')).map((r) => r.legacy)).to.deep.equal([true]);
    const relationship = await commerce.createRelationship({ idempotencyKey: randomUUID(), partnerTenantId: 'partner-1', customerTenantId: created.tenantId, displayName: 'Fabrikam helpdesk', roleIds: [USER_ADMINISTRATOR], duration: 'P730D', autoExtendDuration: 'PT0S' });
    expect((await commerceTenants.get(created.tenantId))?.relationships.map((r) => r.id)).to.deep.equal([relationship.id]);
    expect(await commerce.blockKey(spare!)).to.equal(true);
    await files.close();

    // What the next start reads: the same files, through the repositories alone.
    const again = await openFileCommerce(dir);
    expect((await again.keyCatalog.key(hash(spare!)))?.status).to.equal('blocked');
    expect((await again.commerceTenants.byDomain('fabrikam.onmicrosoft.com'))?.tenantId).to.equal(created.tenantId);
    const reopened = await EmbeddedCommerce.open(again, hash, now);
    expect(await reopened.listRelationships(created.tenantId, 'partner-1')).to.deep.include(relationship);
    expect(await reopened.relationshipNames('partner-1')).to.deep.equal(['Fabrikam helpdesk']);
  });
});
