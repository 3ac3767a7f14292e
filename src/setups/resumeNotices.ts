/** Tells owners how the account creations that a restart interrupted ended. */
import type { Logger } from 'pino';
import type { Conversations } from '../bot/conversations.js';
import { fill } from '../i18n/index.js';
import type { CreateResult } from './accountService.js';

export async function notifyResumedCreations(resumed: Array<{ tenantId: string; result: CreateResult }>, conversations: Conversations, log: Logger): Promise<void> {
  for (const { tenantId, result } of resumed) {
    const { setup } = result;
    const name = setup.account?.organisationName ?? '';
    const told = await conversations.tell(tenantId, setup.ownerId, (m) => (result.ok ? fill(m.t.account.resumedOk, { name, domain: result.customer.domain }) : fill(m.t.account.resumedFailed, { name })));
    if (!told) {
      log.warn({ tenantId, setupId: setup.id }, 'could not tell the owner how an interrupted creation ended');
    }
  }
}
