/**
 * Applies the pending schema migrations to DATABASE_URL (the bot also does so at start).
 *   DATABASE_URL=postgres://… npm run db:migrate
 */
import { existsSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import { openPool } from '../src/store/postgres/database.js';
import { migrate } from '../src/store/postgres/migrate.js';

async function main(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  if (!config.DATABASE_URL) {
    process.stderr.write('DATABASE_URL is not set: nothing to migrate (the embedded store in DATA_DIR needs no migration).\n');
    return 2;
  }
  const pool = await openPool(config.DATABASE_URL, undefined, 1);
  try {
    const applied = await migrate(pool);
    process.stdout.write(applied.length === 0 ? 'The database schema is up to date.\n' : `Applied migration(s) ${applied.join(', ')}.\n`);
    return 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  },
);
