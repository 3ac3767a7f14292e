import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { auditDraft } from '../src/domain/audit.js';
import { FileAuditLog } from '../src/store/auditFile.js';
import { runAudit } from './support/scripts.js';

const A = 'partner-a';
const B = 'partner-b';

/** `npm run audit -- …` as an operator runs it, on this data folder. */
const audit = (dataDir: string, ...args: string[]) => runAudit({ DATA_DIR: dataDir }, ...args);

describe('npm run audit (command line)', function () {
  // Each run starts node with tsx: seconds on the shared machine.
  this.timeout(60_000);
  let dir: string;
  let log: FileAuditLog;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psb-audit-cli-'));
    log = FileAuditLog.in(dir);
    const names = ['Jonas Keller', '=HYPERLINK("http://evil.example","click")', 'Mia, "the" Brandt', '@Tom'];
    for (let n = 1; n <= 4; n++) {
      await log.append(
        auditDraft({
          id: `a-${n}`,
          at: new Date(Date.UTC(2026, 0, n, 12)),
          partnerTenantId: A,
          actor: { name: names[n - 1]!, objectId: `oid-${n}`, role: 'sales' },
          verb: 'redeem.confirm',
          customerTenantId: 'customer-1',
          keys: ['BCDFG-HJKMP-QRTVW-XY234-6789B'],
          outcome: n === 4 ? { result: 'refused', reason: '-needs Admin agent' } : { result: 'done' },
        }),
      );
    }
    await log.append(auditDraft({ id: 'b-1', at: new Date(Date.UTC(2026, 0, 1)), partnerTenantId: B, actor: { name: 'Eve', objectId: 'oid-eve', role: 'admin' }, verb: 'profile.save', outcome: { result: 'done' } }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('verify: every trail fits, exit code 0', async () => {
    const run = await audit(dir, 'verify');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`OK: audit trail of partner ${A}: 4 entries`).and.to.contain(`OK: audit trail of partner ${B}: 1 entries`);
  });

  describe('verify finds tampering, naming the first entry that does not fit', () => {
    let original: string;
    beforeEach(async () => (original = await readFile(log.pathOf(A), 'utf8')));
    afterEach(() => writeFile(log.pathOf(A), original));
    const linesOf = (text: string) => text.split('\n').filter(Boolean);

    const cases: Array<[string, (lines: string[]) => string[], RegExp]> = [
      ['a changed entry', (l) => l.map((line, i) => (i === 1 ? line.replace('oid-2', 'oid-9') : line)), /entry 2 \(id a-2, 2026-01-02T12:00:00.000Z\) does not fit: its content does not match its hash/],
      ['a removed entry', (l) => l.filter((_, i) => i !== 1), /entry 3 \(id a-3, .*\) does not fit: its number is not 2: an entry before it was removed, or entries were reordered/],
      ['reordered entries', (l) => [l[0]!, l[2]!, l[1]!, l[3]!], /entry 3 \(id a-3, .*\) does not fit: its number is not 2/],
    ];
    for (const [what, tamper, message] of cases) {
      it(what, async () => {
        await writeFile(log.pathOf(A), `${tamper(linesOf(original)).join('\n')}\n`);
        const run = await audit(dir, 'verify', '--tenant', A);
        expect(run.code).to.equal(1);
        expect(run.stdout).to.match(new RegExp(`FAILED: Audit trail of partner ${A}: ${message.source}`));
        expect(run.stdout).to.contain('(1 entries before it fit');
        const all = await audit(dir, 'verify');
        expect(all.code, 'one broken trail fails the whole run').to.equal(1);
        expect(all.stdout).to.contain(`OK: audit trail of partner ${B}`);
      });
    }
  });

  it('verify: a pruned trail verifies from its checkpoint', async () => {
    const C = 'partner-c';
    for (let n = 1; n <= 5; n++) await log.append(auditDraft({ id: `c-${n}`, at: new Date(Date.UTC(2026, 0, n)), partnerTenantId: C, actor: { name: 'Ada', objectId: 'oid-ada', role: 'admin' }, verb: 'renew.submit', outcome: { result: 'done' } }));
    expect(await log.prune(C, new Date(Date.UTC(2026, 0, 3, 12)), new Date(Date.UTC(2028, 0, 1)))).to.equal(3);
    const run = await audit(dir, 'verify', '--tenant', C);
    expect(run.code, run.stdout).to.equal(0);
    expect(run.stdout).to.contain(`OK: audit trail of partner ${C}: 3 entries after the checkpoint at entry 3 (pruned 2028-01-01T00:00:00.000Z) fit.`);
  });

  it('verify --tenant of a tenant without a trail says so, exit code non-zero', async () => {
    const run = await audit(dir, 'verify', '--tenant', 'nobody');
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('There is no audit trail for tenant nobody');
  });

  it('export: RFC 4180 CSV of one partner, day range inclusive, formula cells defused, keys masked', async () => {
    const run = await audit(dir, 'export', '--tenant', A, '--from', '2026-01-02', '--to', '2026-01-04');
    expect(run.code, run.stderr).to.equal(0);
    const records = run.stdout.split('\r\n');
    expect(records.at(-1), 'every record ends with CRLF').to.equal('');
    expect(records[0]).to.match(/^time \(UTC\),sequence,partner tenant,person,/);
    expect(records.slice(1, -1).map((r) => r.split(',')[1])).to.deep.equal(['2', '3', '4']);
    expect(run.stdout).to.contain(`,"'=HYPERLINK(""http://evil.example"",""click"")",`);
    expect(run.stdout).to.contain(',"Mia, ""the"" Brandt",');
    expect(run.stdout).to.contain(",'@Tom,");
    expect(run.stdout).to.contain(",'-needs Admin agent,");
    expect(run.stdout).to.contain('•••••-•••••-•••••-•••••-6789B').and.not.to.contain('BCDFG');
    expect(run.stdout, 'no other partner').not.to.contain(B);
  });

  it('export: a date that does not parse gets a message naming the format, exit code non-zero, no output', async () => {
    for (const [option, value] of [
      ['--from', '02.01.2026'],
      ['--to', '2026-02-30'],
    ] as const) {
      const run = await audit(dir, 'export', '--tenant', A, option, value);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.contain(`${option} "${value}" is not a date: use YYYY-MM-DD`);
      expect(run.stdout).to.equal('');
    }
    const missing = await audit(dir, 'export');
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain('export needs --tenant ID');
  });
});
