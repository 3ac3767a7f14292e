/**
 * Copies a file store into a PostgreSQL database: read through the file repositories, written
 * through the PostgreSQL ones, so every row passes the same invariants as the bot's own writes.
 * Every write is idempotent (an insert that finds its row changes nothing), so a second run, or a
 * run after one that stopped half-way, copies only what is missing.
 */
import { describeBreak } from '../domain/audit.js';
import { SETUP_STATUSES } from '../domain/setup.js';
import type { FileRepositories } from './files/index.js';
import type { TenantRecord } from './files/commerceDocuments.js';
import type { AuditLog } from './auditLog.js';
import { PostgresAuditLog } from './postgres/auditLog.js';
import type { Pool } from './postgres/database.js';
import type { PostgresRepositories } from './postgres/index.js';
import type { Repositories, StoredReminder } from './repositories.js';

/** The tables a bot's data lands in; any row in them makes the database not empty. */
const TABLES = ['partners', 'partner_roles', 'audit_entries', 'staff_members', 'reminder_channels', 'customers', 'subscriptions', 'offers', 'added_users', 'reminders', 'setups', 'key_reservations', 'guess_guards', 'commerce_keys', 'commerce_tenants', 'commerce_relationships', 'commerce_key_hash_check', 'outbox'] as const;

/** What is counted on both sides at the end: the rows each kind of thing becomes. */
export const COUNTED = ['profiles', 'staff', 'roles', 'auditEntries', 'reminderChannels', 'customers', 'subscriptions', 'offers', 'addedUsers', 'reminders', 'setups', 'reservations', 'guessLocks', 'keys', 'tenants', 'relationships'] as const;
export type Counted = (typeof COUNTED)[number];

const COUNT_SQL: Record<Counted, string> = {
  profiles: 'SELECT count(*) FROM partners WHERE organisation_name IS NOT NULL',
  staff: 'SELECT count(*) FROM staff_members',
  roles: 'SELECT count(*) FROM partner_roles',
  auditEntries: 'SELECT count(*) FROM audit_entries',
  reminderChannels: 'SELECT count(*) FROM reminder_channels',
  customers: 'SELECT count(*) FROM customers',
  subscriptions: 'SELECT count(*) FROM subscriptions',
  offers: 'SELECT count(*) FROM offers',
  addedUsers: 'SELECT count(*) FROM added_users',
  reminders: 'SELECT count(*) FROM reminders',
  setups: 'SELECT count(*) FROM setups',
  reservations: 'SELECT count(*) FROM key_reservations',
  guessLocks: 'SELECT count(*) FROM guess_guards WHERE locked_until IS NOT NULL',
  keys: 'SELECT count(*) FROM commerce_keys',
  tenants: 'SELECT count(*) FROM commerce_tenants',
  relationships: 'SELECT count(*) FROM commerce_relationships',
};

/** Left behind on purpose, with the reason; counted so the output can say how many. */
export interface Skipped {
  /** Ledger records of a subscription no customer has any more: nothing can be reminded of them. */
  remindersWithoutSubscription: number;
  /** Reservations whose setup no longer holds keys: the bot drops them at start. */
  orphanReservations: number;
  /** Tenants whose creation a crash interrupted: the bot rolls them back at start. */
  interruptedTenants: number;
  /** Keys redeemed for a tenant that is not in the store: blocked, so none is redeemed twice. */
  keysBlockedWithoutTenant: number;
  /** Unknown keys counted toward a partner's guessing limit (a lockout in force is copied). */
  recentUnknownKeys: number;
}

export interface ImportResult {
  /** The database's counts before the import: all zero for an empty one. */
  before: Record<Counted, number>;
  files: Record<Counted, number>;
  database: Record<Counted, number>;
  skipped: Skipped;
  /**
   * What the counts do not bear out: fewer rows in the database than things in the files, or, for a
   * database that was empty, a different number. Empty when the copy is complete.
   */
  mismatches: Counted[];
}

