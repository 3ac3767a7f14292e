/**
 * Copies the file store of a data folder into the PostgreSQL database of DATABASE_URL (migrated
 * first): npm run db:import -- --from ./data [--force]
 *
 * Refuses a database that holds data unless --force (then copies what is missing and keeps what is
 * there). Idempotent: a second run changes nothing. Prints the counts on both sides and exits 1 when
 * they do not bear the copy out. It takes the data folder's instance lock, so it does not run
 * while a bot does on the folder: the files must not change while they are read.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadKeyHashSecret, secretCheckOf } from '../src/commerce/keyHasher.js';
import { loadConfig } from '../src/config.js';
import { FileAuditLog } from '../src/store/auditFile.js';
import { openFileRepositories } from '../src/store/files/index.js';
import { COUNTED, importFileStore, ImportRefused } from '../src/store/importFiles.js';
import { lockDataDir } from '../src/store/instanceLock.js';
import { openPostgres } from '../src/store/postgres/index.js';
import { describeUrl } from '../src/store/postgres/database.js';

/** Where the bot keeps the secret it generated (src/commerce/keyHasher.ts) when KEY_HASH_SECRET is not set. */
const SECRET_FILE = 'key-hash-secret';

const USAGE = 'Usage: DATABASE_URL=postgres://… npm run db:import -- --from DATA_DIR [--force]\n';

function secretAdvice(dataDir: string, fromEnv: boolean): string {
  const file = join(dataDir, SECRET_FILE);
  const lines = ['', 'Product keys are stored as keyed hashes; the hashes were copied as they are, and stay valid only with the same secret.'];
  if (fromEnv) lines.push('The bot on these files used KEY_HASH_SECRET from the environment: set the same KEY_HASH_SECRET on every instance that uses the database.');
  else if (existsSync(file)) lines.push(`The bot on these files generated its secret into ${file}: set KEY_HASH_SECRET on every instance that uses the database to the contents of that file (it is not printed here, and not stored in the database, so a copy of the database does not reveal the keys).`);
  else lines.push(`No ${SECRET_FILE} in ${dataDir} and no KEY_HASH_SECRET set: no key catalogue was made with these files, or the secret went elsewhere; without it the copied key hashes cannot be recognised.`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { from: { type: 'string' }, force: { type: 'boolean', default: false } } });
  if (!values.from) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  if (!config.DATABASE_URL) {
    process.stderr.write(`DATABASE_URL is not set: the database to copy into.\n${USAGE}`);
    return 2;
  }
  const dataDir = resolve(values.from);
  if (!existsSync(join(dataDir, 'partners')) && !existsSync(join(dataDir, 'setups')) && !existsSync(join(dataDir, 'commerce'))) {
    process.stderr.write(`${dataDir} holds no file store (no partners, setups or commerce folder).\n`);
    return 2;
  }
  const lifecycle = { graceDays: config.GRACE_DAYS, deprovisionDays: config.DEPROVISION_DAYS };
  // The database first: a wrong DATABASE_URL stops the run before the files are opened.
  const { pool, repositories } = await openPostgres(config.DATABASE_URL, lifecycle);
  // The files must not change while they are read: a bot running on the folder stops the import.
  const instance = await lockDataDir(dataDir).catch(async (error: unknown) => {
    await pool.end();
    throw error;
  });
  const source = await openFileRepositories(dataDir, lifecycle).catch(async (error: unknown) => {
    await Promise.all([pool.end(), instance.release()]);
    throw error;
  });
  try {
    process.stdout.write(`Copying ${dataDir} into ${describeUrl(config.DATABASE_URL)}…\n`);
    const secret = config.KEY_HASH_SECRET ?? (existsSync(join(dataDir, SECRET_FILE)) ? await loadKeyHashSecret(dataDir, undefined) : undefined);
    const result = await importFileStore(source, repositories, pool, { force: values.force, now: new Date(), trail: FileAuditLog.in(dataDir), ...(secret ? { secretCheck: secretCheckOf(secret) } : {}) });
    const width = Math.max(...COUNTED.map((name) => name.length));
    process.stdout.write(`\n${'what'.padEnd(width)}  files  database (before)\n`);
    for (const name of COUNTED) process.stdout.write(`${name.padEnd(width)}  ${String(result.files[name]).padStart(5)}  ${String(result.database[name]).padStart(8)} (${result.before[name]})${result.mismatches.includes(name) ? '  MISMATCH' : ''}\n`);
    const left = Object.entries(result.skipped).filter(([, n]) => n > 0);
    if (left.length > 0) process.stdout.write(`\nNot copied: ${left.map(([what, n]) => `${what} ${n}`).join(', ')} (why: Skipped in src/store/importFiles.ts).\n`);
    process.stdout.write(secretAdvice(dataDir, config.KEY_HASH_SECRET !== undefined));
    if (result.mismatches.length > 0) {
      process.stderr.write(`\nThe counts do not bear the copy out for: ${result.mismatches.join(', ')}.\n`);
      return 1;
    }
    process.stdout.write('\nThe counts match: the copy is complete.\n');
    return 0;
  } finally {
    await pool.end();
    await source.close();
    await instance.release();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`${error instanceof ImportRefused ? '' : 'Import failed: '}${error.message}\n`);
    process.exitCode = error instanceof ImportRefused ? 3 : 1;
  },
);
