// Loading, validating and zipping the Teams app package; shared by
// scripts/package-manifest.ts and test/manifest.test.ts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import type { ErrorObject, Options } from 'ajv';
import { strToU8, zipSync } from 'fflate';

export const manifestDir = fileURLToPath(new URL('../manifest/', import.meta.url));

/** Everything Teams needs at the root of the app package zip. */
export const packageFiles = ['manifest.json', 'de.json', 'color.png', 'outline.png'] as const;

export const APP_ID_VARIABLE = 'MicrosoftAppId';
const BOT_ID_PLACEHOLDER = '${{BOT_ID}}';
const GUID = /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

/** The bot's Microsoft App ID from the environment; throws a message naming the variable. */
export function readAppId(env: NodeJS.ProcessEnv = process.env): string {
  const appId = env[APP_ID_VARIABLE]?.trim();
  if (!appId) {
    throw new Error(`${APP_ID_VARIABLE} is not set. Set it to the bot's Microsoft App ID (a GUID) before packaging.`);
  }
  if (!GUID.test(appId)) {
    throw new Error(`${APP_ID_VARIABLE} must be a GUID like 00000000-0000-0000-0000-000000000000, got "${appId}".`);
  }
  return appId;
}

/** manifest/manifest.json with every `${{BOT_ID}}` replaced by appId. */
export function loadManifest(appId: string): object {
  // Substituting in the text covers the app id and the bot id alike.
  const text = readFileSync(join(manifestDir, 'manifest.json'), 'utf8').replaceAll(BOT_ID_PLACEHOLDER, appId);
  return JSON.parse(text) as object;
}

export function loadLocalization(file = 'de.json'): object {
  return JSON.parse(readFileSync(join(manifestDir, file), 'utf8')) as object;
}

// The official schemas ship as plain files in @microsoft/app-manifest (its index module is unusable).
// CommonJS interop under NodeNext: TypeScript types the default import as the
// module object; both packages also export themselves as `.default`.
const Ajv04 = ajvDraft04.default;
const addFormats = ajvFormats.default;

const schemaDir = join(
  dirname(createRequire(import.meta.url).resolve('@microsoft/app-manifest/package.json')),
  'build/json-schemas/teams/v1.22',
);

function compile(file: string, options: Options = {}) {
  // Both schemas are draft-04; strict:false tolerates their loose typing.
  const ajv = new Ajv04({ allErrors: true, strict: false, ...options });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(join(schemaDir, file), 'utf8')) as object);
  return (data: unknown): string[] => (validate(data) ? [] : (validate.errors ?? []).map(formatError));
}

function formatError(e: ErrorObject): string {
  const detail = 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : '';
  return `${e.instancePath || '/'} ${e.message ?? e.keyword}${detail}`;
}

/** Problems with a (substituted) manifest against the Teams v1.22 schema; [] when valid. */
export const validateManifest = compile('MicrosoftTeams.schema.json');

/** Problems with a localization file; the schema has a regex that is invalid under the `u` flag. */
export const validateLocalization = compile('MicrosoftTeams.Localization.schema.json', { unicodeRegExp: false });

/**
 * The app package zip for the App ID in env. Throws, listing every problem,
 * rather than produce a package Teams would reject on upload.
 */
export function buildPackage(env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const manifest = loadManifest(readAppId(env));
  const problems = [
    ...validateManifest(manifest).map((p) => `manifest.json ${p}`),
    ...validateLocalization(loadLocalization()).map((p) => `de.json ${p}`),
  ];
  if (problems.length > 0) throw new Error(`The app package is invalid:\n  ${problems.join('\n  ')}`);

  const files: Record<string, Uint8Array> = {};
  for (const name of packageFiles) files[name] = readFileSync(join(manifestDir, name));
  files['manifest.json'] = strToU8(JSON.stringify(manifest, null, 2));
  return zipSync(files);
}
