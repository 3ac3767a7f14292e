/**
 * The behaviour every AuditLog (src/store/auditLog.ts) must show, run on the files
 * (test/auditLog.contract.test.ts) and on PostgreSQL (test/postgres/auditLog.contract.test.ts).
 * Tampering is done the way someone with access to the store would do it, through `tamper`.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { auditDraft, GENESIS_HASH, type AuditDraftInput, type AuditEntry } from '../../src/domain/audit.js';
import type { AuditLog } from '../../src/store/auditLog.js';

export interface AuditLogStore {
  /** Two handles on one trail (for PostgreSQL two pools: two instances); each reads the other's entries. */
  instances: [AuditLog, AuditLog];
  /** Changes what the store holds for one entry, behind the log's back: its person's name, or the entry gone. */
  tamper(partnerTenantId: string, seq: number, edit: 'rename' | 'remove'): Promise<void>;
  close(): Promise<void>;
}

/** Entry n of a partner: a minute apart, two people taking turns, three customers in rotation. */
export function draft(partnerTenantId: string, n: number, extra: Partial<AuditDraftInput> = {}) {
  return auditDraft({
    id: `${partnerTenantId}-${n}`,
    at: new Date(Date.UTC(2026, 0, 1, 0, n)),
    partnerTenantId,
    actor: { name: n % 2 ? 'Jonas Keller' : 'Mia Brandt', objectId: n % 2 ? 'oid-jonas' : 'oid-mia', role: 'admin' },
    verb: 'customer.renew',
    customerTenantId: `customer-${n % 3}`,
    keys: ['BCDFG-HJKMP-QRTVW-XY234-6789B'],
    details: { term: '12 months' },
    outcome: n % 5 === 0 ? { result: 'refused', reason: 'role' } : { result: 'done' },
    ...extra,
  });
}

