import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Low } from 'lowdb';
import { pino } from 'pino';
import { z } from 'zod';
import { EmbeddedCommerce } from '../src/commerce/embeddedCommerce.js';
import { KeyIssuer } from '../src/commerce/keyIssuer.js';
import { openFileCommerce, openFileKeyCatalog } from '../src/store/files/commerce.js';
import { createKeyHasher } from '../src/commerce/keyHasher.js';
import { newSetup, addKeys, startReserving } from '../src/domain/setup.js';
import { SetupService } from '../src/setups/setupService.js';
import { DocumentFile, StoreWriteError } from '../src/store/documentFile.js';
import { lockFile } from '../src/store/fileLock.js';
import { JsonFileWithBackup, StoreFileError } from '../src/store/jsonFile.js';
import { JsonFileStore } from '../src/store/store.js';
import { fileAuditTrail } from './support/fileAuditTrail.js';
import { openFileRepositories } from '../src/store/files/index.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';

const Counter = z.object({ schemaVersion: z.literal(1), n: z.number() });
const limits = { reservationDays: 14, retentionDays: 30, maxKeysPerSetup: 50, maxFieldLength: 2000, guessLimit: 10, guessWindowMinutes: 60, guessLockMinutes: 60 };

describe('JSON file store', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-store-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('serialises concurrent transactions on one file and coalesces their writes', async () => {
    const doc = await DocumentFile.open(join(dir, 'c.json'), Counter, () => ({ schemaVersion: 1 as const, n: 0 }));
    const results = await Promise.all(Array.from({ length: 50 }, () => doc.update((d) => (d.n += 1))));
    expect(results.toSorted((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(doc.data.n).to.equal(50);
    expect(JSON.parse(await readFile(join(dir, 'c.json'), 'utf8')).n).to.equal(50);
    expect(doc.writes, 'fewer writes than changes').to.be.below(10);
  });

  it('keeps its files through a lowdb adapter: written with a backup, read back validated', async () => {
    const path = join(dir, 'low.json');
    const db = new Low(new JsonFileWithBackup(path, Counter), { schemaVersion: 1 as const, n: 0 });
    await db.read();
    expect(db.data.n, 'no file yet: the default data').to.equal(0);
    for (const n of [1, 2]) {
      db.data.n = n;
      await db.write();
    }
    const again = new Low(new JsonFileWithBackup(path, Counter), { schemaVersion: 1 as const, n: 0 });
    await again.read();
    expect(again.data.n).to.equal(2);
    expect(JSON.parse(await readFile(`${path}.bak`, 'utf8')).n, 'the version the last write replaced').to.equal(1);
    await writeFile(path, JSON.stringify({ schemaVersion: 1, n: 'three' }));
    const damaged = await again.read().catch((error: unknown) => error);
    expect(damaged).to.be.instanceOf(StoreFileError);
    expect(again.data.n, 'a file that fails validation changes nothing').to.equal(2);
  });

  it('makes the folder of a new document on its first write, and writes again into it', async () => {
    const path = join(dir, 'not', 'made', 'yet', 'c.json');
    const doc = DocumentFile.fresh(path, { schemaVersion: 1 as const, n: 0 }, Counter);
    await doc.update((d) => void (d.n = 1));
    await doc.update((d) => void (d.n = 2));
    expect(JSON.parse(await readFile(path, 'utf8')).n).to.equal(2);
    expect(JSON.parse(await readFile(`${path}.bak`, 'utf8')).n).to.equal(1);
  });

  it('undoes only the change that throws in a coalesced write', async () => {
    const doc = await DocumentFile.open(join(dir, 'c.json'), Counter, () => ({ schemaVersion: 1 as const, n: 0 }));
    const outcomes = await Promise.allSettled([
      doc.update((d) => void (d.n += 1)),
      doc.update((d) => {
        d.n += 100;
        throw new Error('refused');
      }),
      doc.update((d) => void (d.n += 1)),
      doc.update((d) => void ((d as { n: unknown }).n = 'not a number')),
    ]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(doc.data.n).to.equal(2);
    expect(JSON.parse(await readFile(join(dir, 'c.json'), 'utf8')).n).to.equal(2);
  });

  it('refuses a damaged or foreign file, naming it, and leaves it untouched', async () => {
    const path = join(dir, 'c.json');
    for (const content of ['{"schemaVersion":1,"n":', '{"schemaVersion":2,"n":1}', 'garbage']) {
      await writeFile(path, content);
      const error = await DocumentFile.open(path, Counter, () => ({ schemaVersion: 1 as const, n: 0 })).catch((e) => e);
      expect(error).to.be.instanceOf(StoreFileError);
      expect(error.message).to.include(path);
      expect(await readFile(path, 'utf8')).to.equal(content);
    }
  });

  it('keeps the last written state when a write fails', async () => {
    const path = join(dir, 'c.json');
    const doc = await DocumentFile.open(path, Counter, () => ({ schemaVersion: 1 as const, n: 0 }));
    await doc.update((d) => void (d.n = 1));
    await rm(path);
    await mkdir(path); // the rename onto a folder fails, as a full or read-only disk would
    const error = await doc.update((d) => void (d.n = 2)).catch((e) => e);
    expect(error).to.be.instanceOf(StoreWriteError);
    expect(doc.data.n).to.equal(1);
  });

  it('keeps each partner tenant in its own file and hashes unsafe tenant ids', async () => {
    const store = await JsonFileStore.open(dir);
    await store.partner('tenant-a').update((d) => void (d.members.x = { name: 'A', conversation: { serviceUrl: 's', channelId: 'msteams', conversation: { id: 'c' } }, updatedAt: new Date().toISOString(), reachable: true }));
    await store.partner('../../etc/passwd').update((d) => void (d.members.y = { name: 'B', conversation: { serviceUrl: 's', channelId: 'msteams', conversation: { id: 'd' } }, updatedAt: new Date().toISOString(), reachable: true }));
    await store.setupBook('../../etc/passwd').update((d) => void d.guard.unknownKeysAt.push(new Date().toISOString()));
    const files = (await readdir(join(dir, 'partners'))).sort();
    expect(files).to.have.length(2);
    expect(files).to.include('tenant-a.json');
    expect(files.find((f) => f !== 'tenant-a.json')).to.match(/^_h-[0-9a-f]{40}\.json$/);
    expect(await readFile(join(dir, 'partners', 'tenant-a.json'), 'utf8')).not.to.include('passwd');
    const reopened = await JsonFileStore.open(dir);
    expect(Object.keys(reopened.partner('../../etc/passwd').data.members)).to.deep.equal(['y']);
    expect(reopened.setupBook('../../etc/passwd').data.guard.unknownKeysAt).to.have.length(1);
    expect((await readdir(join(dir, 'setups'))).filter((f) => f.endsWith('.json'))).to.deep.equal([files.find((f) => f !== 'tenant-a.json')]);
  });

  it('undoes an interrupted confirmation and drops orphaned reservations at start-up', async () => {
    const store = await JsonFileStore.open(dir);
    const now = new Date('2026-03-02T09:00:00Z');
    const key = { id: '00000000-0000-4000-8000-000000000001', ref: 'a'.repeat(64), handle: 'a'.repeat(64), lastGroup: 'ABCDE', product: 'P', seats: 1, termMonths: 12 };
    const setup = startReserving(addKeys(newSetup('11111111-1111-4111-8111-111111111111', { id: 'u', name: 'U' }, now), [key], now), now);
    await store.setupBook('t').update((d) => void d.setups.push(setup));
    await store.reservations(key.ref).update((d) => void (d.reservations[key.ref] = { tenantId: 't', setupId: setup.id, reservedAt: now.toISOString() }));
    const orphan = 'b'.repeat(64);
    await store.reservations(orphan).update((d) => void (d.reservations[orphan] = { tenantId: 't', setupId: '22222222-2222-4222-8222-222222222222', reservedAt: now.toISOString() }));

    const reopened = await JsonFileStore.open(dir);
    const { repositories } = await openFileRepositories(dir, DEFAULT_LIFECYCLE, reopened);
    const commerce = await EmbeddedCommerce.open(repositories, createKeyHasher('x'.repeat(32)), () => now);
    const service = new SetupService(repositories, commerce, createKeyHasher('x'.repeat(32)), () => now, limits, pino({ level: 'silent' }), fileAuditTrail(reopened, dir, () => now), { soleInstance: true });
    expect(await service.reconcile()).to.deep.equal({ undone: 1, dropped: 1 });
    expect(reopened.setupBook('t').data.setups[0]!.status).to.equal('reviewing');
    expect(Object.keys(reopened.reservations(key.ref).data.reservations)).to.have.length(0);
    expect(Object.keys(reopened.reservations(orphan).data.reservations)).to.have.length(0);
  });
});

describe('embedded commerce', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-commerce-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('issues keys that check as valid, blocks them, and stores no key in full', async () => {
    const commerce = await EmbeddedCommerce.open(await openFileCommerce(dir), createKeyHasher('s'.repeat(32)), () => new Date());
    expect(await commerce.isEmpty()).to.equal(true);
    const keys = await commerce.issueKeys({ product: 'Office 365 E3', seats: 5, months: 24, count: 3 });
    expect(new Set(keys).size).to.equal(3);
    expect(await commerce.checkKey(keys[0]!)).to.deep.include({ status: 'valid', product: 'Office 365 E3', seats: 5, termMonths: 24 });
    expect(await commerce.checkKey('BBBBB-BBBBB-BBBBB-BBBBB-BBBBB')).to.deep.equal({ status: 'unknown' });
    expect(await commerce.blockKey(keys[1]!)).to.equal(true);
    expect(await commerce.checkKey(keys[1]!)).to.deep.equal({ status: 'blocked' });
    const files = await readdir(join(dir, 'commerce', 'catalog'));
    const all = (await Promise.all(files.map((f) => readFile(join(dir, 'commerce', 'catalog', f), 'utf8')))).join('');
    for (const key of keys) expect(all).not.to.include(key.replace(/-/g, '').slice(0, 10));
    expect(all).to.include(keys[2]!.slice(-5));
  });

  it('sees keys another process issued while it runs', async () => {
    const hash = createKeyHasher('s'.repeat(32));
    const running = await EmbeddedCommerce.open(await openFileCommerce(dir), hash, () => new Date());
    const cli = new KeyIssuer(await openFileKeyCatalog(dir), hash, () => new Date());
    const [key] = await cli.issueKeys({ product: 'P', seats: 1, months: 1, count: 1 });
    expect((await running.checkKey(key!)).status).to.equal('valid');
  });
});

describe('a file two processes write (the key catalogue)', () => {
  const Keys = z.object({ schemaVersion: z.literal(1), keys: z.record(z.string(), z.number()) });
  const empty = () => ({ schemaVersion: 1 as const, keys: {} as Record<string, number> });
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-shared-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // Two DocumentFile objects on one path stand for the bot and the key CLI: each has only its own
  // copy in memory, like two processes, and they meet only in the files.
  const openBoth = (path: string) => Promise.all([DocumentFile.open(path, Keys, empty, { shared: true }), DocumentFile.open(path, Keys, empty, { shared: true })]);

  it('loses no change when both write at the same time', async () => {
    const path = join(dir, 'catalog', 'ab.json');
    const [bot, cli] = await openBoth(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => [bot.update((d) => void (d.keys[`bot${i}`] = i)), cli.update((d) => void (d.keys[`cli${i}`] = i))]).flat());
    const written = JSON.parse(await readFile(path, 'utf8')).keys;
    expect(Object.keys(written)).to.have.length(40);
    expect(readdirSync(join(dir, 'catalog')).filter((name) => name.includes('lock')), 'no lock left behind').to.deep.equal([]);
  });

  it('waits for the other process to release the file, and takes over a lock its holder left in a crash', async () => {
    const path = join(dir, 'ab.json');
    const [bot] = await openBoth(path);
    const lockPath = join(dir, '.ab.json.lock');
    const release = await lockFile(path, lockPath);
    let done = false;
    const write = bot.update((d) => void (d.keys.x = 1)).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(done, 'written while the other process holds the lock').to.equal(false);
    await release();
    await write;
    expect(JSON.parse(await readFile(path, 'utf8')).keys).to.deep.equal({ x: 1 });

    // A crashed holder's lock: left behind, last touched a minute ago.
    await mkdir(lockPath);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(lockPath, minuteAgo, minuteAgo);
    await bot.update((d) => void (d.keys.y = 2));
    expect(JSON.parse(await readFile(path, 'utf8')).keys).to.deep.equal({ x: 1, y: 2 });
  });
});
