/**
 * The repositories: one narrow interface per aggregate, speaking the domain, so services load, apply
 * a rule and save without walking documents. Each method is one use case and one transaction: what it
 * changes is changed whole or not at all, and two instances changing the same row serialize on it.
 * Implemented on PostgreSQL (src/store/postgres) and, by wrapping the JSON files, for the embedded
 * default; test/support/repositoryContract.ts is the behaviour both must show.
 *
 * A `change` callback gets a copy of the stored state and returns the new one. Keep it pure (a domain
 * rule, no sends, no clock reads that matter twice): a transaction that lost a deadlock runs again,
 * and so does its callback.
 *
 * The audit trail: a method that changes state takes an optional `audit` (AuditOf) that makes, from
 * the change's outcome, the entries that record it; they are written in the same transaction as the
 * change (PostgreSQL: src/store/postgres/audit.ts; files: the changed document's outbox, see
 * auditOutbox.ts). `audit` runs after `change`, inside the transaction, and again on a retry.
 */
import type { ConversationRef } from '../domain/conversation.js';
import type { AuditDraft } from '../domain/audit.js';
import type { Customer, Subscription } from '../domain/customer.js';
import type { Offer } from '../domain/delegation.js';
import type { Page } from '../domain/paging.js';
import type { Relationship } from '../domain/relationship.js';
import type { ReminderKind } from '../domain/lifecycle.js';
import type { PartnerProfile } from '../domain/profile.js';
import type { Person, RoleBook, RoleChange } from '../domain/roles.js';
import type { Setup, SetupStatus } from '../domain/setup.js';
import type { Member, ReminderRecord } from './documents.js';

export type { Member, ReminderRecord };

/** The entries that record a change, made from its outcome (none when nothing changed). */
export type AuditOf<T> = (outcome: T) => readonly AuditDraft[];

export interface ReminderChannel {
  conversation: ConversationRef;
  setBy: string;
  setAt: string;
  reachable: boolean;
}

/** A change of the role book: the new book and the changes to record (none when nothing changed). */
export interface RoleUpdate {
  book: RoleBook;
  changes: RoleChange[];
}

/** A staff member's last welcome card (see MemberSchema). */
export type Welcome = NonNullable<Member['welcome']>;

/** A partner organisation: its profile, its staff's chats, its role book and its reminder channel. */
export interface PartnerRepository {
  profile(tenantId: string): Promise<PartnerProfile | undefined>;
  /**
   * Saves the profile. `roles`, when given, makes the role book anew from the stored one in the same
   * transaction (the first person to save the profile becomes Admin agent), and `audit` records the
   * save with the role changes.
   */
  saveProfile(tenantId: string, profile: PartnerProfile, roles?: (book: Readonly<RoleBook>) => RoleUpdate, audit?: AuditOf<RoleUpdate>): Promise<void>;
  /** Every staff member the bot can reach, by user id. */
  staff(tenantId: string): Promise<Record<string, Member>>;
  member(tenantId: string, userId: string): Promise<Member | undefined>;
  /** Saves a staff member's chat (new or changed); they are reachable again. A stored welcome stays unless `member` brings one. */
  rememberMember(tenantId: string, userId: string, member: Member): Promise<void>;
  /** Notes the welcome card sent to a staff member's chat; nothing for a member the bot does not know. */
  rememberWelcome(tenantId: string, userId: string, welcome: Welcome): Promise<void>;
  markMemberUnreachable(tenantId: string, userId: string): Promise<void>;
  /** The role book; undefined only for a partner whose data predates roles, until `upgradeRoles`. */
  roles(tenantId: string): Promise<RoleBook | undefined>;
  /**
   * Gives a partner whose data predates roles its book, once: `upgrade` gets everyone who could act
   * before (the staff the bot has met, who saved the profile, who set up a customer, in that order).
   * A partner that has a book keeps it, unchanged and unrecorded. Returns the book.
   */
  upgradeRoles(tenantId: string, upgrade: (people: Person[]) => RoleUpdate, audit?: AuditOf<RoleUpdate>): Promise<RoleBook>;
  /**
   * Changes the role book under the partner's lock, so two Admin agents' changes apply one after the
   * other (the last Admin agent stays). `change` gets the book and the names of the staff the bot has
   * met, by user id; it returns a new book (or none to change nothing) and its result.
   */
  updateRoles<R>(tenantId: string, change: (book: Readonly<RoleBook>, staff: ReadonlyMap<string, string>) => { book?: RoleBook; result: R }, audit?: AuditOf<R>): Promise<R>;
  reminderChannel(tenantId: string): Promise<ReminderChannel | undefined>;
  setReminderChannel(tenantId: string, channel: ReminderChannel, audit?: AuditOf<ReminderChannel>): Promise<void>;
  markReminderChannelUnreachable(tenantId: string): Promise<void>;
  /** The partners' time zones (UTC for a partner without a profile): the scheduler keeps one job per zone. */
  timeZones(): Promise<Set<string>>;
}

