/** The persisted documents and their schemas; every document carries a schema version. */
import { z } from 'zod';
import { CustomerSchema } from '../domain/customer.js';
import { PartnerProfileSchema } from '../domain/profile.js';
import { RoleBookSchema } from '../domain/roles.js';
import { SetupSchema } from '../domain/setup.js';
import { AuditOutboxSchema } from './auditOutbox.js';

export const SCHEMA_VERSION = 1;

import { ConversationRefSchema } from '../domain/conversation.js';
import { REMINDER_KINDS } from '../domain/lifecycle.js';

export { ConversationRefSchema, type ConversationRef } from '../domain/conversation.js';

export const MemberSchema = z.object({
  name: z.string(),
  /** The language of the person's Teams client, from the last activity that carried one. */
  locale: z.string().optional(),
  /** The time zone the person's Teams client reported last (IANA id), for dates in messages sent later. */
  timeZone: z.string().optional(),
  /** The last welcome card sent to the person's chat, so the two events of one install welcome once, in the right language. */
  welcome: z.object({ conversationId: z.string(), activityId: z.string().optional(), language: z.string(), at: z.iso.datetime() }).optional(),
  conversation: ConversationRefSchema,
  updatedAt: z.iso.datetime(),
  /** False once Teams said the bot is no longer in that chat; true again when the person writes. */
  reachable: z.boolean().default(true),
});
export type Member = z.infer<typeof MemberSchema>;

export const ReminderRecordSchema = z.object({
  customerTenantId: z.string(),
  subscriptionId: z.string(),
  endDate: z.iso.date(),
  kind: z.enum(REMINDER_KINDS),
  /** queued: to be sent (kept until a reachable chat takes it); skipped: overtaken by a more urgent one. */
  status: z.enum(['queued', 'sent', 'skipped']),
  createdAt: z.iso.datetime(),
  sentAt: z.iso.datetime().optional(),
  /** Chats that already have this reminder, so a retry after a partial send doubles nothing. */
  deliveredTo: z.array(z.string()).default([]),
});
export type ReminderRecord = z.infer<typeof ReminderRecordSchema>;

/** Version 2 moved the setups and the guessing guard to the partner's setup book. */
export const PARTNER_DOC_VERSION = 2;

/** What one partner organisation (a Teams tenant) knows of its customers and staff; no other tenant's data is ever in it. */
export const PartnerDocSchema = z.object({
  schemaVersion: z.literal(PARTNER_DOC_VERSION),
  tenantId: z.string().min(1),
  profile: PartnerProfileSchema.optional(),
  customers: z.array(CustomerSchema),
  /** Where each staff member can be reached proactively, keyed by their user id. */
  members: z.record(z.string(), MemberSchema),
  /** Renewal reminders queued or sent, by subscription, end date and kind: each is sent at most once. */
  reminders: z.record(z.string(), ReminderRecordSchema).default({}),
  /** A team channel chosen with "send reminders here". */
  reminderChannel: z.object({ conversation: ConversationRefSchema, setBy: z.string(), setAt: z.iso.datetime(), reachable: z.boolean() }).optional(),
  /** Who holds which role; absent in a file written before roles existed (its staff are upgraded on first use). */
  roles: RoleBookSchema.optional(),
  /** Audit entries written with the change they record, until they are in the trail. */
  auditOutbox: AuditOutboxSchema,
});
export type PartnerDoc = z.infer<typeof PartnerDocSchema>;

export function emptyPartnerDoc(tenantId: string): PartnerDoc {
  return { schemaVersion: PARTNER_DOC_VERSION, tenantId, customers: [], members: {}, reminders: {}, roles: {}, auditOutbox: [] };
}

/**
 * A partner's setups (keys on their way to a customer) and its guard against guessing keys: a small
 * file of its own, so the many changes of a redemption do not rewrite the partner's customers.
 */
export const SetupBookSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tenantId: z.string().min(1),
  setups: z.array(SetupSchema),
  /** Guards against guessing keys: recent unknown keys and a lock when there were too many. */
  guard: z.object({ unknownKeysAt: z.array(z.iso.datetime()), lockedUntil: z.iso.datetime().optional() }),
  /** Audit entries of changes this book's write completes (redemptions, releases), until they are in the trail. */
  auditOutbox: AuditOutboxSchema,
});
export type SetupBook = z.infer<typeof SetupBookSchema>;

export function emptySetupBook(tenantId: string): SetupBook {
  return { schemaVersion: SCHEMA_VERSION, tenantId, setups: [], guard: { unknownKeysAt: [] }, auditOutbox: [] };
}

export const ReservationSchema = z.object({
  tenantId: z.string().min(1),
  setupId: z.uuid(),
  reservedAt: z.iso.datetime(),
});
export type Reservation = z.infer<typeof ReservationSchema>;

/** Which setup holds which key, sharded by the key's hash so that one change rewrites a small file. */
export const ReservationShardSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  reservations: z.record(z.string().regex(/^[0-9a-f]{64}$/), ReservationSchema),
});
export type ReservationShard = z.infer<typeof ReservationShardSchema>;

export function emptyReservationShard(): ReservationShard {
  return { schemaVersion: SCHEMA_VERSION, reservations: {} };
}

/** Which partner tenant set up a customer tenant: how the bot recognises a customer's admin. */
export const CustomerIndexShardSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  customers: z.record(z.string(), z.object({ partnerTenantId: z.string().min(1) })),
});
export type CustomerIndexShard = z.infer<typeof CustomerIndexShardSchema>;

export function emptyCustomerIndexShard(): CustomerIndexShard {
  return { schemaVersion: SCHEMA_VERSION, customers: {} };
}
