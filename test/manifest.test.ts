import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { strFromU8, unzipSync } from 'fflate';
import {
  APP_ID_VARIABLE,
  buildPackage,
  loadLocalization,
  loadManifest,
  manifestDir,
  packageFiles,
  readAppId,
  validateLocalization,
  validateManifest,
} from '../scripts/manifest.js';
import { decodeRgba8, readPngHeader } from './support/png.js';

const APP_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const COMMANDS = {
  personal: ['redeem', 'customers', 'profile', 'reminders', 'help', 'cancel'],
  // A channel has no setups (they happen in a personal chat), but is where reminders can be sent.
  team: ['customers', 'profile', 'reminders', 'send reminders here', 'help'],
};
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface Manifest {
  id: string;
  bots: { botId: string; commandLists: { scopes: string[]; commands: { title: string }[] }[] }[];
}

describe('Teams app manifest', () => {
  const manifest = loadManifest(APP_ID) as Manifest;

  it('is valid against the v1.22 schema once the App ID is filled in', () => {
    expect(validateManifest(manifest)).to.deep.equal([]);
    expect(manifest.id).to.equal(APP_ID);
    expect(manifest.bots[0]?.botId).to.equal(APP_ID);
  });

  it('is refused by the validator while the placeholder is still in it', () => {
    // Proves the validator is not vacuous: `${{BOT_ID}}` is not a GUID.
    const raw = JSON.parse(readFileSync(join(manifestDir, 'manifest.json'), 'utf8')) as object;
    expect(validateManifest(raw)).to.include.members(['/id must match pattern "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"']);
  });

  it('lists the bot commands for personal and team scopes', () => {
    const lists = manifest.bots[0]?.commandLists ?? [];
    expect(lists.map((l) => l.scopes)).to.deep.equal([['personal'], ['team']]);
    expect(lists[0]?.commands.map((c) => c.title)).to.deep.equal(COMMANDS.personal);
    expect(lists[1]?.commands.map((c) => c.title)).to.deep.equal(COMMANDS.team);
  });

  it('has a German localization valid against the localization schema', () => {
    expect(validateLocalization(loadLocalization('de.json'))).to.deep.equal([]);
  });

  it('translates every command in de.json', () => {
    const de = loadLocalization('de.json') as Record<string, unknown>;
    manifest.bots[0]?.commandLists.forEach((list, i) =>
      list.commands.forEach((_, j) => {
        for (const field of ['title', 'description']) {
          expect(de[`bots[0].commandLists[${i}].commands[${j}].${field}`], `${i}/${j} ${field}`).to.be.a('string').and.not.empty;
        }
      }),
    );
  });

  it('rejects an incomplete localization file', () => {
    expect(validateLocalization({ 'name.short': 'x', 'bogus.key': 'y' })).to.include.members([
      "/ must have required property 'description.short'",
      '/ must NOT have additional properties: bogus.key',
    ]);
  });
});

describe('Teams app icons', () => {
  const icon = (name: string) => readFileSync(join(manifestDir, name));

  it('color.png is 192×192', () => {
    expect(readPngHeader(icon('color.png'))).to.include({ width: 192, height: 192 });
  });

  it('outline.png is 32×32 and only white or transparent', () => {
    const png = icon('outline.png');
    expect(readPngHeader(png)).to.include({ width: 32, height: 32 });
    const pixels = decodeRgba8(png);
    let visible = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i + 3] === 0) continue;
      visible++;
      expect([...pixels.subarray(i, i + 3)], `pixel ${i / 4}`).to.deep.equal([255, 255, 255]);
    }
    expect(visible, 'visible pixels').to.be.greaterThan(0);
  });
});

describe('Teams app package', () => {
  it('zips the four files with the App ID filled in', () => {
    const files = unzipSync(buildPackage({ [APP_ID_VARIABLE]: APP_ID }));
    expect(Object.keys(files)).to.have.members([...packageFiles]);
    expect(JSON.parse(strFromU8(files['manifest.json']!))).to.deep.equal(loadManifest(APP_ID));
    expect(Buffer.from(files['outline.png']!).equals(readFileSync(join(manifestDir, 'outline.png')))).to.equal(true);
  });

  it('refuses a missing or non-GUID MicrosoftAppId', () => {
    expect(() => buildPackage({})).to.throw(/MicrosoftAppId is not set/);
    expect(() => buildPackage({ [APP_ID_VARIABLE]: 'my-bot' })).to.throw(/MicrosoftAppId must be a GUID/);
    expect(readAppId({ [APP_ID_VARIABLE]: ` ${APP_ID}\n` })).to.equal(APP_ID);
  });

  describe('scripts/package-manifest.ts', () => {
    let outDir = '';
    let output = '';
    before(() => {
      outDir = mkdtempSync(join(tmpdir(), 'partner-setup-bot-'));
      output = join(outDir, 'app.zip');
    });
    after(() => rmSync(outDir, { recursive: true, force: true }));
    const run = (appId: string | undefined) => {
      const env = { ...process.env };
      delete env[APP_ID_VARIABLE];
      if (appId !== undefined) env[APP_ID_VARIABLE] = appId;
      return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/package-manifest.ts', output], {
        cwd: repoRoot,
        env,
        encoding: 'utf8',
      });
    };

    it('exits with an error naming the variable when MicrosoftAppId is missing', () => {
      const result = run(undefined);
      expect(result.status).to.equal(1);
      expect(result.stderr).to.contain('MicrosoftAppId is not set');
      expect(existsSync(output)).to.equal(false);
    });

    it('writes the zip to the path given on the command line', () => {
      const result = run(APP_ID);
      expect(result.status, result.stderr).to.equal(0);
      expect(Object.keys(unzipSync(readFileSync(output)))).to.have.members([...packageFiles]);
    });
  });
});
