/**
 * Remembers where each staff member can be reached, and sends them messages later (proactively).
 * References are refreshed from every personal-chat activity because Teams may move a tenant's serviceUrl.
 */
import { TurnContext, type Activity, type CloudAdapter, type ConversationReference } from 'botbuilder';
import type { Logger } from 'pino';
import { ConversationRefSchema } from '../store/documents.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../setups/setupService.js';

export class Conversations {
  constructor(
    private readonly store: Store,
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly now: () => Date,
    private readonly log: Logger,
  ) {}

  /** Saves the personal-chat reference when it is new or changed; other chats are not a person's inbox. */
  async remember(actor: Actor, activity: Activity, locale: string | undefined): Promise<void> {
    const type = activity.conversation?.conversationType;
    if (type && type !== 'personal') return;
    // Only a reference the bot can use later is kept; a malformed one would make the file unreadable.
    const parsed = ConversationRefSchema.safeParse(TurnContext.getConversationReference(activity));
    if (!parsed.success) return;
    const conversation = parsed.data;
    const known = this.store.partner(actor.tenantId).data.members[actor.userId];
    if (
      known &&
      known.name === actor.name &&
      known.locale === locale &&
      known.conversation.serviceUrl === conversation.serviceUrl &&
      known.conversation.conversation.id === conversation.conversation.id
    ) {
      return;
    }
    await this.store.partner(actor.tenantId).update((doc) => {
      doc.members[actor.userId] = { name: actor.name, locale, conversation, updatedAt: this.now().toISOString() };
    });
  }

  /** Sends to a staff member's personal chat; false when the bot cannot reach them. */
  async sendTo(tenantId: string, userId: string, message: Partial<Activity>): Promise<boolean> {
    const member = this.store.partner(tenantId).data.members[userId];
    if (!member) return false;
    try {
      await this.adapter.continueConversationAsync(this.appId, member.conversation as unknown as ConversationReference, async (context) => {
        await context.sendActivity(message);
      });
      return true;
    } catch (error) {
      this.log.warn({ err: error, tenantId, userId }, 'proactive message could not be delivered');
      return false;
    }
  }

  localeOf(tenantId: string, userId: string): string | undefined {
    return this.store.partner(tenantId).data.members[userId]?.locale;
  }
}