/** A customer as the services use it: with the partner tenant that set it up. */
export interface CustomerLink {
  partnerTenantId: string;
  customer: Customer;
}

export interface SubscriptionRef {
  partnerTenantId: string;
  customerTenantId: string;
  subscription: Subscription;
}

/**
 * An offer added, or the one already there that it would repeat or collide with: the offer with its
 * id (a second press of the same card), the offer of its relationship, the partner's relationship
 * under its display name (unique among a partner's relationships, ignoring case), or, for an offer
 * of the old kind (no relationship), the customer's open one of that kind.
 */
export type AddOfferResult = { added: true; offer: Offer } | { added: false; existing: Offer };

/** An offer changed (or left as it was), with its customer as stored afterwards. */
export interface OfferChange {
  customer: Customer;
  before: Offer;
  /** The offer as stored now: `before` itself when the change left it as it was. */
  offer: Offer;
}

/** Customers with their subscriptions, offers and added users; also the customer index. */
export interface CustomerRepository {
  /** The partner's customers whose name or domain contains `filter` (ignoring case), in name order. */
  list(partnerTenantId: string, filter?: string): Promise<Customer[]>;
  /** One page of `size` of that list (kept within the pages there are) and how many it holds: a turn reads the customers it shows, not all. */
  page(partnerTenantId: string, filter: string, page: number, size: number): Promise<Page<Customer>>;
  hasCustomers(partnerTenantId: string): Promise<boolean>;
  /** A customer of this partner; another partner's customer is not found. */
  get(partnerTenantId: string, customerTenantId: string): Promise<Customer | undefined>;
  /** Which partner set up a customer tenant, and the customer as it stands. */
  link(customerTenantId: string): Promise<CustomerLink | undefined>;
  /**
   * Records a created customer; a retry of the same creation (same tenant, or same setup id: one
   * customer per setup) changes nothing and records nothing: `audit` runs only when the customer is
   * new. Returns the customer as stored.
   */
  add(partnerTenantId: string, customer: Customer, audit?: AuditOf<Customer>): Promise<Customer>;
  /**
   * Changes one customer under a row lock (admin, contact, added users, seats); `change` gets the
   * customer as stored and returns the new one, or undefined to change nothing (and record nothing).
   */
  update(partnerTenantId: string, customerTenantId: string, change: (customer: Customer) => Customer | undefined, audit?: AuditOf<Customer>): Promise<Customer | undefined>;
  /**
   * Changes one subscription under its customer's row lock; `change` may return undefined to change
   * (and record) nothing. Undefined when the customer or subscription is not found or nothing changed.
   */
  updateSubscription(
    partnerTenantId: string,
    customerTenantId: string,
    subscriptionId: string,
    change: (subscription: Subscription) => Subscription | undefined,
    audit?: AuditOf<{ customer: Customer; subscription: Subscription }>,
  ): Promise<{ customer: Customer; subscription: Subscription } | undefined>;
  /**
   * Adds an offer to the customer (who may hold several relationships with its partner), unless it
   * repeats or collides with one there (see AddOfferResult); throws when the customer is not found.
   */
  addOffer(partnerTenantId: string, customerTenantId: string, offer: Offer, audit?: AuditOf<Offer>): Promise<AddOfferResult>;
  /**
   * Changes one offer under its customer's row lock, so two instances answering or ending it apply
   * one after the other, each on the offer as the other left it; `change` returns undefined to leave
   * it as it is (then nothing is written, nor audited). Undefined when the offer is not found.
   */
  updateOffer(partnerTenantId: string, customerTenantId: string, offerId: string, change: (offer: Offer) => Offer | undefined, audit?: AuditOf<OfferChange>): Promise<OfferChange | undefined>;
  /** Subscriptions with a renewal sent to the backend and not yet answered. */
  pendingRenewals(): Promise<SubscriptionRef[]>;
  /** Partner-billed subscriptions whose scheduled switch to direct billing is due on the partner's own day at `now`. */
  switchesDue(now: Date): Promise<SubscriptionRef[]>;
  /**
   * Customers with a pending offer, a notice to the partner still to send, or a relationship whose
   * end reminders are not all handled (accepted, without auto-extension).
   */
  withOfferWork(): Promise<CustomerLink[]>;
}

