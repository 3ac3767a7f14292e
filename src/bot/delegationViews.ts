/** Cards of delegated administration: the partner's offer, the customer's answer, and acting for the customer. */
import { randomUUID } from 'node:crypto';
import { renderCard, type AdaptiveCard } from '../cards.js';
import { ONMICROSOFT } from '../domain/account.js';
import type { Customer } from '../domain/customer.js';
import { delegationState, type Offer } from '../domain/delegation.js';
import { fill, type Messages } from '../i18n/index.js';
import type { Notice } from './notice.js';

/** One line about delegation for the customer card and list. */
export function delegationStatus(m: Messages, customer: Customer): string {
  const d = m.t.delegation;
  const last = customer.offers.at(-1);
  if (!last) return d.statusNone;
  const date = (iso: string | undefined) => m.date(iso ?? last.sentAt);
  switch (last.status) {
    case 'pending':
      if (last.delivery === 'waiting') return fill(d.statusPendingWaiting, { date: date(last.sentAt) });
      if (last.delivery === 'unreachable') return fill(d.statusPendingUnreachable, { date: date(last.sentAt) });
      return fill(d.statusPending, { date: date(last.sentAt), expires: date(last.expiresAt) });
    case 'accepted':
      return fill(d.statusAccepted, { name: last.answeredBy?.name ?? '', date: date(last.answeredAt) });
    case 'declined':
      return fill(d.statusDeclined, { name: last.answeredBy?.name ?? '', date: date(last.answeredAt) });
    case 'withdrawn':
      return fill(d.statusWithdrawn, { date: date(last.endedAt) });
    case 'expired':
      return fill(d.statusExpired, { date: date(last.expiresAt) });
    case 'ended':
      return fill(d.statusEnded, { name: last.endedBy?.name ?? '', date: date(last.endedAt) });
  }
}

/** For the customer card's buttons: what can be done about delegation now. */
export function delegationActions(customer: Customer): { delegation: 'none' | 'pending' | 'active'; offerId?: string } {
  const state = delegationState(customer.offers);
  return state.state === 'none' ? { delegation: 'none' } : { delegation: state.state, offerId: state.offer.id };
}

export function composeCard(m: Messages, customer: Customer, partnerName: string, notice?: Notice): AdaptiveCard {
  const d = m.t.delegation;
  return renderCard('delegationCompose', {
    t: d,
    notice,
    title: fill(d.composeTitle, { customer: customer.name }),
    message: fill(d.defaultMessage, { admin: customer.admin.name, partner: partnerName }),
    customerId: customer.tenantId,
    // A fresh id per card: a second press of the same card finds the offer it already sent.
    offerId: randomUUID(),
  });
}

/** The offer as the customer's admin sees it; once answered, the outcome replaces the buttons. */
export function offerCard(m: Messages, partnerName: string, customer: Customer, offer: Offer, notice?: Notice): AdaptiveCard {
  const o = m.t.offer;
  const outcomes: Record<Exclude<Offer['status'], 'pending'>, [string, string]> = {
    accepted: [fill(o.accepted, { name: offer.answeredBy?.name ?? '', date: m.date(offer.answeredAt ?? offer.sentAt), partner: partnerName }), 'Good'],
    declined: [fill(o.declined, { name: offer.answeredBy?.name ?? '', date: m.date(offer.answeredAt ?? offer.sentAt) }), 'Default'],
    withdrawn: [fill(o.withdrawn, { partner: partnerName, date: m.date(offer.endedAt ?? offer.sentAt) }), 'Warning'],
    expired: [fill(o.expired, { date: m.date(offer.expiresAt) }), 'Warning'],
    ended: [fill(o.ended, { name: offer.endedBy?.name ?? '', date: m.date(offer.endedAt ?? offer.sentAt) }), 'Warning'],
  };
  const [outcome, outcomeColor] = offer.status === 'pending' ? [undefined, 'Default'] : outcomes[offer.status];
  return renderCard('offer', {
    t: o,
    notice,
    title: fill(o.title, { partner: partnerName }),
    intro: fill(o.intro, { partner: partnerName, domain: customer.domain }),
    message: offer.message,
    expires: fill(o.expires, { date: m.date(offer.expiresAt) }),
    pending: offer.status === 'pending',
    outcome,
    outcomeColor,
    offerId: offer.id,
  });
}

export function accessEndCard(m: Messages, partnerName: string, canEnd: boolean, notice?: Notice): AdaptiveCard {
  const o = m.t.offer;
  return renderCard('accessEnd', {
    t: o,
    notice,
    title: fill(o.removeTitle, { partner: partnerName }),
    text: canEnd ? fill(o.removeText, { partner: partnerName }) : fill(o.removeNone, { partner: partnerName }),
    canEnd,
  });
}

export interface UserForm {
  values?: { firstName?: string; lastName?: string; signInName?: string; product?: string };
  errors?: { name?: string[]; signInName?: string[]; product?: string[] };
  requestId?: string;
}

export function userAddCard(m: Messages, customer: Customer, form: UserForm = {}, notice?: Notice): AdaptiveCard {
  const u = m.t.addUser;
  const prefix = customer.domain.slice(0, -`.${ONMICROSOFT}`.length);
  const licenses = customer.subscriptions
    .filter((s) => s.assignedSeats < s.seats)
    .map((s) => ({ product: s.product, title: fill(u.licenseChoice, { product: s.product, free: s.seats - s.assignedSeats }) }));
  return renderCard('userAdd', {
    t: u,
    notice: notice ?? (licenses.length === 0 ? { text: fill(u.noFreeSeats, { customer: customer.name }), style: 'warning' } : undefined),
    title: fill(u.title, { customer: customer.name }),
    signInHint: fill(u.signInHint, { domain: `${prefix}.${ONMICROSOFT}` }),
    values: { firstName: '', lastName: '', signInName: '', product: licenses[0]?.product ?? '', ...form.values },
    errors: { name: [], signInName: [], product: [], ...form.errors },
    licenses,
    customerId: customer.tenantId,
    requestId: form.requestId ?? randomUUID(),
  });
}
