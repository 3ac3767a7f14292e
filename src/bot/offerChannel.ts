/** Delivers requests for delegated administration and their outcomes through Teams: the delegation service's offer channel. */
import { CardFactory, MessageFactory } from 'botbuilder';
import type { ConversationRef } from '../domain/conversation.js';
import type { Offer } from '../domain/delegation.js';
import { timeZoneOf } from '../domain/profile.js';
import type { CustomerLink } from '../domain/outcomes.js';
import { fill, messagesFor } from '../i18n/index.js';
import type { Partners } from './ports.js';
import type { Conversations } from './conversations.js';
import { offerCard, roleNames } from './delegationViews.js';
import { GLOBAL_ADMINISTRATOR } from '../domain/entraRoles.js';
import { roleIds, type RelationshipReminderKind } from '../domain/relationship.js';
import type { LifecycleDays } from '../domain/lifecycle.js';
import { customerCard } from './accountViews.js';

export class TeamsOfferChannel {
  constructor(
    private readonly partners: Pick<Partners, 'organisationName' | 'profile'>,
    private readonly conversations: Conversations,
    private readonly lifecycle: LifecycleDays,
  ) {}

  /** The customer's admin reads the card in the language chosen for the account, its dates in the partner's time zone (the admin's client is not known outside a turn). */
  async offerMessage(link: CustomerLink, offer: Offer) {
    const card = offerCard(messagesFor(link.customer.language, timeZoneOf(await this.partners.profile(link.partnerTenantId))), await this.partners.organisationName(link.partnerTenantId), link.customer, offer);
    return MessageFactory.attachment(CardFactory.adaptiveCard(card));
  }

  async sendOffer(link: CustomerLink, offer: Offer, conversation: ConversationRef) {
    return this.conversations.deliver(conversation, await this.offerMessage(link, offer));
  }

  async refreshOffer(link: CustomerLink, offer: Offer): Promise<void> {
    if (offer.customerCard) await this.conversations.replace(offer.customerCard.conversation, offer.customerCard.activityId, await this.offerMessage(link, offer));
  }

  async notifyPartner(link: CustomerLink, offer: Offer): Promise<boolean> {
    if (!offer.partnerConversation) return true;
    const m = await this.conversations.messagesFor(link.partnerTenantId, offer.sentBy.id);
    const d = m.t.delegation;
    const r = offer.relationship;
    const values = {
      customer: link.customer.name,
      relationship: r ? r.displayName : m.t.relationships.legacyName,
      name: offer.answeredBy?.name ?? offer.endedBy?.name ?? '',
      date: m.date(offer.answeredAt ?? offer.endedAt ?? offer.expiresAt),
      roles: r ? roleNames(m, roleIds(r)) : roleNames(m, [GLOBAL_ADMINISTRATOR]),
      end: r?.endDateTime ? m.date(r.endDateTime) : d.noEnd,
    };
    const text =
      offer.status === 'accepted'
        ? fill(d.noticeAccepted, values)
        : offer.status === 'declined'
          ? fill(d.noticeDeclined, values)
          : offer.status === 'expired'
            ? fill(d.noticeExpired, { ...values, date: m.date(offer.expiresAt) })
            : fill(d.noticeEnded, values);
    return (await this.conversations.deliver(offer.partnerConversation, MessageFactory.text(text))).ok;
  }

  /** The customer card, with the reminder on top and its "Request delegated administration" button to ask for a new one. */
  async remindPartner(link: CustomerLink, offer: Offer, kind: RelationshipReminderKind, today: string): Promise<boolean> {
    if (!offer.partnerConversation || !offer.relationship) return true;
    const m = await this.conversations.messagesFor(link.partnerTenantId, offer.sentBy.id);
    const r = offer.relationship;
    const days = { before30: 30, before7: 7, before1: 1 }[kind];
    const text = fill(m.t.delegation.reminder, { customer: link.customer.name, name: r.displayName, roles: roleNames(m, roleIds(r)), date: m.date(r.endDateTime ?? today), days: m.count(m.t.common.dayCount, days) });
    const card = customerCard(m, link.customer, { today, lifecycle: this.lifecycle }, { notice: { text, style: 'warning' } });
    return (await this.conversations.deliver(offer.partnerConversation, MessageFactory.attachment(CardFactory.adaptiveCard(card)))).ok;
  }
}
