/** Renders renewal reminders for Teams, in the recipient's language. */
import { CardFactory, MessageFactory, type Activity } from 'botbuilder';
import type { LifecycleDays } from '../domain/lifecycle.js';
import type { ReminderContext } from '../domain/outcomes.js';
import type { Conversations } from './conversations.js';
import { reminderCard } from './renewalViews.js';

export function reminderMessage(conversations: Conversations, lifecycle: LifecycleDays) {
  return async (context: ReminderContext): Promise<Partial<Activity>> => {
    const m = await conversations.messagesFor(context.partnerTenantId, context.recipientId);
    const card = reminderCard(m, { key: context.key, kind: context.kind, customer: context.customer, subscription: context.subscription, today: context.today, lifecycle, inChannel: context.inChannel });
    return MessageFactory.attachment(CardFactory.adaptiveCard(card));
  };
}
