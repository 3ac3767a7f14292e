/** The customer's side: its admin answers offers of delegated administration and may end delegation. */
import { z } from 'zod';
import { customerAdmin } from '../../domain/roles.js';
import type { AdaptiveCard } from '../../cards.js';
import { delegationState } from '../../domain/delegation.js';
import type { CustomerLink } from '../../domain/outcomes.js';
import { fill, type Messages } from '../../i18n/index.js';
import { accessEndCard, offerCard } from '../delegationViews.js';
import type { AdminCheck } from '../ports.js';
import { parseTextCommand } from '../textCommands.js';
import { noticeCard } from '../views.js';
import { permissionsOf, verbsOf, type TurnWith } from './verb.js';

type Needs = 'partners' | 'delegation';
const verb = verbsOf<Needs>();

/** Whether the actor is the admin of the customer tenant they write from. */
function adminCheck(turn: TurnWith<Needs>): AdminCheck {
  return (link) => turn.delegation.isAdmin(turn.actor, link, turn.signInName);
}

function notAdmin(m: Messages, link: CustomerLink): AdaptiveCard {
  return noticeCard(m, { text: fill(m.t.offer.notAdmin, { upn: link.customer.admin.userPrincipalName }), style: 'attention' });
}

function offerAnswer(accepted: boolean) {
  return verb(z.object({ offerId: z.uuid() }), async (turn, data) => {
    const { m, delegation, partners } = turn;
    const result = await delegation.answer(turn.actor, data.offerId, accepted, adminCheck(turn));
    if ('refused' in result) {
      if (result.refused === 'offerNotFound') return noticeCard(m, { text: m.t.offer.notYours, style: 'attention' });
      if (result.refused === 'notAdmin') return notAdmin(m, result.link);
      return offerCard(m, partners.organisationName(result.link.partnerTenantId), result.link.customer, result.offer, { text: m.t.offer.alreadyAnswered, style: 'warning' });
    }
    return offerCard(m, partners.organisationName(result.link.partnerTenantId), result.link.customer, result.offer);
  });
}

export const customerVerbs = {
  'offer.accept': offerAnswer(true),
  'offer.decline': offerAnswer(false),

  'access.end': verb(z.object({}), async (turn) => {
    const { m, delegation, partners } = turn;
    const result = await delegation.endDelegation(turn.actor, adminCheck(turn));
    if ('refused' in result) {
      if (result.refused === 'notCustomer') return noticeCard(m, { text: m.t.offer.notYours, style: 'attention' });
      if (result.refused === 'notAdmin') return notAdmin(m, result.link);
      return accessEndCard(m, partners.organisationName(result.link.partnerTenantId), false);
    }
    const name = partners.organisationName(result.link.partnerTenantId);
    return accessEndCard(m, name, false, { text: fill(m.t.offer.removed, { partner: name }), style: 'good' });
  }),
};

/**
 * Whatever the customer's admin writes: shows offers not seen yet (each as its own card, sent with
 * `send`, so it can be answered and updated in place) or handles "remove partner access". Anyone
 * else in the tenant is turned away.
 */
export async function answerCustomer(turn: TurnWith<Needs>, link: CustomerLink, text: string | undefined, send: (card: AdaptiveCard) => Promise<string | undefined>): Promise<AdaptiveCard | undefined> {
  const { m, delegation, partners } = turn;
  const partner = partners.organisationName(link.partnerTenantId);
  if (!(await delegation.isAdmin(turn.actor, link, turn.signInName))) return notAdmin(m, link);
  if (turn.reference) await delegation.rememberAdmin(link, turn.reference);
  const current = delegation.link(link.customer.tenantId) ?? link;
  if (parseTextCommand(text)?.command === 'removeAccess') {
    return accessEndCard(m, partner, delegationState(current.customer.offers).state === 'active');
  }
  const unseen = delegation.unseenOffers(current);
  const pending = delegationState(current.customer.offers);
  const toShow = unseen.length > 0 ? unseen : pending.state === 'pending' ? [pending.offer] : [];
  await send(noticeCard(m, { text: `${fill(m.t.offer.welcome, { partner, domain: current.customer.domain })}${toShow.length === 0 ? `\n\n${m.t.offer.noOffers}` : ''}`, style: 'accent' }));
  for (const offer of toShow) {
    const sentId = await send(offerCard(m, partner, current.customer, offer));
    if (turn.reference) await delegation.markShown(current, offer.id, turn.reference, sentId);
  }
  return undefined;
}

export const customerPermissions = permissionsOf<typeof customerVerbs>({
  'offer.accept': [customerAdmin, 'Accept an offer of delegated administration'],
  'offer.decline': [customerAdmin, 'Decline an offer of delegated administration'],
  'access.end': [customerAdmin, "End the partner's delegated administration"],
});
