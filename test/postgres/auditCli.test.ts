/** `npm run audit -- verify|export` against the trail in PostgreSQL when DATABASE_URL is set. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { PostgresAuditLog } from '../../src/store/postgres/auditLog.js';
import type { Pool } from '../../src/store/postgres/database.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import { runAudit } from '../support/scripts.js';
import { draft } from '../support/auditLogContract.js';
import { freshDatabase } from '../support/postgres.js';

const A = 'partner-a';
const B = 'partner-b';

describe('npm run audit on PostgreSQL (DATABASE_URL set)', function () {
  // Each run starts node with tsx: seconds on the shared machine.
  this.timeout(60_000);
  let url: string;
  let pool: Pool;
  let dir: string;
  const audit = (...args: string[]) => runAudit({ DATABASE_URL: url, DATA_DIR: dir }, ...args);

  before(async function () {
    url = await freshDatabase(this);
    pool = (await openPostgres(url, DEFAULT_LIFECYCLE)).pool;
    // A data folder without any trail: what the command reads must come from the database.
    dir = await mkdtemp(join(tmpdir(), 'psb-audit-pg-'));
    const log = new PostgresAuditLog(pool);
    for (let n = 1; n <= 4; n++) await log.append(draft(A, n, { at: new Date(Date.UTC(2026, 0, n, 12)), actor: { name: n === 2 ? '=HYPERLINK("http://evil.example")' : 'Jonas Keller', objectId: `oid-${n}`, role: 'sales' } }));
    await log.append(draft(B, 1));
  });
  after(async () => {
    await pool?.end();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('verify: every trail in the database fits, exit code 0', async () => {
    const run = await audit('verify');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`OK: audit trail of partner ${A}: 4 entries fit.`).and.to.contain(`OK: audit trail of partner ${B}: 1 entries fit.`);
  });

  it('export: the CSV of one partner from the database, day range inclusive, cells defused, keys masked', async () => {
    const run = await audit('export', '--tenant', A, '--from', '2026-01-02', '--to', '2026-01-03');
    expect(run.code, run.stderr).to.equal(0);
    const records = run.stdout.split('\r\n');
    expect(records.slice(1, -1).map((r) => r.split(',')[1])).to.deep.equal(['2', '3']);
    expect(run.stdout).to.contain(`"'=HYPERLINK(""http://evil.example"")"`);
    expect(run.stdout).to.contain('•••••-•••••-•••••-•••••-6789B').and.not.to.contain('BCDFG');
    expect(run.stdout).not.to.contain(B);
  });

  it('verify: a row changed in the database is named, exit code 1; a pruned trail verifies from its checkpoint', async () => {
    await pool.query("UPDATE audit_entries SET actor_object_id = 'oid-9' WHERE partner_tenant_id = $1 AND seq = 3", [A]);
    const run = await audit('verify', '--tenant', A);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.match(new RegExp(`FAILED: Audit trail of partner ${A}: entry 3 \\(id ${A}-3, 2026-01-03T12:00:00.000Z\\) does not fit: its content does not match its hash`));
    expect(run.stdout).to.contain('(2 entries before it fit');

    await new PostgresAuditLog(pool).prune(B, new Date('2027-01-01T00:00:00Z'), new Date('2027-01-02T00:00:00Z'));
    const pruned = await audit('verify', '--tenant', B);
    expect(pruned.code, pruned.stdout).to.equal(0);
    expect(pruned.stdout).to.contain(`OK: audit trail of partner ${B}: 1 entries after the checkpoint at entry 1 (pruned 2027-01-02T00:00:00.000Z) fit.`);
    const nobody = await audit('verify', '--tenant', 'nobody');
    expect(nobody.code).to.equal(1);
    expect(nobody.stderr).to.contain('There is no audit trail for tenant nobody');
  });
});
