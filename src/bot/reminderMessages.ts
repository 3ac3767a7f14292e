/** Renders reminders and notices of the renewal side for Teams, in the recipient's language. */
import { CardFactory, MessageFactory, type Activity } from 'botbuilder';
import type { LifecycleDays } from '../domain/lifecycle.js';
import { fill, messagesFor } from '../i18n/index.js';
import type { ReminderContext } from '../reminders/reminderService.js';
import type { Switched } from '../renewals/renewalService.js';
import type { Conversations } from './conversations.js';
import { reminderCard } from './renewalViews.js';

export function reminderMessage(conversations: Conversations, lifecycle: LifecycleDays) {
  return (context: ReminderContext): Partial<Activity> => {
    const m = messagesFor(conversations.localeOf(context.partnerTenantId, context.recipientId));
    const card = reminderCard(m, { key: context.key, kind: context.record.kind, customer: context.customer, subscription: context.subscription, today: context.today, lifecycle, inChannel: context.inChannel });
    return MessageFactory.attachment(CardFactory.adaptiveCard(card));
  };
}

/** Tells whoever scheduled a switch to direct billing that it ran. */
export async function notifyScheduledSwitches(done: Array<{ tenantId: string; byId: string } & Switched>, conversations: Conversations): Promise<void> {
  for (const { tenantId, byId, customer, subscription } of done) {
    await conversations.tell(tenantId, byId, (m) => fill(m.t.billing.ranScheduled, { product: subscription.product, customer: customer.name }));
  }
}
