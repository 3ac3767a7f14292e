/** Cards of the renewal side: reminders, direct billing, the upcoming list (keys for a renewal: views.ts). */
import { renderCard, type AdaptiveCard } from '../cards.js';
import type { Customer, Subscription } from '../domain/customer.js';
import { daysBetween, lastDays, subscriptionActions, subscriptionState, type ReminderKind } from '../domain/lifecycle.js';
import type { Upcoming } from '../domain/outcomes.js';
import { fill, type Messages } from '../i18n/index.js';
import type { Notice, Today } from './notice.js';
import { pageOf } from '../domain/paging.js';

/** One line on a subscription's state and days left, as the customer card and reminders show it. */
export function stateText(m: Messages, subscription: Subscription, { today, lifecycle }: Today): string {
  const l = m.t.lifecycle;
  if (subscription.billing === 'direct') return fill(l.direct, { end: m.date(subscription.endDate) });
  const state = subscriptionState(subscription.endDate, today, lifecycle);
  const after = daysBetween(subscription.endDate, today);
  // The last days only for the states that show them: most subscriptions in a list are active.
  const last = () => lastDays(subscription.endDate, lifecycle);
  const text =
    state === 'active'
      ? after === 0
        ? l.lastDay
        : fill(l.active, { days: m.count(m.t.common.dayCount, -after) })
      : state === 'expired'
        ? fill(l.expired, { days: m.count(m.t.common.dayCountSince, after), until: m.date(last().usable) })
        : state === 'disabled'
          ? fill(l.disabled, { until: m.date(last().dataKept) })
          : l.deprovisioned;
  return subscription.scheduledSwitch ? `${text}; ${fill(l.switchScheduled, { date: m.date(subscription.scheduledSwitch.on) })}` : text;
}

/** `inChannel`: a team channel, where product keys are not entered (everyone sees the card), so renewing is pointed to a personal chat. */
export function reminderCard(m: Messages, input: { key: string; kind: ReminderKind; customer: Customer; subscription: Subscription; inChannel?: boolean } & Today, notice?: Notice): AdaptiveCard {
  const r = m.t.reminder;
  const { customer, subscription, kind, lifecycle, today } = input;
  const values = { product: subscription.product, customer: customer.name };
  const last = lastDays(subscription.endDate, lifecycle);
  const { canRenew, canSwitch } = subscriptionActions(subscription, today, lifecycle);
  const daysLeft = daysBetween(today, subscription.endDate);
  const title = kind.startsWith('before')
    ? daysLeft === 0
      ? fill(r.titleToday, values)
      : fill(r.titleBefore, { ...values, days: m.count(m.t.common.dayCount, daysLeft) })
    : kind === 'expired'
      ? fill(r.titleExpired, values)
      : kind === 'disabled'
        ? fill(r.titleDisabled, values)
        : fill(r.titleDeletion, { ...values, date: m.date(last.deletedOn) });
  const facts = ([
    [r.customer, customer.name],
    [r.product, subscription.product],
    [r.seats, String(subscription.seats)],
    [r.endDate, m.date(subscription.endDate)],
    [r.state, stateText(m, subscription, input)],
  ] satisfies Array<[string, string]>).map(([title, value]) => ({ title, value }));
  return renderCard('reminder', {
    t: r,
    notice,
    title,
    facts,
    after: fill(r.after, { grace: m.count(m.t.common.dayCount, lifecycle.graceDays), deprovision: m.count(m.t.common.dayCount, lifecycle.deprovisionDays), keptUntil: m.date(last.dataKept) }),
    customerId: customer.tenantId,
    subscriptionId: subscription.id,
    key: input.key,
    canSnooze: !notice,
    canSwitch,
    canRenew: canRenew && !input.inChannel,
    renewInChat: canRenew && input.inChannel ? fill(r.renewInChat, { customer: customer.name }) : undefined,
  });
}

export function billingCard(m: Messages, { customer, subscription }: { customer: Customer; subscription: Subscription }, switchDay: string, day: Today, notice?: Notice): AdaptiveCard {
  const b = m.t.billing;
  const { canSwitch } = subscriptionActions(subscription, day.today, day.lifecycle);
  const refusal = subscription.billing === 'direct' ? b.already : canSwitch ? undefined : b.deprovisioned;
  return renderCard('billing', {
    t: b,
    notice: notice ?? (refusal ? { text: refusal, style: 'accent' } : undefined),
    title: fill(b.title, { product: subscription.product, customer: customer.name }),
    explain: fill(b.explain, { end: m.date(subscription.endDate) }),
    scheduleTitle: fill(b.schedule, { date: m.date(switchDay) }),
    canSchedule: canSwitch && !subscription.scheduledSwitch,
    canUnschedule: subscription.billing === 'partner' && subscription.scheduledSwitch !== undefined,
    canSwitch,
    customerId: customer.tenantId,
    subscriptionId: subscription.id,
  });
}

/** How far ahead the renewals overview looks: a number of days, or every reminder still to come. */
export const REMINDER_RANGES = ['30', '60', '90', 'all'] as const;
export type ReminderRange = (typeof REMINDER_RANGES)[number];
export const REMINDERS_PAGE_SIZE = 20;

export function rangeDays(range: ReminderRange): number | undefined {
  return range === 'all' ? undefined : Number(range);
}

/** One page of the renewals overview across all customers, with the range it covers. */
export function remindersCard(m: Messages, upcoming: readonly Upcoming[], view: { range: ReminderRange; page: number }, notice?: Notice): AdaptiveCard {
  const r = m.t.reminders;
  const { page, start, shown, hasNext } = pageOf(upcoming, view.page, REMINDERS_PAGE_SIZE);
  const days = rangeDays(view.range);
  return renderCard('reminders', {
    t: r,
    notice,
    range: view.range,
    ranges: REMINDER_RANGES.map((value) => ({ value, title: value === 'all' ? r.rangeAll : fill(r.rangeDays, { days: value }) })),
    heading: days === undefined ? r.headingAll : fill(r.headingDays, { days }),
    empty: upcoming.length === 0 ? (days === undefined ? r.emptyAll : fill(r.emptyDays, { days })) : undefined,
    showing: upcoming.length > REMINDERS_PAGE_SIZE ? fill(r.showing, { from: start + 1, to: start + shown.length, total: upcoming.length }) : undefined,
    page,
    hasNext,
    lines: shown.map((u) => fill(r.line, { date: m.date(u.due), customer: u.customer.name, product: u.subscription.product, kind: r[u.kind] })),
  });
}
