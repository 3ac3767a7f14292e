/** An audit trail over a data folder's files, as the app builds it, for tests of one service. */
import { pino } from 'pino';
import { AuditTrail } from '../../src/partners/auditTrail.js';
import { FileAuditLog } from '../../src/store/auditFile.js';
import { AuditRecorder } from '../../src/store/auditOutbox.js';
import { FilePartners } from '../../src/store/files/partners.js';
import type { Store } from '../../src/store/store.js';

export function fileAuditTrail(store: Store, dataDir: string, now: () => Date): AuditTrail {
  const log = FileAuditLog.in(dataDir);
  const recorder = new AuditRecorder(log);
  return new AuditTrail(new FilePartners(store, recorder), log, now, 730, pino({ level: 'silent' }));
}
