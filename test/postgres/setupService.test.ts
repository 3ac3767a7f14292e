/**
 * The setup service on two instances of one PostgreSQL database: each instance its own pool and its
 * own service (so its own in-process locks), the way two bot processes behind a load balancer run.
 * Correctness must come from the database: a card pressed on both applies once, a key is reserved
 * for one setup, and every change records its entry once.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { EmbeddedCommerce } from '../../src/commerce/embeddedCommerce.js';
import { createKeyHasher } from '../../src/commerce/keyHasher.js';
import type { Actor } from '../../src/domain/actor.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { AuditTrail } from '../../src/partners/auditTrail.js';
import { SetupService } from '../../src/setups/setupService.js';
import { PostgresAuditLog } from '../../src/store/postgres/auditLog.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import type { Pool } from '../../src/store/postgres/database.js';
import type { Repositories } from '../../src/store/repositories.js';
import { freshDatabase } from '../support/postgres.js';

const limits = { reservationDays: 14, retentionDays: 30, maxKeysPerSetup: 25, maxFieldLength: 2000, guessLimit: 10, guessWindowMinutes: 60, guessLockMinutes: 60 };

describe('setup service on two instances of one PostgreSQL database', () => {
  const log = pino({ level: 'silent' });
  // One clock for both instances; a test moves it forward.
  let at = new Date('2026-03-01T10:00:00Z');
  const now = () => at;
  const hash = createKeyHasher('k'.repeat(32));
  let dir: string;
  let pools: Pool[];
  let first: SetupService;
  let second: SetupService;
  let commerce: EmbeddedCommerce;
  let repositoriesOfFirst: Repositories;
  let audit: AuditTrail;

  before(async function () {
    const url = await freshDatabase(this);
    dir = await mkdtemp(join(tmpdir(), 'setup-instances-'));
    const opened = await Promise.all([openPostgres(url, DEFAULT_LIFECYCLE), openPostgres(url, DEFAULT_LIFECYCLE)]);
    commerce = await EmbeddedCommerce.open(opened[0]!.repositories, hash, now);
    // The audit trail reads the partner's roles; the entries go to the database with their change.
    audit = new AuditTrail(opened[0]!.repositories.partners, new PostgresAuditLog(opened[0]!.pool), now, 730, log);
    pools = opened.map((o) => o.pool);
    repositoriesOfFirst = opened[0]!.repositories;
    [first, second] = opened.map(({ repositories }) => new SetupService(repositories, commerce, hash, now, limits, log, audit, { soleInstance: false })) as [SetupService, SetupService];
  });
  after(async () => {
    await Promise.all((pools ?? []).map((pool) => pool.end()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const person = (name: string): Actor => ({ tenantId: `partner-${randomUUID()}`, userId: randomUUID(), name });
  const keys = (count: number) => commerce.issueKeys({ product: 'Office 365 E3', seats: 5, months: 12, count });
  const auditIds = async (tenantId: string) => (await pools[0]!.query('SELECT id FROM audit_entries WHERE partner_tenant_id = $1 ORDER BY seq', [tenantId])).rows.map((row) => row.id as string);

  it('creates a setup once when its first card is pressed on both instances', async () => {
    const ada = person('Ada');
    const setupId = randomUUID();
    const [key] = await keys(1);
    const results = await Promise.all([first.checkAndAdd(ada, setupId, 0, [key!]), second.checkAndAdd(ada, setupId, 0, [key!])]);
    expect(results.filter((r) => 'ok' in r && r.ok)).to.have.length(1);
    expect(results.filter((r) => 'refused' in r && r.refused === 'stale')).to.have.length(1);
    const stored = await second.find(ada.tenantId, setupId);
    expect(stored).to.deep.include({ rev: 1, status: 'reviewing' });
    expect(stored?.keys.map((k) => k.lastGroup)).to.deep.equal([key!.slice(-5)]);
  });

  it('confirms a summary pressed on both instances once: its keys reserved once, its entry recorded once', async () => {
    const ada = person('Ada');
    const setupId = randomUUID();
    const typed = await keys(3);
    const added = await first.checkAndAdd(ada, setupId, 0, typed);
    expect(added).to.deep.include({ ok: true });
    const results = await Promise.all([first.confirm(ada, setupId, 1), second.confirm(ada, setupId, 1)]);
    expect(results.filter((r) => 'ok' in r && r.ok)).to.have.length(1);
    expect(results.filter((r) => 'refused' in r)).to.have.length(1);
    const setup = (await first.find(ada.tenantId, setupId))!;
    expect(setup).to.deep.include({ status: 'reserved', rev: 3 });
    const { rows } = await pools[1]!.query('SELECT key_ref FROM key_reservations WHERE setup_id = $1', [setupId]);
    expect(rows.map((row) => row.key_ref).sort()).to.deep.equal(setup.keys.map((k) => k.ref).sort());
    expect(await auditIds(ada.tenantId)).to.deep.equal([`redeem.confirm:${setupId}`]);
  });

  it('reserves a key two setups share for one of them when both are confirmed at once on two instances', async () => {
    const [shared, own] = await keys(2);
    const ada = person('Ada');
    const bo = person('Bo');
    const adaSetup = randomUUID();
    const boSetup = randomUUID();
    // Neither holds the key yet, so both may add it.
    expect(await first.checkAndAdd(ada, adaSetup, 0, [shared!, own!])).to.deep.include({ ok: true });
    expect(await second.checkAndAdd(bo, boSetup, 0, [shared!])).to.deep.include({ ok: true });
    const [adaResult, boResult] = await Promise.all([first.confirm(ada, adaSetup, 1), second.confirm(bo, boSetup, 1)]);
    const outcomes = [adaResult, boResult].map((r) => ('ok' in r ? r.ok : r.refused));
    expect(outcomes.filter((ok) => ok === true)).to.have.length(1);
    const { rows } = await pools[0]!.query('SELECT setup_id FROM key_reservations WHERE key_ref = $1', [hash(shared!)]);
    const holder = outcomes[0] === true ? adaSetup : boSetup;
    expect(rows).to.deep.equal([{ setup_id: holder }]);
    // The loser is back on its summary without the taken key, and told which one it was.
    const lost = outcomes[0] === true ? boResult : adaResult;
    expect(lost).to.deep.include({ ok: false, taken: [shared!.slice(-5)] });
  });

  it('releases a reservation that ran out once when the sweep runs on both instances at once', async () => {
    const ada = person('Ada');
    const setupId = randomUUID();
    await first.checkAndAdd(ada, setupId, 0, await keys(2));
    expect(await second.confirm(ada, setupId, 1)).to.deep.include({ ok: true });
    const confirmedAt = at;
    try {
      at = new Date(confirmedAt.getTime() + (limits.reservationDays + 1) * 86_400_000);
      const [one, other] = await Promise.all([first.releaseDue(), second.releaseDue()]);
      expect([...one, ...other].filter((released) => released.setup.id === setupId)).to.have.length(1);
    } finally {
      at = confirmedAt;
    }
    expect(await first.find(ada.tenantId, setupId)).to.deep.include({ status: 'released', releaseNotice: 'pending' });
    expect((await pools[0]!.query('SELECT 1 FROM key_reservations WHERE setup_id = $1', [setupId])).rowCount).to.equal(0);
    expect(await auditIds(ada.tenantId)).to.deep.equal([`redeem.confirm:${setupId}`, `reservation.release:${setupId}`]);
  });

  it('leaves a confirmation another instance is making alone when an instance starts, and undoes it once it is clearly interrupted', async () => {
    const ada = person('Ada');
    const setupId = randomUUID();
    await first.checkAndAdd(ada, setupId, 0, await keys(1));
    // The state of a confirmation under way on another instance: reserving, its key taken.
    const reserving = (await repositoriesOfFirst.setups.update(ada.tenantId, setupId, (s) => ({ ...s, status: 'reserving', rev: s.rev + 1, updatedAt: at.toISOString() })))!;
    expect(await repositoriesOfFirst.setups.reserveKey(reserving.keys[0]!.ref, ada.tenantId, setupId, at)).to.equal(true);
    const started = new SetupService(repositoriesOfFirst, commerce, hash, now, limits, log, audit, { soleInstance: false });
    expect(await started.reconcile()).to.deep.include({ undone: 0 });
    expect((await first.find(ada.tenantId, setupId))?.status).to.equal('reserving');
    const startedAt = at;
    try {
      at = new Date(startedAt.getTime() + 6 * 60_000);
      expect(await started.reconcile()).to.deep.include({ undone: 1 });
    } finally {
      at = startedAt;
    }
    expect((await first.find(ada.tenantId, setupId))?.status).to.equal('reviewing');
    expect(await repositoriesOfFirst.setups.keyHolder(reserving.keys[0]!.ref)).to.equal(undefined);
  });
});
