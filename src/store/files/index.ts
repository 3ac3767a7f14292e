/**
 * The repositories on the embedded file store in DATA_DIR: the same documents the bot writes today
 * (partner files, setup books, reservation and customer indexes, the embedded commerce's catalogue
 * and tenants), so a bot on the files reads what these wrote and the other way round. One instance
 * only: the data folder belongs to one process.
 */
import type { LifecycleDays } from '../../domain/lifecycle.js';
import { FileAuditLog } from '../auditFile.js';
import { AuditRecorder } from '../auditOutbox.js';
import type { Repositories } from '../repositories.js';
import { JsonFileStore, type Store } from '../store.js';
import { openFileCommerce } from './commerce.js';
import type { CommerceFiles } from './commerceDocuments.js';
import { FileCustomers } from './customers.js';
import { FileOutbox, LocalRunnerLock } from './outbox.js';
import { FilePartners } from './partners.js';
import { FileReminders } from './reminders.js';
import { FileGuessGuard, FileSetups } from './setups.js';

export interface FileRepositories {
  repositories: Repositories;
  /** The store underneath, for what the repositories do not list (the import reads it whole). */
  store: Store;
  commerce: CommerceFiles;
  /** Writes a change and its audit entries in one write of the changed document, then appends them to the trail. */
  recorder: AuditRecorder;
  /**
   * At start, before any change: appends to the trail the entries a crash left in the documents'
   * outboxes (written with their change, not yet in the trail), once. Returns how many it appended.
   */
  recoverAudit(): Promise<number>;
  /** Writes what is still only in memory; call before the process ends. */
  close(): Promise<void>;
}

/** Opens the file store in `dataDir` (or wraps one the caller opened) with its repositories. */
export async function openFileRepositories(dataDir: string, lifecycle: LifecycleDays, opened?: Store, recorder = new AuditRecorder(FileAuditLog.in(dataDir))): Promise<FileRepositories> {
  const [store, commerce, outbox] = await Promise.all([opened ?? JsonFileStore.open(dataDir), openFileCommerce(dataDir), FileOutbox.open(dataDir)]);
  const repositories: Repositories = {
    partners: new FilePartners(store, recorder),
    customers: new FileCustomers(store, recorder),
    setups: new FileSetups(store, recorder),
    guessGuard: new FileGuessGuard(store),
    reminders: new FileReminders(store, lifecycle),
    outbox,
    runnerLock: new LocalRunnerLock(),
    keyCatalog: commerce.keyCatalog,
    commerceTenants: commerce.commerceTenants,
  };
  const recoverAudit = async () => {
    let count = 0;
    for (const doc of store.partnersWith('auditOutbox')) count += (await recorder.recover(doc)).length;
    for (const book of store.setupBooks()) if (book.data.auditOutbox.length > 0) count += (await recorder.recover(book)).length;
    return count;
  };
  return { repositories, store, commerce: commerce.files, recorder, recoverAudit, close: () => store.flush() };
}
