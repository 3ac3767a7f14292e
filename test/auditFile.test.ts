import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { z } from 'zod';
import { FileAuditLog } from '../src/store/auditFile.js';
import { AuditOutboxSchema, AuditRecorder } from '../src/store/auditOutbox.js';
import { DocumentFile } from '../src/store/documentFile.js';
import { hiddenSibling, StoreFileError } from '../src/store/jsonFile.js';
import { draft } from './support/auditLogContract.js';

const A = 'partner-a';
const B = 'partner-b';

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean);
}

describe('audit trail in files', () => {
  let dir: string;
  let log: FileAuditLog;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psb-audit-'));
    log = FileAuditLog.in(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('appends entries numbered and chained per partner, to files only their owner can read, and they verify', async () => {
    const stored = await Promise.all(Array.from({ length: 30 }, (_, i) => log.append(draft(i % 2 ? A : B, i + 1))));
    const ofA = stored.filter((e) => e.partnerTenantId === A);
    expect(ofA.map((e) => e.seq)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(ofA[0]!.prev).to.equal('0'.repeat(64));
    expect(ofA[1]!.prev).to.equal(ofA[0]!.hash);
    expect((await stat(log.pathOf(A))).mode & 0o777).to.equal(0o600);
    expect((await stat(join(dir, 'audit'))).mode & 0o777).to.equal(0o700);
    expect(await log.partners()).to.deep.equal([A, B]);
    for (const partner of [A, B]) expect((await log.verify(partner)).verdict).to.deep.include({ ok: true, entries: 15 });
    // A second process (the bot after a restart) goes on with the chain where the file ends.
    const next = await FileAuditLog.in(dir).append(draft(A, 99));
    expect(next).to.deep.include({ seq: 16, prev: ofA.at(-1)!.hash });
    expect((await log.verify(A)).verdict.ok).to.equal(true);
  });

  it('a torn last line (a crash during an append) is ignored by readers and set aside by the next append', async () => {
    for (let n = 1; n <= 3; n++) await log.append(draft(A, n));
    const path = log.pathOf(A);
    const whole = await readFile(path, 'utf8');
    await appendFile(path, '{"id":"partner-a-4","at":"2026-01-01T00:04:00.000Z","partnerTen');
    const verification = await log.verify(A);
    expect(verification.torn).to.equal(true);
    expect(verification.verdict).to.deep.include({ ok: true, entries: 3 });
    expect((await log.page(A, { limit: 10 })).entries.map((e) => e.seq)).to.deep.equal([3, 2, 1]);

    const restarted = FileAuditLog.in(dir);
    const next = await restarted.append(draft(A, 5));
    expect(next.seq).to.equal(4);
    expect(await readFile(path, 'utf8')).to.equal(`${whole}${JSON.stringify(next)}\n`);
    expect(await readFile(hiddenSibling(path, 'torn'), 'utf8')).to.contain('"id":"partner-a-4"');
    expect((await restarted.verify(A)).verdict).to.deep.include({ ok: true, entries: 4 });
    expect((await restarted.verify(A)).torn).to.equal(false);
  });

  it('refuses to append after a damaged last line, naming the file and leaving it as it is', async () => {
    await log.append(draft(A, 1));
    const path = log.pathOf(A);
    await appendFile(path, 'not json\n');
    const before = await readFile(path, 'utf8');
    let error: unknown;
    await FileAuditLog.in(dir).append(draft(A, 2)).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(StoreFileError);
    expect((error as Error).message).to.contain(path).and.to.contain('npm run audit -- verify');
    expect(await readFile(path, 'utf8')).to.equal(before);
    expect((await log.verify(A)).verdict).to.deep.include({ ok: false, broken: { position: 2, problem: 'unreadable', expected: { seq: 1, hash: JSON.parse(before.split('\n')[0]!).hash } } });
  });

  it('an entry copied from another partner is not shown and does not verify', async () => {
    await log.append(draft(A, 1));
    const foreign = await log.append(draft(B, 1));
    await appendFile(log.pathOf(A), `${JSON.stringify(foreign)}\n`);
    expect((await log.page(A, { limit: 10 })).entries.map((e) => e.partnerTenantId)).to.deep.equal([A]);
    expect((await log.verify(A)).verdict).to.deep.include({ ok: false });
    expect(((await log.verify(A)).verdict as { broken: { problem: string } }).broken.problem).to.equal('otherPartner');
  });

  it('prunes into a file that begins with the checkpoint line, the kept lines copied as they were, readable by its owner only', async () => {
    for (let n = 1; n <= 10; n++) await log.append(draft(A, n));
    const before = await lines(log.pathOf(A));
    expect(await log.prune(A, new Date(Date.UTC(2026, 0, 1, 0, 4, 30)), new Date('2026-03-01T00:00:00Z'))).to.equal(4);
    const text = await lines(log.pathOf(A));
    expect(JSON.parse(text[0]!)).to.deep.equal({ checkpoint: await log.checkpoint(A) });
    expect(text.slice(1, -1)).to.deep.equal(before.slice(4));
    expect(JSON.parse(text.at(-1)!)).to.deep.include({ verb: 'audit.prune', seq: 11 });
    expect((await stat(log.pathOf(A))).mode & 0o777).to.equal(0o600);
  });

});

describe('a change and its audit entry together (outbox in the changed document)', () => {
  const Doc = z.object({ n: z.number(), auditOutbox: AuditOutboxSchema });
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-outbox-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const open = () => DocumentFile.open(join(dir, 'doc.json'), Doc, () => ({ n: 0, auditOutbox: [] }));

  it('writes the change with its entry queued, appends it, and empties the outbox with the next change', async () => {
    const log = FileAuditLog.in(dir);
    const recorder = new AuditRecorder(log);
    const doc = await open();
    const first = await recorder.change(doc, (d) => ({ result: (d.n += 1), entry: draft(A, 1) }));
    expect(first.result).to.equal(1);
    expect(first.entry).to.deep.include({ seq: 1, id: 'partner-a-1' });
    expect(doc.data.auditOutbox.map((e) => e.id)).to.deep.equal(['partner-a-1']);
    await recorder.change(doc, (d) => ({ result: (d.n += 1), entry: draft(A, 2) }));
    expect(doc.data.auditOutbox.map((e) => e.id), 'the first entry left with the second change').to.deep.equal(['partner-a-2']);
    const unchanged = await recorder.change(doc, () => ({ result: 'nothing' }));
    expect(unchanged).to.deep.equal({ result: 'nothing' });
    expect((await log.verify(A)).verdict).to.deep.include({ ok: true, entries: 2 });
  });

  it('after a crash between the change and its entry, recovery appends the entry once; run again, it adds nothing', async () => {
    const doc = await open();
    // The change is on disk with its entry queued; the process dies before the append.
    await doc.update((d) => {
      d.n = 1;
      d.auditOutbox.push(draft(A, 1));
    });
    // And one whose append was done before the crash, not yet out of the outbox.
    const log = FileAuditLog.in(dir);
    await log.append(draft(A, 0));
    await doc.update((d) => void d.auditOutbox.unshift(draft(A, 0)));

    const restarted = new AuditRecorder(FileAuditLog.in(dir));
    const reopened = await open();
    const recovered = await restarted.recover(reopened);
    expect(recovered.map((e) => [e.id, e.seq])).to.deep.equal([
      ['partner-a-0', 1],
      ['partner-a-1', 2],
    ]);
    await new AuditRecorder(FileAuditLog.in(dir)).recover(await open());
    expect((await lines(log.pathOf(A))).map((line) => JSON.parse(line).id)).to.deep.equal(['partner-a-0', 'partner-a-1']);
    // The next change takes the recovered entries out of the outbox.
    await restarted.change(reopened, (d) => ({ result: (d.n += 1), entry: draft(A, 2) }));
    expect(reopened.data.auditOutbox.map((e) => e.id)).to.deep.equal(['partner-a-2']);
  });

  it('a change that throws writes neither the change nor an entry', async () => {
    const log = FileAuditLog.in(dir);
    const doc = await open();
    let error: unknown;
    await new AuditRecorder(log)
      .change(doc, () => {
        throw new Error('refused');
      })
      .catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal('refused');
    expect(doc.data).to.deep.equal({ n: 0, auditOutbox: [] });
    expect(await log.partners()).to.deep.equal([]);
  });
});
