/**
 * Keys are stored and compared only as keyed hashes (HMAC-SHA-256), so a copy of the database
 * does not reveal them and a hash cannot be brute-forced without the secret.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyCatalogRepository } from '../store/repositories.js';

export type KeyHasher = (normalisedKey: string) => string;

export function createKeyHasher(secret: string): KeyHasher {
  // The secret's bytes made into a key once, not on every hash (a key check hashes more than once).
  const secretKey = createSecretKey(Buffer.from(secret, 'utf8'));
  return (key) => createHmac('sha256', secretKey).update(key.replace(/-/g, '').toUpperCase()).digest('hex');
}

const SECRET_FILE = 'key-hash-secret';

export class SecretFileError extends Error {
  constructor(readonly path: string) {
    super(`The key-hash secret in ${path} is damaged (shorter than 32 characters). Restore it from the backup of the data folder; without it the stored keys cannot be recognised.`);
  }
}

/** The secret from the environment, or one generated into the data folder on first start. */
export async function loadKeyHashSecret(dataDir: string, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  const path = join(dataDir, SECRET_FILE);
  if (existsSync(path)) {
    const secret = (await readFile(path, 'utf8')).trim();
    // A damaged secret would silently make every stored key unrecognisable, so refuse to start.
    if (secret.length < 32) throw new SecretFileError(path);
    return secret;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
  return secret;
}

/** What the store keeps of the secret: a keyed hash of a fixed text, from which the secret cannot be had. */
export function secretCheckOf(secret: string): string {
  return createHmac('sha256', secret).update('partner-setup-bot: key-hash secret check').digest('hex');
}

export class SecretMismatchError extends Error {
  constructor() {
    super(
      'The key-hash secret differs from the one the key catalogue was made with, so no stored key would be recognised. Set KEY_HASH_SECRET to that secret on every instance and for the key CLI (without KEY_HASH_SECRET, the key-hash-secret file of the data folder is used).',
    );
  }
}

/**
 * Makes sure every instance and the key CLI hash with one secret: the first to use a catalogue records
 * the secret's check value in it, and anyone with another secret is refused (SecretMismatchError).
 */
export async function ensureSameSecret(catalog: Pick<KeyCatalogRepository, 'recordSecretCheck'>, secret: string): Promise<void> {
  const check = secretCheckOf(secret);
  if ((await catalog.recordSecretCheck(check)) !== check) throw new SecretMismatchError();
}