export interface SetupRef {
  tenantId: string;
  setup: Setup;
}

/** Who holds a key: a setup that still holds or is reserving keys. */
export interface KeyHolder {
  tenantId: string;
  setupId: string;
  ownerName: string;
}

/** A partner's setups and the key reservations they hold. */
export interface SetupRepository {
  find(tenantId: string, setupId: string): Promise<Setup | undefined>;
  /** Setups that still hold or gather keys, newest first. */
  open(tenantId: string): Promise<Setup[]>;
  /** Saves a new setup; false when one with this id exists (a second press of the same card). */
  insert(tenantId: string, setup: Setup): Promise<boolean>;
  /**
   * Changes a setup under a row lock, so concurrent changes apply one after the other; `change` gets
   * the setup as stored and returns the new one. To change nothing it throws (a stale revision, a
   * refusal: the error comes back to the caller) or returns the setup it got as it got it (then
   * nothing changes and nothing is recorded). `audit` records the change, from the changed setup, in the
   * same transaction. Undefined when the setup is not found.
   */
  update(tenantId: string, setupId: string, change: (setup: Setup) => Setup, audit?: AuditOf<Setup>): Promise<Setup | undefined>;
  /** Every partner's setups in this status (for start-up recovery and sweeps). */
  withStatus(status: SetupStatus): Promise<SetupRef[]>;
  /** Reserved setups whose reservation ran out by `now`. */
  reservationsDue(now: Date): Promise<SetupRef[]>;
  /** Released setups whose owner has not been told yet. */
  pendingReleaseNotices(): Promise<SetupRef[]>;
  /** Drops closed setups (completed, discarded, or released and told) closed before `closedBefore`. */
  dropClosedBefore(closedBefore: Date): Promise<number>;
  /**
   * Reserves a key for a setup of this tenant: true when it now holds it (also when it already did),
   * false when another setup that still holds keys has it. One winner however many try at once.
   */
  reserveKey(keyRef: string, tenantId: string, setupId: string, now: Date): Promise<boolean>;
  /** The setup holding a key, unless that setup has let go of its keys. */
  keyHolder(keyRef: string): Promise<KeyHolder | undefined>;
  /** Drops the setup's reservations (of these keys, or all). */
  releaseKeys(setupId: string, keyRefs?: readonly string[]): Promise<void>;
  /** Drops reservations whose setup no longer holds keys; returns how many. */
  dropOrphanReservations(): Promise<number>;
}

export interface GuessLimits {
  limit: number;
  windowMinutes: number;
  lockMinutes: number;
}

/** The guard against guessing keys, per partner tenant, counted across every instance. */
export interface GuessGuardRepository {
  /** When redemption is locked for the tenant at `now`, until when. */
  lockedUntil(tenantId: string, now: Date): Promise<string | undefined>;
  /** Unknown keys the tenant may still enter in the window at `now`. */
  unknownKeysLeft(tenantId: string, now: Date, limits: GuessLimits): Promise<number>;
  /** Counts unknown keys; returns the lock's end when this made the count exceed the limit. */
  recordUnknownKeys(tenantId: string, count: number, now: Date, limits: GuessLimits): Promise<{ lockedUntil?: string }>;
}

/** A reminder's identity in the ledger: the cards carry it. */
export interface ReminderId {
  subscriptionId: string;
  endDate: string;
  kind: ReminderKind;
}

export interface StoredReminder extends ReminderRecord {
  partnerTenantId: string;
}

/** A subscription with a reminder possibly due on its partner's day, and what is already recorded. */
export interface ReminderCandidate {
  partnerTenantId: string;
  /** The partner's calendar day at the time asked. */
  today: string;
  customerTenantId: string;
  subscriptionId: string;
  /** The subscription's current end date: the cycle the reminder is of. */
  endDate: string;
  /** Kinds already in the ledger for the subscription's current end date, in the cycle's order. */
  recorded: ReminderKind[];
}

