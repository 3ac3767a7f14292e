/** Enough of a Bot Framework ConversationReference to continue a conversation later. */
import { z } from 'zod';

export const ConversationRefSchema = z.looseObject({
  serviceUrl: z.string().min(1),
  channelId: z.string().min(1),
  conversation: z.looseObject({ id: z.string().min(1) }),
  bot: z.looseObject({ id: z.string() }).optional(),
  user: z.looseObject({ id: z.string() }).optional(),
});
export type ConversationRef = z.infer<typeof ConversationRefSchema>;

/** What Teams answered to one message sent into a stored conversation. */
export type Delivery = { ok: true; activityId?: string } | { ok: false; unreachable: boolean; status?: number; retryAfterMs?: number };

/** A message for a chat, built by the bot layer; services pass it on without looking inside. */
export type OutgoingMessage = object;
