/** Tells owners how the account creations that a restart interrupted ended. */
import type { Logger } from 'pino';
import type { Messenger } from '../domain/notices.js';
import type { CreateResult } from '../domain/outcomes.js';

export async function notifyResumedCreations(resumed: Array<{ tenantId: string; result: CreateResult }>, messenger: Messenger, log: Logger): Promise<void> {
  for (const { tenantId, result } of resumed) {
    const { setup } = result;
    if (!(await messenger.tell(tenantId, setup.ownerId, { kind: 'creationResumed', result }))) {
      log.warn({ tenantId, setupId: setup.id }, 'could not tell the owner how an interrupted creation ended');
    }
  }
}
