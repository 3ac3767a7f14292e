/**
 * Releases reservations that ran out and tells each owner, also catching up on notices a restart
 * interrupted, mends the reservation index where a step failed half-way, and drops closed setups
 * past their retention.
 */
import type { Logger } from 'pino';
import { fill } from '../i18n/index.js';
import type { Conversations } from '../bot/conversations.js';
import type { SetupService } from './setupService.js';

export async function runReleaseSweep(setups: SetupService, conversations: Conversations, log: Logger): Promise<number> {
  await setups.reconcile();
  const released = await setups.releaseDue();
  for (const { tenantId, setup } of setups.pendingReleaseNotices()) {
    const told = await conversations.tell(tenantId, setup.ownerId, (m) =>
      fill(m.t.reserved.releaseNotice, {
        keys: m.count(m.t.common.keyCount, setup.keys.length),
        lastGroups: setup.keys.map((key) => key.lastGroup).join(', '),
        date: m.date(setup.reservedUntil ?? setup.updatedAt),
      }),
    );
    if (told) {
      await setups.markReleaseNoticeSent(tenantId, setup.id);
    } else {
      log.warn({ tenantId, setupId: setup.id }, 'release notice not delivered yet; will retry on the next sweep');
    }
  }
  await setups.dropPastRetention();
  return released.length;
}