export function auditLogContract(name: string, open: (context: Mocha.Context) => Promise<AuditLogStore>): void {
  describe(`audit log contract: ${name}`, function () {
    let store: AuditLogStore;
    let log: AuditLog;
    let other: AuditLog;
    let A: string;
    let B: string;
    before(async function () {
      store = await open(this);
      [log, other] = store.instances;
    });
    after(() => store?.close());
    // Each case on partners of its own: the store is shared by the cases.
    beforeEach(() => {
      A = `partner-a-${randomUUID()}`;
      B = `partner-b-${randomUUID()}`;
    });

    it('numbers and chains entries per partner, gives them back as appended, and they verify', async () => {
      const appended: AuditEntry[] = [];
      for (let n = 1; n <= 12; n++) appended.push(await [log, other][n % 2]!.append(draft(n % 3 ? A : B, n)));
      const ofA = appended.filter((e) => e.partnerTenantId === A);
      expect(ofA.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(ofA[0]!.prev).to.equal(GENESIS_HASH);
      expect(ofA[1]!.prev).to.equal(ofA[0]!.hash);
      const read: AuditEntry[] = [];
      for await (const entry of other.entries(A)) read.push(entry);
      expect(read, 'oldest first, as appended').to.deep.equal(ofA);
      expect(await log.partners()).to.include.members([A, B]);
      for (const partner of [A, B]) expect((await other.verify(partner)).verdict).to.deep.include({ ok: true, entries: partner === A ? 8 : 4 });
      expect(await log.verify(A)).to.deep.include({ partnerTenantId: A, torn: false });
      expect(await log.checkpoint(A)).to.equal(undefined);
    });

    it('keeps the chain whole when both instances append to one partner at once', async () => {
      await Promise.all(Array.from({ length: 30 }, (_, i) => [log, other][i % 2]!.append(draft(A, i + 1))));
      const seqs: number[] = [];
      for await (const entry of log.entries(A)) seqs.push(entry.seq);
      expect(seqs).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
      expect((await other.verify(A)).verdict).to.deep.include({ ok: true, entries: 30 });
    });

    it('pages newest first, filtered by customer or person, and shows a customer only their own tenant', async () => {
      for (let n = 1; n <= 12; n++) await log.append(draft(A, n));
      await log.append(draft(B, 1, { customerTenantId: 'customer-1' }));
      const first = await other.page(A, { limit: 5 });
      expect(first.entries.map((e) => e.seq)).to.deep.equal([12, 11, 10, 9, 8]);
      const second = await other.page(A, { limit: 5, before: first.next });
      expect(second.entries.map((e) => e.seq)).to.deep.equal([7, 6, 5, 4, 3]);
      const last = await other.page(A, { limit: 5, before: second.next });
      expect(last.entries.map((e) => e.seq)).to.deep.equal([2, 1]);
      expect(last.next, 'no page after the last').to.equal(undefined);
      expect((await other.page(A, { limit: 12 })).next, 'exactly a page full: nothing after it').to.equal(undefined);

      const customer = await log.page(A, { limit: 10, customerTenantId: 'customer-1' });
      expect(customer.entries.map((e) => e.seq)).to.deep.equal([10, 7, 4, 1]);
      const mia = await log.page(A, { limit: 3, objectId: 'oid-mia' });
      expect(mia.entries.map((e) => e.seq)).to.deep.equal([12, 10, 8]);
      expect(mia.next).to.equal(8);
      expect((await log.page(A, { limit: 3, objectId: 'oid-mia', before: mia.next })).entries.map((e) => e.seq)).to.deep.equal([6, 4, 2]);

      const seen = await log.pageForCustomer(A, 'customer-1', { limit: 50 });
      expect(seen.entries.map((e) => e.seq)).to.deep.equal([10, 7, 4, 1]);
      expect(seen.entries.every((e) => e.partnerTenantId === A && e.customerTenantId === 'customer-1')).to.equal(true);
      expect((await log.pageForCustomer(A, 'customer-unknown', { limit: 50 })).entries).to.deep.equal([]);
      expect((await log.pageForCustomer(B, 'customer-1', { limit: 50 })).entries.map((e) => e.partnerTenantId)).to.deep.equal([B]);
    });

    it('appendMissing records again only what is not in the trail yet, and only for one partner', async () => {
      await log.append(draft(A, 1));
      const two = await log.append(draft(A, 2));
      const again = await other.appendMissing(A, [draft(A, 2), draft(A, 3)]);
      expect(again.map((e) => e.seq)).to.deep.equal([2, 3]);
      expect(again[0]).to.deep.equal(two);
      expect((await log.verify(A)).verdict).to.deep.include({ ok: true, entries: 3 });
      let error: unknown;
      try {
        await log.appendMissing(A, [draft(B, 1)]);
      } catch (caught) {
        error = caught;
      }
      expect((error as Error).message).to.contain(A);
      expect(await log.partners()).not.to.include(B);
    });

    it('names the first entry that does not fit: a changed one, a removed one', async () => {
      for (let n = 1; n <= 4; n++) await log.append(draft(A, n));
      for (let n = 1; n <= 4; n++) await log.append(draft(B, n));
      await store.tamper(A, 2, 'rename');
      const changed = (await other.verify(A)).verdict;
      expect(changed).to.deep.include({ ok: false, entries: 1 });
      expect(changed.ok === false && changed.broken).to.deep.include({ position: 2, seq: 2, id: `${A}-2`, problem: 'content' });
      await store.tamper(B, 3, 'remove');
      const removed = (await log.verify(B)).verdict;
      expect(removed.ok === false && removed.broken).to.deep.include({ seq: 4, problem: 'sequence', expected: { seq: 2, hash: (await log.page(B, { limit: 1, before: 3 })).entries[0]!.hash } });
    });

    it('prunes old entries behind a checkpoint: the rest verifies, appends go on, the pruning is itself recorded', async () => {
      for (let n = 1; n <= 10; n++) await log.append(draft(A, n));
      const now = new Date('2026-03-01T00:00:00Z');
      expect(await other.prune(A, new Date(Date.UTC(2026, 0, 1, 0, 4, 30)), now)).to.equal(4);
      const checkpoint = await log.checkpoint(A);
      expect(checkpoint).to.deep.include({ partnerTenantId: A, seq: 4, at: '2026-01-01T00:04:00.000Z', prunedAt: now.toISOString() });
      const kept: AuditEntry[] = [];
      for await (const entry of log.entries(A)) kept.push(entry);
      expect(kept.map((e) => e.seq)).to.deep.equal([5, 6, 7, 8, 9, 10, 11]);
      expect(kept.at(-1)).to.deep.include({ id: 'audit.prune:4', verb: 'audit.prune', details: { through: '4', entries: '4', before: '2026-01-01T00:04:30.000Z' } });
      expect(await log.verify(A)).to.deep.include({ checkpoint, verdict: { ok: true, entries: 7, head: { seq: 11, hash: kept.at(-1)!.hash } } });
      await other.append(draft(A, 20));
      expect((await log.verify(A)).verdict).to.deep.include({ ok: true, entries: 8 });
      expect(await log.prune(A, new Date('2025-01-01T00:00:00Z'), now), 'nothing old enough').to.equal(0);
      expect(await log.checkpoint(A)).to.deep.equal(checkpoint);
      expect(await log.partners()).to.include(A);
    });

    it('prunes only a leading run: an older entry behind a newer one waits for it', async () => {
      for (const minute of [1, 2, 50, 3, 4]) await log.append(draft(A, minute));
      expect(await log.prune(A, new Date(Date.UTC(2026, 0, 1, 0, 10)), new Date('2026-03-01T00:00:00Z'))).to.equal(2);
      expect((await log.page(A, { limit: 10 })).entries.map((e) => e.seq)).to.deep.equal([6, 5, 4, 3]);
    });

    it('does not prune a trail that does not verify: it is the evidence', async () => {
      for (let n = 1; n <= 3; n++) await log.append(draft(A, n));
      await store.tamper(A, 2, 'rename');
      const before = await log.page(A, { limit: 10 });
      let error: unknown;
      try {
        await other.prune(A, new Date('2027-01-01T00:00:00Z'), new Date('2027-01-02T00:00:00Z'));
      } catch (caught) {
        error = caught;
      }
      expect((error as Error).message).to.contain('does not verify');
      expect(await log.page(A, { limit: 10 })).to.deep.equal(before);
      expect(await log.checkpoint(A)).to.equal(undefined);
    });
  });
}
