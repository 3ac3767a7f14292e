import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { openStore, type OpenedStore } from '../../src/store/open.js';
import { DatabaseError, openPool, poolConfig } from '../../src/store/postgres/database.js';
import { freshDatabase } from '../support/postgres.js';

describe('PostgreSQL connection', () => {
  let url: string;
  before(async function () {
    url = await freshDatabase(this);
  });

  it('connects with the DATABASE_URL of a reachable server', async () => {
    const pool = await openPool(url);
    const { rows } = await pool.query('SELECT current_database() AS name');
    await pool.end();
    expect(rows[0].name).to.equal(new URL(url).pathname.slice(1));
  });

  it('fails a wrong DATABASE_URL with a message naming the host and never the password', async () => {
    const { port } = new URL(url);
    const wrong = [`postgres://bot:S3cret-pa55@127.0.0.1:${port}/no_such_database`, 'postgres://bot:S3cret-pa55@127.0.0.1:1/anything'];
    for (const target of wrong) {
      let failure: Error | undefined;
      await openPool(target).catch((error: Error) => (failure = error));
      expect(failure).to.be.instanceOf(DatabaseError);
      expect(failure!.message).to.contain('127.0.0.1:').and.not.contain('S3cret-pa55');
    }
  });

  it('stops the start-up of db:migrate with the host named and the password kept', () => {
    const { port } = new URL(url);
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { env: { PATH: process.env.PATH ?? '', DATABASE_URL: `postgres://bot:S3cret-pa55@127.0.0.1:${port}/no_such_database` }, encoding: 'utf8' });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.contain(`127.0.0.1:${port}/no_such_database`).and.not.contain('S3cret-pa55');
  });

  it('asks for TLS with sslmode=require (this test server offers none, so it refuses)', async () => {
    let failure: Error | undefined;
    await openPool(`${url}?sslmode=require`).catch((error: Error) => (failure = error));
    expect(failure?.message).to.match(/does not support SSL/);
    expect(poolConfig(`${url}?sslmode=require`).ssl).to.deep.equal({ rejectUnauthorized: true });
    expect(poolConfig(`${url}?sslmode=disable`).ssl).to.equal(false);
    expect(() => poolConfig(`${url}?sslmode=prefer`)).to.throw(/sslmode=prefer is not supported/);
  });

  it('refuses a DATABASE_URL that is not a postgres URL, without showing it', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:S3cret-pa55@db/x' })).to.throw(/DATABASE_URL: must be a postgres/).and.not.match(/S3cret/);
    expect(loadConfig({ DATABASE_URL: url }).DATABASE_URL).to.equal(url);
  });
});

describe('PostgreSQL connection losses', () => {
  let url: string;
  before(async function () {
    url = await freshDatabase(this);
  });

  it('replaces connections the server dropped, logging it, without crashing the process', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const pool = await openPool(url, log, 2);
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // An outage or a failover: the server ends the session of the pool's idle connection.
    await admin.query('SELECT pg_terminate_backend($1, 10000)', [rows[0]!.pid]);
    await admin.end();
    await new Promise<void>((resolve) => (lines.length > 0 ? resolve() : pool.once('error', () => resolve())));
    const after = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(after.rows[0]!.pid).to.not.equal(rows[0]!.pid);
    expect(lines.join('')).to.contain('idle PostgreSQL connection failed; the pool replaces it');
    await pool.end();
  });
});

describe('the PostgreSQL store: one turn', () => {
  /** The store on a fresh database, and another instance's connection to it, for `work`. */
  async function withStoreAndAnother(context: Mocha.Context, work: (store: OpenedStore, other: pg.Client) => Promise<void>): Promise<void> {
    const url = await freshDatabase(context);
    const store = await openStore(loadConfig({ DATABASE_URL: url, KEY_HASH_SECRET: 'turn-test-secret-turn-test-secret-42' }), DEFAULT_LIFECYCLE, pino({ level: 'silent' }));
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await work(store, other);
    } finally {
      await other.end();
      await store.close();
    }
  }

  it("remembers a turn's reads until the turn ends: a change made meanwhile by another instance shows in the next turn", async function () {
    await withStoreAndAnother(this, async (store, other) => {
      const { partners } = store.repositories;
      const tenant = `partner-${Date.now()}`;
      await partners.saveProfile(tenant, { organisationName: 'Contoso', partnerId: '1234567', cloudEssentials: false, timeZone: 'Europe/Berlin', updatedAt: '2026-12-05T10:00:00.000Z', updatedBy: 'user-1' });
      await store.withinTurn(async () => {
        await partners.member(tenant, 'user-1');
        await other.query(`UPDATE partners SET organisation_name = 'Fabrikam' WHERE tenant_id = $1`, [tenant]);
        expect((await partners.profile(tenant))?.organisationName, 'as who is asking brought it along').to.equal('Contoso');
      });
      await store.withinTurn(async () => expect((await partners.profile(tenant))?.organisationName).to.equal('Fabrikam'));
    });
  });

  it("brings a key's catalogue entry along with who holds it, until the turn changes the catalogue or ends", async function () {
    await withStoreAndAnother(this, async (store, other) => {
      const { keyCatalog, setups } = store.repositories;
      const [ref, absent] = ['a'.repeat(64), 'b'.repeat(64)];
      await keyCatalog.issue({ ref, product: 'O365_BUSINESS_PREMIUM', seats: 5, termMonths: 12, lastGroup: 'AAAAA', status: 'available', issuedAt: '2026-12-05T10:00:00.000Z' });
      const redeemElsewhere = () => other.query(`UPDATE commerce_keys SET status = 'blocked' WHERE ref = $1`, [ref]);
      await store.withinTurn(async () => {
        expect(await setups.keyHolder(ref)).to.equal(undefined);
        expect(await setups.keyHolder(absent)).to.equal(undefined);
        await redeemElsewhere();
        expect((await keyCatalog.key(ref))?.status, 'as the holder read brought it along').to.equal('available');
        expect(await keyCatalog.key(absent)).to.equal(undefined);
        await keyCatalog.block(ref);
        await other.query(`UPDATE commerce_keys SET product = 'changed elsewhere' WHERE ref = $1`, [ref]);
        expect((await keyCatalog.key(ref))?.product, 'read again after the turn changed the catalogue').to.equal('changed elsewhere');
      });
      await other.query(`UPDATE commerce_keys SET status = 'available' WHERE ref = $1`, [ref]);
      await store.withinTurn(async () => expect((await keyCatalog.key(ref))?.status).to.equal('available'));
      expect((await keyCatalog.key(ref))?.status, 'outside a turn, every time').to.equal('available');
    });
  });
});
