/** Step 1: redeeming product keys into a setup, its summary, and the setup's own card. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { anyone, beforeRoles, staff } from '../../domain/roles.js';
import type { AdaptiveCard } from '../../cards.js';
import { fill, type Messages } from '../../i18n/index.js';
import { currentCard, entryCard, MAX_FIELDS, noticeCard, reviewCard, setupCard, welcomeCard } from '../views.js';
import { isRefusal, permissionsOf, refused, setupContext, verbsOf, type TurnWith } from './verb.js';

const verb = verbsOf<'setups' | 'partners'>();

const setupId = z.uuid();
const rev = z.number().int().nonnegative();
export const onSetup = z.object({ setupId, rev });
/** Key fields arrive as inputs named key0, key1, … merged into the action's data. */
const keyFields = onSetup.extend({ fieldCount: z.number().int().min(1).max(MAX_FIELDS) }).catchall(z.unknown());

function typedFields(data: z.infer<typeof keyFields>, maxLength: number): string[] {
  return Array.from({ length: data.fieldCount }, (_, index) => {
    const value = data[`key${index}`];
    return typeof value === 'string' ? value.slice(0, maxLength * 2) : '';
  });
}

export async function welcomeFor({ actor, m, setups, partners }: TurnWith<'setups' | 'partners'>): Promise<AdaptiveCard> {
  const hasProfile = (await partners.profile(actor.tenantId)) !== undefined;
  return welcomeCard(m, actor.userId, await setups.openSetups(actor.tenantId), { hasProfile, hasCustomers: await partners.hasCustomers(actor.tenantId) });
}

/** A new, empty key entry: from the welcome card's button and from the typed "redeem". */
export function startRedeem(m: Messages): AdaptiveCard {
  return entryCard(m, randomUUID(), undefined, { values: [''] });
}

/** The typed "cancel": the service decides what it may discard, the card says what it did. */
export async function cancelLatest({ actor, m, setups }: TurnWith<'setups'>): Promise<AdaptiveCard> {
  const result = await setups.cancelLatest(actor);
  switch (result.outcome) {
    case 'nothing':
      return noticeCard(m, { text: m.t.cancel.nothing, style: 'accent' }, true);
    case 'kept':
      return setupCard(m, result.setup, { notice: { text: m.t.cancel.keptReserved, style: 'warning' }, actions: result.setup.status === 'reserved' });
    case 'discarded':
      return noticeCard(m, { text: fill(m.t.cancel.discarded, { keys: m.count(m.t.common.keyCount, result.setup.keys.length) }), style: 'good' }, true);
  }
}

export const redeemVerbs = {
  'welcome.show': verb(z.object({}), async (turn) => welcomeFor(turn)),

  'redeem.start': verb(z.object({}), async ({ m }) => startRedeem(m)),

  'redeem.addField': verb(keyFields, async ({ actor, m, setups, maxFieldLength }, data) => {
    const values = typedFields(data, maxFieldLength).map((value) => value.slice(0, maxFieldLength));
    const full = values.length >= MAX_FIELDS;
    const notice = full ? { text: fill(m.t.entry.fieldsFull, { max: MAX_FIELDS }), style: 'warning' as const } : undefined;
    return entryCard(m, data.setupId, await setups.find(actor.tenantId, data.setupId), { values: full ? values : [...values, ''] }, notice);
  }),

  'redeem.next': verb(keyFields, async (turn, data) => {
    const { actor, m, setups, maxFieldLength } = turn;
    const values = typedFields(data, maxFieldLength);
    const result = await setups.checkAndAdd(actor, data.setupId, data.rev, values);
    if (isRefusal(result)) return refused(turn, result);
    if (result.ok) return reviewCard(m, result.setup);
    const kept = { values: values.map((value) => value.slice(0, maxFieldLength)) };
    if ('locked' in result) {
      return entryCard(m, data.setupId, await setups.find(actor.tenantId, data.setupId), kept, { text: fill(m.t.entry.locked, { time: m.dateTime(result.locked) }), style: 'attention' });
    }
    return entryCard(m, data.setupId, result.setup, { ...kept, errors: result.fieldErrors }, { text: m.t.entry.fix, style: 'attention' });
  }),

  'redeem.removeKey': verb(onSetup.extend({ keyId: z.uuid() }), async (turn, data) => {
    const result = await turn.setups.removeKey(turn.actor, data.setupId, data.rev, data.keyId);
    return isRefusal(result) ? refused(turn, result) : currentCard(turn.m, result.setup, await setupContext(turn));
  }),

  'redeem.back': verb(onSetup, async (turn, data) => {
    const result = await turn.setups.backToEntry(turn.actor, data.setupId, data.rev);
    return isRefusal(result) ? refused(turn, result) : currentCard(turn.m, result.setup, await setupContext(turn));
  }),

  'redeem.confirm': verb(onSetup, async (turn, data) => {
    const result = await turn.setups.confirm(turn.actor, data.setupId, data.rev);
    if (isRefusal(result)) return refused(turn, result);
    if (result.ok) return setupCard(turn.m, result.setup, { actions: false, continueStep: true });
    return currentCard(turn.m, result.setup, await setupContext(turn), { text: fill(turn.m.t.review.taken, { keys: result.taken.join(', ') }), style: 'attention' });
  }),

  'setup.open': verb(z.object({ setupId }), async (turn, data) => {
    const result = await turn.setups.open(turn.actor, data.setupId);
    return isRefusal(result) ? refused(turn, result) : currentCard(turn.m, result, await setupContext(turn));
  }),

  'setup.discard': verb(onSetup, async (turn, data) => {
    const result = await turn.setups.discard(turn.actor, data.setupId, data.rev);
    if (isRefusal(result)) return refused(turn, result);
    if (!result.setup) return noticeCard(turn.m, { text: turn.m.t.entry.cancelled, style: 'good' }, true);
    return setupCard(turn.m, result.setup, { actions: false });
  }),
};

/** Redeeming keys is a Sales agent's work. */
const redeeming = staff(['sales'], beforeRoles);

export const redeemPermissions = permissionsOf<typeof redeemVerbs>({
  'welcome.show': [anyone, 'Show the welcome card and help'],
  'redeem.start': [redeeming, 'Start redeeming product keys'],
  'redeem.addField': [redeeming, 'Add a key field'],
  'redeem.next': [redeeming, 'Check and add product keys'],
  'redeem.removeKey': [redeeming, 'Remove a key from a setup'],
  'redeem.back': [redeeming, 'Go back to key entry'],
  'redeem.confirm': [redeeming, 'Confirm the keys (reserves them)'],
  'setup.open': [redeeming, 'Open a setup'],
  'setup.discard': [redeeming, 'Discard a setup (releases its keys)'],
});
