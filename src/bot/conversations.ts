/**
 * Remembers where each staff member can be reached, and sends messages later (proactively).
 * References are refreshed from every personal-chat activity because Teams may move a tenant's serviceUrl.
 */
import { MessageFactory, TurnContext, type Activity, type ChannelAccount, type CloudAdapter, type ConversationAccount, type ConversationReference } from 'botbuilder';
import type { Logger } from 'pino';
import { ConversationRefSchema, type ConversationRef, type Delivery } from '../domain/conversation.js';
import { messagesFor, type Messages } from '../i18n/index.js';
import type { Actor } from '../domain/actor.js';
import { timeZoneOf } from '../domain/profile.js';
import type { Partners } from './ports.js';

/** The personal-chat reference of an activity, or undefined for other chats or a malformed one. */
export function personalReference(activity: Activity): ConversationRef | undefined {
  const type = activity.conversation?.conversationType;
  if (type && type !== 'personal') return undefined;
  // Only a reference the bot can use later is kept; a malformed one would make the file unreadable.
  const parsed = ConversationRefSchema.safeParse(withoutNames(TurnContext.getConversationReference(activity)));
  return parsed.success ? parsed.data : undefined;
}

/**
 * A reference needs ids to reach the chat again, not the names people typed (a display name or a
 * channel name may hold anything, a pasted product key too), so names are not kept.
 */
function withoutNames(reference: Partial<ConversationReference>): Partial<ConversationReference> {
  const { user, bot, conversation, ...rest } = reference;
  return {
    ...rest,
    ...(user && { user: { id: user.id } as ChannelAccount }),
    ...(bot && { bot: { id: bot.id } as ChannelAccount }),
    ...(conversation && { conversation: { id: conversation.id, conversationType: conversation.conversationType, tenantId: conversation.tenantId, isGroup: conversation.isGroup } as ConversationAccount }),
  };
}

/** The reference of a team-channel activity (without the reply id, so sends start a new post). */
export function channelReference(activity: Activity): ConversationRef | undefined {
  if (activity.conversation?.conversationType !== 'channel') return undefined;
  const reference = withoutNames(TurnContext.getConversationReference(activity));
  // A reply in a thread carries ";messageid=…"; the channel itself is the part before it.
  const conversation = { ...reference.conversation, id: String(reference.conversation?.id ?? '').split(';')[0] };
  const parsed = ConversationRefSchema.safeParse({ ...reference, conversation, activityId: undefined });
  return parsed.success ? parsed.data : undefined;
}

/** Teams' answers that mean the bot is no longer in that chat (app removed, chat deleted or blocked). */
function isUnreachable(error: unknown): boolean {
  const status = (error as { statusCode?: number })?.statusCode;
  return status === 403 || status === 404;
}

export class Conversations {
  constructor(
    private readonly members: Pick<Partners, 'member' | 'rememberMember' | 'profile'>,
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly log: Logger,
    /** SERVICE_URL_ALLOW: a stored reference (edited, or from before the list changed) never sends elsewhere. */
    private readonly serviceUrlAllowed: (serviceUrl: string) => boolean = () => true,
  ) {}

  /** Saves a staff member's personal-chat reference (personalReference of the activity), language and time zone when new or changed. */
  async remember(actor: Actor, conversation: ConversationRef | undefined, client: { locale: string | undefined; timeZone: string | undefined }): Promise<void> {
    if (conversation) await this.members.rememberMember(actor, { ...client, conversation });
  }

  /** Sends to a staff member's personal chat; false when the bot cannot reach them. */
  async sendTo(tenantId: string, userId: string, message: Partial<Activity>): Promise<boolean> {
    const member = await this.members.member(tenantId, userId);
    if (!member) return false;
    return (await this.deliver(member.conversation, message)).ok;
  }

  /** Sends a staff member a text composed in their language; false when the bot cannot reach them. */
  async tell(tenantId: string, userId: string, compose: (m: Messages) => string): Promise<boolean> {
    return this.sendTo(tenantId, userId, MessageFactory.text(compose(await this.messagesFor(tenantId, userId))));
  }

  /** Sends into a stored conversation and says whether Teams took it, or why not. */
  async deliver(conversation: ConversationRef, message: Partial<Activity>): Promise<Delivery> {
    let activityId: string | undefined;
    const failure = await this.proactively(conversation, async (context) => {
      activityId = (await context.sendActivity(message))?.id;
    });
    if (failure === undefined) return { ok: true, activityId };
    const unreachable = isUnreachable(failure);
    const status = (failure as { statusCode?: number })?.statusCode;
    const retryAfter = Number((failure as { response?: { headers?: { get?: (name: string) => string | undefined } } })?.response?.headers?.get?.('retry-after'));
    this.log.warn({ err: failure, unreachable, status }, 'proactive message could not be delivered');
    return { ok: false, unreachable, status, retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined };
  }

  /** Replaces a message the bot sent earlier (a card whose state changed), for everyone in that chat. */
  async replace(conversation: ConversationRef, activityId: string, message: Partial<Activity>): Promise<boolean> {
    const failure = await this.proactively(conversation, async (context) => {
      await context.updateActivity({ ...message, id: activityId });
    });
    if (failure !== undefined) this.log.warn({ err: failure }, 'a sent card could not be updated');
    return failure === undefined;
  }

  /**
   * Runs `work` in a stored conversation and returns its error, if any. The error is caught inside:
   * otherwise the adapter hands it to onTurnError, which would post an apology into that chat.
   */
  private async proactively(conversation: ConversationRef, work: (context: TurnContext) => Promise<void>): Promise<unknown> {
    // Refused like a chat the bot was removed from (403): not retried, the member marked unreachable until they write again.
    if (!this.serviceUrlAllowed(conversation.serviceUrl)) return Object.assign(new Error('serviceUrl not allowed by SERVICE_URL_ALLOW'), { statusCode: 403 });
    let failure: unknown;
    try {
      await this.adapter.continueConversationAsync(this.appId, conversation as unknown as Partial<ConversationReference>, async (context) => {
        await work(context).catch((error: unknown) => (failure = error ?? new Error('send failed')));
      });
    } catch (error) {
      failure = error ?? new Error('send failed');
    }
    return failure;
  }

  /** A staff member's language, and their client's time zone as last reported (else the profile's), for a message sent later. */
  async messagesFor(tenantId: string, userId: string): Promise<Messages> {
    const member = await this.members.member(tenantId, userId);
    return messagesFor(member?.locale, member?.timeZone ?? timeZoneOf(await this.members.profile(tenantId)));
  }
}
