/**
 * What the bot needs to know about a partner without its file in memory: the small part of the file
 * most turns read (profile, staff), which background jobs have work there, its time
 * zone, and the end dates of the subscriptions it is reminded of. Derived from the document alone
 * (a pure function), so it can always be rebuilt from the file.
 */
import { z } from 'zod';
import { remindsPartner } from '../domain/customer.js';
import { hasOfferWork } from '../domain/delegation.js';
import { dayNumber, REMINDER_KINDS, type ReminderKind } from '../domain/lifecycle.js';
import { timeZoneOf } from '../domain/profile.js';
import { PartnerProfileSchema } from '../domain/profile.js';
import { RoleBookSchema } from '../domain/roles.js';
import { MemberSchema, type PartnerDoc } from './documents.js';

/** Work a background job may find in a partner's file; a job loads only the files flagged for it. */
export const PARTNER_WORK = ['pendingRenewal', 'scheduledSwitch', 'offers', 'queuedReminders', 'auditOutbox'] as const;
export type PartnerWork = (typeof PARTNER_WORK)[number];

/** The part of a partner's file that a greeting or a typed command reads: small, kept for every partner. */
export const PartnerHeadSchema = z.object({
  profile: PartnerProfileSchema.optional(),
  members: z.record(z.string(), MemberSchema),
  hasCustomers: z.boolean(),
  /** Undefined only for a file written before roles existed: its staff are upgraded on first use. */
  roles: RoleBookSchema.optional(),
});
export type PartnerHead = z.infer<typeof PartnerHeadSchema>;

/** A tenant without a file is new: it starts with an empty role book. */
export const EMPTY_HEAD: PartnerHead = { members: {}, hasCustomers: false, roles: {} };

export const PartnerSummarySchema = z.object({
  head: PartnerHeadSchema,
  timeZone: z.string(),
  work: z.array(z.enum(PARTNER_WORK)),
  /**
   * One triple per subscription the partner is reminded of: its end date as a day number, the day
   * number of a scheduled switch to direct billing (-1 when none), and a bit mask of the reminder
   * kinds already recorded for that end date (bit i: REMINDER_KINDS[i]).
   */
  reminders: z.array(z.number().int()),
  /**
   * The customer tenant and the subscription of each triple of `reminders`, so that due reminders
   * are found without reading the file: packed into one string (see packReminderIds), as 750,000
   * subscriptions would otherwise be 1.5 million strings in memory.
   */
  reminderIds: z.string(),
})
  // What the values mean is part of the sealed cache's fingerprint too (see `seal`): a cache made
  // with other bits or another packing is rebuilt. Bump the format with any change of meaning.
  .describe(`partner summary, format 2 (ids packed by packReminderIds); mask bits: ${REMINDER_KINDS.join(' ')}`);
export type PartnerSummary = z.infer<typeof PartnerSummarySchema>;

export const NO_SWITCH = -1;

export function kindBit(kind: ReminderKind): number {
  return 1 << REMINDER_KINDS.indexOf(kind);
}

export function summarise(doc: PartnerDoc): PartnerSummary {
  const work = new Set<PartnerWork>();
  // Entries a crash may have kept from the trail: the start appends them without reading every file.
  if (doc.auditOutbox.length > 0) work.add('auditOutbox');
  const recorded = new Map<string, number>();
  for (const record of Object.values(doc.reminders)) {
    if (record.status === 'queued') work.add('queuedReminders');
    const cycle = `${record.subscriptionId}|${record.endDate}`;
    recorded.set(cycle, (recorded.get(cycle) ?? 0) | kindBit(record.kind));
  }
  const reminders: number[] = [];
  const reminderIds: Array<readonly [string, string]> = [];
  for (const customer of doc.customers) {
    if (customer.offers.some(hasOfferWork)) work.add('offers');
    for (const subscription of customer.subscriptions) {
      if (subscription.pendingRenewal) work.add('pendingRenewal');
      if (subscription.scheduledSwitch) work.add('scheduledSwitch');
      if (!remindsPartner(doc.profile?.partnerId, subscription)) continue;
      const switchDay = subscription.scheduledSwitch ? dayNumber(subscription.scheduledSwitch.on) : NO_SWITCH;
      reminders.push(dayNumber(subscription.endDate), switchDay, recorded.get(`${subscription.id}|${subscription.endDate}`) ?? 0);
      reminderIds.push([customer.tenantId, subscription.id]);
    }
  }
  const head = { ...(doc.profile && { profile: doc.profile }), members: doc.members, hasCustomers: doc.customers.length > 0, ...(doc.roles && { roles: doc.roles }) };
  return { head, timeZone: timeZoneOf(doc.profile), work: [...work], reminders, reminderIds: packReminderIds(reminderIds) };
}

/**
 * The ids of the triples, in their order, as one string: each id as `<length>:<id>` (no id needs
 * escaping), and a customer tenant that is the previous triple's again as `0:` (a customer's
 * subscriptions follow each other; no tenant id is empty). 38 MB for 750,000 subscriptions, where
 * the ids as strings of their own took 90 MB.
 */
export function packReminderIds(pairs: ReadonlyArray<readonly [customerTenantId: string, subscriptionId: string]>): string {
  const parts: string[] = [];
  let previous: string | undefined;
  for (const [customer, subscription] of pairs) {
    parts.push(customer === previous ? '0:' : `${customer.length}:${customer}`, `${subscription.length}:${subscription}`);
    previous = customer;
  }
  return parts.join('');
}

/**
 * The ids of the triples at the given indexes: one walk over the packed string, up to the last one
 * wanted, that reads the lengths and cuts out only the ids wanted (a reminder run at 5,000 partners
 * walks them all).
 */
export function reminderIdsAt(packed: string, indexes: Iterable<number>): Map<number, readonly [customerTenantId: string, subscriptionId: string]> {
  const wanted = new Set(indexes);
  const found = new Map<number, readonly [string, string]>();
  let position = 0;
  /** The length before the next colon, leaving `position` after it; -1 past the end. */
  const length = (): number => {
    let value = 0;
    for (let code = packed.charCodeAt(position++); code !== COLON; code = packed.charCodeAt(position++)) {
      if (!(code >= DIGIT_0 && code <= DIGIT_9)) return -1;
      value = value * 10 + code - DIGIT_0;
    }
    return value;
  };
  let [customerStart, customerEnd] = [0, 0];
  for (let index = 0; found.size < wanted.size; index++) {
    const customer = length();
    if (customer < 0) break;
    if (customer > 0) [customerStart, customerEnd] = [position, (position += customer)];
    const subscription = length();
    if (subscription < 0) break;
    const subscriptionStart = position;
    position += subscription;
    if (wanted.has(index)) found.set(index, [packed.slice(customerStart, customerEnd), packed.slice(subscriptionStart, position)]);
  }
  return found;
}

const [COLON, DIGIT_0, DIGIT_9] = [':'.charCodeAt(0), '0'.charCodeAt(0), '9'.charCodeAt(0)];
