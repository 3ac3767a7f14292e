/**
 * The partner files' layout: read when first used, kept in a bounded cache, and summarised for the
 * background jobs, with the summaries cached on disk next to each file's size and time.
 */
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import type { Customer } from '../src/domain/customer.js';
import { DelegationService } from '../src/delegation/delegationService.js';
import { indexCustomer } from '../src/store/customerIndex.js';
import { StoreFileError } from '../src/store/jsonFile.js';
import { JsonFileStore } from '../src/store/store.js';
import { packReminderIds, reminderIdsAt } from '../src/store/partnerSummary.js';
import { fileAuditTrail } from './support/fileAuditTrail.js';
import { openFileRepositories } from '../src/store/files/index.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';

function customer(tenantId: string, endDate: string): Customer {
  return {
    tenantId,
    name: `Customer ${tenantId}`,
    domain: `${tenantId}.onmicrosoft.com`,
    country: 'DE',
    language: 'de',
    admin: { name: 'Eva', email: 'e@x', phone: '+49891234567', userPrincipalName: `eva@${tenantId}.onmicrosoft.com`, objectId: 'o' },
    createdAt: '2026-03-02T09:00:00.000Z',
    createdBy: { id: 'u', name: 'U' },
    setupId: '11111111-1111-4111-8111-111111111111',
    subscriptions: [{ id: `${tenantId}-s`, product: 'Microsoft 365 Business Standard', seats: 5, assignedSeats: 1, startDate: '2026-03-02', endDate, partnerOfRecord: '1234567', billing: 'partner', renewalIds: [] }],
    offers: [],
    addedUsers: [],
  };
}

const jsonFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.json'));
const partnerFile = (dir: string, tenantId: string) => join(dir, 'partners', `${tenantId}.json`);

describe('the ids of the subscriptions a summary reminds of', () => {
  it('are found again by position, whatever they hold, and a customer repeated only where it follows itself', () => {
    const pairs: Array<readonly [string, string]> = [
      ['c1', 's1'],
      ['c1', '12:34'],
      ['c2', ''],
      ['c1', '0:'],
      ['Kundin ü', 's\n"x"'],
    ];
    const packed = packReminderIds(pairs);
    expect(packed).to.equal('2:c12:s10:5:12:342:c20:2:c12:0:8:Kundin ü5:s\n"x"');
    expect([...reminderIdsAt(packed, [0, 1, 2, 3, 4]).values()]).to.deep.equal(pairs);
    expect([...reminderIdsAt(packed, [4, 1])]).to.deep.equal([
      [1, ['c1', '12:34']],
      [4, ['Kundin ü', 's\n"x"']],
    ]);
    expect(reminderIdsAt(packReminderIds([]), [0]).size).to.equal(0);
    // Cut short (it cannot be: the cache is sealed), it ends the walk instead of running past the end.
    expect([...reminderIdsAt('2:c12:s13:c', [0, 1]).values()]).to.deep.equal([['c1', 's1']]);
  });
});