/** The reminder ledger: each reminder of a cycle is recorded once, before anything is sent. */
export interface ReminderRepository {
  /**
   * Subscriptions whose partner is reminded of them and whose next unrecorded reminder is due on
   * the partner's own day at `now` (a query on an index, not a scan); at most `limit`; only of
   * partners in `timeZones` when given.
   */
  dueReminders(now: Date, limit: number, timeZones?: ReadonlySet<string>): Promise<ReminderCandidate[]>;
  /** Records reminders (queued or skipped); one already recorded is left as it is. Returns how many were new. */
  record(partnerTenantId: string, records: readonly ReminderRecord[]): Promise<number>;
  get(partnerTenantId: string, id: ReminderId): Promise<StoredReminder | undefined>;
  /** Every record of the partner (for "upcoming reminders"). */
  forPartner(partnerTenantId: string): Promise<StoredReminder[]>;
  /** Queued reminders of every partner, oldest first. */
  queued(limit: number): Promise<StoredReminder[]>;
  /** Notes that a chat has the reminder (once), so a retry after a partial send doubles nothing. */
  markDelivered(partnerTenantId: string, id: ReminderId, target: string): Promise<void>;
  markSent(partnerTenantId: string, id: ReminderId, at: Date): Promise<void>;
  markSkipped(partnerTenantId: string, id: ReminderId): Promise<void>;
  /**
   * Drops the partner's sent and skipped records of cycles that ended before `endedBefore` and are no
   * longer their subscription's current cycle (a renewal or a switch moved the end date); returns how many.
   */
  prune(partnerTenantId: string, endedBefore: string): Promise<number>;
}

export interface OutgoingMessage {
  /** Enqueuing the same key twice sends once. */
  uniqueKey: string;
  /** The tenant whose rate Teams counts. */
  tenantId: string;
  conversation: ConversationRef;
  activity: Record<string, unknown>;
}

export interface ClaimedMessage extends OutgoingMessage {
  id: string;
  attempts: number;
}

/** Where a message stands: waiting (or being sent), sent, or given up. */
/** `heldForMs`: another sender's claim on the pending message runs out in this many milliseconds. */
export type OutboxState = { state: 'pending'; heldForMs?: number } | { state: 'sent'; activityId?: string } | { state: 'failed'; error: string };

/** Proactive messages, sent by whichever instance claims them; a dead sender's claims expire. */
export interface OutboxRepository {
  /** True when queued now, false when a message with this key was queued before. */
  enqueue(message: OutgoingMessage): Promise<boolean>;
  /**
   * Claims the message with this key for `leaseMs`, whenever its next attempt was planned (the caller
   * paces its own retries), unless it is sent, failed, or claimed by a worker whose lease still runs.
   */
  claimKey(uniqueKey: string, workerId: string, leaseMs: number): Promise<ClaimedMessage | undefined>;
  /** The state of the message with this key; undefined when none was queued (or it was pruned). */
  state(uniqueKey: string): Promise<OutboxState | undefined>;
  /** Drops messages sent or failed before `finishedBefore`; returns how many. */
  prune(finishedBefore: Date): Promise<number>;
  /** Claims up to `limit` messages due now for `leaseMs`; another worker cannot claim them meanwhile. */
  claim(workerId: string, limit: number, leaseMs: number): Promise<ClaimedMessage[]>;
  /** The connector accepted it; false when the claim had expired and another worker took it. */
  markSent(id: string, workerId: string, activityId?: string): Promise<boolean>;
  /** Puts a claimed message back to be tried after `delayMs` (a 429 or 5xx). */
  retryLater(id: string, workerId: string, delayMs: number, error: string): Promise<void>;
  /** Gives up on a message (unreachable chat, attempts used up). */
  fail(id: string, workerId: string, error: string): Promise<void>;
  /**
   * Takes one of the tenant's `perSecond` sends in the second of `at`, counted across instances:
   * 0 when taken, otherwise the milliseconds until the next second, when the sender may ask again.
   */
  takeSendSlot(tenantId: string, perSecond: number, at: Date): Promise<number>;
}

/** Scheduled work that must run on one instance at a time. */
export interface RunnerLock {
  /**
   * Runs `work` if no other instance runs the job `name` now; otherwise does nothing. The lock ends
   * with the run, or with the instance's connection if the instance dies.
   */
  runExclusive<T>(name: string, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }>;
}

/** A key of the embedded commerce's catalogue, under its keyed hash; the key itself is never stored. */
export interface CatalogKey {
  ref: string;
  product: string;
  seats: number;
  termMonths: number;
  lastGroup: string;
  status: 'available' | 'redeemed' | 'blocked';
  issuedAt: string;
  /** The customer tenant the key was redeemed for. */
  redeemedFor?: string;
  /** The renewal the key was redeemed for. */
  renewal?: string;
}

