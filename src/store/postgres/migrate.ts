/**
 * Versioned schema migrations: numbered .sql files (NNN_name.sql) applied in order, all pending ones
 * in one transaction under an advisory lock, each recorded in schema_migrations. Instances starting
 * together wait for the first, then find nothing left to do.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../paths.js';
import { transaction, type Pool } from './database.js';

/** Kept in src/ (not compiled), found from the project folder whether the code runs from src/ or dist/. */
export const MIGRATIONS_DIR = join(projectRoot, 'src', 'store', 'postgres', 'migrations');

/** Any fixed number unique to this application; all its instances take the same lock. */
const MIGRATION_LOCK = 0x5e7_0b07;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const migrations = await Promise.all(
    names.map(async (name) => {
      const match = /^(\d+)_([a-z0-9_]+)\.sql$/.exec(name);
      if (!match) throw new Error(`migration file ${name} is not named NNN_name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: await readFile(join(dir, name), 'utf8') };
    }),
  );
  // Numbers may skip (branches reserve theirs), never repeat: each names one change of the schema.
  migrations.forEach((migration, i) => {
    if (i > 0 && migration.version <= migrations[i - 1]!.version) throw new Error(`migration number ${migration.version} is used twice`);
  });
  return migrations;
}

/** Applies the migrations the database has not had yet; returns the versions applied now. */
export async function migrate(pool: Pool, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  return transaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const newer = Math.max(0, ...applied);
    // A database migrated by a newer release: running older code on it could break its invariants.
    const latest = all.at(-1)?.version ?? 0;
    if (newer > latest) throw new Error(`the database has schema version ${newer}, newer than this release knows (${latest}); deploy the newer release`);
    const now: number[] = [];
    for (const migration of all) {
      if (applied.has(migration.version)) continue;
      await tx.query(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      now.push(migration.version);
    }
    return now;
  });
}
