/** Product keys for existing customers (renewal, added seats and subscriptions), billing, and the reminders. */
import { z } from 'zod';
import { beforeRoles, staff } from '../../domain/roles.js';
import type { AdaptiveCard } from '../../cards.js';
import { randomUUID } from 'node:crypto';
import type { ApplyResult, Switched } from '../../domain/outcomes.js';
import type { SetupTarget } from '../../domain/setup.js';
import { fill, type Messages } from '../../i18n/index.js';
import { customerCard } from '../accountViews.js';
import type { Notice } from '../notice.js';
import { billingCard, rangeDays, REMINDER_RANGES, reminderCard, remindersCard } from '../renewalViews.js';
import { currentCard, keysEntryCard, noticeCard } from '../views.js';
import { onSetup } from './redeem.js';
import { customerId, isRefusal, notFound, permissionsOf, refused, setupContext, typed, verbsOf, type TurnWith } from './verb.js';

const verb = verbsOf<'renewals' | 'reminders' | 'partners' | 'setups'>();

const onSubscription = z.object({ customerId, subscriptionId: z.string().min(1).max(100) });

/** The key entry for an existing customer carries its target; a saved setup keeps its own. */
const keysTyped = onSetup.extend({ kind: z.enum(['renew', 'add']), customerId, subscriptionId: z.string().max(100).optional(), key: typed });

type KeysTurn = TurnWith<'renewals' | 'partners'>;

function targetOf(data: z.infer<typeof keysTyped>): SetupTarget | undefined {
  if (data.kind === 'add') return { kind: 'add', customerId: data.customerId };
  return data.subscriptionId ? { kind: 'renew', customerId: data.customerId, subscriptionId: data.subscriptionId } : undefined;
}

/** A fresh key entry for a target the partner may give keys to now. */
async function startKeys(turn: KeysTurn, target: SetupTarget): Promise<AdaptiveCard> {
  const customer = await turn.partners.customer(turn.actor.tenantId, target.customerId);
  if (!customer) return notFound(turn.m);
  if (!(await turn.renewals.allows(turn.actor.tenantId, target))) return noticeCard(turn.m, { text: turn.m.t.renew.notAllowed, style: 'attention' });
  return keysEntryCard(turn.m, randomUUID(), undefined, target, customer, turn.day);
}

/** What the customer card says once the keys are applied: the renewal's new end and seats, or each subscription the keys changed. */
function appliedText(m: Messages, result: Extract<ApplyResult, { ok: true }>): string {
  const { customer, changed, canceledSwitch, setup } = result;
  if (setup.target?.kind === 'renew') {
    const subscription = changed[0]!;
    const renewed = fill(m.t.renew.renewed, { product: subscription.product, customer: customer.name, end: m.date(subscription.endDate), seats: m.count(m.t.common.seatCount, subscription.seats) });
    return canceledSwitch ? `${renewed} ${fill(m.t.renew.switchCanceled, { date: m.date(canceledSwitch) })}` : renewed;
  }
  const changes = changed.map((s) => fill(m.t.addKeys.changeLine, { product: s.product, seats: m.count(m.t.common.seatCount, s.seats), end: m.date(s.endDate) })).join('; ');
  return fill(m.t.addKeys.added, { customer: customer.name, changes });
}

async function billing({ m, renewals, actor, day }: TurnWith<'renewals'>, found: Switched, notice?: Notice): Promise<AdaptiveCard> {
  return billingCard(m, found, await renewals.switchDay(actor.tenantId, found.subscription), day, notice);
}

