/**
 * Mocha root hook (registered in .mocharc.json): after all suites, no log file, no database file and
 * no table of a bot's PostgreSQL database (audit entries included) may hold a product key in full,
 * with or without hyphens, in any case. It first checks that it knows every key in the bots'
 * catalogues in plain text, so that a key minted out of its sight cannot slip through unchecked.
 *
 * A database is read while its server still runs: a suite's own server is scanned as the suite stops
 * it, the shared one at the end, by this hook or, should postgres.hooks.ts stop it first (the order
 * of `--require`), as it stops.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createKeyHasher } from '../../src/commerce/keyHasher.js';
import { beforeServerStops } from './postgres.js';
import { productKeysSeen } from './productKeysSeen.js';
import { databaseTables, filesUnder, scanForKeys, scanTexts, type KeyHit } from './secretScan.js';
import { botsOfRun, keepRunFolder, runFolder, type BotTrace } from './testRun.js';

/** Key hashes in a bot's catalogue (`*.json`, its backups hold no other keys) that no known key has. */
async function unknownCatalogueKeys(bot: BotTrace, keys: ReadonlySet<string>): Promise<number> {
  const dir = join(bot.dataDir, 'commerce', 'catalog');
  const hash = createKeyHasher(bot.keyHashSecret);
  const known = new Set([...keys].map(hash));
  let unknown = 0;
  for (const file of (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json'))) {
    unknown += Object.keys(JSON.parse(await readFile(join(dir, file), 'utf8')).keys).filter((ref) => !known.has(ref)).length;
  }
  return unknown;
}

/** Key hashes in a bot's catalogue on PostgreSQL that no known key has. */
function unknownDatabaseKeys(bot: BotTrace, keys: ReadonlySet<string>, tables: ReadonlyMap<string, string>): number {
  const hash = createKeyHasher(bot.keyHashSecret);
  const known = new Set([...keys].map(hash));
  const rows = (tables.get('commerce_keys') ?? '').split('\n').filter((row) => row !== '');
  return rows.map((row) => JSON.parse(row).ref as string).filter((ref) => !known.has(ref)).length;
}

/** What the scan of the databases found so far. */
const databases = { scanned: new Set<string>(), tables: 0, bytes: 0, hits: [] as KeyHit[], problems: [] as string[] };

/** Scans the bots' databases not scanned yet (those on the server of `adminUrl` when given); never throws, it notes problems. */
async function scanDatabases(adminUrl?: string): Promise<void> {
  const keys = productKeysSeen();
  const host = (url: string) => new URL(url).host;
  for (const bot of botsOfRun()) {
    const url = bot.databaseUrl;
    if (url === undefined || databases.scanned.has(url) || (adminUrl !== undefined && host(url) !== host(adminUrl))) continue;
    databases.scanned.add(url);
    // A server of your own (PG_TEST_URL) may have a password in its URL: never print it.
    const shown = Object.assign(new URL(url), { password: '' }).toString();
    try {
      const tables = await databaseTables(url);
      const unknown = unknownDatabaseKeys(bot, keys, tables);
      if (unknown > 0) databases.problems.push(`${shown}: ${unknown} catalogue keys were minted where the scan cannot see them in plain text`);
      const scan = scanTexts(shown, tables, keys);
      databases.tables += scan.files;
      databases.bytes += scan.bytes;
      databases.hits.push(...scan.hits);
    } catch (error) {
      databases.problems.push(`${shown} could not be scanned: ${(error as Error).message}`);
    }
  }
}
beforeServerStops(scanDatabases);

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    const started = performance.now();
    const bots = botsOfRun();
    const keys = productKeysSeen();
    const problems: string[] = [];
    for (const bot of bots) {
      const unknown = await unknownCatalogueKeys(bot, keys);
      if (unknown > 0) problems.push(`${bot.dataDir}: ${unknown} catalogue keys were minted where the scan cannot see them in plain text`);
    }
    // The run folder holds every bot's log and data; a test's own data folder is scanned while it exists.
    const outside = bots.map((bot) => bot.dataDir).filter((dir) => !dir.startsWith(runFolder()));
    const files = (await Promise.all([runFolder(), ...outside].map(filesUnder))).flat();
    const scan = await scanForKeys(files, keys);
    await scanDatabases();
    problems.push(...databases.problems);
    const hits = [...scan.hits, ...databases.hits];
    // Also keys a test pasted into a name or a message: the bot masks them there as well.
    for (const hit of hits) problems.push(`${hit.file} holds the product key ending in ${hit.lastGroup} in full`);
    const ms = Math.round(performance.now() - started);
    const tables = databases.scanned.size > 0 ? ` and ${databases.tables} tables of ${databases.scanned.size} databases (${(databases.bytes / 1e6).toFixed(1)} MB)` : '';
    console.log(
      `\n  secrets scan: ${scan.files} files of ${bots.length} bots (${(scan.bytes / 1e6).toFixed(1)} MB)${tables} scanned, ${scan.keys} product keys checked, ` +
        `hits: ${hits.length} (${ms} ms)`,
    );
    if (problems.length > 0) throw new Error(`Product keys must never be logged or stored in full:\n${problems.join('\n')}\nThe run's files are kept in ${keepRunFolder()}.`);
  },
};