/** The embedded commerce's key catalogue, shared by every instance and the key CLI. */
export interface KeyCatalogRepository {
  key(ref: string): Promise<CatalogKey | undefined>;
  /** Every key (or those in one status), oldest first: what the key CLI lists. */
  list(status?: CatalogKey['status']): Promise<CatalogKey[]>;
  /** Adds a newly minted key; false when a key with this hash exists. */
  issue(key: CatalogKey): Promise<boolean>;
  /** Blocks a key (a key card reported stolen); false for an unknown key. */
  block(ref: string): Promise<boolean>;
  isEmpty(): Promise<boolean>;
  /**
   * The check value of the key-hash secret the catalogue's hashes are made with (see keyHasher.ts:
   * a hash of the secret, never the secret), or undefined before anyone recorded one.
   */
  secretCheck(): Promise<string | undefined>;
  /** Records the check value unless one is recorded already; returns the one in force (the first recorded). */
  recordSecretCheck(check: string): Promise<string>;
}

export interface CommerceUser {
  objectId: string;
  userPrincipalName: string;
  displayName: string;
  email?: string;
  phone?: string;
  roles: string[];
  licenses: string[];
}

export interface CommerceSubscription {
  id: string;
  product: string;
  seats: number;
  assignedSeats: number;
  startDate: string;
  endDate: string;
  partnerOfRecord?: string;
  billing: 'partner' | 'direct';
  /** Renewals applied, by idempotency key. */
  renewals: string[];
}

/** A customer tenant of the embedded commerce. */
export interface CommerceTenant {
  tenantId: string;
  /** The creation's idempotency key (the setup id): one tenant per key. */
  idempotencyKey: string;
  partnerTenantId: string;
  createdAt: string;
  organisationName: string;
  country: string;
  language: string;
  domain: string;
  /** The first is the admin made at creation. */
  users: CommerceUser[];
  subscriptions: CommerceSubscription[];
  /** The keys redeemed at creation. */
  keyHandles: string[];
  delegatedAdmins: Array<{ partnerTenantId: string; roles: string[]; since: string }>;
  /** Idempotency keys of users a delegated admin added, with the user each made. */
  addedUsers: Record<string, string>;
  /** Granular delegated admin relationships with any partner, as last changed (the time-driven status is worked out on reading). */
  relationships: CommerceRelationship[];
}

/** A GDAP relationship as the embedded commerce keeps it: with the partner's request that made it, so a retry makes no second. */
export type CommerceRelationship = Relationship & { idempotencyKey: string };

export type CreateTenantOutcome = { created: CommerceTenant } | { existing: CommerceTenant } | { refused: 'domainTaken' | 'keyUnavailable' };

/** Redeems a catalogue key for a renewal inside a tenant's change; true also when this renewal already did. */
export type RedeemForRenewal = (ref: string, renewal: string) => Promise<boolean>;

/** The embedded commerce's customer tenants. */
export interface CommerceTenantRepository {
  byDomain(domain: string): Promise<CommerceTenant | undefined>;
  get(tenantId: string): Promise<CommerceTenant | undefined>;
  /** Whether a tenant has the domain, also one whose creation is under way. */
  domainInUse(domain: string): Promise<boolean>;
  /** The display names of all the partner's relationships, with every customer, whatever their status. */
  relationshipNames(partnerTenantId: string): Promise<string[]>;
  /**
   * Creates the tenant and redeems its keys for it, all or nothing. A retry (same idempotency key and
   * partner) gets the tenant made first; anyone else asking for its domain finds it taken.
   */
  create(tenant: CommerceTenant): Promise<CreateTenantOutcome>;
  /**
   * Changes a tenant under its row lock; a key `change` redeems is redeemed in the same transaction,
   * so a renewal that fails leaves its key available. Not found: `{ found: false }`.
   */
  update<R>(tenantId: string, change: (tenant: CommerceTenant, redeem: RedeemForRenewal) => Promise<R> | R): Promise<{ found: false } | { found: true; result: R }>;
  /**
   * Changes a tenant as `update` does, given `relationshipNames(partnerTenantId)`: such changes of
   * one partner run one after the other, so a display name checked free is given once.
   */
  updateForPartner<R>(tenantId: string, partnerTenantId: string, change: (tenant: CommerceTenant, takenNames: readonly string[]) => Promise<R> | R): Promise<{ found: false } | { found: true; result: R }>;
  /**
   * Undoes what a crash left half done (files: a creation under way, keys redeemed for a change the
   * tenant never recorded); PostgreSQL has nothing to undo, each change being one transaction. Only
   * the process that owns the tenants calls it, at its start. Returns how many it undid.
   */
  recoverInterrupted(): Promise<number>;
}

export interface Repositories {
  partners: PartnerRepository;
  customers: CustomerRepository;
  setups: SetupRepository;
  guessGuard: GuessGuardRepository;
  reminders: ReminderRepository;
  outbox: OutboxRepository;
  runnerLock: RunnerLock;
  keyCatalog: KeyCatalogRepository;
  commerceTenants: CommerceTenantRepository;
}