/** Partners copied at once: fewer than the pool's connections (openPostgres's default is 10). */
const PARALLEL_PARTNERS = 8;

export class ImportRefused extends Error {}

function zeros(): Record<Counted, number> {
  return Object.fromEntries(COUNTED.map((name) => [name, 0])) as Record<Counted, number>;
}

export async function databaseCounts(pool: Pool): Promise<Record<Counted, number>> {
  const counts = zeros();
  for (const name of COUNTED) counts[name] = Number((await pool.query(COUNT_SQL[name])).rows[0].count);
  return counts;
}

async function isEmpty(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query(`SELECT ${TABLES.map((table) => `NOT EXISTS (SELECT 1 FROM ${table})`).join(' AND ')} AS empty`);
  return rows[0].empty;
}

/**
 * Copies `source` into `target` (the repositories on `pool`). Refuses a database that holds data
 * unless `force`; then copies only what is missing and keeps what is there. `secretCheck`: the check
 * value (keyHasher.ts) of the key-hash secret of the files, recorded in the database so that an
 * instance with another secret is refused.
 */
export async function importFileStore(source: FileRepositories, target: PostgresRepositories, pool: Pool, options: { force: boolean; now: Date; trail: AuditLog; secretCheck?: string }): Promise<ImportResult> {
  if (!options.force && !(await isEmpty(pool))) throw new ImportRefused('The database already holds data. Import into an empty database, or run again with --force to copy what is missing and keep what is there.');
  const before = await databaseCounts(pool);
  const files = zeros();
  const skipped: Skipped = { remindersWithoutSubscription: 0, orphanReservations: 0, interruptedTenants: 0, keysBlockedWithoutTenant: 0, recentUnknownKeys: 0 };
  const from = source.repositories;

  // Partners are independent of each other (rows of their own, a transaction per write): a few are
  // copied at once, each over its own connection, which is what makes a large store quick to copy.
  const tenants = [...source.store.summaries()].map(([tenantId]) => tenantId);
  const copyPartner = async (tenantId: string) => {
    const profile = await from.partners.profile(tenantId);
    if (profile) {
      await target.partners.saveProfile(tenantId, profile);
      files.profiles++;
    }
    for (const [userId, member] of Object.entries(await from.partners.staff(tenantId))) {
      await target.partners.rememberMember(tenantId, userId, member);
      if (!member.reachable) await target.partners.markMemberUnreachable(tenantId, userId);
      files.staff++;
    }
    const channel = await from.partners.reminderChannel(tenantId);
    if (channel) {
      await target.partners.setReminderChannel(tenantId, channel);
      files.reminderChannels++;
    }
    const subscriptions = new Set<string>();
    const customers = await from.customers.list(tenantId);
    // Only an edited file lists a customer twice (the bot never writes one): the database, whose key
    // is the tenant, cannot take both, and which one is right is the operator's call.
    const seen = new Set<string>();
    const twice = customers.find((customer) => {
      if (seen.has(customer.tenantId)) return true;
      seen.add(customer.tenantId);
      return false;
    });
    if (twice) {
      throw new ImportRefused(
        `The file of partner ${tenantId} lists customer tenant ${twice.tenantId} twice. None of this partner's customers were copied. Keep one of the two entries in the file, then run again with --force to copy what is missing.`,
      );
    }
    // All of the partner's customers in one transaction of a few statements (the same rows as `add` writes).
    await target.customers.addMany(tenantId, customers);
    for (const customer of customers) {
      customer.subscriptions.forEach((s) => subscriptions.add(s.id));
      files.customers++;
      files.subscriptions += customer.subscriptions.length;
      files.offers += customer.offers.length;
      files.addedUsers += customer.addedUsers.length;
    }
    const ledger = await from.reminders.forPartner(tenantId);
    const kept = ledger.filter((record) => subscriptions.has(record.subscriptionId));
    skipped.remindersWithoutSubscription += ledger.length - kept.length;
    await target.reminders.record(tenantId, kept.map(({ partnerTenantId: _partner, ...record }) => record));
    await copyDeliveries(pool, tenantId, kept);
    files.reminders += kept.length;
    // The role book, unless the target has one already (a run with --force keeps what is there). A
    // file from before roles stays so: the bot upgrades its staff, recorded, on their first turn.
    const roles = await from.partners.roles(tenantId);
    if (roles) await target.partners.updateRoles(tenantId, (book) => ({ book: Object.keys(book).length > 0 ? undefined : roles, result: undefined }));
    else await pool.query('UPDATE partners SET has_role_book = false WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM partner_roles WHERE partner_tenant_id = $1)', [tenantId]);
    files.roles += Object.keys(roles ?? {}).length;
  };
  let next = 0;
  const worker = async () => {
    while (next < tenants.length) await copyPartner(tenants[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTNERS, tenants.length) }, worker));

  await copySetups(source, target, files, skipped, options.now);
  files.auditEntries = await copyTrails(options.trail, new PostgresAuditLog(pool));
  await copyCommerce(source, target, files, skipped, options.secretCheck);
  const database = await databaseCounts(pool);
  const wasEmpty = COUNTED.every((name) => before[name] === 0);
  const mismatches = COUNTED.filter((name) => database[name] < files[name] || (wasEmpty && database[name] !== files[name]));
  return { before, files, database, skipped, mismatches };
}

