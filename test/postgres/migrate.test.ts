import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { openPool, transaction, type Pool } from '../../src/store/postgres/database.js';
import { loadMigrations, migrate } from '../../src/store/postgres/migrate.js';
import { freshDatabase } from '../support/postgres.js';

describe('PostgreSQL migrations', () => {
  let url: string;
  let pool: Pool;
  before(async function () {
    url = await freshDatabase(this);
    pool = await openPool(url);
  });
  after(() => pool?.end());

  it('applies every migration once, recorded in schema_migrations, even when instances start together', async () => {
    const migrations = await loadMigrations();
    const others = await Promise.all([1, 2, 3].map(() => openPool(url)));
    const applied = await Promise.all([pool, ...others].map((p) => migrate(p)));
    await Promise.all(others.map((p) => p.end()));
    // One instance applied them all; the others waited on the lock and found nothing to do.
    expect(applied.map((versions) => versions.length).sort()).to.deep.equal([0, 0, 0, migrations.length]);
    const { rows } = await pool.query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).to.deep.equal(migrations.map(({ version, name }) => ({ version, name })));
    expect(await migrate(pool)).to.deep.equal([]);
  });

  it('applies nothing of a migration that fails', async () => {
    const migrations = await loadMigrations();
    const latest = migrations.at(-1)!.version;
    const broken = [...migrations, { version: latest + 1, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT no_such_function();' }];
    let failure: unknown;
    await migrate(pool, broken).catch((error) => (failure = error));
    expect(failure).to.be.an('error');
    const { rows } = await pool.query("SELECT to_regclass('half_done') AS half, (SELECT max(version) FROM schema_migrations) AS version");
    expect(rows[0]).to.deep.equal({ half: null, version: latest });
  });

  it('refuses a database that a newer release migrated', async () => {
    const migrations = await loadMigrations();
    const future = migrations.at(-1)!.version + 1;
    await transaction(pool, (tx) => tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')", [future]));
    let failure: Error | undefined;
    await migrate(pool).catch((error: Error) => (failure = error));
    await pool.query('DELETE FROM schema_migrations WHERE version = $1', [future]);
    expect(failure?.message).to.match(/newer than this release knows/);
  });

  it('npm run db:migrate migrates the database DATABASE_URL names', async function () {
    this.timeout(60_000);
    const fresh = await freshDatabase(this);
    const run = () => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { env: { PATH: process.env.PATH ?? '', DATABASE_URL: fresh }, encoding: 'utf8' });
    const first = run();
    expect(first.stderr).to.equal('');
    expect(first.stdout).to.match(/^Applied migration\(s\) 1/);
    expect(run().stdout).to.equal('The database schema is up to date.\n');
  });
});
