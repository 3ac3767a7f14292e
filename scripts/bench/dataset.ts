/**
 * The synthetic data set of the benchmark, written straight into the store's on-disk layout:
 * `partners/<tenantId>.json` (one document per partner tenant, validated by PartnerDocSchema),
 * the customer index `customers/<xx>.json` (sharded by the SHA-256 of the customer tenant id) and a
 * key catalogue minted through KeyIssuer.issueKeys with the bot's KEY_HASH_SECRET.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createKeyHasher } from '../../src/commerce/keyHasher.js';
import { KeyIssuer } from '../../src/commerce/keyIssuer.js';
import { openFileKeyCatalog } from '../../src/store/files/commerce.js';
import type { z } from 'zod';
import type { CustomerSchema, SubscriptionSchema } from '../../src/domain/customer.js';
import { DEFAULT_LIFECYCLE, reminderSchedule } from '../../src/domain/lifecycle.js';
import { isoDay } from '../../src/domain/subscriptions.js';
import { localDay } from '../../src/domain/lifecycle.js';
import { reminderKey } from '../../src/reminders/reminderService.js';
import { shardHash, shardName } from '../../src/store/shardedDocs.js';
import { mulberry32 } from '../../test/support/random.js';
import { CustomerIndexShardSchema, PARTNER_DOC_VERSION, PartnerDocSchema, ReminderRecordSchema, SCHEMA_VERSION, type CustomerIndexShard, type PartnerDoc } from '../../src/store/documents.js';
import { fileNameFor } from '../../src/store/fileNames.js';

export interface DatasetOptions {
  dir: string;
  /** The connector every stored conversation reference points at (the activity's serviceUrl). */
  serviceUrl: string;
  keyHashSecret: string;
  partners: number;
  customersPerPartner: number;
  subscriptionsPerCustomer: number;
  /** Catalogue keys minted for the write benchmark. */
  keys: number;
  now: Date;
  /**
   * `today`: the partner files already record every reminder due up to today (in the partner's
   * time zone) as sent, as the daily runs would have left them, so the bot's start-up catch-up run
   * finds nothing new. `none`: no reminder was ever recorded (the first start after the feature).
   */
  reminderState: 'today' | 'none';
}

/** A staff member of a partner tenant, as the load generator impersonates them. */
export interface BenchUser {
  tenantId: string;
  userId: string;
  name: string;
  conversationId: string;
}

export interface Dataset {
  users: BenchUser[];
  keys: string[];
  partners: number;
  customers: number;
  subscriptions: number;
  reminderRecords: number;
  generateMs: number;
  /** On PostgreSQL: how long copying it into the database took (scripts/bench/postgresData.ts). */
  importMs?: number;
  bytes: number;
}

export const LOCALE = 'en-US';
const TIME_ZONES = ['Europe/Berlin', 'Europe/London', 'America/New_York', 'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney', 'Asia/Kolkata'];
const PRODUCTS = ['Microsoft 365 Business Standard', 'Microsoft 365 Business Premium', 'Office 365 E3', 'Microsoft 365 Apps for business'];
const COUNTRIES: Array<[country: string, language: string]> = [['DE', 'de'], ['AT', 'de'], ['CH', 'de'], ['GB', 'en'], ['US', 'en'], ['IE', 'en']];
const WRITE_BATCH = 64;

/** The records the daily reminder runs would have written for these subscriptions up to `today`. */
function sentReminders(customers: CustomerInput[], today: string, recipient: string): Record<string, z.input<typeof ReminderRecordSchema>> {
  const records: Record<string, z.input<typeof ReminderRecordSchema>> = {};
  for (const customer of customers) {
    for (const subscription of customer.subscriptions) {
      for (const { kind, due } of reminderSchedule(subscription.endDate, DEFAULT_LIFECYCLE)) {
        if (due > today) break;
        const sentAt = `${due}T09:00:00.000Z`;
        records[reminderKey(subscription.id, subscription.endDate, kind)] = {
          customerTenantId: customer.tenantId,
          subscriptionId: subscription.id,
          endDate: subscription.endDate,
          kind,
          status: 'sent',
          createdAt: sentAt,
          sentAt,
          deliveredTo: [`member:${recipient}`],
        };
      }
    }
  }
  return records;
}


const DAY = 86_400_000;

/**
 * A personal chat's reference as the bot stores it (src/bot/conversations.ts, personalReference):
 * the ids of TurnContext.getConversationReference, without the names people typed.
 */
export function conversationRef(user: BenchUser, serviceUrl: string) {
  return {
    activityId: randomUUID(),
    user: { id: `29:${user.userId}` },
    bot: { id: '28:bot' },
    conversation: { id: user.conversationId, conversationType: 'personal', tenantId: user.tenantId },
    channelId: 'msteams',
    locale: LOCALE,
    serviceUrl,
  };
}

/** Input types of the schemas: fields with defaults may be left out; PartnerDocSchema.parse fills them. */
type CustomerInput = z.input<typeof CustomerSchema>;
type SubscriptionInput = z.input<typeof SubscriptionSchema>;