/**
 * The chats each reminder was delivered to, in one statement for the partner: as markDelivered
 * appends them one by one (in order, each once), so a run again adds nothing.
 */
async function copyDeliveries(pool: Pool, tenantId: string, records: readonly StoredReminder[]): Promise<void> {
  const delivered = records.filter((record) => record.deliveredTo.length > 0);
  if (delivered.length === 0) return;
  await pool.query(
    `UPDATE reminders r SET delivered_to = r.delivered_to || ARRAY(
       SELECT c.chat FROM jsonb_array_elements_text(v.chats::jsonb) WITH ORDINALITY AS c(chat, n) WHERE NOT c.chat = ANY (r.delivered_to) ORDER BY c.n)
     FROM unnest($2::text[], $3::date[], $4::text[], $5::text[]) AS v(subscription_id, end_date, kind, chats)
     WHERE r.partner_tenant_id = $1 AND r.subscription_id = v.subscription_id AND r.end_date = v.end_date AND r.kind = v.kind`,
    [tenantId, delivered.map((r) => r.subscriptionId), delivered.map((r) => r.endDate), delivered.map((r) => r.kind), delivered.map((r) => JSON.stringify(r.deliveredTo))],
  );
}

async function copySetups(source: FileRepositories, target: Repositories, files: Record<Counted, number>, skipped: Skipped, now: Date): Promise<void> {
  const from = source.repositories;
  for (const status of SETUP_STATUSES) {
    for (const { tenantId, setup } of await from.setups.withStatus(status)) {
      await target.setups.insert(tenantId, setup);
      files.setups++;
    }
  }
  for (const shard of source.store.reservationShards()) {
    for (const [ref, reservation] of Object.entries(shard.data.reservations)) {
      if (!(await from.setups.keyHolder(ref))) {
        skipped.orphanReservations++;
        continue;
      }
      if (!(await target.setups.reserveKey(ref, reservation.tenantId, reservation.setupId, new Date(reservation.reservedAt)))) throw new Error(`the database has key ${ref.slice(0, 8)}… reserved by another setup`);
      files.reservations++;
    }
  }
  for (const book of source.store.setupBooks()) {
    const tenantId = book.data.tenantId;
    skipped.recentUnknownKeys += book.data.guard.unknownKeysAt.length;
    const lockedUntil = await from.guessGuard.lockedUntil(tenantId, now);
    if (!lockedUntil) continue;
    files.guessLocks++;
    if ((await target.guessGuard.lockedUntil(tenantId, now)) === lockedUntil) continue;
    // The one way the interface sets a lock: one unknown key over a limit of none, a minute before it ends.
    await target.guessGuard.recordUnknownKeys(tenantId, 1, new Date(Date.parse(lockedUntil) - 60_000), { limit: 0, windowMinutes: 1, lockMinutes: 1 });
  }
}

