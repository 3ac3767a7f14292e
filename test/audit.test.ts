import { expect } from 'chai';
import { auditDraft, chainEntry, EMPTY_HEAD, entryHash, prune, verifyChain, type AuditDraftInput, type AuditEntry } from '../src/domain/audit.js';
import { AUDIT_CSV_HEADER, auditCsvRow, csvRecord, defuseCell } from '../src/domain/auditCsv.js';

const partner = 'partner-a';
const base: Omit<AuditDraftInput, 'id' | 'at'> = {
  partnerTenantId: partner,
  actor: { name: 'Jonas Keller', objectId: 'oid-jonas', role: 'sales' },
  verb: 'redeem.confirm',
  customerTenantId: 'customer-1',
  outcome: { result: 'done' },
};

/** A chain of `n` entries, one a day from 2026-01-01. */
function chain(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let head = EMPTY_HEAD;
  for (let i = 0; i < n; i++) {
    const entry = chainEntry(auditDraft({ ...base, id: `e${i + 1}`, at: new Date(Date.UTC(2026, 0, 1 + i)) }), head);
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  return entries;
}

describe('audit entries', () => {
  it('keep only the last group of a key, and mask a key pasted into any text', () => {
    const draft = auditDraft({
      ...base,
      id: 'x',
      at: new Date('2026-12-04T10:00:00Z'),
      actor: { ...base.actor, name: 'Jonas BCDFG-HJKMP-QRTVW-XY234-6789B' },
      keys: ['BCDFG-HJKMP-QRTVW-XY234-6789B', '•••••-•••••-•••••-•••••-C2346'],
      details: { note: 'key BCDFGHJKMPQRTVWXY2346789B' },
      outcome: { result: 'refused', reason: 'blocked: BCDFG HJKMP QRTVW XY234 6789B' },
    });
    expect(draft.keys).to.deep.equal(['•••••-•••••-•••••-•••••-6789B', '•••••-•••••-•••••-•••••-C2346']);
    expect(JSON.stringify(draft)).not.to.match(/BCDFG|HJKMP|QRTVW/);
    expect(draft.at).to.equal('2026-12-04T10:00:00.000Z');
  });

  it('a name longer than the trail keeps, or made longer by masking, is cut rather than keeping the change from being recorded', () => {
    const name = 'BCDFGHJKMPQRTVWXY2346789B '.repeat(19);
    expect(name.length).to.be.below(500);
    const draft = auditDraft({ ...base, id: 'long', at: new Date(), actor: { ...base.actor, name } });
    expect(draft.actor.name).to.have.length(500);
    expect(draft.actor.name).not.to.contain('BCDFG');
    expect(draft.actor.name.startsWith('•••••-•••••-•••••-•••••-6789B •••••')).to.equal(true);
  });

  it('a chain verifies; a changed, removed, reordered or added-to entry is named', () => {
    const entries = chain(5);
    expect(verifyChain(partner, entries)).to.deep.equal({ ok: true, entries: 5, head: { seq: 5, hash: entries[4]!.hash } });

    const changed = entries.map((e) => ({ ...e }));
    changed[2] = { ...changed[2]!, actor: { ...changed[2]!.actor, name: 'Someone Else' } };
    expect(verifyChain(partner, changed)).to.deep.include({ ok: false, entries: 2, broken: { position: 3, seq: 3, id: 'e3', at: entries[2]!.at, problem: 'content', expected: { seq: 2, hash: entries[1]!.hash } } });

    const removed = entries.filter((e) => e.seq !== 2);
    expect(verifyChain(partner, removed)).to.deep.include({ ok: false, entries: 1 });
    expect((verifyChain(partner, removed) as { broken: { seq: number; problem: string } }).broken).to.deep.include({ seq: 3, problem: 'sequence' });

    const reordered = [entries[0], entries[2], entries[1], entries[3], entries[4]];
    expect((verifyChain(partner, reordered) as { broken: { seq: number; problem: string } }).broken).to.deep.include({ seq: 3, problem: 'sequence' });

    // A re-hashed forgery with the right number still does not point at the entry before it.
    const forged = { ...entries[3]!, prev: entries[1]!.hash };
    const rehashed = { ...forged, hash: entryHash(forged) };
    expect((verifyChain(partner, [...entries.slice(0, 3), rehashed]) as { broken: { problem: string } }).broken.problem).to.equal('link');

    const added = entries.map((e) => ({ ...e }) as Record<string, unknown>);
    added[1]!.note = 'slipped in';
    expect((verifyChain(partner, added) as { broken: { seq: number; problem: string } }).broken).to.deep.include({ seq: 2, problem: 'content' });

    expect((verifyChain('partner-b', entries) as { broken: { problem: string } }).broken.problem).to.equal('otherPartner');
    expect((verifyChain(partner, [entries[0], 'garbage']) as { broken: { position: number; problem: string } }).broken).to.deep.include({ position: 2, problem: 'unreadable' });
  });

  it('pruning keeps the chain verifiable from its checkpoint', () => {
    const entries = chain(10);
    const now = new Date('2026-02-01T00:00:00Z');
    const { keep, checkpoint, pruned } = prune(partner, entries, new Date('2026-01-04T00:00:00Z'), now);
    expect(pruned).to.equal(3);
    expect(keep.map((e) => e.seq)).to.deep.equal([4, 5, 6, 7, 8, 9, 10]);
    expect(checkpoint).to.deep.equal({ partnerTenantId: partner, seq: 3, hash: entries[2]!.hash, at: entries[2]!.at, prunedAt: now.toISOString() });
    expect(verifyChain(partner, keep, checkpoint).ok).to.equal(true);
    expect(verifyChain(partner, keep).ok, 'without the checkpoint the kept part does not verify').to.equal(false);
    const nothing = prune(partner, keep, new Date('2025-01-01T00:00:00Z'), now, checkpoint);
    expect(nothing).to.deep.equal({ keep, checkpoint, pruned: 0 });
  });
});

describe('audit CSV', () => {
  it('defuses cells a spreadsheet would run (=, +, -, @, tab, carriage return)', () => {
    for (const cell of ['=HYPERLINK("http://x")', '+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) expect(defuseCell(cell)).to.equal(`'${cell}`);
    for (const cell of ['Jonas', '2026-12-04T10:00:00.000Z', '', "'quoted"]) expect(defuseCell(cell)).to.equal(cell);
  });

  it('writes RFC 4180 records: CRLF, quotes doubled, fields with commas, quotes or line breaks quoted', () => {
    expect(csvRecord(['a', 'b,c', 'say "hi"', 'two\nlines'])).to.equal('a,"b,c","say ""hi""","two\nlines"\r\n');
    expect(csvRecord(['=1+1,2'])).to.equal(`"'=1+1,2"\r\n`);
  });

  it('a row per entry, in the header order, with the typed name defused', () => {
    const [entry] = chain(1);
    const evil = { ...entry!, actor: { ...entry!.actor, name: '=cmd|"/c calc"!A1' }, outcome: { result: 'refused' as const, reason: '@reason' } };
    const row = auditCsvRow(evil);
    expect(row).to.have.length(AUDIT_CSV_HEADER.length);
    const record = csvRecord(row);
    expect(record).to.contain(`"'=cmd|""/c calc""!A1"`);
    expect(record).to.contain(",'@reason,");
    expect(record.startsWith('2026-01-01T00:00:00.000Z,1,partner-a,')).to.equal(true);
  });
});
