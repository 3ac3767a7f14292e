/** A customer a partner set up: its tenant, admin and subscriptions, as the partner sees them. */
import { z } from 'zod';
import { AdminContactSchema, OfferSchema } from './delegation.js';

export const SubscriptionSchema = z.object({
  id: z.string().min(1),
  product: z.string().min(1),
  seats: z.number().int().positive(),
  assignedSeats: z.number().int().nonnegative(),
  startDate: z.iso.date(),
  endDate: z.iso.date(),
  partnerOfRecord: z.string().optional(),
  /** Who bills the customer: the partner (renewed with product keys) or Microsoft directly. */
  billing: z.enum(['partner', 'direct']).default('partner'),
  /** A switch to direct billing the partner scheduled, run by the bot on that day. */
  scheduledSwitch: z.object({ on: z.iso.date(), by: z.object({ id: z.string(), name: z.string() }) }).optional(),
  /** Renewal requests already applied, so a second press of the same card renews once. */
  renewalIds: z.array(z.string()).default([]),
  /** A renewal sent to the backend and not yet answered: a retry or a restart finishes it. */
  pendingRenewal: z.object({ requestId: z.string(), keyHandle: z.string() }).optional(),
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

const PasswordResetSchema = z.object({ at: z.iso.datetime(), by: z.object({ id: z.string(), name: z.string() }), requestId: z.uuid().optional() });
export type PasswordResetRecord = z.infer<typeof PasswordResetSchema>;

export const CustomerSchema = z.object({
  tenantId: z.string().min(1),
  name: z.string(),
  domain: z.string(),
  country: z.string().length(2),
  language: z.string(),
  admin: z.object({
    name: z.string(),
    email: z.string(),
    phone: z.string(),
    userPrincipalName: z.string(),
    objectId: z.string(),
    /**
     * The last time someone had a new temporary password made; the password itself is kept nowhere.
     * `requestId` is the press of "Reset admin password" that made it (the card carries it).
     */
    passwordReset: PasswordResetSchema.optional(),
    /** A press of "Reset admin password" under way: a second press of the same card finds it and makes no second password. */
    pendingPasswordReset: PasswordResetSchema.required({ requestId: true }).optional(),
  }),
  createdAt: z.iso.datetime(),
  createdBy: z.object({ id: z.string(), name: z.string() }),
  setupId: z.uuid(),
  subscriptions: z.array(SubscriptionSchema),
  /** Offers of delegated administration, oldest first. */
  offers: z.array(OfferSchema),
  adminContact: AdminContactSchema.optional(),
  /** Users the partner added as delegated admin, by sign-in name, for idempotent retries. */
  addedUsers: z.array(z.object({ requestId: z.uuid(), userPrincipalName: z.string(), product: z.string(), addedAt: z.iso.datetime() })),
});
export type Customer = z.infer<typeof CustomerSchema>;

/**
 * Customers whose name or domain contains `filter`, ignoring case (Unicode's, not the machine's
 * locale: "ärzte" finds "ÄRZTEHAUS", as ICU's lower() does on PostgreSQL); all when the filter is empty.
 */
export function filterCustomers(customers: readonly Customer[], filter: string): Customer[] {
  const needle = filter.trim().toLowerCase();
  if (!needle) return [...customers];
  return customers.filter((c) => c.name.toLowerCase().includes(needle) || c.domain.toLowerCase().includes(needle));
}

/**
 * Alphabetical order of names, as a person reads a list: "Ärztehaus" beside "Arzt", not after "Zahn".
 * The root collation of Unicode (CLDR's, which English uses unchanged) is PostgreSQL's "und-x-icu".
 */
const names = new Intl.Collator('en');

/** Customers in name order; the same name by its code points (as a deterministic collation does), then by tenant id. */
export function byName(a: Customer, b: Customer): number {
  return names.compare(a.name, b.name) || codePointOrder(a.name, b.name) || codePointOrder(a.tenantId, b.tenantId);
}

function codePointOrder(a: string, b: string): number {
  if (a === b) return 0;
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
  }
  return x.length - y.length;
}

/** Whether a partner (by its partner ID, if known) is the subscription's partner of record and still bills it. */
export function remindsPartner(partnerId: string | undefined, subscription: Subscription): boolean {
  if (subscription.billing !== 'partner' || !subscription.partnerOfRecord) return false;
  return partnerId === undefined || partnerId === subscription.partnerOfRecord;
}
