/**
 * Delegated administration in chat: the partner requests a relationship (an offer, in the bot's
 * words), the customer's admin accepts or declines it. An offer is the chat's side of one
 * relationship: who asked, where the partner is told, where the customer's card is, and the
 * relationship as the backend last returned it. The backend holds the relationship itself.
 */
import { z } from 'zod';
import { ConversationRefSchema } from './conversation.js';
import { legacyRelationship, NO_AUTO_EXTEND, RELATIONSHIP_REMINDER_KINDS, relationshipAt, RelationshipSchema, type Relationship } from './relationship.js';

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
  /**
   * The relationship requested, as the backend last returned it. Absent on offers of the old
   * all-or-nothing delegated admin (Global Administrator, no end), made before relationships.
   */
  relationship: RelationshipSchema.optional(),
  /** The reminders of the relationship's end handled (sent, or skipped when a later one overtook them): each once. */
  reminders: z.array(z.enum(RELATIONSHIP_REMINDER_KINDS)).optional(),
  /** A reminder recorded and not yet delivered: recorded before it is sent, so a crash or a failed send does not lose it. */
  reminderDue: z.enum(RELATIONSHIP_REMINDER_KINDS).optional(),
});
export type Offer = z.infer<typeof OfferSchema>;

/** Where the customer's admin can be reached, once they have talked to the bot. */
export const AdminContactSchema = z.object({
  conversation: ConversationRefSchema,
  reachable: z.boolean(),
  updatedAt: z.iso.datetime(),
});
export type AdminContact = z.infer<typeof AdminContactSchema>;

const DAY = 86_400_000;

/**
 * The customer's relationships as the partner's records show them at `now`, oldest first: each
 * offer's relationship, and an accepted (or since ended) offer of the old kind as the old delegated admin (under the
 * offer's id; the backend's list holds it under its own). The backend's list is the truth; this is
 * what cards show without asking it.
 */
export function offeredRelationships(customer: { tenantId: string; name: string; offers: readonly Offer[] }, now: Date): Array<{ offer: Offer; relationship: Relationship }> {
  return customer.offers.flatMap((offer) => {
    if (offer.relationship) {
      // An unanswered request runs out when its offer does.
      const offerDays = Math.round((Date.parse(offer.expiresAt) - Date.parse(offer.sentAt)) / DAY);
      return [{ offer, relationship: relationshipAt(offer.relationship, now, offerDays) }];
    }
    // Only an accepted one ever held rights; ended, it shows as ended.
    if (offer.status !== 'accepted' && offer.status !== 'ended') return [];
    // The partner is the one whose records these are; the old kind did not name it.
    const legacy = { ...legacyRelationship('', { tenantId: customer.tenantId, displayName: customer.name }, offer.answeredAt ?? offer.sentAt), id: offer.id };
    const ended = offer.status === 'ended' ? { status: 'terminated' as const, endDateTime: offer.endedAt ?? offer.sentAt } : {};
    return [{ offer, relationship: { ...legacy, ...ended } }];
  });
}

/** An accepted relationship whose end reminders are not all handled: one without auto-extension, or one recorded and not yet sent. */
export function remindsOfEnd(offer: Offer): boolean {
  if (offer.status !== 'accepted' || !offer.relationship) return false;
  return offer.reminderDue !== undefined || (offer.relationship.autoExtendDuration === NO_AUTO_EXTEND && (offer.reminders?.length ?? 0) < RELATIONSHIP_REMINDER_KINDS.length);
}

/** Whether the offer sweep has work with an offer: a request still open, a notice to the partner to send, or end reminders. */
export function hasOfferWork(offer: Offer): boolean {
  return offer.status === 'pending' || offer.partnerNotice === 'pending' || remindsOfEnd(offer);
}

/** A relationship's display name as its uniqueness among a partner's relationships is checked by the stores. */
function relationshipNameKey(offer: Offer): string | undefined {
  return offer.relationship?.displayName.toLowerCase();
}

/**
 * The offer that a new one would repeat or collide with among the partner's customers: the offer
 * with its id (a second press), the offer of its relationship, the relationship with its display name
 * (Graph wants names unique among a partner's relationships), or for an offer of the old kind, the
 * customer's open one of that kind. A customer may hold several relationships; nothing else limits them.
 */
export function collidingOffer(customers: ReadonlyArray<{ tenantId: string; offers: readonly Offer[] }>, customerTenantId: string, offer: Offer): Offer | undefined {
  const all = customers.flatMap((c) => c.offers.map((o) => ({ customerTenantId: c.tenantId, offer: o })));
  const name = relationshipNameKey(offer);
  const rules: Array<(o: Offer, of: string) => boolean> = [
    (o) => o.id === offer.id,
    (o) => offer.relationship !== undefined && o.relationship?.id === offer.relationship.id,
    (o) => name !== undefined && relationshipNameKey(o) === name,
    (o, of) => offer.relationship === undefined && of === customerTenantId && !o.relationship && (o.status === 'pending' || o.status === 'accepted'),
  ];
  for (const rule of rules) {
    const found = all.find((x) => rule(x.offer, x.customerTenantId));
    if (found) return found.offer;
  }
  return undefined;
}

export function isDue(offer: Offer, now: Date): boolean {
  return offer.status === 'pending' && Date.parse(offer.expiresAt) <= now.getTime();
}

export function newOffer(id: string, message: string, by: { id: string; name: string }, now: Date, validDays: number, partnerConversation?: Offer['partnerConversation'], relationship?: Relationship): Offer {
  return {
    id,
    relationship,
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
