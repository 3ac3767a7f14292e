import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { FileAuditLog } from '../../src/store/auditFile.js';
import type { Pool } from '../../src/store/postgres/database.js';
import { PostgresAuditLog } from '../../src/store/postgres/auditLog.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import { freshDatabase } from '../support/postgres.js';
import { auditLogContract, draft } from '../support/auditLogContract.js';

auditLogContract('PostgreSQL', async (context) => {
  const url = await freshDatabase(context);
  // Two pools: two instances. Reads of a few entries at a time, so exports and checks cross batches.
  const [first, second] = await Promise.all([openPostgres(url, DEFAULT_LIFECYCLE), openPostgres(url, DEFAULT_LIFECYCLE)]);
  return {
    instances: [new PostgresAuditLog(first.pool, 3), new PostgresAuditLog(second.pool, 3)],
    async tamper(partnerTenantId, seq, edit) {
      const sql = edit === 'remove' ? 'DELETE FROM audit_entries WHERE partner_tenant_id = $1 AND seq = $2' : "UPDATE audit_entries SET actor_name = 'Someone Else' WHERE partner_tenant_id = $1 AND seq = $2";
      await first.pool.query(sql, [partnerTenantId, seq]);
    },
    close: async () => void (await Promise.all([first.pool.end(), second.pool.end()])),
  };
});

describe('audit trail copied from the files into PostgreSQL (db:import)', () => {
  let pool: Pool;
  let dir: string;
  let files: FileAuditLog;
  let database: PostgresAuditLog;
  before(async function () {
    pool = (await openPostgres(await freshDatabase(this), DEFAULT_LIFECYCLE)).pool;
    database = new PostgresAuditLog(pool, 2);
  });
  after(() => pool?.end());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psb-audit-copy-'));
    files = FileAuditLog.in(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const copy = async (partner: string) => database.copy(partner, await files.checkpoint(partner), files.entries(partner));
  const ids = async (partner: string) => (await database.page(partner, { limit: 100 })).entries.map((e) => e.seq);

  it('copies a pruned trail as it is, goes on from its end on a second run, and appends after it', async () => {
    for (let n = 1; n <= 6; n++) await files.append(draft('p-copy', n));
    await files.prune('p-copy', new Date(Date.UTC(2026, 0, 1, 0, 2, 30)), new Date('2026-03-01T00:00:00Z'));
    expect(await copy('p-copy')).to.equal(5);
    await files.append(draft('p-copy', 7));
    expect(await copy('p-copy'), 'only what is missing').to.equal(1);
    expect(await ids('p-copy')).to.deep.equal([8, 7, 6, 5, 4, 3]);
    expect((await database.verify('p-copy')).verdict).to.deep.equal((await files.verify('p-copy')).verdict);
    expect(await database.append(draft('p-copy', 9))).to.deep.include({ seq: 9 });
    expect((await database.verify('p-copy')).verdict).to.deep.include({ ok: true, entries: 7 });
  });

  it('copies nothing of a trail that does not fit, or that differs from the one already there', async () => {
    for (let n = 1; n <= 3; n++) await files.append(draft('p-broken', n));
    const path = files.pathOf('p-broken');
    const original = await readFile(path, 'utf8');
    const lines = original.split('\n').filter(Boolean);
    const removed = `${[lines[0], lines[2]].join('\n')}\n`;
    await writeFile(path, removed);
    const failure = await copy('p-broken').catch((error: Error) => error.message);
    expect(failure).to.match(/entry 3 .* does not fit: its number is not 2.*Nothing was copied/);
    expect(await ids('p-broken')).to.deep.equal([]);
    await writeFile(path, original);
    expect(await copy('p-broken')).to.equal(3);
    // The files changed after the copy: the same number, another entry.
    await rm(path);
    files = FileAuditLog.in(dir);
    for (let n = 1; n <= 3; n++) await files.append(draft('p-broken', n + 10));
    const differs = await copy('p-broken').catch((error: Error) => error.message);
    expect(differs).to.contain('differs from the one copied at entry 3');
  });
});
