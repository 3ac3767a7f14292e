/**
 * Mocha root hook (registered in .mocharc.json): after all suites, no log file and no database file
 * of the run may hold a product key in full, with or without hyphens, in any case. It first checks
 * that it knows every key in the bots' catalogues in plain text, so that a key minted out of its
 * sight cannot slip through unchecked.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createKeyHasher } from '../../src/commerce/keyHasher.js';
import { productKeysSeen } from './productKeysSeen.js';
import { filesUnder, scanForKeys } from './secretScan.js';
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
    // Also keys a test pasted into a name or a message: the bot masks them there as well.
    for (const hit of scan.hits) problems.push(`${hit.file} holds the product key ending in ${hit.lastGroup} in full`);
    const ms = Math.round(performance.now() - started);
    console.log(
      `\n  secrets scan: ${scan.files} files of ${bots.length} bots scanned (${(scan.bytes / 1e6).toFixed(1)} MB), ${scan.keys} product keys checked, ` +
        `hits: ${scan.hits.length} (${ms} ms)`,
    );
    if (problems.length > 0) throw new Error(`Product keys must never be logged or stored in full:\n${problems.join('\n')}\nThe run's files are kept in ${keepRunFolder()}.`);
  },
};
