/**
 * `npm run db:import`: a file store made by the bench's data generator (small), with a little of
 * everything else a bot leaves in its files, copied into an empty database by the real script; the
 * same questions through both stores then get the same answers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateDataset, type Dataset } from '../../scripts/bench/dataset.js';
import { createKeyHasher, secretCheckOf } from '../../src/commerce/keyHasher.js';
import { USER_ADMINISTRATOR } from '../../src/domain/entraRoles.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { SETUP_STATUSES, type Setup } from '../../src/domain/setup.js';
import { fileNameFor } from '../../src/store/fileNames.js';
import { openFileRepositories, type FileRepositories } from '../../src/store/files/index.js';
import type { AuditEntry } from '../../src/domain/audit.js';
import { FileAuditLog } from '../../src/store/auditFile.js';
import type { AuditLog } from '../../src/store/auditLog.js';
import { PostgresAuditLog } from '../../src/store/postgres/auditLog.js';
import type { Pool } from '../../src/store/postgres/database.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import type { Repositories } from '../../src/store/repositories.js';
import { freshDatabase } from '../support/postgres.js';
import { draft } from '../support/auditLogContract.js';
import { runScript, type Run } from '../support/scripts.js';


/** The script as an operator runs it (asynchronously: the test's PostgreSQL server logs to this process). */
// Everything of this process's environment but the key-hash secret: the import must find it in the data folder.
const dbImport = (url: string, ...args: string[]) => runScript('db-import.ts', { ...(process.env as Record<string, string>), DATABASE_URL: url, KEY_HASH_SECRET: '' }, ...args);

/** Every table's rows as one digest: equal digests, equal contents. */
async function digest(pool: Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  const out: Record<string, string> = {};
  for (const { tablename } of rows) out[tablename] = (await pool.query(`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS d FROM ${tablename} t`)).rows[0].d;
  return out;
}

const bySetupId = (refs: Array<{ tenantId: string; setup: Setup }>) => [...refs].sort((a, b) => (a.setup.id < b.setup.id ? -1 : 1));
const sorted = <T>(items: T[]) => [...items].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

