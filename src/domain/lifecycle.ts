/**
 * A subscription's life after its end date, and the reminders around it. Pure rules: the state is
 * always derived from the dates and the day it is asked on, never stored.
 */
import { addMonths } from './subscriptions.js';

export interface LifecycleDays {
  /** Days after the end date during which the customer can still use the service (the last is the end date + graceDays). */
  graceDays: number;
  /** Days after the end date during which the data is kept and can be reactivated; it is deleted the day after. */
  deprovisionDays: number;
}

export const DEFAULT_LIFECYCLE: LifecycleDays = { graceDays: 30, deprovisionDays: 120 };

export type SubscriptionState = 'active' | 'expired' | 'disabled' | 'deprovisioned';

const DAY = 86_400_000;

/** A calendar day (YYYY-MM-DD) as a count of days, cheap enough to compare over many subscriptions. */
export function dayNumber(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY;
}

/** The calendar day (YYYY-MM-DD) of a day number: the inverse of dayNumber (years 100 to 9999). */
export function fromDayNumber(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to`, both calendar days (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** Per time zone, its formatter and the last day it gave (formatting is the cost; turns ask within the same second). */
const dayFormats = new Map<string, { format: Intl.DateTimeFormat; second: number; day: string }>();

/** The calendar day in a time zone (YYYY-MM-DD): reminders, renewals and cards follow the partner's own days. */
export function localDay(at: Date, timeZone: string): string {
  let zone = dayFormats.get(timeZone);
  if (!zone) {
    zone = { format: new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }), second: Number.NaN, day: '' };
    dayFormats.set(timeZone, zone);
  }
  // Zones change their offset only on a whole second, so within one second the day is the same.
  const second = Math.floor(at.getTime() / 1000);
  if (second !== zone.second) {
    zone.day = zone.format.format(at);
    zone.second = second;
  }
  return zone.day;
}

export function addDays(day: string, days: number): string {
  return fromDayNumber(dayNumber(day) + days);
}

/**
 * Active through its end date; expired (still usable) for the `graceDays` days after it; then
 * disabled (no use, data kept, can be reactivated) through `deprovisionDays` after the end;
 * deprovisioned (data deleted) from the day after that.
 */
export function subscriptionState(endDate: string, today: string, days: LifecycleDays = DEFAULT_LIFECYCLE): SubscriptionState {
  const after = daysBetween(endDate, today);
  if (after <= 0) return 'active';
  if (after <= days.graceDays) return 'expired';
  if (after <= days.deprovisionDays) return 'disabled';
  return 'deprovisioned';
}

/**
 * What may happen to a subscription now: renewal with a key and a switch to direct billing (now or
 * scheduled) need a partner-billed subscription whose data is not deleted yet.
 */
export function subscriptionActions(subscription: { billing: 'partner' | 'direct'; endDate: string }, today: string, days: LifecycleDays): { canRenew: boolean; canSwitch: boolean } {
  const partnerBilled = subscription.billing === 'partner';
  const alive = subscriptionState(subscription.endDate, today, days) !== 'deprovisioned';
  return { canRenew: partnerBilled && alive, canSwitch: partnerBilled && alive };
}

/** The last day of each stage after the end date: still usable, data still kept. */
export function lastDays(endDate: string, days: LifecycleDays = DEFAULT_LIFECYCLE): { usable: string; dataKept: string; deletedOn: string } {
  return { usable: addDays(endDate, days.graceDays), dataKept: addDays(endDate, days.deprovisionDays), deletedOn: addDays(endDate, days.deprovisionDays + 1) };
}

/**
 * The new end date after a renewal with a key of `termMonths`: from the current end date while the
 * subscription is active, from the renewal day once it has expired or been disabled (a reactivation).
 */
export function renewedEndDate(endDate: string, today: string, termMonths: number, days: LifecycleDays = DEFAULT_LIFECYCLE): string | undefined {
  const state = subscriptionState(endDate, today, days);
  if (state === 'deprovisioned') return undefined;
  return addMonths(state === 'active' ? endDate : today, termMonths);
}

export const REMINDER_KINDS = ['before60', 'before30', 'before7', 'before1', 'expired', 'disabled', 'deletionSoon'] as const;
export type ReminderKind = (typeof REMINDER_KINDS)[number];

/** When each reminder of a cycle falls due, in days from the end date, in order: the one place this lives. */
export function reminderOffsets(days: LifecycleDays = DEFAULT_LIFECYCLE): Array<{ kind: ReminderKind; offset: number }> {
  return [
    { kind: 'before60', offset: -60 },
    { kind: 'before30', offset: -30 },
    { kind: 'before7', offset: -7 },
    { kind: 'before1', offset: -1 },
    { kind: 'expired', offset: 1 },
    { kind: 'disabled', offset: days.graceDays + 1 },
    // A week before the data is deleted.
    { kind: 'deletionSoon', offset: days.deprovisionDays + 1 - 7 },
  ];
}

/** The day each reminder of a cycle is due, in order. */
export function reminderSchedule(endDate: string, days: LifecycleDays = DEFAULT_LIFECYCLE): Array<{ kind: ReminderKind; due: string }> {
  return reminderOffsets(days).map(({ kind, offset }) => ({ kind, due: addDays(endDate, offset) }));
}

/**
 * Whether a reminder cycle still runs `fromEnd` days after its end date: while the data is kept,
 * through its last day (see subscriptionState). The one rule for when reminders stop.
 */
export function cycleRuns(fromEnd: number, days: LifecycleDays = DEFAULT_LIFECYCLE): boolean {
  return fromEnd <= days.deprovisionDays;
}

/** The last reminder of the cycle due `fromEnd` days after the end date, if any is due yet and the cycle still runs (data not yet deleted). */
export function latestDue(fromEnd: number, days: LifecycleDays = DEFAULT_LIFECYCLE): ReminderKind | undefined {
  if (!cycleRuns(fromEnd, days)) return undefined;
  return reminderOffsets(days).findLast(({ offset }) => offset <= fromEnd)?.kind;
}

/**
 * What to send today: only the most urgent reminder that is due and not yet handled; the older ones
 * it overtakes (missed while the bot was down) are skipped rather than sent in a burst.
 */
export function dueReminder(endDate: string, today: string, handled: ReadonlySet<ReminderKind>, days: LifecycleDays = DEFAULT_LIFECYCLE): { send: ReminderKind; skip: ReminderKind[] } | undefined {
  if (!cycleRuns(daysBetween(endDate, today), days)) return undefined;
  const schedule = reminderSchedule(endDate, days);
  const due = schedule.filter((r) => r.due <= today && !handled.has(r.kind));
  const latest = due.at(-1);
  if (!latest) return undefined;
  // A reminder already handled later in the cycle makes earlier ones moot too.
  const lastHandled = Math.max(-1, ...schedule.map((r, i) => (handled.has(r.kind) ? i : -1)));
  if (schedule.findIndex((r) => r.kind === latest.kind) < lastHandled) return undefined;
  return { send: latest.kind, skip: due.slice(0, -1).map((r) => r.kind) };
}

/** The next reminder of the cycle after today, if any: where "remind me later" points. */
export function nextReminder(endDate: string, today: string, days: LifecycleDays = DEFAULT_LIFECYCLE): { kind: ReminderKind; due: string } | undefined {
  return reminderSchedule(endDate, days).find((r) => r.due > today);
}
