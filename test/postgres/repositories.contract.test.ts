import { expect } from 'chai';
import pg from 'pg';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { entryFrom } from '../../src/store/postgres/audit.js';
import { openPostgres, postgresRepositories } from '../../src/store/postgres/index.js';
import { openPool, transaction, type Pool } from '../../src/store/postgres/database.js';
import { freshDatabase } from '../support/postgres.js';
import { withTurnReads } from '../../src/store/turnReads.js';
import { repositoryContract } from '../support/repositoryContract.js';

repositoryContract('PostgreSQL', { severalInstances: true }, async (context) => {
  const url = await freshDatabase(context);
  // Two pools on one database: two instances of the bot.
  const first = await openPostgres(url, DEFAULT_LIFECYCLE);
  const second = await openPostgres(url, DEFAULT_LIFECYCLE);
  return {
    instances: [first.repositories, second.repositories],
    auditIds: async (partnerTenantId) => (await first.pool.query('SELECT id FROM audit_entries WHERE partner_tenant_id = $1 ORDER BY seq', [partnerTenantId])).rows.map((row) => row.id),
    // As a partner already in the database when 003_partners added the role book.
    predateRoles: async (partnerTenantId) => {
      await first.pool.query('DELETE FROM partner_roles WHERE partner_tenant_id = $1', [partnerTenantId]);
      await first.pool.query('UPDATE partners SET has_role_book = false WHERE tenant_id = $1', [partnerTenantId]);
    },
    trail: async (partnerTenantId) => (await first.pool.query('SELECT * FROM audit_entries WHERE partner_tenant_id = $1 ORDER BY seq', [partnerTenantId])).rows.map(entryFrom),
    close: async () => void (await Promise.all([first.pool.end(), second.pool.end()])),
  };
});

describe('PostgreSQL repositories, beyond the contract', () => {
  let url: string;
  let pool: Pool;
  before(async function () {
    url = await freshDatabase(this);
    pool = (await openPostgres(url, DEFAULT_LIFECYCLE)).pool;
  });
  after(() => pool?.end());

  it('hands the runner lock to another instance when the holder dies mid-run', async () => {
    const holder = await openPool(url);
    const other = postgresRepositories(pool, DEFAULT_LIFECYCLE);
    let started!: () => void;
    let finish!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const run = postgresRepositories(holder, DEFAULT_LIFECYCLE).runnerLock.runExclusive('reminders', async () => {
      started();
      // The holder is killed while it works: its connection is gone by the time it ends.
      await new Promise<void>((resolve) => (finish = resolve));
      return 'finished late';
    });
    await running;
    expect(await other.runnerLock.runExclusive('reminders', async () => 'taken')).to.deep.equal({ ran: false });
    // kill -9 of the instance: the server sees its connections end and drops the lock with them.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // With a timeout, pg_terminate_backend returns once the session has ended (and its locks with it).
    const { rows } = await admin.query("SELECT pg_terminate_backend(pid, 10000) AS gone FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()");
    await admin.end();
    expect(rows).to.deep.equal([{ gone: true }]);
    expect(await other.runnerLock.runExclusive('reminders', async () => 'taken over')).to.deep.equal({ ran: true, result: 'taken over' });
    // The old holder's run ends without a crash, and its broken connection is not reused.
    finish();
    expect(await run).to.deep.equal({ ran: true, result: 'finished late' });
    await holder.end();
  });

  it("brings along with who is asking what a greeting and a key check read next: one query for all of it", async () => {
    const sent: string[] = [];
    // The repositories' pool, counting what they send.
    const counting = new Proxy(pool, { get: (target, name) => (name === 'query' ? (text: string, values?: unknown[]) => (sent.push(text), target.query(text, values)) : Reflect.get(target, name)) });
    const repositories = postgresRepositories(counting, DEFAULT_LIFECYCLE);
    const tenant = `partner-${Date.now()}`;
    const now = new Date('2026-03-01T10:00:00Z');
    await repositories.guessGuard.recordUnknownKeys(tenant, 1, now, { limit: 5, windowMinutes: 60, lockMinutes: 60 });
    sent.length = 0;
    await withTurnReads(async () => {
      await repositories.partners.member(tenant, 'user-1');
      expect(await repositories.customers.hasCustomers(tenant)).to.equal(false);
      expect(await repositories.guessGuard.unknownKeysLeft(tenant, now, { limit: 5, windowMinutes: 60, lockMinutes: 60 })).to.equal(4);
      expect(await repositories.guessGuard.lockedUntil(tenant, now)).to.equal(undefined);
      expect(await repositories.partners.roles(tenant)).to.deep.equal({});
    });
    expect(sent).to.have.length(1);
  });

  it("reads a page of a partner's customers in name order from the index, without sorting them", async () => {
    const asked: Array<{ text: string; values: unknown[] }> = [];
    const seen = new Proxy(pool, { get: (target, name) => (name === 'query' ? (text: string, values: unknown[]) => (asked.push({ text, values }), target.query(text, values)) : Reflect.get(target, name)) });
    await postgresRepositories(seen, DEFAULT_LIFECYCLE).customers.page(`partner-${Date.now()}`, '', 2, 10);
    const { text, values } = asked[0]!;
    const plan = await transaction(pool, async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      return tx.query(`EXPLAIN ${text}`, values);
    });
    const lines = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(lines).to.match(/customers_by_partner_and_name/);
    expect(lines).not.to.match(/\bSort\b/);
  });

  it('finds due reminders with the index on the next reminder day, not by reading every subscription', async () => {
    const forced = await transaction(pool, async (tx) => {
      // An empty table is read whole anyway; without that option the plan shows whether the index serves the query.
      await tx.query('SET LOCAL enable_seqscan = off');
      return tx.query(`EXPLAIN SELECT s.id FROM subscriptions s WHERE s.next_reminder_on <= ($1::timestamptz AT TIME ZONE 'UTC')::date + 1`, [new Date()]);
    });
    expect(forced.rows.map((row) => row['QUERY PLAN']).join('\n')).to.match(/subscriptions_by_next_reminder/);
  });
});
