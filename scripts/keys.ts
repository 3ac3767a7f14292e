/**
 * Key catalogue of the embedded commerce default, as a distributor would issue key cards.
 *   npm run keys -- issue --product "Office 365 Business Premium" --seats 10 --months 12 --count 5
 *   npm run keys -- block --key XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
 * Issued keys are printed once and stored only as keyed hashes.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EmbeddedCommerce, IssueRequestSchema } from '../src/commerce/embeddedCommerce.js';
import { createKeyHasher, loadKeyHashSecret } from '../src/commerce/keyHasher.js';
import { loadConfig } from '../src/config.js';
import { normaliseKey } from '../src/domain/productKey.js';

const usage = `Usage:
  npm run keys -- issue --product "Office 365 Business Premium" --seats 10 --months 12 --count 5
  npm run keys -- block --key XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { product: { type: 'string' }, seats: { type: 'string' }, months: { type: 'string' }, count: { type: 'string', default: '1' }, key: { type: 'string' } },
  });
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const hash = createKeyHasher(await loadKeyHashSecret(config.DATA_DIR, config.KEY_HASH_SECRET));
  const commerce = await EmbeddedCommerce.forKeyIssuing(config.DATA_DIR, hash, () => new Date());

  if (positionals[0] === 'issue') {
    const request = IssueRequestSchema.safeParse({ product: values.product, seats: Number(values.seats), months: Number(values.months), count: Number(values.count) });
    if (!request.success) {
      const lines = request.error.issues.map((issue) => `  --${issue.path.join('.')}: ${issue.message}`);
      process.stderr.write(`${lines.join('\n')}\n${usage}\n`);
      return 2;
    }
    const keys = await commerce.issueKeys(request.data);
    const { product, seats, months } = request.data;
    process.stdout.write(`${keys.length} key(s) for ${product}, ${seats} seat(s), ${months} month(s). Shown only now:\n${keys.join('\n')}\n`);
    return 0;
  }
  if (positionals[0] === 'block' && values.key) {
    const key = normaliseKey(values.key);
    if (!('key' in key)) {
      process.stderr.write('That is not a product key (25 letters and digits).\n');
      return 2;
    }
    const blocked = await commerce.blockKey(key.key);
    process.stdout.write(blocked ? 'The key is blocked.\n' : 'No such key in the catalogue.\n');
    return blocked ? 0 : 1;
  }
  process.stderr.write(`${usage}\n`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
