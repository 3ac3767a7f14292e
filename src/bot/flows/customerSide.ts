/** The customer's side: its admin answers requests for delegated administration and may end relationships. */
import { z } from 'zod';
import { customerAdmin } from '../../domain/roles.js';
import type { AdaptiveCard } from '../../cards.js';
import type { CustomerLink } from '../../domain/outcomes.js';
import { fill, type Messages } from '../../i18n/index.js';
import { accessEndCard, offerCard, roleNames } from '../delegationViews.js';
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
      const answered = { text: m.t.offer.alreadyAnswered, style: 'warning' as const };
      // An offer of the old kind, made before relationships, has no request to show.
      if (!result.offer.relationship) return noticeCard(m, answered);
      return offerCard(m, await partners.organisationName(result.link.partnerTenantId), result.link.customer, result.offer, answered);
    }
    return offerCard(m, await partners.organisationName(result.link.partnerTenantId), result.link.customer, result.offer);
  });
}

export const customerVerbs = {
  'offer.accept': offerAnswer(true),
  'offer.decline': offerAnswer(false),

  /** Ends the chosen relationship in force, or all of them; the card then lists what is left. */
  'access.end': verb(z.union([z.object({ relationshipId: z.string().min(1).max(200) }), z.object({ all: z.literal(true) })]), async (turn, data) => {
    const { m, delegation, partners } = turn;
    const result = await delegation.endByCustomer(turn.actor, 'relationshipId' in data ? data.relationshipId : undefined, adminCheck(turn));
    if ('refused' in result) {
      if (result.refused === 'notCustomer') return noticeCard(m, { text: m.t.offer.notYours, style: 'attention' });
      if (result.refused === 'notAdmin') return notAdmin(m, result.link);
      return accessEndCard(m, await partners.organisationName(result.link.partnerTenantId), await delegation.activeRelationships(result.link));
    }
    const partner = await partners.organisationName(result.link.partnerTenantId);
    const names = result.ended.map((r) => `${r.legacy ? m.t.relationships.legacyName : r.displayName} (${roleNames(m, r.accessDetails.unifiedRoles.map((u) => u.roleDefinitionId))})`).join('; ');
    return accessEndCard(m, partner, await delegation.activeRelationships(result.link), { text: fill(m.t.offer.removed, { partner, names }), style: 'good' });
  }),
};

/**
 * Whatever the customer's admin writes: shows requests not seen yet (or else all still open) (each as its own card, sent with
 * `send`, so it can be answered and updated in place) or handles "remove partner access". Anyone
 * else in the tenant is turned away.
 */
export async function answerCustomer(turn: TurnWith<Needs>, link: CustomerLink, text: string | undefined, send: (card: AdaptiveCard) => Promise<string | undefined>): Promise<AdaptiveCard | undefined> {
  const { m, delegation, partners } = turn;
  const partner = await partners.organisationName(link.partnerTenantId);
  if (!(await delegation.isAdmin(turn.actor, link, turn.signInName))) return notAdmin(m, link);
  if (turn.reference) await delegation.rememberAdmin(turn.actor, link, turn.reference);
  const current = (await delegation.link(link.customer.tenantId)) ?? link;
  if (parseTextCommand(text)?.command === 'removeAccess') return accessEndCard(m, partner, await delegation.activeRelationships(current));
  const unseen = delegation.unseenOffers(current);
  const toShow = unseen.length > 0 ? unseen : delegation.pendingOffers(current);
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