describe('db:import: a file store into an empty PostgreSQL database', function () {
  this.timeout(180_000);
  const now = new Date();
  const secret = randomBytes(32).toString('hex');
  const hash = createKeyHasher(secret);
  let dir: string;
  let url: string;
  let dataset: Dataset;
  let files: FileRepositories;
  let database: { pool: Pool; repositories: Repositories };
  let first: Run;
  let tenantId: string;

  before(async function () {
    url = await freshDatabase(this);
    dir = await mkdtemp(join(tmpdir(), 'db-import-'));
    // The secret as the bot generates it into its data folder on first start.
    await writeFile(join(dir, 'key-hash-secret'), `${secret}\n`, { mode: 0o600 });
    dataset = await generateDataset({ dir, serviceUrl: 'https://smba.example/emea/', keyHashSecret: secret, partners: 6, customersPerPartner: 5, subscriptionsPerCustomer: 2, keys: 6, now, reminderState: 'none' });
    await addTheRest();
    first = await dbImport(url, '--from', dir);
    files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    database = await openPostgres(url, DEFAULT_LIFECYCLE);
  });
  after(async () => {
    await database?.pool.end();
    await files?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** What the generator does not make: setups and reservations, an offer, a ledger, a lockout, a tenant with a renewal, a blocked key. */
  async function addTheRest(): Promise<void> {
    const { repositories: r, close } = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    const [p0, p1, p2, p3] = dataset.users;
    // Recorded in p0's audit trail; p2 gets a trail pruned behind a checkpoint; p1's role book changed (the generator gives each partner's profile saver Admin agent).
    await r.partners.setReminderChannel(p0!.tenantId, { conversation: { serviceUrl: 'https://smba.example/emea/', channelId: 'msteams', conversation: { id: '19:channel' } }, setBy: p0!.userId, setAt: now.toISOString(), reachable: true }, () => [draft(p0!.tenantId, 1)]);
    const trail = FileAuditLog.in(dir);
    for (let n = 1; n <= 5; n++) await trail.append(draft(p2!.tenantId, n));
    expect(await trail.prune(p2!.tenantId, new Date(Date.UTC(2026, 0, 1, 0, 2, 30)), now)).to.equal(2);
    await r.partners.updateRoles(p1!.tenantId, () => ({ book: { [p1!.userId]: { role: 'admin', name: p1!.name, reason: 'assigned', assignedBy: p0!.userId, assignedAt: now.toISOString() } }, result: undefined }));
    await r.partners.markMemberUnreachable(p1!.tenantId, p1!.userId);
    const due = await r.reminders.dueReminders(now, 10_000);
    expect(due.length, 'the generated subscriptions have reminders due').to.be.greaterThan(3);
    for (const [i, d] of due.slice(0, 3).entries()) {
      const kind = d.endDate <= d.today ? 'expired' : 'before60';
      await r.reminders.record(d.partnerTenantId, [{ customerTenantId: d.customerTenantId, subscriptionId: d.subscriptionId, endDate: d.endDate, kind, status: 'queued', createdAt: now.toISOString(), deliveredTo: [] }]);
      if (i > 0) await r.reminders.markDelivered(d.partnerTenantId, { subscriptionId: d.subscriptionId, endDate: d.endDate, kind }, `member:${p0!.userId}`);
      if (i > 1) await r.reminders.markSent(d.partnerTenantId, { subscriptionId: d.subscriptionId, endDate: d.endDate, kind }, now);
    }
    const [customer] = await r.customers.list(p0!.tenantId);
    await r.customers.addOffer(p0!.tenantId, customer!.tenantId, { id: randomUUID(), status: 'pending', message: 'Let us help', sentAt: now.toISOString(), sentBy: { id: p0!.userId, name: p0!.name }, expiresAt: new Date(now.getTime() + 86_400_000).toISOString(), delivery: 'waiting' });
    await r.customers.updateSubscription(p0!.tenantId, customer!.tenantId, customer!.subscriptions[0]!.id, (s) => ({ ...s, scheduledSwitch: { on: s.endDate, by: { id: p0!.userId, name: p0!.name } } }));
    // The parts of a customer the bulk copy writes beside its row: the admin's contact, password resets, added users, applied renewals.
    const by = { id: p0!.userId, name: p0!.name };
    await r.customers.update(p0!.tenantId, customer!.tenantId, (c) => ({
      ...c,
      admin: { ...c.admin, passwordReset: { at: now.toISOString(), by, requestId: randomUUID() }, pendingPasswordReset: { at: now.toISOString(), by, requestId: randomUUID() } },
      adminContact: { conversation: { serviceUrl: 'https://smba.example/emea/', channelId: 'msteams', conversation: { id: 'a:admin-chat' } }, reachable: false, updatedAt: now.toISOString() },
      addedUsers: [{ requestId: randomUUID(), userPrincipalName: 'ann@customer.onmicrosoft.com', product: 'Microsoft 365 Business Standard', addedAt: now.toISOString() }],
      subscriptions: c.subscriptions.map((s, i) => (i === 1 ? { ...s, renewalIds: ['renewal-b', 'renewal-a'] } : s)),
    }));
    const at = now.toISOString();
    const key = (k: string) => ({ id: randomUUID(), ref: hash(k), handle: hash(k), lastGroup: k.slice(-5), product: 'Microsoft 365 Business Standard', seats: 10, termMonths: 12 });
    const reserved: Setup = { id: randomUUID(), ownerId: p1!.userId, ownerName: p1!.name, createdAt: at, updatedAt: at, rev: 4, status: 'reserved', keys: [key(dataset.keys[0]!)], reservedUntil: new Date(now.getTime() + 14 * 86_400_000).toISOString() };
    const released: Setup = { id: randomUUID(), ownerId: p1!.userId, ownerName: p1!.name, createdAt: at, updatedAt: at, rev: 2, status: 'released', keys: [key(dataset.keys[5]!)], closedAt: at, releaseNotice: 'pending' };
    const entering: Setup = { id: randomUUID(), ownerId: p2!.userId, ownerName: p2!.name, createdAt: at, updatedAt: at, rev: 0, status: 'entering', keys: [] };
    for (const s of [reserved, released]) await r.setups.insert(p1!.tenantId, s);
    await r.setups.insert(p2!.tenantId, entering);
    await r.setups.reserveKey(hash(dataset.keys[0]!), p1!.tenantId, reserved.id, now);
    // A reservation left by a setup that let go of its keys: the bot drops it, the import leaves it.
    await r.setups.reserveKey(hash(dataset.keys[5]!), p1!.tenantId, released.id, now);
    const limits = { limit: 2, windowMinutes: 60, lockMinutes: 60 };
    await r.guessGuard.recordUnknownKeys(p2!.tenantId, 3, now, limits);
    await r.guessGuard.recordUnknownKeys(p3!.tenantId, 1, now, limits);
    tenantId = randomUUID();
    const created = await r.commerceTenants.create({
      tenantId,
      idempotencyKey: randomUUID(),
      partnerTenantId: p0!.tenantId,
      createdAt: at,
      organisationName: 'Fabrikam',
      country: 'DE',
      language: 'de',
      domain: 'fabrikam.onmicrosoft.com',
      users: [{ objectId: randomUUID(), userPrincipalName: 'bea@fabrikam.onmicrosoft.com', displayName: 'Bea', email: 'bea@example.com', roles: ['Global Administrator'], licenses: ['Microsoft 365 Business Standard'] }],
      subscriptions: [{ id: randomUUID(), product: 'Microsoft 365 Business Standard', seats: 10, assignedSeats: 1, startDate: '2026-01-01', endDate: '2027-01-01', partnerOfRecord: '1000000', billing: 'partner', renewals: [] }],
      keyHandles: [hash(dataset.keys[1]!)],
      delegatedAdmins: [],
      addedUsers: {},
      relationships: [
        {
          id: randomUUID(),
          idempotencyKey: randomUUID(),
          displayName: 'Fabrikam helpdesk',
          partnerTenantId: p0!.tenantId,
          customer: { tenantId, displayName: 'Fabrikam' },
          accessDetails: { unifiedRoles: [{ roleDefinitionId: USER_ADMINISTRATOR }] },
          duration: 'P730D',
          autoExtendDuration: 'P180D',
          status: 'active',
          createdDateTime: at,
          lastModifiedDateTime: at,
          activatedDateTime: at,
          endDateTime: new Date(now.getTime() + 730 * 86_400_000).toISOString(),
        },
      ],
    });
    expect(created).to.have.property('created');
    const renewed = await r.commerceTenants.update(tenantId, async (t, redeem) => {
      t.subscriptions[0]!.renewals.push('renewal-1');
      t.delegatedAdmins.push({ partnerTenantId: p0!.tenantId, roles: ['Global Administrator'], since: at });
      return redeem(hash(dataset.keys[2]!), 'renewal-1');
    });
    expect(renewed).to.deep.equal({ found: true, result: true });
    expect(await r.keyCatalog.block(hash(dataset.keys[3]!))).to.equal(true);
    await close();
  }

  it('copies everything, prints the counts on both sides, and says where the key-hash secret must go without showing it', () => {
    expect(first.stderr).to.equal('');
    expect(first.code).to.equal(0);
    expect(first.stdout).to.match(/^customers\s+30\s+30 \(0\)$/m);
    expect(first.stdout).to.match(/^subscriptions\s+60\s+60 \(0\)$/m);
    expect(first.stdout).to.match(/^keys\s+6\s+6 \(0\)$/m);
    expect(first.stdout).to.match(/^tenants\s+1\s+1 \(0\)$/m);
    expect(first.stdout).to.match(/^relationships\s+1\s+1 \(0\)$/m);
    expect(first.stdout).to.match(/^setups\s+3\s+3 \(0\)$/m);
    expect(first.stdout).to.match(/^reservations\s+1\s+1 \(0\)$/m);
    expect(first.stdout).to.match(/^roles\s+6\s+6 \(0\)$/m);
    expect(first.stdout).to.match(/^auditEntries\s+5\s+5 \(0\)$/m);
    expect(first.stdout).to.include('orphanReservations 1').and.include('recentUnknownKeys 1');
    expect(first.stdout).to.include(`generated its secret into ${join(dir, 'key-hash-secret')}: set KEY_HASH_SECRET on every instance that uses the database to the contents of that file`);
    expect(first.stdout).to.include('The counts match');
    expect(first.stdout + first.stderr).not.to.include(secret);
  });

  it('keeps the key hashes valid: a key of the files, hashed with the secret, is found in the database as it was', async () => {
    const k = database.repositories.keyCatalog;
    expect(await k.key(hash(dataset.keys[4]!))).to.deep.include({ status: 'available', lastGroup: dataset.keys[4]!.slice(-5) });
    expect(await k.key(hash(dataset.keys[1]!))).to.deep.include({ status: 'redeemed', redeemedFor: tenantId });
    expect(await k.key(hash(dataset.keys[2]!))).to.deep.include({ status: 'redeemed', redeemedFor: tenantId, renewal: 'renewal-1' });
    expect((await k.key(hash(dataset.keys[3]!)))?.status).to.equal('blocked');
    expect(await k.key(createKeyHasher('another secret of 32 characters!!')(dataset.keys[4]!))).to.equal(undefined);
    // The secret's check value went in with the hashes: an instance with another secret is refused.
    expect(await k.secretCheck()).to.equal(secretCheckOf(secret));
  });

  it('answers the same questions with the same answers on both stores', async () => {
    const [f, d] = [files.repositories, database.repositories];
    for (const { tenantId: partner } of dataset.users) {
      expect(await d.customers.list(partner), 'customer list').to.deep.equal(await f.customers.list(partner));
      expect(await d.customers.list(partner, 'CUSTOMER 03'), 'filtered list').to.deep.equal(await f.customers.list(partner, 'CUSTOMER 03'));
      expect(await d.customers.hasCustomers(partner)).to.equal(await f.customers.hasCustomers(partner));
      expect(await d.partners.profile(partner), 'profile').to.deep.equal(await f.partners.profile(partner));
      expect(await d.partners.staff(partner), 'staff').to.deep.equal(await f.partners.staff(partner));
      expect(await d.partners.roles(partner), 'role book').to.deep.equal(await f.partners.roles(partner));
      expect(await d.partners.reminderChannel(partner), 'reminder channel').to.deep.equal(await f.partners.reminderChannel(partner));
      expect(await d.reminders.forPartner(partner), 'reminder ledger').to.deep.equal(await f.reminders.forPartner(partner));
      expect(await d.setups.open(partner), 'open setups').to.deep.equal(await f.setups.open(partner));
      expect(await d.guessGuard.lockedUntil(partner, now), 'guessing lockout').to.equal(await f.guessGuard.lockedUntil(partner, now));
    }
    const due = await f.reminders.dueReminders(now, 10_000);
    expect(due.length).to.be.greaterThan(0);
    expect(await d.reminders.dueReminders(now, 10_000), 'due reminders').to.deep.equal(due);
    expect(await d.reminders.dueReminders(now, 5), 'the first due reminders').to.deep.equal(due.slice(0, 5));
    expect(await d.reminders.queued(100), 'queued reminders').to.deep.equal(await f.reminders.queued(100));
    for (const status of SETUP_STATUSES) expect(bySetupId(await d.setups.withStatus(status)), `setups ${status}`).to.deep.equal(bySetupId(await f.setups.withStatus(status)));
    for (const key of dataset.keys) {
      expect(await d.setups.keyHolder(hash(key)), 'key holder').to.deep.equal(await f.setups.keyHolder(hash(key)));
      const [inFiles, inDatabase] = [await f.keyCatalog.key(hash(key)), await d.keyCatalog.key(hash(key))];
      expect(inDatabase, 'catalogue key').to.deep.equal(inFiles);
    }
    expect(await d.setups.keyHolder(hash(dataset.keys[0]!))).to.deep.include({ tenantId: dataset.users[1]!.tenantId });
    // The audit trails as they were: same numbers and hashes, from the same checkpoint, and they verify.
    const [fileTrail, databaseTrail] = [FileAuditLog.in(dir), new PostgresAuditLog(database.pool)];
    expect(await databaseTrail.partners()).to.deep.equal(await fileTrail.partners()).and.to.have.length(2);
    for (const partner of await fileTrail.partners()) {
      const read = async (log: AuditLog) => {
        const out: AuditEntry[] = [];
        for await (const entry of log.entries(partner)) out.push(entry);
        return out;
      };
      expect(await read(databaseTrail), 'trail').to.deep.equal(await read(fileTrail));
      expect(await databaseTrail.checkpoint(partner), 'checkpoint').to.deep.equal(await fileTrail.checkpoint(partner));
      expect((await databaseTrail.verify(partner)).verdict).to.deep.equal((await fileTrail.verify(partner)).verdict).and.to.include({ ok: true });
    }
    expect(await d.commerceTenants.get(tenantId), 'tenant').to.deep.equal(await f.commerceTenants.get(tenantId));
    expect(await d.commerceTenants.byDomain('fabrikam.onmicrosoft.com')).to.deep.equal(await f.commerceTenants.byDomain('fabrikam.onmicrosoft.com'));
    expect(sorted(await d.customers.withOfferWork()), 'offer work').to.deep.equal(sorted(await f.customers.withOfferWork())).and.to.have.length(1);
    const switchDay = new Date(now.getTime() + 500 * 86_400_000);
    expect(sorted(await d.customers.switchesDue(switchDay)), 'switches due').to.deep.equal(sorted(await f.customers.switchesDue(switchDay))).and.to.have.length(1);
  });

  it('refuses a database that holds data without --force, and with it changes nothing on a second run', async () => {
    const before = await digest(database.pool);
    const refused = await dbImport(url, '--from', dir);
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.include('The database already holds data').and.include('--force');
    const again = await dbImport(url, '--from', dir, '--force');
    expect(again.stderr).to.equal('');
    expect(again.code).to.equal(0);
    expect(again.stdout).to.match(/^customers\s+30\s+30 \(30\)$/m);
    expect(await digest(database.pool)).to.deep.equal(before);
  });
});

describe('db:import: a partner file that lists a customer twice', function () {
  this.timeout(120_000);

  it('is refused, naming the partner and the customer, and none of that partner is copied', async function () {
    const url = await freshDatabase(this);
    const dir = await mkdtemp(join(tmpdir(), 'db-import-twice-'));
    try {
      await writeFile(join(dir, 'key-hash-secret'), `${randomBytes(32).toString('hex')}\n`);
      const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
      const partner = 'partner-edited-by-hand';
      const customer = (tenantId: string) => ({
        tenantId,
        name: `Kunde ${tenantId.slice(0, 4)}`,
        domain: `k${tenantId.slice(0, 8)}.onmicrosoft.com`,
        country: 'DE',
        language: 'de',
        admin: { name: 'Eva Muster', email: 'eva@example.com', phone: '+49891234567', userPrincipalName: `admin@k${tenantId.slice(0, 8)}.onmicrosoft.com`, objectId: randomUUID() },
        createdAt: '2026-03-02T09:00:00.000Z',
        createdBy: { id: 'user-1', name: 'Anna' },
        setupId: randomUUID(),
        subscriptions: [{ id: randomUUID(), product: 'Microsoft 365 Business Standard', seats: 5, assignedSeats: 1, startDate: '2026-03-02', endDate: '2027-03-01', partnerOfRecord: '1234567', billing: 'partner' as const, renewalIds: [] }],
        offers: [],
        addedUsers: [],
      });
      const [kept, doubled] = [randomUUID(), randomUUID()];
      await files.repositories.customers.add(partner, customer(kept));
      await files.repositories.customers.add(partner, customer(doubled));
      await files.close();
      // An operator's edit: the second customer pasted in once more.
      const path = join(dir, 'partners', fileNameFor(partner));
      const doc = JSON.parse(await readFile(path, 'utf8')) as { customers: Array<{ tenantId: string }> };
      doc.customers.push(doc.customers.find((c) => c.tenantId === doubled)!);
      await writeFile(path, JSON.stringify(doc));

      const run = await dbImport(url, '--from', dir);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.include(`The file of partner ${partner} lists customer tenant ${doubled} twice`).and.include('--force').and.not.include('Import failed');
      const database = await openPostgres(url, DEFAULT_LIFECYCLE);
      try {
        const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM customers WHERE partner_tenant_id = $1', [partner]);
        expect(rows[0].n).to.equal(0);
      } finally {
        await database.pool.end();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
