/**
 * Key catalogue of the embedded commerce default, as a distributor would issue key cards.
 *   npm run keys -- issue --product "Office 365 Business Premium" --seats 10 --months 12 --count 5
 *   npm run keys -- list [--status available|redeemed|blocked]
 *   npm run keys -- block --key XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
 * On the catalogue of DATABASE_URL when it is set (every instance shares it), else on the data
 * folder's files (beside a running bot). Issued keys are printed once and stored only as keyed hashes.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ensureSameSecret, createKeyHasher, loadKeyHashSecret } from '../src/commerce/keyHasher.js';
import { IssueRequestSchema, KeyIssuer } from '../src/commerce/keyIssuer.js';
import { loadConfig, type Config } from '../src/config.js';
import { normaliseKey } from '../src/domain/productKey.js';
import { openFileKeyCatalog } from '../src/store/files/commerce.js';
import { openPostgres } from '../src/store/postgres/index.js';
import type { CatalogKey, KeyCatalogRepository } from '../src/store/repositories.js';

const usage = `Usage:
  npm run keys -- issue --product "Office 365 Business Premium" --seats 10 --months 12 --count 5
  npm run keys -- list [--status available|redeemed|blocked]
  npm run keys -- block --key XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
On the database of DATABASE_URL when it is set, else on the files in DATA_DIR.`;

const STATUSES = ['available', 'redeemed', 'blocked'] as const;

/** The catalogue this run works on, and how to let go of it. */
async function openCatalog(config: Config): Promise<{ catalog: KeyCatalogRepository; close(): Promise<void> }> {
  if (config.DATABASE_URL) {
    const { pool, repositories } = await openPostgres(config.DATABASE_URL, { graceDays: config.GRACE_DAYS, deprovisionDays: config.DEPROVISION_DAYS });
    return { catalog: repositories.keyCatalog, close: () => pool.end() };
  }
  return { catalog: await openFileKeyCatalog(config.DATA_DIR), close: async () => undefined };
}

/** A key as the catalogue knows it: only its last group is kept. */
function describeKey(key: CatalogKey): string {
  return [`*****-*****-*****-*****-${key.lastGroup}`, key.status.padEnd(9), key.issuedAt.slice(0, 10), `${key.seats} seat(s)`, `${key.termMonths} month(s)`, key.product].join('  ');
}

async function run(command: string | undefined, values: Record<string, string | undefined>, config: Config, catalog: KeyCatalogRepository): Promise<number> {
  if (command === 'list') {
    const status = values.status;
    if (status !== undefined && !STATUSES.includes(status as CatalogKey['status'])) {
      process.stderr.write(`--status: one of ${STATUSES.join(', ')}\n${usage}\n`);
      return 2;
    }
    const keys = await catalog.list(status as CatalogKey['status'] | undefined);
    process.stdout.write(keys.map((key) => `${describeKey(key)}\n`).join('') + `${keys.length} key(s)${status ? ` ${status}` : ''}.\n`);
    return 0;
  }
  if (command !== 'issue' && !(command === 'block' && values.key)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  // Keys are found by their hash: minting or blocking with another secret than the bot's would miss them.
  const secret = await loadKeyHashSecret(config.DATA_DIR, config.KEY_HASH_SECRET);
  await ensureSameSecret(catalog, secret);
  const issuer = new KeyIssuer(catalog, createKeyHasher(secret), () => new Date());
  if (command === 'issue') {
    const request = IssueRequestSchema.safeParse({ product: values.product, seats: Number(values.seats), months: Number(values.months), count: Number(values.count) });
    if (!request.success) {
      const lines = request.error.issues.map((issue) => `  --${issue.path.join('.')}: ${issue.message}`);
      process.stderr.write(`${lines.join('\n')}\n${usage}\n`);
      return 2;
    }
    const keys = await issuer.issueKeys(request.data);
    const { product, seats, months } = request.data;
    process.stdout.write(`${keys.length} key(s) for ${product}, ${seats} seat(s), ${months} month(s). Shown only now:\n${keys.join('\n')}\n`);
    return 0;
  }
  const key = normaliseKey(values.key!);
  if (!('key' in key)) {
    process.stderr.write('That is not a product key (25 letters and digits).\n');
    return 2;
  }
  const blocked = await issuer.blockKey(key.key);
  process.stdout.write(blocked ? 'The key is blocked.\n' : 'No such key in the catalogue.\n');
  return blocked ? 0 : 1;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { product: { type: 'string' }, seats: { type: 'string' }, months: { type: 'string' }, count: { type: 'string', default: '1' }, key: { type: 'string' }, status: { type: 'string' } },
  });
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const { catalog, close } = await openCatalog(config);
  try {
    return await run(positionals[0], values, config, catalog);
  } finally {
    await close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
