// Builds the Teams app package: npx tsx scripts/package-manifest.ts [output.zip]
// Needs MicrosoftAppId (the bot's App ID, a GUID) in the environment.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackage } from './manifest.js';

const defaultOutput = fileURLToPath(new URL('../dist/partner-setup-bot.zip', import.meta.url));
const output = resolve(process.argv[2] ?? defaultOutput);

try {
  const zip = buildPackage();
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, zip);
  console.log(`Wrote ${output}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
