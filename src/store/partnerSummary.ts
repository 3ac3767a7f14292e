/**
 * What the background jobs need to know about a partner without its file in memory: which jobs have
 * work there, its time zone, and the end dates of the subscriptions it is reminded of. Derived from
 * the document alone (a pure function), so it can always be rebuilt from the file.
 */
import { z } from 'zod';
import { remindsPartner } from '../domain/customer.js';
import { dayNumber, REMINDER_KINDS, type ReminderKind } from '../domain/lifecycle.js';
import { timeZoneOf } from '../domain/profile.js';
import type { PartnerDoc } from './documents.js';

/** Work a background job may find in a partner's file; a job loads only the files flagged for it. */
export const PARTNER_WORK = ['reserved', 'reserving', 'creating', 'releaseNotice', 'pendingRenewal', 'scheduledSwitch', 'offers', 'queuedReminders'] as const;
export type PartnerWork = (typeof PARTNER_WORK)[number];

export const PartnerSummarySchema = z.object({
  timeZone: z.string(),
  work: z.array(z.enum(PARTNER_WORK)),
  /**
   * One triple per subscription the partner is reminded of: its end date as a day number, the day
   * number of a scheduled switch to direct billing (-1 when none), and a bit mask of the reminder
   * kinds already recorded for that end date (bit i: REMINDER_KINDS[i]).
   */
  reminders: z.array(z.number().int()),
});
export type PartnerSummary = z.infer<typeof PartnerSummarySchema>;

export const NO_SWITCH = -1;

export function kindBit(kind: ReminderKind): number {
  return 1 << REMINDER_KINDS.indexOf(kind);
}

export function summarise(doc: PartnerDoc): PartnerSummary {
  const work = new Set<PartnerWork>();
  for (const setup of doc.setups) {
    if (setup.status === 'reserved' || setup.status === 'reserving' || setup.status === 'creating') work.add(setup.status);
    if (setup.releaseNotice === 'pending') work.add('releaseNotice');
  }
  const recorded = new Map<string, number>();
  for (const record of Object.values(doc.reminders)) {
    if (record.status === 'queued') work.add('queuedReminders');
    const cycle = `${record.subscriptionId}|${record.endDate}`;
    recorded.set(cycle, (recorded.get(cycle) ?? 0) | kindBit(record.kind));
  }
  const reminders: number[] = [];
  for (const customer of doc.customers) {
    if (customer.offers.some((offer) => offer.status === 'pending' || offer.partnerNotice === 'pending')) work.add('offers');
    for (const subscription of customer.subscriptions) {
      if (subscription.pendingRenewal) work.add('pendingRenewal');
      if (subscription.scheduledSwitch) work.add('scheduledSwitch');
      if (!remindsPartner(doc.profile?.partnerId, subscription)) continue;
      const switchDay = subscription.scheduledSwitch ? dayNumber(subscription.scheduledSwitch.on) : NO_SWITCH;
      reminders.push(dayNumber(subscription.endDate), switchDay, recorded.get(`${subscription.id}|${subscription.endDate}`) ?? 0);
    }
  }
  return { timeZone: timeZoneOf(doc.profile), work: [...work], reminders };
}
