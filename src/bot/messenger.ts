/** The services' messaging port: each proactive notice worded in the recipient's language and sent to their chat. */
import type { Messenger, ProactiveNotice } from '../domain/notices.js';
import { fill, type Messages } from '../i18n/index.js';
import type { Conversations } from './conversations.js';

function wording(m: Messages, notice: ProactiveNotice): string {
  switch (notice.kind) {
    case 'reservationReleased': {
      const { setup } = notice;
      return fill(m.t.reserved.releaseNotice, {
        keys: m.count(m.t.common.keyCount, setup.keys.length),
        lastGroups: setup.keys.map((key) => key.lastGroup).join(', '),
        date: m.date(setup.reservedUntil ?? setup.updatedAt),
      });
    }
    case 'creationResumed': {
      const { result } = notice;
      const name = result.setup.account?.organisationName ?? '';
      if (!result.ok) return fill(m.t.account.resumedFailed, { name });
      // The owner's personal chat is the one place the password goes; it is in this message only.
      return fill(m.t.account.resumedOk, { name, domain: result.customer.domain, upn: result.customer.admin.userPrincipalName, password: result.temporaryPassword });
    }
    case 'switchRan':
      return fill(m.t.billing.ranScheduled, { product: notice.subscription.product, customer: notice.customer.name });
  }
}

export class ChatMessenger implements Messenger {
  constructor(private readonly conversations: Conversations) {}

  tell(tenantId: string, userId: string, notice: ProactiveNotice): Promise<boolean> {
    return this.conversations.tell(tenantId, userId, (m) => wording(m, notice));
  }
}