export const renewalVerbs = {
  'renew.compose': verb(onSubscription, async (turn, data) => startKeys(turn, { kind: 'renew', customerId: data.customerId, subscriptionId: data.subscriptionId })),

  'keys.compose': verb(z.object({ customerId }), async (turn, data) => startKeys(turn, { kind: 'add', customerId: data.customerId })),

  'keys.check': verb(keysTyped, async (turn, data) => {
    const { m, actor, renewals, maxFieldLength } = turn;
    const target = targetOf(data);
    if (!target) return notFound(m);
    const text = data.key ?? '';
    const result = await renewals.checkKeys(actor, data.setupId, data.rev, text, target);
    if ('refused' in result) return result.refused === 'notAllowed' ? noticeCard(m, { text: m.t.renew.notAllowed, style: 'attention' }) : refused(turn, result);
    if (result.ok) return currentCard(m, result.setup, await setupContext(turn));
    // What was typed stays on the card with what is wrong with it.
    const setup = await turn.setups.find(actor.tenantId, data.setupId);
    const shown = setup?.target ?? target;
    const customer = await turn.partners.customer(actor.tenantId, shown.customerId);
    if (!customer) return notFound(m);
    const form = { key: text.slice(0, maxFieldLength), errors: 'fieldErrors' in result ? result.fieldErrors.flat() : [] };
    const notice = 'locked' in result ? { text: fill(m.t.entry.locked, { time: m.dateTime(result.locked) }), style: 'attention' as const } : { text: m.t.entry.fix, style: 'attention' as const };
    return keysEntryCard(m, data.setupId, setup, shown, customer, turn.day, form, notice);
  }),

  'keys.apply': verb(onSetup, async (turn, data) => {
    const { m } = turn;
    const result = await turn.renewals.applyKeys(turn.actor, data.setupId, data.rev);
    if (isRefusal(result)) return refused(turn, result);
    if (result.ok) return customerCard(m, result.customer, turn.day, { notice: { text: appliedText(m, result), style: 'good' } });
    const notice = 'taken' in result ? { text: fill(m.t.review.taken, { keys: result.taken.join(', ') }), style: 'attention' as const } : { text: m.t.keys.refused[result.reason], style: 'attention' as const };
    return currentCard(m, result.setup, await setupContext(turn), notice);
  }),

  'billing.compose': verb(onSubscription, async (turn, data) => {
    const found = await turn.renewals.find(turn.actor.tenantId, data.customerId, data.subscriptionId);
    return found ? billing(turn, found) : notFound(turn.m);
  }),

  'billing.switch': verb(onSubscription, async (turn, data) => {
    const { m } = turn;
    const switched = await turn.renewals.switchNow(turn.actor, data.customerId, data.subscriptionId);
    if (!switched) return notFound(m);
    // Already direct, or its data deleted: the card says which, and nothing changed.
    if ('refused' in switched) return billing(turn, switched);
    return customerCard(m, switched.customer, turn.day, { notice: { text: fill(m.t.billing.switched, { product: switched.subscription.product, customer: switched.customer.name }), style: 'good' } });
  }),

  'billing.schedule': verb(onSubscription, async (turn, data) => {
    const { m } = turn;
    const scheduled = await turn.renewals.schedule(turn.actor, data.customerId, data.subscriptionId);
    if (!scheduled) return notFound(m);
    if ('refused' in scheduled) return billing(turn, scheduled);
    return billing(turn, scheduled, { text: fill(m.t.billing.scheduled, { date: m.date(scheduled.subscription.scheduledSwitch!.on) }), style: 'good' });
  }),

  'billing.unschedule': verb(onSubscription, async (turn, data) => {
    const result = await turn.renewals.unschedule(turn.actor, data.customerId, data.subscriptionId);
    return result ? billing(turn, result, { text: turn.m.t.billing.unscheduled, style: 'good' }) : notFound(turn.m);
  }),

  'reminder.snooze': verb(z.object({ key: z.string().max(200).regex(/^[\w-]+\|\d{4}-\d{2}-\d{2}\|\w+$/) }), async (turn, data) => {
    const { m, reminders, renewals, actor } = turn;
    const snoozed = await reminders.snooze(actor, data.key);
    const found = snoozed && (await renewals.find(actor.tenantId, snoozed.customerTenantId, snoozed.subscriptionId));
    if (!snoozed || !found) return noticeCard(m, { text: m.t.reminder.gone, style: 'attention' });
    const text = snoozed.next ? fill(m.t.reminder.snoozed, { date: m.date(snoozed.next.due) }) : m.t.reminder.snoozedLast;
    return reminderCard(m, { key: data.key, kind: snoozed.kind, ...found, ...turn.day }, { text, style: 'good' });
  }),

  // The overview of every customer's reminders: a range from the list, and pages of it.
  'reminders.list': verb(z.object({ range: z.enum(REMINDER_RANGES).catch('60'), page: z.number().int().min(1).max(10_000).catch(1) }), async ({ actor, m, reminders }, data) =>
    remindersCard(m, await reminders.upcoming(actor.tenantId, rangeDays(data.range)), data),
  ),
};

export const renewalPermissions = permissionsOf<typeof renewalVerbs>({
  'renew.compose': [staff(['sales'], beforeRoles), 'Open the renewal form'],
  'keys.compose': [staff(['sales'], beforeRoles), 'Open the product key form for an existing customer'],
  'keys.check': [staff(['sales'], beforeRoles), 'Check product keys for a renewal or an existing customer'],
  'keys.apply': [staff(['sales'], beforeRoles), 'Renew or add seats and subscriptions with the checked keys'],
  'billing.compose': [staff([], beforeRoles), 'Open the direct-billing switch'],
  'billing.switch': [staff([], beforeRoles), 'Switch a subscription to direct billing now'],
  'billing.schedule': [staff([], beforeRoles), 'Schedule a switch to direct billing'],
  'billing.unschedule': [staff([], beforeRoles), 'Cancel a scheduled switch to direct billing'],
  'reminder.snooze': [staff(['sales'], beforeRoles), 'Snooze a renewal reminder'],
  'reminders.list': [staff(['sales'], beforeRoles), "See every customer's upcoming reminders"],
});
