/**
 * The store the bot runs on: PostgreSQL when DATABASE_URL is set (any number of instances share
 * it), otherwise the files in DATA_DIR (one process, which takes the folder's lock before anything
 * else). The rest of the app sees only the repositories, the audit trail and these few answers.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import type { LifecycleDays } from '../domain/lifecycle.js';
import { FileAuditLog } from './auditFile.js';
import type { AuditLog } from './auditLog.js';
import { AuditRecorder } from './auditOutbox.js';
import { StoreWriteError } from './documentFile.js';
import { openFileRepositories } from './files/index.js';
import { lockDataDir } from './instanceLock.js';
import { removeLeftoverTemps } from './leftoverTemps.js';
import { PostgresAuditLog } from './postgres/auditLog.js';
import { isUnavailable } from './postgres/database.js';
import { openPostgres } from './postgres/index.js';
import type { Repositories } from './repositories.js';
import { JsonFileStore } from './store.js';
import { withTurnReads } from './turnReads.js';

export interface OpenedStore {
  kind: 'file' | 'postgres';
  repositories: Repositories;
  auditLog: AuditLog;
  /** True when other instances may share the store (PostgreSQL): work in progress may be theirs. */
  shared: boolean;
  /** Why a change could not be saved now (for /healthz), or undefined when it could. */
  notReady(): Promise<string | undefined>;
  /** An error meaning a change could not be saved (disk or database): the turn changed nothing. */
  notSaved(error: unknown): boolean;
  /**
   * Runs one turn. On PostgreSQL its reads are remembered until it ends (turnReads: an
   * AsyncLocalStorage, which makes every promise of the process dearer once used); the files keep
   * what turns read in memory and run the turn as it is.
   */
  withinTurn<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openStore(config: Config, lifecycle: LifecycleDays, log: Logger): Promise<OpenedStore> {
  return config.DATABASE_URL ? openDatabase(config, config.DATABASE_URL, lifecycle, log) : openFiles(config, lifecycle, log);
}

/** Takes the data folder for this process first: nothing is read or written before that. */
async function openFiles(config: Config, lifecycle: LifecycleDays, log: Logger): Promise<OpenedStore> {
  const instance = await lockDataDir(config.DATA_DIR);
  if (instance.tookOver) log.warn({ previous: { pid: instance.tookOver.pid, host: instance.tookOver.host, since: instance.tookOver.since } }, 'took over the data folder lock of a process that is gone');
  try {
    // Only now, holding the folder: no other bot process can be writing these.
    const leftovers = await removeLeftoverTemps(config.DATA_DIR);
    if (leftovers > 0) log.info({ removed: leftovers }, 'removed temporary files a stopped process left behind');
    const store = await JsonFileStore.open(config.DATA_DIR, { residentPartners: config.STORE_RESIDENT_PARTNERS });
    const auditLog = FileAuditLog.in(config.DATA_DIR);
    const files = await openFileRepositories(config.DATA_DIR, lifecycle, store, new AuditRecorder(auditLog));
    // Entries a crash kept from the trail are appended before any change, so none is lost or doubled.
    const recovered = await files.recoverAudit();
    if (recovered > 0) log.info({ entries: recovered }, 'audit entries recovered from outboxes');
    return {
      kind: 'file',
      repositories: files.repositories,
      auditLog,
      shared: false,
      // Ready only while the data folder can be written: every turn that saves would fail otherwise.
      notReady: async () => ((await instance.writable()) ? undefined : 'the data folder cannot be written'),
      notSaved: (error) => error instanceof StoreWriteError,
      withinTurn: (work) => work(),
      async close() {
        await files.close();
        await instance.release();
      },
    };
  } catch (error) {
    await instance.release();
    throw error;
  }
}

async function openDatabase(config: Config, url: string, lifecycle: LifecycleDays, log: Logger): Promise<OpenedStore> {
  // A secret of one instance's own would hash keys unlike the others: the catalogue would not know them.
  if (!config.KEY_HASH_SECRET) throw new ConfigError('KEY_HASH_SECRET must be set when DATABASE_URL is set, to the same value on every instance (see "Running several instances" in the README).');
  const { pool, repositories } = await openPostgres(url, lifecycle, log);
  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    repositories,
    auditLog: new PostgresAuditLog(pool),
    shared: true,
    async notReady() {
      try {
        await pool.query('SELECT 1');
        return undefined;
      } catch (error) {
        log.warn({ err: error }, 'the database cannot be reached');
        return 'the database cannot be reached';
      }
    },
    notSaved: isUnavailable,
    withinTurn: withTurnReads,
    // A second close (a stop after a failed restart) finds the pool ended already.
    close: () => (closed ??= pool.end()),
  };
}
