/**
 * Releases reservations that ran out and tells each owner, also catching up on notices a restart
 * interrupted, mends the reservation index where a step failed half-way, and drops closed setups
 * past their retention.
 */
import type { Logger } from 'pino';
import type { Messenger } from '../domain/notices.js';
import type { SetupService } from './setupService.js';

export async function runReleaseSweep(setups: SetupService, messenger: Messenger, log: Logger): Promise<number> {
  await setups.reconcile();
  const released = await setups.releaseDue();
  for (const { tenantId, setup } of await setups.pendingReleaseNotices()) {
    if (await messenger.tell(tenantId, setup.ownerId, { kind: 'reservationReleased', setup })) {
      await setups.markReleaseNoticeSent(tenantId, setup.id);
    } else {
      log.warn({ tenantId, setupId: setup.id }, 'release notice not delivered yet; will retry on the next sweep');
    }
  }
  await setups.dropPastRetention();
  return released.length;
}