function customerFor(random: () => number, partner: number, index: number, user: BenchUser, partnerId: string, now: Date, subscriptions: number): CustomerInput {
  const [country, language] = COUNTRIES[Math.floor(random() * COUNTRIES.length)]!;
  const prefix = `p${partner}c${index}bench`;
  const name = `Customer ${String(index).padStart(2, '0')} of partner ${partner}`;
  const subs: SubscriptionInput[] = Array.from({ length: subscriptions }, (_, s) => {
    // End dates from 40 days ago to 400 days ahead: most are future, some already ended.
    const end = new Date(now.getTime() + Math.floor(random() * 440 - 40) * DAY);
    const start = new Date(end.getTime() - 365 * DAY);
    const seats = 1 + Math.floor(random() * 50);
    return {
      id: randomUUID(),
      product: PRODUCTS[(index + s) % PRODUCTS.length]!,
      seats,
      assignedSeats: Math.floor(random() * seats),
      startDate: isoDay(start),
      endDate: isoDay(end),
      partnerOfRecord: partnerId,
    };
  });
  const createdAt = new Date(now.getTime() - Math.floor(random() * 365) * DAY).toISOString();
  return {
    tenantId: randomUUID(),
    name,
    domain: `${prefix}.onmicrosoft.com`,
    country,
    language,
    admin: { name: `Admin ${index}`, email: `admin${index}@example.com`, phone: '+49 30 1234567', userPrincipalName: `admin@${prefix}.onmicrosoft.com`, objectId: randomUUID() },
    createdAt,
    createdBy: { id: user.userId, name: user.name },
    setupId: randomUUID(),
    subscriptions: subs,
    offers: [],
    addedUsers: [],
  };
}

/** Thrown when a partner document built here no longer passes the store's schema (e.g. a new required field). */
export class DatasetSchemaError extends Error {}

export async function generateDataset(options: DatasetOptions): Promise<Dataset> {
  const started = performance.now();
  const { dir, now, serviceUrl } = options;
  const random = mulberry32(42);
  await mkdir(join(dir, 'partners'), { recursive: true });
  await mkdir(join(dir, 'customers'), { recursive: true });

  const users: BenchUser[] = [];
  const index = new Map<string, CustomerIndexShard>();
  let customers = 0;
  let subscriptions = 0;
  let bytes = 0;
  let reminderRecords = 0;
  let pending: Array<Promise<void>> = [];

  for (let p = 0; p < options.partners; p++) {
    const tenantId = randomUUID();
    const user: BenchUser = { tenantId, userId: randomUUID(), name: `Partner ${p} Staff`, conversationId: `a:${randomUUID()}` };
    users.push(user);
    const partnerId = String(1_000_000 + p);
    const docCustomers = Array.from({ length: options.customersPerPartner }, (_, c) => customerFor(random, p, c, user, partnerId, now, options.subscriptionsPerCustomer));
    const timeZone = TIME_ZONES[p % TIME_ZONES.length]!;
    const reminders = options.reminderState === 'today' ? sentReminders(docCustomers, localDay(now, timeZone), user.userId) : {};
    reminderRecords += Object.keys(reminders).length;
    const profileSavedAt = new Date(now.getTime() - 30 * DAY).toISOString();
    // As the current version leaves a partner file: the staff member who saved the profile holds
    // Admin agent (a file without a role book would be upgraded, and written, on its first turn),
    // and the outbox is empty (its entries leave with the next write once they are in the trail).
    const raw: z.input<typeof PartnerDocSchema> = {
      schemaVersion: PARTNER_DOC_VERSION,
      tenantId,
      profile: {
        organisationName: `Bench Partner ${p}`,
        partnerId,
        cloudEssentials: true,
        timeZone,
        updatedAt: profileSavedAt,
        updatedBy: user.userId,
      },
      customers: docCustomers,
      members: {
        [user.userId]: { name: user.name, locale: LOCALE, conversation: conversationRef(user, serviceUrl), updatedAt: new Date(now.getTime() - DAY).toISOString() },
      },
      reminders,
      roles: { [user.userId]: { role: 'admin', name: user.name, reason: 'firstProfile', assignedAt: profileSavedAt } },
      auditOutbox: [],
    };
    const parsed = PartnerDocSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new DatasetSchemaError(`the synthetic partner document no longer matches PartnerDocSchema at ${issue?.path.join('.') || 'the top level'}: ${issue?.message}. Update scripts/bench/dataset.ts for the new schema.`);
    }
    const doc: PartnerDoc = parsed.data;
    for (const customer of doc.customers) {
      const name = shardName(shardHash(customer.tenantId));
      let shard = index.get(name);
      if (!shard) index.set(name, (shard = { schemaVersion: SCHEMA_VERSION, customers: {} }));
      shard.customers[customer.tenantId] = { partnerTenantId: tenantId };
      customers++;
      subscriptions += customer.subscriptions.length;
    }
    // Compact, like the files the bot writes itself.
    const text = JSON.stringify(doc);
    bytes += text.length;
    pending.push(writeFile(join(dir, 'partners', fileNameFor(tenantId)), text));
    if (pending.length >= WRITE_BATCH) {
      await Promise.all(pending);
      pending = [];
    }
  }
  for (const [name, shard] of index) {
    const text = JSON.stringify(CustomerIndexShardSchema.parse(shard));
    bytes += text.length;
    pending.push(writeFile(join(dir, 'customers', `${name}.json`), text));
  }
  await Promise.all(pending);

  // The catalogue through the embedded backend itself, so the shard layout and hashes are the bot's own.
  const commerce = new KeyIssuer(await openFileKeyCatalog(dir), createKeyHasher(options.keyHashSecret), () => now);
  const keys = await commerce.issueKeys({ product: PRODUCTS[0]!, seats: 10, months: 12, count: options.keys });

  return { users, keys, partners: options.partners, customers, subscriptions, reminderRecords, generateMs: performance.now() - started, bytes };
}
