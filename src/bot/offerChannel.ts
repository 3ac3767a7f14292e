/** Delivers offers of delegated administration and their outcomes through Teams: the delegation service's offer channel. */
import { CardFactory, MessageFactory } from 'botbuilder';
import type { ConversationRef } from '../domain/conversation.js';
import type { Offer } from '../domain/delegation.js';
import { timeZoneOf } from '../domain/profile.js';
import type { CustomerLink } from '../domain/outcomes.js';
import { fill, messagesFor } from '../i18n/index.js';
import type { Partners } from './ports.js';
import type { Conversations } from './conversations.js';
import { offerCard } from './delegationViews.js';

export class TeamsOfferChannel {
  constructor(
    private readonly partners: Pick<Partners, 'organisationName' | 'profile'>,
    private readonly conversations: Conversations,
  ) {}

  /** The customer's admin reads the card in the language chosen for the account, its dates in the partner's time zone (the admin's client is not known outside a turn). */
  offerMessage(link: CustomerLink, offer: Offer) {
    const card = offerCard(messagesFor(link.customer.language, timeZoneOf(this.partners.profile(link.partnerTenantId))), this.partners.organisationName(link.partnerTenantId), link.customer, offer);
    return MessageFactory.attachment(CardFactory.adaptiveCard(card));
  }

  sendOffer(link: CustomerLink, offer: Offer, conversation: ConversationRef) {
    return this.conversations.deliver(conversation, this.offerMessage(link, offer));
  }

  async refreshOffer(link: CustomerLink, offer: Offer): Promise<void> {
    if (offer.customerCard) await this.conversations.replace(offer.customerCard.conversation, offer.customerCard.activityId, this.offerMessage(link, offer));
  }

  async notifyPartner(link: CustomerLink, offer: Offer): Promise<boolean> {
    if (!offer.partnerConversation) return true;
    const m = this.conversations.messagesFor(link.partnerTenantId, offer.sentBy.id);
    const d = m.t.delegation;
    const values = { customer: link.customer.name, name: offer.answeredBy?.name ?? offer.endedBy?.name ?? '', date: m.date(offer.answeredAt ?? offer.endedAt ?? offer.expiresAt) };
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
}
