/** Starts the bot: configuration from the environment (and .env), then the app on the embedded defaults. */
import { existsSync } from 'node:fs';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { demoKeysBanner, mintDemoKeysIfEmpty } from './demoKeys.js';
import { createLogger } from './logger.js';
import { SecretFileError, SecretMismatchError } from './commerce/keyHasher.js';
import { DataDirLockedError, DataDirNotWritableError } from './store/instanceLock.js';
import { StoreFileError } from './store/jsonFile.js';
import { DatabaseError } from './store/postgres/database.js';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const log = createLogger(config.LOG_LEVEL);
  const app = await createApp({ config, log });
  const demoKeys = await mintDemoKeysIfEmpty(config, app.embeddedCommerce);
  const { url } = await app.start();
  log.info({ url, dataDir: config.DATA_DIR, localMode: config.localMode }, `listening on ${url}/api/messages`);
  if (demoKeys.length > 0) process.stdout.write(demoKeysBanner(demoKeys));

  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void app.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  // A bad setting or an unreadable database file must stop the bot with a plain message.
  const known = [ConfigError, StoreFileError, SecretFileError, SecretMismatchError, DataDirLockedError, DataDirNotWritableError, DatabaseError].some((type) => error instanceof type);
  process.stderr.write(`${known ? (error as Error).message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