/**
 * Each partner's audit trail as it is (numbers and hashes unchanged), from its checkpoint. A trail
 * that does not verify is evidence of a change and is not copied: the import stops, naming it.
 * Returns how many entries the files hold.
 */
async function copyTrails(from: AuditLog, to: PostgresAuditLog): Promise<number> {
  let entries = 0;
  for (const partner of await from.partners()) {
    const { verdict, checkpoint } = await from.verify(partner);
    if (!verdict.ok) throw new Error(`${describeBreak(partner, verdict.broken)} Its trail is not copied; see "npm run audit -- verify".`);
    await to.copy(partner, checkpoint, from.entries(partner));
    entries += verdict.entries;
  }
  return entries;
}

/**
 * The catalogue, the key-hash secret's check value and the tenants with all they hold (users,
 * subscriptions and their renewals, delegated admins, GDAP relationships). A tenant's creation
 * redeems its keys (all or nothing), so its keys go in as available first and its creation redeems
 * them; renewal keys are then redeemed by their renewal, and blocked keys go in blocked.
 */
async function copyCommerce(source: FileRepositories, target: Repositories, files: Record<Counted, number>, skipped: Skipped, secretCheck?: string): Promise<void> {
  const from = source.repositories;
  // The files' own record of their secret, else the one of the secret the caller knows them by.
  const check = (await from.keyCatalog.secretCheck()) ?? secretCheck;
  if (check !== undefined && (await target.keyCatalog.recordSecretCheck(check)) !== check) throw new Error('the database holds keys hashed with another key-hash secret than these files');
  const active = new Map<string, TenantRecord>();
  for (const shard of source.commerce.tenants.all()) {
    for (const record of Object.values(shard.data.tenants)) {
      if (record.status !== 'active') skipped.interruptedTenants++;
      else active.set(record.tenantId, record);
    }
  }
  const renewals: Array<{ ref: string; tenantId: string; renewal: string }> = [];
  for (const key of await from.keyCatalog.list()) {
    const tenant = key.redeemedFor === undefined ? undefined : active.get(key.redeemedFor);
    // A renewal the tenant never recorded freed its key (the bot does so at start): available again.
    const recordedRenewal = key.renewal !== undefined && tenant?.subscriptions.some((s) => s.renewals.includes(key.renewal!));
    let status = key.status;
    if (key.status === 'redeemed' && !tenant) {
      status = 'blocked';
      skipped.keysBlockedWithoutTenant++;
    } else if (key.status === 'redeemed') status = 'available';
    if (recordedRenewal) renewals.push({ ref: key.ref, tenantId: tenant!.tenantId, renewal: key.renewal! });
    await target.keyCatalog.issue({ ref: key.ref, product: key.product, seats: key.seats, termMonths: key.termMonths, lastGroup: key.lastGroup, status, issuedAt: key.issuedAt });
    files.keys++;
  }
  for (const record of active.values()) {
    const tenant = (await from.commerceTenants.get(record.tenantId))!;
    const outcome = await target.commerceTenants.create(tenant);
    if ('refused' in outcome) throw new Error(`tenant ${record.domain} could not be created in the database: ${outcome.refused}`);
    files.tenants++;
    files.relationships += tenant.relationships.length;
  }
  for (const { ref, tenantId, renewal } of renewals) {
    const redeemed = await target.commerceTenants.update(tenantId, (_, redeem) => redeem(ref, renewal));
    if (!redeemed.found || !redeemed.result) throw new Error(`the renewal key ${ref.slice(0, 8)}… of tenant ${tenantId} could not be redeemed in the database`);
  }
}
