/**
 * Keys are stored and compared only as keyed hashes (HMAC-SHA-256), so a copy of the database
 * does not reveal them and a hash cannot be brute-forced without the secret.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type KeyHasher = (normalisedKey: string) => string;

export function createKeyHasher(secret: string): KeyHasher {
  return (key) => createHmac('sha256', secret).update(key.replace(/-/g, '').toUpperCase()).digest('hex');
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
