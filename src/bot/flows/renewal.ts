/** Renewal and billing of a customer's subscription, and the reminders about it. */
import { z } from 'zod';
import { beforeRoles, staff } from '../../domain/roles.js';
import type { AdaptiveCard } from '../../cards.js';
import { keyFieldError, type RenewRefusal, type Switched } from '../../domain/outcomes.js';
import { fill, type Messages } from '../../i18n/index.js';
import { customerCard } from '../accountViews.js';
import type { Notice } from '../notice.js';
import { billingCard, reminderCard, renewCard } from '../renewalViews.js';
import { keyErrorText, noticeCard } from '../views.js';
import { customerId, notFound, permissionsOf, typed, verbsOf, type TurnWith } from './verb.js';

const verb = verbsOf<'renewals' | 'reminders'>();

const onSubscription = z.object({ customerId, subscriptionId: z.string().min(1).max(100) });

/** Error text for a refused renewal; a problem with the key reads as on the redeem card, for "key 1". */
function renewRefusalText(m: Messages, refusal: RenewRefusal, product: string): string {
  switch (refusal.code) {
    case 'format':
      if (refusal.problem.code === 'length' && refusal.problem.length === 0) return m.t.renew.noKey;
      return keyErrorText(m, keyFieldError(refusal.problem, 1));
    case 'unknown':
    case 'redeemed':
    case 'blocked':
    case 'reservedElsewhere':
      return keyErrorText(m, { code: refusal.code, position: 1 });
    case 'locked':
      return fill(m.t.entry.locked, { time: m.dateTime(refusal.until) });
    case 'productMismatch':
      return fill(m.t.renew.productMismatch, { keyProduct: refusal.keyProduct, product });
    case 'notFound':
      return m.t.notice.notFound;
    default:
      return m.t.renew[refusal.code];
  }
}

function billing({ m, renewals, actor, day }: TurnWith<'renewals'>, found: Switched, notice?: Notice): AdaptiveCard {
  return billingCard(m, found, renewals.switchDay(actor.tenantId, found.subscription), day, notice);
}

export const renewalVerbs = {
  'renew.compose': verb(onSubscription, async (turn, data) => {
    const found = turn.renewals.find(turn.actor.tenantId, data.customerId, data.subscriptionId);
    return found ? renewCard(turn.m, found.customer, found.subscription, turn.day) : notFound(turn.m);
  }),

  'renew.submit': verb(onSubscription.extend({ requestId: z.uuid(), key: typed }), async (turn, data) => {
    const { m, renewals, actor } = turn;
    const found = renewals.find(actor.tenantId, data.customerId, data.subscriptionId);
    if (!found) return notFound(m);
    const typedKey = (data.key ?? '').slice(0, 60);
    const result = await renewals.renewWithKey(actor, data.customerId, data.subscriptionId, data.requestId, typedKey);
    if (!result.ok) {
      const text = renewRefusalText(m, result, found.subscription.product);
      return renewCard(m, found.customer, found.subscription, turn.day, { key: typedKey, errors: [text], requestId: data.requestId }, { text: m.t.account.fix, style: 'attention' });
    }
    const { customer, subscription, canceledSwitch } = result;
    const renewed = fill(m.t.renew.renewed, { product: subscription.product, customer: customer.name, end: m.date(subscription.endDate), seats: m.count(m.t.common.seatCount, subscription.seats) });
    const text = canceledSwitch ? `${renewed} ${fill(m.t.renew.switchCanceled, { date: m.date(canceledSwitch) })}` : renewed;
    return customerCard(m, customer, turn.day, { notice: { text, style: 'good' } });
  }),

  'billing.compose': verb(onSubscription, async (turn, data) => {
    const found = turn.renewals.find(turn.actor.tenantId, data.customerId, data.subscriptionId);
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
    const snoozed = reminders.snooze(actor, data.key);
    const found = snoozed && renewals.find(actor.tenantId, snoozed.customerTenantId, snoozed.subscriptionId);
    if (!snoozed || !found) return noticeCard(m, { text: m.t.reminder.gone, style: 'attention' });
    const text = snoozed.next ? fill(m.t.reminder.snoozed, { date: m.date(snoozed.next.due) }) : m.t.reminder.snoozedLast;
    return reminderCard(m, { key: data.key, kind: snoozed.kind, ...found, ...turn.day }, { text, style: 'good' });
  }),
};

export const renewalPermissions = permissionsOf<typeof renewalVerbs>({
  'renew.compose': [staff(['sales'], beforeRoles), 'Open the renewal form'],
  'renew.submit': [staff(['sales'], beforeRoles), 'Renew a subscription with a product key'],
  'billing.compose': [staff([], beforeRoles), 'Open the direct-billing switch'],
  'billing.switch': [staff([], beforeRoles), 'Switch a subscription to direct billing now'],
  'billing.schedule': [staff([], beforeRoles), 'Schedule a switch to direct billing'],
  'billing.unschedule': [staff([], beforeRoles), 'Cancel a scheduled switch to direct billing'],
  'reminder.snooze': [staff(['sales'], beforeRoles), 'Snooze a renewal reminder'],
});
