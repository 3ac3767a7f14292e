/**
 * `npm run keys` as an operator runs it, on the files of a data folder and on the PostgreSQL database
 * of DATABASE_URL: keys it mints are the ones the embedded commerce then finds (same secret, same
 * hashes), it lists only last groups, blocks, and refuses a key-hash secret the catalogue was not made with.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EmbeddedCommerce, type CommerceRepositories } from '../src/commerce/embeddedCommerce.js';
import { createKeyHasher } from '../src/commerce/keyHasher.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';
import { openFileCommerce } from '../src/store/files/commerce.js';
import type { Pool } from '../src/store/postgres/database.js';
import { openPostgres } from '../src/store/postgres/index.js';
import { freshDatabase } from './support/postgres.js';
import { runScript } from './support/scripts.js';


const keysCli = (env: Record<string, string>, ...args: string[]) => runScript('keys.ts', env, ...args);

const KEY = /^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$/;

interface Catalogue {
  env: Record<string, string>;
  /** The secret the bot of this store hashes with, once the CLI has run. */
  secret(): Promise<string>;
  repositories(): Promise<CommerceRepositories>;
  close(): Promise<void>;
}

const STORES: Array<[name: string, open: (context: Mocha.Context, dir: string) => Promise<Catalogue>]> = [
  [
    'the files of DATA_DIR',
    async (_context, dir) => ({
      env: { DATA_DIR: dir },
      // Generated into the data folder by the first run, as the bot does at its first start.
      secret: async () => (await readFile(join(dir, 'key-hash-secret'), 'utf8')).trim(),
      repositories: () => openFileCommerce(dir),
      close: async () => undefined,
    }),
  ],
  [
    'the PostgreSQL database of DATABASE_URL',
    async (context, dir) => {
      const url = await freshDatabase(context);
      const secret = randomBytes(32).toString('hex');
      const pools: Pool[] = [];
      return {
        env: { DATA_DIR: dir, DATABASE_URL: url, KEY_HASH_SECRET: secret },
        secret: async () => secret,
        async repositories() {
          const { pool, repositories } = await openPostgres(url, DEFAULT_LIFECYCLE);
          pools.push(pool);
          return repositories;
        },
        close: async () => void (await Promise.all(pools.map((pool) => pool.end()))),
      };
    },
  ],
];

for (const [name, open] of STORES) {
  describe(`npm run keys on ${name}`, function () {
    this.timeout(120_000);
    let dir: string;
    let catalogue: Catalogue;
    before(async function () {
      dir = await mkdtemp(join(tmpdir(), 'keys-cli-'));
      catalogue = await open(this, dir);
    });
    after(async () => {
      await catalogue?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('mints keys the embedded commerce finds, lists them by last group only, and blocks one', async () => {
      const issued = await keysCli(catalogue.env, 'issue', '--product', 'Office 365 E3', '--seats', '5', '--months', '12', '--count', '2');
      expect(issued.stderr).to.equal('');
      expect(issued.code).to.equal(0);
      const keys = issued.stdout.split('\n').filter((line) => KEY.test(line));
      expect(keys).to.have.length(2);

      const commerce = await EmbeddedCommerce.open(await catalogue.repositories(), createKeyHasher(await catalogue.secret()), () => new Date());
      for (const key of keys) expect(await commerce.checkKey(key)).to.deep.include({ status: 'valid', product: 'Office 365 E3', seats: 5, termMonths: 12 });

      const listed = await keysCli(catalogue.env, 'list');
      expect(listed.code).to.equal(0);
      for (const key of keys) {
        expect(listed.stdout).to.include(`*****-*****-*****-*****-${key.slice(-5)}  available`);
        expect(listed.stdout).not.to.include(key.slice(0, 11));
      }
      expect(listed.stdout).to.match(/^2 key\(s\)\.$/m);

      const blocked = await keysCli(catalogue.env, 'block', '--key', keys[0]!.toLowerCase());
      expect(blocked.stdout).to.equal('The key is blocked.\n');
      expect(blocked.code).to.equal(0);
      expect(await commerce.checkKey(keys[0]!)).to.deep.equal({ status: 'blocked' });
      expect((await keysCli(catalogue.env, 'list', '--status', 'blocked')).stdout).to.match(new RegExp(`${keys[0]!.slice(-5)}  blocked[^\\n]*\\n1 key\\(s\\) blocked\\.\\n$`));
      const unknown = await keysCli(catalogue.env, 'block', '--key', 'BBBBB-BBBBB-BBBBB-BBBBB-BBBBB');
      expect([unknown.code, unknown.stdout]).to.deep.equal([1, 'No such key in the catalogue.\n']);
    });

    it('refuses to mint or block with another key-hash secret than the catalogue was made with, and changes nothing', async () => {
      const before = (await keysCli(catalogue.env, 'list')).stdout;
      const other = { ...catalogue.env, KEY_HASH_SECRET: randomBytes(32).toString('hex') };
      const refused = await keysCli(other, 'issue', '--product', 'Office 365 E3', '--seats', '5', '--months', '12');
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include('The key-hash secret differs from the one the key catalogue was made with');
      expect(refused.stdout).to.equal('');
      expect((await keysCli(catalogue.env, 'list')).stdout).to.equal(before);
    });

    it('says what is wrong with a bad request', async () => {
      const bad = await keysCli(catalogue.env, 'issue', '--product', 'Office 365 E3', '--seats', '0', '--months', '12');
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.include('--seats');
      const status = await keysCli(catalogue.env, 'list', '--status', 'lost');
      expect(status.code).to.equal(2);
      expect(status.stderr).to.include('--status: one of available, redeemed, blocked');
    });
  });
}