describe('partner files and their summaries', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-partners-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps only a bounded number of partners in memory and loses no change when dropping one', async () => {
    const store = await JsonFileStore.open(dir, { residentPartners: 2 });
    const tenants = Array.from({ length: 8 }, (_, i) => `partner-${i}`);
    // Changes to many partners at once, interleaved, with room for only two in memory.
    await Promise.all(tenants.flatMap((tenantId, i) => Array.from({ length: 5 }, (_, n) => store.partner(tenantId).update((doc) => void doc.customers.push(customer(`c${i}-${n}`, '2027-03-02'))))));
    for (const tenantId of tenants) expect(store.partner(tenantId).data.customers, tenantId).to.have.length(5);
    const reopened = await JsonFileStore.open(dir, { residentPartners: 2 });
    for (const [i, tenantId] of tenants.entries()) {
      expect(reopened.partner(tenantId).data.customers.map((c) => c.tenantId).sort()).to.deep.equal([0, 1, 2, 3, 4].map((n) => `c${i}-${n}`));
    }
  });

  it('keeps the partners in use when many others are only looked at once, and a look then a change loses nothing', async () => {
    const store = await JsonFileStore.open(dir, { residentPartners: 1 });
    await store.partner('in-use').update((doc) => void doc.customers.push(customer('c1', '2027-03-02')));
    const others = Array.from({ length: 20 }, (_, i) => `looked-at-${i}`);
    for (const [i, tenantId] of others.entries()) await store.partner(tenantId).update((doc) => void doc.customers.push(customer(`o${i}`, '2027-03-02')));
    await store.partner('in-use').update((doc) => void doc.customers.push(customer('c2', '2027-03-02')));
    // Damaged behind the bot's back, size and time kept: only a partner dropped from memory would be read again.
    const path = partnerFile(dir, 'in-use');
    const { size, atime, mtime } = await stat(path);
    const text = await readFile(path, 'utf8');
    await writeFile(path, '#'.repeat(size));
    await utimes(path, atime, mtime);
    // Each of the others looked at once, as customer lists of many partners in turn look at them.
    for (const [i, tenantId] of others.entries()) expect(store.partner(tenantId).data.customers.map((c) => c.tenantId)).to.deep.equal([`o${i}`]);
    expect(store.partner('in-use').data.customers.map((c) => c.tenantId)).to.deep.equal(['c1', 'c2']);
    await writeFile(path, text);
    await utimes(path, atime, mtime);
    // A look, then a change of the same partner, then a look: the change is seen, and it is on disk.
    expect(store.partner('looked-at-3').data.customers).to.have.length(1);
    await store.partner('looked-at-3').update((doc) => void doc.customers.push(customer('new', '2027-03-02')));
    expect(store.partner('looked-at-3').data.customers.map((c) => c.tenantId)).to.deep.equal(['o3', 'new']);
    expect(store.partner('looked-at-4').data.customers.map((c) => c.tenantId)).to.deep.equal(['o4']);
    expect(store.partner('looked-at-3').data.customers.map((c) => c.tenantId)).to.deep.equal(['o3', 'new']);
    const reopened = await JsonFileStore.open(dir, { residentPartners: 1 });
    expect(reopened.partner('looked-at-3').data.customers.map((c) => c.tenantId)).to.deep.equal(['o3', 'new']);
    expect(reopened.partner('in-use').data.customers.map((c) => c.tenantId)).to.deep.equal(['c1', 'c2']);
  });

  it('keeps partners only looked at while memory has room, and only those', async () => {
    const tenants = Array.from({ length: 12 }, (_, i) => `partner-${i}`);
    const writer = await JsonFileStore.open(dir);
    for (const [i, tenantId] of tenants.entries()) await writer.partner(tenantId).update((doc) => void doc.customers.push(customer(`c${i}`, '2027-03-02')));
    await writer.flush();
    // A restart: nothing in memory, every file unchanged since its summary.
    const store = await JsonFileStore.open(dir, { residentPartners: 2 });
    for (const [i, tenantId] of tenants.entries()) expect(store.partner(tenantId).data.customers[0]!.tenantId).to.equal(`c${i}`);
    // Damaged behind the bot's back, size and time kept: only a partner not in memory is read again.
    for (const tenantId of tenants) {
      const path = partnerFile(dir, tenantId);
      const { size, atime, mtime } = await stat(path);
      await writeFile(path, '#'.repeat(size));
      await utimes(path, atime, mtime);
    }
    expect(store.partner('partner-0').data.customers[0]!.tenantId, 'kept: there was room').to.equal('c0');
    expect(store.partner('partner-1').data.customers[0]!.tenantId, 'kept: there was room').to.equal('c1');
    expect(() => store.partner('partner-2').data, 'looked at once when memory was full').to.throw(StoreFileError);
  });

  it('reads a file in advance without holding the event loop: that read is one look, and never replaces a change made meanwhile', async () => {
    const tenants = ['in-use', 'looked-at', 'changed', 'other'];
    const writer = await JsonFileStore.open(dir);
    for (const tenantId of tenants) await writer.partner(tenantId).update((doc) => void doc.customers.push(customer(`c-${tenantId}`, '2027-03-02')));
    await writer.flush();
    const ids = (s: JsonFileStore, tenantId: string) => s.partner(tenantId).data.customers.map((c) => c.tenantId);
    // Damaged behind the bot's back, size and time kept: only a partner not in memory is read again.
    const damage = async (tenantId: string) => {
      const path = partnerFile(dir, tenantId);
      const { size, atime, mtime } = await stat(path);
      await writeFile(path, '#'.repeat(size));
      await utimes(path, atime, mtime);
    };
    const store = await JsonFileStore.open(dir, { residentPartners: 1 });
    expect(ids(store, 'in-use')).to.deep.equal(['c-in-use']);
    await store.loadPartner('looked-at');
    await damage('looked-at');
    await damage('in-use');
    expect(ids(store, 'looked-at'), 'as read in advance').to.deep.equal(['c-looked-at']);
    expect(ids(store, 'in-use'), 'still in memory: the look read in advance dropped no partner in use').to.deep.equal(['c-in-use']);

    const reading = store.loadPartner('changed');
    await store.partner('changed').update((doc) => void doc.customers.push(customer('new', '2027-03-02')));
    // Memory holds one partner: the changed one makes room for another.
    await store.partner('other').update((doc) => void doc.customers.push(customer('new-other', '2027-03-02')));
    await reading;
    expect(ids(store, 'changed'), 'the change, not the version read before it').to.deep.equal(['c-changed', 'new']);
  });

  it('reads an unchanged file only when it is first used', async () => {
    const store = await JsonFileStore.open(dir);
    await store.partner('partner-a').update((doc) => void doc.customers.push(customer('c1', '2027-03-02')));
    await store.flush();
    // Damaged behind the bot's back, with its size and time kept: the start cannot notice it ...
    const path = partnerFile(dir, 'partner-a');
    const { size, atime, mtime } = await stat(path);
    await writeFile(path, '#'.repeat(size));
    await utimes(path, atime, mtime);
    const reopened = await JsonFileStore.open(dir);
    expect([...reopened.summaries()].map(([tenantId]) => tenantId)).to.deep.equal(['partner-a']);
    // ... and the first use does, naming the file.
    expect(() => reopened.partner('partner-a').data).to.throw(StoreFileError, path);
  });

  it('finds the partners with work for a background job from their summaries, also after a restart', async () => {
    const store = await JsonFileStore.open(dir);
    // A renewal a crash interrupted: the start-up finishes it, so it must be found without reading every file.
    const renewing = customer('c0', '2027-03-02');
    renewing.subscriptions[0]!.pendingRenewal = { requestId: 'r1', keyHandle: 'a'.repeat(64) };
    await store.partner('busy').update((doc) => void doc.customers.push(renewing));
    await store.partner('idle').update((doc) => void doc.customers.push(customer('c1', '2027-03-02')));
    const withRenewal = (s: JsonFileStore) => s.partnersWith('pendingRenewal').map((p) => p.data.tenantId);
    expect(withRenewal(store)).to.deep.equal(['busy']);
    await store.flush();
    const reopened = await JsonFileStore.open(dir);
    expect(withRenewal(reopened)).to.deep.equal(['busy']);
    await reopened.partner('busy').update((doc) => void delete doc.customers[0]!.subscriptions[0]!.pendingRenewal);
    expect(withRenewal(reopened)).to.deep.equal([]);
    const summary = new Map(reopened.summaries()).get('idle')!;
    expect(summary.reminders, 'one subscription: end day, no switch, nothing recorded').to.have.length(3);
  });

  it('reads again at start a file changed since its summary was cached, or after a crash before the cache was written', async () => {
    const store = await JsonFileStore.open(dir, { summaryFlushMs: 3_600_000 });
    await store.partner('partner-a').update((doc) => void doc.customers.push(customer('c1', '2027-03-02')));
    await store.flush();
    // A change whose summary never reached the cache: the process ended before the next flush.
    await store.partner('partner-a').update((doc) => void doc.customers.push(customer('c2', '2027-04-02')));
    const afterCrash = await JsonFileStore.open(dir);
    expect(new Map(afterCrash.summaries()).get('partner-a')!.reminders).to.have.length(6);
    // A file edited while the bot was stopped (a restore from a backup, say).
    const path = partnerFile(dir, 'partner-a');
    const doc = JSON.parse(await readFile(path, 'utf8'));
    doc.customers.push(customer('c3', '2027-05-02'));
    await writeFile(path, JSON.stringify(doc));
    const afterEdit = await JsonFileStore.open(dir);
    expect(new Map(afterEdit.summaries()).get('partner-a')!.reminders).to.have.length(9);
  });

  it('rebuilds a damaged summary cache from the partner files instead of refusing to start', async () => {
    const store = await JsonFileStore.open(dir);
    await store.partner('partner-a').update((doc) => void doc.customers.push(customer('c1', '2027-03-02')));
    await store.flush();
    const cacheDir = join(dir, 'partner-summaries');
    for (const name of await jsonFiles(cacheDir)) await writeFile(join(cacheDir, name), '{"truncated');
    const reopened = await JsonFileStore.open(dir);
    expect(new Map(reopened.summaries()).get('partner-a')!.reminders).to.have.length(3);
    for (const name of await jsonFiles(cacheDir)) expect(JSON.parse(await readFile(join(cacheDir, name), 'utf8')).document.files, 'rewritten').to.have.property('partner-a.json');
  });

  it('rebuilds a summary cache shard changed outside the bot, though what it says is valid: its checksum no longer matches', async () => {
    const store = await JsonFileStore.open(dir);
    await store.partner('partner-a').update((doc) => void doc.customers.push(customer('c1', '2027-03-02')));
    await store.flush();
    const cacheDir = join(dir, 'partner-summaries');
    let edited = 0;
    for (const name of await jsonFiles(cacheDir)) {
      const sealed = JSON.parse(await readFile(join(cacheDir, name), 'utf8'));
      const entry = sealed.document.files['partner-a.json'];
      if (!entry) continue;
      // A summary without its subscription: the reminder run would never look at it.
      entry.summary.reminders = [];
      entry.summary.reminderIds = '';
      await writeFile(join(cacheDir, name), JSON.stringify(sealed));
      edited++;
    }
    expect(edited).to.equal(1);
    const reopened = await JsonFileStore.open(dir);
    const summary = new Map(reopened.summaries()).get('partner-a')!;
    expect([...reminderIdsAt(summary.reminderIds, [0]).values()]).to.deep.equal([['c1', 'c1-s']]);
  });

  it('keeps each customer index entry its own after a restart, though entries of one partner are read as one', async () => {
    const store = await JsonFileStore.open(dir);
    for (const id of ['c1', 'c2', 'c3']) await indexCustomer(store, 'partner-a', id);
    const reopened = await JsonFileStore.open(dir);
    const partnerOf = (s: JsonFileStore, id: string) => s.customerIndex(id).data.customers[id]?.partnerTenantId;
    await reopened.customerIndex('c2').update((shard) => void (shard.customers['c2']!.partnerTenantId = 'partner-b'));
    expect(['c1', 'c2', 'c3'].map((id) => partnerOf(reopened, id))).to.deep.equal(['partner-a', 'partner-b', 'partner-a']);
    const again = await JsonFileStore.open(dir);
    expect(['c1', 'c2', 'c3'].map((id) => partnerOf(again, id))).to.deep.equal(['partner-a', 'partner-b', 'partner-a']);
  });

  it('leaves an index entry without its customer harmless after a crash between the two writes', async () => {
    const store = await JsonFileStore.open(dir);
    // The account service writes the index first; the process died before the partner's file.
    await indexCustomer(store, 'partner-a', 'c1');
    const reopened = await JsonFileStore.open(dir);
    const { repositories } = await openFileRepositories(dir, DEFAULT_LIFECYCLE, reopened);
    const delegation = new DelegationService(repositories, undefined as never, undefined as never, () => new Date(), 90, pino({ level: 'silent' }), fileAuditTrail(reopened, dir, () => new Date()));
    expect(await delegation.link('c1'), 'no customer, so nobody is taken for its admin').to.equal(undefined);
    await reopened.partner('partner-a').update((doc) => void doc.customers.push(customer('c1', '2027-03-02')));
    expect((await delegation.link('c1'))?.partnerTenantId).to.equal('partner-a');
  });
});
