/**
 * Keys are stored and compared only as keyed hashes (HMAC-SHA-256), so a copy of the database
 * does not reveal them and a hash cannot be brute-forced without the secret.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type KeyHasher = (normalisedKey: string) => string;

export function createKeyHasher(secret: string): KeyHasher {
  return (key) => createHmac('sha256', secret).update(key.replace(/-/g, '').toUpperCase()).digest('hex');
}

const SECRET_FILE = 'key-hash-secret';

/** The secret from the environment, or one generated into the data folder on first start. */
export async function loadKeyHashSecret(dataDir: string, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  const path = join(dataDir, SECRET_FILE);
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
