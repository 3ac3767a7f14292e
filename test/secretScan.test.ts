/** The secrets scan run after all suites (test/support/secrets.hooks.ts) finds a key however it was written. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startBot } from './support/botHarness.js';
import { FakeConnector } from './support/connector.js';
import { productKeysSeen } from './support/productKeysSeen.js';
import { partnerFile } from './support/journeys.js';
import pg from 'pg';
import { freshDatabase } from './support/postgres.js';
import { databaseTables, keysIn, scanForKeys, scanTexts } from './support/secretScan.js';
import { TeamsUser } from './support/teams.js';

const KEY = 'VK7JG-NPHTM-C97JM-9MPGT-3V66T';
const WANTED = new Set([KEY.replace(/-/g, '')]);

describe('the secrets scan', () => {
  it('finds a key with or without hyphens, spaced, in any case, inside other text', () => {
    for (const text of [KEY, KEY.replace(/-/g, ''), KEY.toLowerCase(), KEY.replace(/-/g, ' '), `{"msg":"typed ${KEY.toLowerCase().replace(/-/g, '')}X1"}`, `abc123${KEY.replace(/-/g, '')}def`]) {
      expect([...keysIn(text, WANTED)], text).to.deep.equal([KEY.replace(/-/g, '')]);
    }
  });

  it('does not count the last group, a part of a key or a key with one character changed', () => {
    for (const text of ['•••••-•••••-•••••-•••••-3V66T', KEY.slice(0, 28), KEY.replace('C97JM', 'C97JN'), KEY.replace(/-/g, '_')]) {
      expect([...keysIn(text, WANTED)], text).to.deep.equal([]);
    }
  });

  it('names each file that holds a key, by the key’s last group only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psb-scan-'));
    try {
      await writeFile(join(dir, 'clean.log'), '{"level":30,"msg":"turn"}\n');
      await writeFile(join(dir, 'leak.json'), Buffer.from(`\u00ff\u0000{"key":"${KEY.toLowerCase()}"}`, 'latin1'));
      const result = await scanForKeys([join(dir, 'clean.log'), join(dir, 'leak.json')], [KEY, 'BBBBB-BBBBB-BBBBB-BBBBB-BBBBB']);
      expect(result).to.deep.include({ files: 2, keys: 2, hits: [{ file: join(dir, 'leak.json'), key: KEY.replace(/-/g, ''), lastGroup: '3V66T' }] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names each table of a database that holds a key, in a text, an array or a JSON column', async function () {
    const url = await freshDatabase(this);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('CREATE TABLE clean (note text); CREATE TABLE entries (keys text[], details jsonb); CREATE TABLE empty (x int)');
      await client.query("INSERT INTO clean VALUES ('•••••-•••••-•••••-•••••-3V66T')");
      await client.query('INSERT INTO entries VALUES ($1, $2)', [['x'], { typed: KEY.toLowerCase().replace(/-/g, ' ') }]);
    } finally {
      await client.end();
    }
    const result = scanTexts('db', await databaseTables(url), [KEY]);
    expect(result).to.deep.include({ files: 3, hits: [{ file: 'db#entries', key: KEY.replace(/-/g, ''), lastGroup: '3V66T' }] });
  });

  it('knows every key a test typed into a bot, even one never minted; a key in a display name is stored masked', async () => {
    const bot = await startBot();
    const connector = await new FakeConnector().start();
    try {
      const asName = 'MMMMM-NNNNN-PPPPP-QQQQQ-RRRRR';
      const anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: 'a1b2c3d4-0000-4000-8000-00000000005c', userId: 'anna', name: `Anna ${asName}` });
      const [entry] = await anna.say('redeem');
      const made = 'qqqqq-wwwww-rrrrr-ttttt-yyyyy';
      await anna.press(entry!, 'Next', { key0: `${made}\n${KEY.replace(/-/g, ' ')}` });
      expect([...productKeysSeen()]).to.include.members([made.toUpperCase(), KEY]).and.not.include(asName);
      const member = (await partnerFile(bot.dataDir, 'a1b2c3d4-0000-4000-8000-00000000005c')).members.anna;
      expect(member.name, 'the name, its key masked').to.equal('Anna •••••-•••••-•••••-•••••-RRRRR');
    } finally {
      await bot.stop();
      await connector.stop();
    }
  });
});
