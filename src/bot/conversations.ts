/**
 * Remembers where each staff member can be reached, and sends messages later (proactively).
 * References are refreshed from every personal-chat activity because Teams may move a tenant's serviceUrl.
 */
import { TurnContext, type Activity, type CloudAdapter, type ConversationReference } from 'botbuilder';
import type { Logger } from 'pino';
import { ConversationRefSchema, type ConversationRef } from '../domain/conversation.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../setups/setupService.js';

export type Delivery = { ok: true; activityId?: string } | { ok: false; unreachable: boolean };

/** The personal-chat reference of an activity, or undefined for other chats or a malformed one. */
export function personalReference(activity: Activity): ConversationRef | undefined {
  const type = activity.conversation?.conversationType;
  if (type && type !== 'personal') return undefined;
  // Only a reference the bot can use later is kept; a malformed one would make the file unreadable.
  const parsed = ConversationRefSchema.safeParse(TurnContext.getConversationReference(activity));
  return parsed.success ? parsed.data : undefined;
}

export function sameConversation(a: ConversationRef | undefined, b: ConversationRef): boolean {
  return a !== undefined && a.serviceUrl === b.serviceUrl && a.conversation.id === b.conversation.id;
}

/** Teams' answers that mean the bot is no longer in that chat (app removed, chat deleted or blocked). */
function isUnreachable(error: unknown): boolean {
  const status = (error as { statusCode?: number })?.statusCode;
  return status === 403 || status === 404;
}

export class Conversations {
  constructor(
    private readonly store: Store,
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly now: () => Date,
    private readonly log: Logger,
  ) {}

  /** Saves a staff member's personal-chat reference when it is new or changed. */
  async remember(actor: Actor, activity: Activity, locale: string | undefined): Promise<void> {
    const conversation = personalReference(activity);
    if (!conversation) return;
    const known = this.store.partner(actor.tenantId).data.members[actor.userId];
    if (known && known.name === actor.name && known.locale === locale && sameConversation(known.conversation, conversation)) return;
    await this.store.partner(actor.tenantId).update((doc) => {
      doc.members[actor.userId] = { name: actor.name, locale, conversation, updatedAt: this.now().toISOString() };
    });
  }

  /** Sends to a staff member's personal chat; false when the bot cannot reach them. */
  async sendTo(tenantId: string, userId: string, message: Partial<Activity>): Promise<boolean> {
    const member = this.store.partner(tenantId).data.members[userId];
    if (!member) return false;
    return (await this.deliver(member.conversation, message)).ok;
  }

  /** Sends into a stored conversation and says whether Teams took it, or why not. */
  async deliver(conversation: ConversationRef, message: Partial<Activity>): Promise<Delivery> {
    try {
      let activityId: string | undefined;
      await this.adapter.continueConversationAsync(this.appId, conversation as unknown as Partial<ConversationReference>, async (context) => {
        activityId = (await context.sendActivity(message))?.id;
      });
      return { ok: true, activityId };
    } catch (error) {
      const unreachable = isUnreachable(error);
      this.log.warn({ err: error, unreachable }, 'proactive message could not be delivered');
      return { ok: false, unreachable };
    }
  }

  /** Replaces a message the bot sent earlier (a card whose state changed), for everyone in that chat. */
  async replace(conversation: ConversationRef, activityId: string, message: Partial<Activity>): Promise<boolean> {
    try {
      await this.adapter.continueConversationAsync(this.appId, conversation as unknown as Partial<ConversationReference>, async (context) => {
        await context.updateActivity({ ...message, id: activityId });
      });
      return true;
    } catch (error) {
      this.log.warn({ err: error }, 'a sent card could not be updated');
      return false;
    }
  }

  localeOf(tenantId: string, userId: string): string | undefined {
    return this.store.partner(tenantId).data.members[userId]?.locale;
  }
}
