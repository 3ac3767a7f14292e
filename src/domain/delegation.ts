/**
 * Delegated administration: the partner offers it, the customer's admin accepts or declines it.
 * Pure rules over a customer's offers; the state of delegation is derived from them and the clock.
 */
import { z } from 'zod';
import { ConversationRefSchema } from './conversation.js';

const Person = z.object({ id: z.string(), name: z.string() });

export const OFFER_STATUSES = ['pending', 'accepted', 'declined', 'withdrawn', 'expired', 'ended'] as const;
export type OfferStatus = (typeof OFFER_STATUSES)[number];

export const OfferSchema = z.object({
  id: z.uuid(),
  status: z.enum(OFFER_STATUSES),
  message: z.string().max(2000),
  sentAt: z.iso.datetime(),
  sentBy: Person,
  expiresAt: z.iso.datetime(),
  /** The partner's chat the offer was sent from: the answer is reported there. */
  partnerConversation: ConversationRefSchema.optional(),
  /** waiting: no chat with the admin known yet; shown when the admin next writes. */
  delivery: z.enum(['waiting', 'delivered', 'unreachable']),
  /** The card at the customer, so a withdrawal or expiry can change it in place. */
  customerCard: z.object({ conversation: ConversationRefSchema, activityId: z.string() }).optional(),
  answeredAt: z.iso.datetime().optional(),
  answeredBy: Person.optional(),
  endedAt: z.iso.datetime().optional(),
  endedBy: Person.optional(),
  /** A message to the partner about this offer that is still to be sent. */
  partnerNotice: z.enum(['pending', 'sent']).optional(),
  /**
   * When the admin's acceptance was saved as begun, before the backend granted the rights; the saved
   * answer removes it. On a pending offer no acceptance is working on, it means the partner may hold
   * rights that the offer does not show, and they are taken back.
   */
  granting: z.iso.datetime().optional(),
});
export type Offer = z.infer<typeof OfferSchema>;

/** Where the customer's admin can be reached, once they have talked to the bot. */
export const AdminContactSchema = z.object({
  conversation: ConversationRefSchema,
  reachable: z.boolean(),
  updatedAt: z.iso.datetime(),
});
export type AdminContact = z.infer<typeof AdminContactSchema>;

export type DelegationState = { state: 'none' } | { state: 'pending'; offer: Offer } | { state: 'active'; offer: Offer };

/** The offer that matters now: a pending or accepted one; there is at most one. */
export function delegationState(offers: readonly Offer[]): DelegationState {
  const current = offers.findLast((offer) => offer.status === 'pending' || offer.status === 'accepted');
  if (!current) return { state: 'none' };
  return current.status === 'accepted' ? { state: 'active', offer: current } : { state: 'pending', offer: current };
}

export function isDue(offer: Offer, now: Date): boolean {
  return offer.status === 'pending' && Date.parse(offer.expiresAt) <= now.getTime();
}

export function newOffer(id: string, message: string, by: { id: string; name: string }, now: Date, validDays: number, partnerConversation?: Offer['partnerConversation']): Offer {
  return {
    id,
    status: 'pending',
    message,
    sentAt: now.toISOString(),
    sentBy: by,
    expiresAt: new Date(now.getTime() + validDays * 86_400_000).toISOString(),
    partnerConversation,
    delivery: 'waiting',
  };
}

/** The answer of the customer's admin; only a pending offer can be answered, and only once. It ends an acceptance begun. */
export function answer({ granting: _answered, ...offer }: Offer, accepted: boolean, by: { id: string; name: string }, now: Date): Offer {
  return { ...offer, status: accepted ? 'accepted' : 'declined', answeredAt: now.toISOString(), answeredBy: by, partnerNotice: 'pending' };
}

export function withdraw(offer: Offer, by: { id: string; name: string }, now: Date): Offer {
  return { ...offer, status: 'withdrawn', endedAt: now.toISOString(), endedBy: by };
}

export function expire(offer: Offer, now: Date): Offer {
  return { ...offer, status: 'expired', endedAt: now.toISOString(), partnerNotice: 'pending' };
}

/** The customer ends an accepted delegation. */
export function end(offer: Offer, by: { id: string; name: string }, now: Date): Offer {
  return { ...offer, status: 'ended', endedAt: now.toISOString(), endedBy: by, partnerNotice: 'pending' };
}
