/**
 * The customer aggregate on PostgreSQL: a customer row with its subscriptions, offers and added
 * users. A change locks the customer's row, reads the aggregate, applies the caller's pure change
 * and writes what it holds back, all in one transaction.
 */
import type { Customer, PasswordResetRecord, Subscription } from '../../domain/customer.js';
import type { Offer } from '../../domain/delegation.js';
import { pageWithin, type Page } from '../../domain/paging.js';
import type { LifecycleDays } from '../../domain/lifecycle.js';
import type { Relationship } from '../../domain/relationship.js';
import { CustomerChanges } from '../customerChanges.js';
import type { AddOfferResult, AuditOf, CustomerLink, CustomerRepository, OfferChange, SubscriptionRef } from '../repositories.js';
import { appendAudit } from './audit.js';
import { transaction, type Pool, type Tx } from './database.js';
import { refreshNextReminders } from './nextReminder.js';
import { defined, ensurePartner, hasCustomersKey, iso, isUuid, linkKey } from './rows.js';
import { readOnce } from '../turnReads.js';
import { copyOf } from '../copy.js';

type Queryable = Pool | Tx;
type Row = Record<string, any>;

const person = (id: string | null, name: string | null) => (id === null ? undefined : { id, name: name! });

export function subscriptionFrom(row: Row): Subscription {
  return defined({
    id: row.id,
    product: row.product,
    seats: row.seats,
    assignedSeats: row.assigned_seats,
    startDate: row.start_date,
    endDate: row.end_date,
    partnerOfRecord: row.partner_of_record,
    billing: row.billing,
    scheduledSwitch: row.scheduled_switch_on === null ? undefined : { on: row.scheduled_switch_on, by: person(row.scheduled_switch_by_id, row.scheduled_switch_by_name)! },
    renewalIds: row.renewal_ids as string[],
    pendingRenewal: row.pending_renewal_request_id === null ? undefined : { requestId: row.pending_renewal_request_id, keyHandle: row.pending_renewal_key_handle },
  }) as Subscription;
}

function relationshipFrom(row: Row): Relationship | undefined {
  if (row.relationship_id === null) return undefined;
  return defined({
    id: row.relationship_id,
    displayName: row.relationship_display_name,
    partnerTenantId: row.partner_tenant_id,
    customer: { tenantId: row.customer_tenant_id, displayName: row.relationship_customer_name },
    accessDetails: { unifiedRoles: (row.relationship_role_ids as string[]).map((roleDefinitionId) => ({ roleDefinitionId })) },
    duration: row.relationship_duration,
    autoExtendDuration: row.relationship_auto_extend,
    status: row.relationship_status,
    createdDateTime: iso(row.relationship_created_at),
    lastModifiedDateTime: iso(row.relationship_modified_at),
    activatedDateTime: iso(row.relationship_activated_at),
    endDateTime: iso(row.relationship_end_at),
    terminatedBy: row.relationship_terminated_by,
    legacy: row.relationship_legacy || undefined,
  }) as Relationship;
}

function offerFrom(row: Row): Offer {
  return defined({
    id: row.id,
    status: row.status,
    message: row.message,
    sentAt: iso(row.sent_at),
    sentBy: person(row.sent_by_id, row.sent_by_name),
    expiresAt: iso(row.expires_at),
    partnerConversation: row.partner_conversation,
    delivery: row.delivery,
    customerCard: row.customer_card_conversation === null ? undefined : { conversation: row.customer_card_conversation, activityId: row.customer_card_activity_id },
    answeredAt: iso(row.answered_at),
    answeredBy: person(row.answered_by_id, row.answered_by_name),
    endedAt: iso(row.ended_at),
    endedBy: person(row.ended_by_id, row.ended_by_name),
    partnerNotice: row.partner_notice,
    granting: iso(row.granting),
    relationship: relationshipFrom(row),
    reminders: row.reminders,
    reminderDue: row.reminder_due,
  }) as Offer;
}

/** A password reset's columns (`prefix`_at, _by_id, _by_name, _request_id) as the domain keeps it. */
function passwordResetFrom(row: Row, prefix: string): PasswordResetRecord {
  return defined({ at: iso(row[`${prefix}_at`]), by: { id: row[`${prefix}_by_id`], name: row[`${prefix}_by_name`] }, requestId: row[`${prefix}_request_id`] });
}

/** The values of those columns, in that order (nulls when there is none). */
function passwordResetValues(reset: PasswordResetRecord | undefined): unknown[] {
  return [reset?.at ?? null, reset?.by.id ?? null, reset?.by.name ?? null, reset?.requestId ?? null];
}

/** An offer's columns, in the order `offerValues` gives them; the first three name its row. */
const OFFER_COLUMNS = [
  'id', 'customer_tenant_id', 'partner_tenant_id', 'position', 'status', 'message', 'sent_at', 'sent_by_id', 'sent_by_name', 'expires_at', 'partner_conversation', 'delivery',
  'customer_card_conversation', 'customer_card_activity_id', 'answered_at', 'answered_by_id', 'answered_by_name', 'ended_at', 'ended_by_id', 'ended_by_name', 'partner_notice', 'granting',
  'relationship_id', 'relationship_display_name', 'relationship_customer_name', 'relationship_role_ids', 'relationship_duration', 'relationship_auto_extend', 'relationship_status',
  'relationship_created_at', 'relationship_modified_at', 'relationship_activated_at', 'relationship_end_at', 'relationship_terminated_by', 'relationship_legacy', 'reminders', 'reminder_due',
] as const;

function offerValues(partnerTenantId: string, customerTenantId: string, position: number, o: Offer): unknown[] {
  const r = o.relationship;
  // The columns name the offer's partner and customer once; a relationship of any other would not come back as it went in.
  if (r && (r.partnerTenantId !== partnerTenantId || r.customer.tenantId !== customerTenantId)) throw new Error(`offer ${o.id} holds a relationship of another partner or customer`);
  return [
    o.id, customerTenantId, partnerTenantId, position, o.status, o.message, o.sentAt, o.sentBy.id, o.sentBy.name, o.expiresAt, o.partnerConversation ?? null, o.delivery,
    o.customerCard?.conversation ?? null, o.customerCard?.activityId ?? null, o.answeredAt ?? null, o.answeredBy?.id ?? null, o.answeredBy?.name ?? null, o.endedAt ?? null, o.endedBy?.id ?? null, o.endedBy?.name ?? null, o.partnerNotice ?? null, o.granting ?? null,
    r?.id ?? null, r?.displayName ?? null, r?.customer.displayName ?? null, r ? r.accessDetails.unifiedRoles.map((role) => role.roleDefinitionId) : null, r?.duration ?? null, r?.autoExtendDuration ?? null, r?.status ?? null,
    r?.createdDateTime ?? null, r?.lastModifiedDateTime ?? null, r?.activatedDateTime ?? null, r?.endDateTime ?? null, r?.terminatedBy ?? null, r?.legacy === true, o.reminders ?? null, o.reminderDue ?? null,
  ];
}

const OFFER_INSERT = `INSERT INTO offers (${OFFER_COLUMNS.join(', ')}) VALUES (${OFFER_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;

/** Inserts an offer, or writes it over the stored one with its id of the same customer (its position too, when `withPosition`). */
function saveOffer(tx: Tx, values: unknown[], withPosition: boolean) {
  const set = OFFER_COLUMNS.slice(3)
    .filter((column) => withPosition || column !== 'position')
    .map((column) => `${column} = EXCLUDED.${column}`)
    .join(', ');
  return tx.query(`${OFFER_INSERT} ON CONFLICT (id) DO UPDATE SET ${set} WHERE offers.customer_tenant_id = $2`, values);
}

/** Offers the offer sweep has work with (the SQL of the domain's hasOfferWork, as the index offers_with_work has it). */
const OFFER_WORK = `(o.status = 'pending' OR o.partner_notice = 'pending'
  OR (o.status = 'accepted' AND o.relationship_id IS NOT NULL AND (o.reminder_due IS NOT NULL OR (o.relationship_auto_extend = 'PT0S' AND coalesce(cardinality(o.reminders), 0) < 3))))`;

/**
 * Unicode's root collation (ICU): its order of names is the domain's byName, and lower() under it
 * lowers every letter (under the C collation only A to Z), as JavaScript's toLowerCase does.
 */
const UNICODE = 'COLLATE "und-x-icu"';

/** A partner's customers whose name or domain contains $2 (ignoring case; all when empty), in name order (the index customers_by_partner_and_name). */
const MATCHING = `WHERE partner_tenant_id = $1 AND ($2 = '' OR strpos(lower(name ${UNICODE}), lower($2 ${UNICODE})) > 0 OR strpos(lower(domain ${UNICODE}), lower($2 ${UNICODE})) > 0)`;
const LISTED = `${MATCHING} ORDER BY name ${UNICODE}, tenant_id`;

/** Whether a customer row has offers and added users (most have none): `assemble` then reads only those that do. */
const HOLDS = `EXISTS (SELECT 1 FROM offers o WHERE o.customer_tenant_id = customers.tenant_id) AS has_offers,
  EXISTS (SELECT 1 FROM added_users u WHERE u.customer_tenant_id = customers.tenant_id) AS has_added_users`;

/**
 * Inserts or updates the subscriptions these customers hold and their renewals, each statement for
 * all of them at once: a customer write (or a partner's import) is a few round trips, however many
 * subscriptions it holds.
 */
async function saveSubscriptions(tx: Tx, partnerTenantId: string, customers: readonly Customer[]): Promise<void> {
  const held = customers.flatMap((customer) => customer.subscriptions.map((s, position) => ({ customer: customer.tenantId, position, s })));
  if (held.length === 0) return;
  const column = <T>(value: (entry: (typeof held)[number]) => T) => held.map(value);
  await tx.query(
    `INSERT INTO subscriptions (id, customer_tenant_id, position, product, seats, assigned_seats, start_date, end_date, partner_of_record, billing,
       scheduled_switch_on, scheduled_switch_by_id, scheduled_switch_by_name, pending_renewal_request_id, pending_renewal_key_handle, partner_tenant_id)
     SELECT v.id, v.customer, v.position, v.product, v.seats, v.assigned_seats, v.start_date, v.end_date, v.partner_of_record, v.billing,
       v.switch_on, v.switch_by_id, v.switch_by_name, v.renewal_request_id, v.renewal_key_handle, $1
     FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::int[], $7::int[], $8::date[], $9::date[], $10::text[], $11::text[], $12::date[], $13::text[], $14::text[], $15::text[], $16::text[])
       AS v(id, customer, position, product, seats, assigned_seats, start_date, end_date, partner_of_record, billing, switch_on, switch_by_id, switch_by_name, renewal_request_id, renewal_key_handle)
     ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, product = EXCLUDED.product, seats = EXCLUDED.seats, assigned_seats = EXCLUDED.assigned_seats,
       start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, partner_of_record = EXCLUDED.partner_of_record, billing = EXCLUDED.billing,
       scheduled_switch_on = EXCLUDED.scheduled_switch_on, scheduled_switch_by_id = EXCLUDED.scheduled_switch_by_id, scheduled_switch_by_name = EXCLUDED.scheduled_switch_by_name,
       pending_renewal_request_id = EXCLUDED.pending_renewal_request_id, pending_renewal_key_handle = EXCLUDED.pending_renewal_key_handle
     WHERE subscriptions.customer_tenant_id = EXCLUDED.customer_tenant_id`,
    [
      partnerTenantId,
      column((e) => e.s.id),
      column((e) => e.customer),
      column((e) => e.position),
      column((e) => e.s.product),
      column((e) => e.s.seats),
      column((e) => e.s.assignedSeats),
      column((e) => e.s.startDate),
      column((e) => e.s.endDate),
      column((e) => e.s.partnerOfRecord ?? null),
      column((e) => e.s.billing),
      column((e) => e.s.scheduledSwitch?.on ?? null),
      column((e) => e.s.scheduledSwitch?.by.id ?? null),
      column((e) => e.s.scheduledSwitch?.by.name ?? null),
      column((e) => e.s.pendingRenewal?.requestId ?? null),
      column((e) => e.s.pendingRenewal?.keyHandle ?? null),
    ],
  );
  // Renewals as (subscription, request) pairs: the ones no longer held go, new ones are appended in
  // the order applied (seq), as the files keep them.
  const renewals = held.flatMap(({ s }) => s.renewalIds.map((requestId) => [s.id, requestId] as const));
  const [renewalSubs, renewalIds] = [renewals.map(([id]) => id), renewals.map(([, requestId]) => requestId)];
  await tx.query(
    `DELETE FROM subscription_renewals r WHERE r.subscription_id = ANY($1)
       AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS v(s, q) WHERE v.s = r.subscription_id AND v.q = r.request_id)`,
    [column((e) => e.s.id), renewalSubs, renewalIds],
  );
  if (renewals.length > 0) await tx.query('INSERT INTO subscription_renewals (subscription_id, request_id) SELECT s, q FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(s, q, n) ORDER BY n ON CONFLICT DO NOTHING', [renewalSubs, renewalIds]);
}

function addUser(tx: Tx, customerTenantId: string, u: Customer['addedUsers'][number]) {
  return tx.query('INSERT INTO added_users (customer_tenant_id, request_id, user_principal_name, product, added_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [customerTenantId, u.requestId, u.userPrincipalName, u.product, u.addedAt]);
}

/** The customer row's columns, as `customerRow` names them. */
const CUSTOMER_COLUMNS = [
  'tenant_id', 'partner_tenant_id', 'name', 'domain', 'country', 'language', 'admin_name', 'admin_email', 'admin_phone', 'admin_user_principal_name', 'admin_object_id',
  'created_at', 'created_by_id', 'created_by_name', 'setup_id', 'admin_conversation', 'admin_reachable', 'admin_contact_updated_at',
  'admin_password_reset_at', 'admin_password_reset_by_id', 'admin_password_reset_by_name', 'admin_password_reset_request_id',
  'admin_password_reset_pending_at', 'admin_password_reset_pending_by_id', 'admin_password_reset_pending_by_name', 'admin_password_reset_pending_request_id',
].join(', ');

/** A customer's row as JSON, for jsonb_populate_recordset (absent values are NULL). */
function customerRow(partnerTenantId: string, c: Customer): Record<string, unknown> {
  const [resetAt, resetById, resetByName, resetRequest] = passwordResetValues(c.admin.passwordReset);
  const [pendingAt, pendingById, pendingByName, pendingRequest] = passwordResetValues(c.admin.pendingPasswordReset);
  return {
    tenant_id: c.tenantId, partner_tenant_id: partnerTenantId, name: c.name, domain: c.domain, country: c.country, language: c.language,
    admin_name: c.admin.name, admin_email: c.admin.email, admin_phone: c.admin.phone, admin_user_principal_name: c.admin.userPrincipalName, admin_object_id: c.admin.objectId,
    created_at: c.createdAt, created_by_id: c.createdBy.id, created_by_name: c.createdBy.name, setup_id: c.setupId,
    admin_conversation: c.adminContact?.conversation ?? null, admin_reachable: c.adminContact?.reachable ?? null, admin_contact_updated_at: c.adminContact?.updatedAt ?? null,
    admin_password_reset_at: resetAt, admin_password_reset_by_id: resetById, admin_password_reset_by_name: resetByName, admin_password_reset_request_id: resetRequest,
    admin_password_reset_pending_at: pendingAt, admin_password_reset_pending_by_id: pendingById, admin_password_reset_pending_by_name: pendingByName, admin_password_reset_pending_request_id: pendingRequest,
  };
}

function customerFrom(row: Row, subscriptions: Subscription[], offers: Offer[], addedUsers: Customer['addedUsers']): Customer {
  return defined({
    tenantId: row.tenant_id,
    name: row.name,
    domain: row.domain,
    country: row.country,
    language: row.language,
    admin: {
      name: row.admin_name,
      email: row.admin_email,
      phone: row.admin_phone,
      userPrincipalName: row.admin_user_principal_name,
      objectId: row.admin_object_id,
      ...(row.admin_password_reset_at !== null && { passwordReset: passwordResetFrom(row, 'admin_password_reset') }),
      ...(row.admin_password_reset_pending_at !== null && { pendingPasswordReset: passwordResetFrom(row, 'admin_password_reset_pending') as Required<PasswordResetRecord> }),
    },
    createdAt: iso(row.created_at),
    createdBy: { id: row.created_by_id, name: row.created_by_name },
    setupId: row.setup_id,
    subscriptions,
    offers,
    adminContact: row.admin_conversation === null ? undefined : { conversation: row.admin_conversation, reachable: row.admin_reachable, updatedAt: iso(row.admin_contact_updated_at) },
    addedUsers,
  }) as Customer;
}

/** The customers of these rows, each with what it holds, in the rows' order. */
async function assemble(db: Queryable, rows: Row[]): Promise<Customer[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.tenant_id as string);
  // One after the other: a transaction's client runs one query at a time anyway.
  const subscriptions = await db.query(
    `SELECT s.*, array(SELECT r.request_id FROM subscription_renewals r WHERE r.subscription_id = s.id ORDER BY r.seq) AS renewal_ids
     FROM subscriptions s WHERE s.customer_tenant_id = ANY($1) ORDER BY s.customer_tenant_id, s.position`,
    [ids],
  );
  // Rows that say they hold none (a list's rows, HOLDS) spare a query.
  const holding = (flag: string) => rows.filter((row) => row[flag] !== false).map((row) => row.tenant_id as string);
  const [withOffers, withUsers] = [holding('has_offers'), holding('has_added_users')];
  const offers = withOffers.length === 0 ? { rows: [] } : await db.query('SELECT * FROM offers WHERE customer_tenant_id = ANY($1) ORDER BY customer_tenant_id, position', [withOffers]);
  const added = withUsers.length === 0 ? { rows: [] } : await db.query('SELECT * FROM added_users WHERE customer_tenant_id = ANY($1) ORDER BY customer_tenant_id, added_at, request_id', [withUsers]);
  const by = <T>(list: Row[], map: (row: Row) => T) => {
    const grouped = new Map<string, T[]>();
    for (const row of list) {
      const group = grouped.get(row.customer_tenant_id);
      if (group) group.push(map(row));
      else grouped.set(row.customer_tenant_id, [map(row)]);
    }
    return grouped;
  };
  const subs = by(subscriptions.rows, subscriptionFrom);
  const offs = by(offers.rows, offerFrom);
  const users = by(added.rows, (row) => ({ requestId: row.request_id, userPrincipalName: row.user_principal_name, product: row.product, addedAt: iso(row.added_at) }));
  return rows.map((row) => customerFrom(row, subs.get(row.tenant_id) ?? [], offs.get(row.tenant_id) ?? [], users.get(row.tenant_id) ?? []));
}

export class PostgresCustomers extends CustomerChanges implements CustomerRepository {
  constructor(
    private readonly pool: Pool,
    private readonly lifecycle: LifecycleDays,
  ) {
    super();
  }

  async list(partnerTenantId: string, filter = ''): Promise<Customer[]> {
    const { rows } = await this.pool.query(`SELECT *, ${HOLDS} FROM customers ${LISTED}`, [partnerTenantId, filter.trim()]);
    return assemble(this.pool, rows);
  }

  async page(partnerTenantId: string, filter: string, page: number, size: number): Promise<Page<Customer>> {
    const needle = filter.trim();
    // The page's rows and the count of all in one statement (the window counts before LIMIT).
    const read = (start: number) => this.pool.query(`SELECT *, ${HOLDS}, count(*) OVER ()::int AS total FROM customers ${LISTED} LIMIT $3 OFFSET $4`, [partnerTenantId, needle, size, start]);
    let { rows } = await read((Math.max(1, page) - 1) * size);
    let total: number = rows[0]?.total ?? 0;
    // A page past the end (the list shrank since the card was sent): count, then read the last page.
    if (rows.length === 0 && page > 1) {
      const { rows: counted } = await this.pool.query(`SELECT count(*)::int AS total FROM customers ${MATCHING}`, [partnerTenantId, needle]);
      total = counted[0].total;
      if (total > 0) ({ rows } = await read(pageWithin(total, page, size).start));
    }
    return { ...pageWithin(total, page, size), shown: await assemble(this.pool, rows), total };
  }

  hasCustomers(partnerTenantId: string): Promise<boolean> {
    // Once per turn; PostgresPartners.member brings it along with who is asking.
    return readOnce(hasCustomersKey(partnerTenantId), async () => {
      const { rows } = await this.pool.query('SELECT EXISTS (SELECT 1 FROM customers WHERE partner_tenant_id = $1) AS any', [partnerTenantId]);
      return rows[0].any as boolean;
    });
  }

  async get(partnerTenantId: string, customerTenantId: string): Promise<Customer | undefined> {
    return (await this.load(this.pool, partnerTenantId, customerTenantId, false))[0];
  }

  link(customerTenantId: string): Promise<CustomerLink | undefined> {
    // Once per turn; PostgresPartners.member tells a turn that its tenant is no customer's.
    return readOnce(linkKey(customerTenantId), async () => {
      const { rows } = await this.pool.query('SELECT * FROM customers WHERE tenant_id = $1', [customerTenantId]);
      const [customer] = await assemble(this.pool, rows);
      return customer && { partnerTenantId: rows[0]!.partner_tenant_id, customer };
    });
  }

  async add(partnerTenantId: string, customer: Customer, audit?: AuditOf<Customer>): Promise<Customer> {
    return transaction(this.pool, async (tx) => {
      await ensurePartner(tx, partnerTenantId);
      // A retry of the same creation (same tenant, or same setup: one customer per setup) finds its
      // customer; the primary key and the setup's unique key decide between racing ones.
      const { rowCount } = await tx.query(
        `INSERT INTO customers (tenant_id, partner_tenant_id, name, domain, country, language, admin_name, admin_email, admin_phone, admin_user_principal_name, admin_object_id, created_at, created_by_id, created_by_name, setup_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING`,
        [customer.tenantId, partnerTenantId, customer.name, customer.domain, customer.country, customer.language, customer.admin.name, customer.admin.email, customer.admin.phone, customer.admin.userPrincipalName, customer.admin.objectId, customer.createdAt, customer.createdBy.id, customer.createdBy.name, customer.setupId],
      );
      if (rowCount === 0) {
        const { rows } = await tx.query('SELECT * FROM customers WHERE partner_tenant_id = $1 AND (tenant_id = $2 OR setup_id = $3) ORDER BY tenant_id = $2 DESC LIMIT 1', [partnerTenantId, customer.tenantId, customer.setupId]);
        const [recorded] = await assemble(tx, rows);
        if (!recorded) throw new Error(`customer tenant ${customer.tenantId} (or its setup) belongs to another partner`);
        return recorded;
      }
      // The row was just inserted (and is locked by this transaction): nothing to read back first.
      await this.write(tx, partnerTenantId, customer, customer);
      if (audit) await appendAudit(tx, audit(customer));
      return customer;
    });
  }

  /**
   * Copies a partner's customers in (the import: db:import, the benchmark): one transaction, a few
   * statements for all of them. One already there (a run again) is kept as it is, as `add` keeps
   * it; one of another partner is refused. Returns how many were added.
   */
  async addMany(partnerTenantId: string, customers: readonly Customer[]): Promise<number> {
    if (customers.length === 0) return 0;
    return transaction(this.pool, async (tx) => {
      await ensurePartner(tx, partnerTenantId);
      const { rows } = await tx.query<{ tenant_id: string }>(
        `INSERT INTO customers (${CUSTOMER_COLUMNS}) SELECT ${CUSTOMER_COLUMNS} FROM jsonb_populate_recordset(NULL::customers, $1) ON CONFLICT DO NOTHING RETURNING tenant_id`,
        [JSON.stringify(customers.map((customer) => customerRow(partnerTenantId, customer)))],
      );
      const added = new Set(rows.map((row) => row.tenant_id));
      const kept = customers.filter((customer) => !added.has(customer.tenantId)).map((customer) => customer.tenantId);
      const { rows: ours } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM customers WHERE partner_tenant_id = $1 AND tenant_id = ANY($2)', [partnerTenantId, kept]);
      if (ours[0]!.n !== kept.length) throw new Error(`a customer tenant (or its setup) of partner ${partnerTenantId} belongs to another partner`);
      const fresh = customers.filter((customer) => added.has(customer.tenantId));
      await saveSubscriptions(tx, partnerTenantId, fresh);
      await refreshNextReminders(tx, fresh.flatMap((customer) => customer.subscriptions.map((s) => s.id)), this.lifecycle);
      for (const customer of fresh) {
        for (const [position, o] of customer.offers.entries()) await saveOffer(tx, offerValues(partnerTenantId, customer.tenantId, position, o), true);
        for (const u of customer.addedUsers) await addUser(tx, customer.tenantId, u);
      }
      return fresh.length;
    });
  }

  async update(partnerTenantId: string, customerTenantId: string, change: (customer: Customer) => Customer | undefined, audit?: AuditOf<Customer>): Promise<Customer | undefined> {
    return transaction(this.pool, async (tx) => {
      const [current] = await this.load(tx, partnerTenantId, customerTenantId, true);
      if (!current) return undefined;
      const next = change(copyOf(current));
      if (!next) return undefined;
      await this.write(tx, partnerTenantId, current, next);
      if (audit) await appendAudit(tx, audit(next));
      return next;
    });
  }

  async addOffer(partnerTenantId: string, customerTenantId: string, offer: Offer, audit?: AuditOf<Offer>): Promise<AddOfferResult> {
    return transaction(this.pool, async (tx) => {
      const { rows } = await tx.query('SELECT 1 FROM customers WHERE partner_tenant_id = $1 AND tenant_id = $2 FOR UPDATE', [partnerTenantId, customerTenantId]);
      if (rows.length === 0) throw new Error(`customer ${customerTenantId} not found`);
      const existing = await this.collidingOffer(tx, partnerTenantId, customerTenantId, offer);
      if (existing) return { added: false, existing };
      const { rows: last } = await tx.query('SELECT coalesce(max(position) + 1, 0) AS next FROM offers WHERE customer_tenant_id = $1', [customerTenantId]);
      const values = offerValues(partnerTenantId, customerTenantId, last[0].next, offer);
      // Another customer's offer may take the name meanwhile (the customer's row lock does not cover it): the unique index decides.
      const { rowCount } = await tx.query(`${OFFER_INSERT} ON CONFLICT DO NOTHING`, values);
      if (rowCount === 0) {
        const taken = await this.collidingOffer(tx, partnerTenantId, customerTenantId, offer);
        if (taken) return { added: false, existing: taken };
        throw new Error(`offer id ${offer.id} is taken`);
      }
      await tx.query('UPDATE customers SET version = version + 1 WHERE tenant_id = $1', [customerTenantId]);
      if (audit) await appendAudit(tx, audit(offer));
      return { added: true, offer };
    });
  }

  async updateOffer(partnerTenantId: string, customerTenantId: string, offerId: string, change: (offer: Offer) => Offer | undefined, audit?: AuditOf<OfferChange>): Promise<OfferChange | undefined> {
    if (!isUuid(offerId)) return undefined;
    return transaction(this.pool, async (tx) => {
      // The customer's row lock: two instances changing one offer apply one after the other.
      const [customer] = await this.load(tx, partnerTenantId, customerTenantId, true);
      const index = customer ? customer.offers.findIndex((o) => o.id === offerId) : -1;
      if (!customer || index < 0) return undefined;
      const before = customer.offers[index]!;
      const next = change(copyOf(before));
      if (!next) return { customer, before, offer: before };
      if (next.id !== offerId) throw new Error('a change may not give an offer another id');
      await saveOffer(tx, offerValues(partnerTenantId, customerTenantId, index, next), false);
      await tx.query('UPDATE customers SET version = version + 1 WHERE tenant_id = $1', [customerTenantId]);
      const changed = { customer: { ...customer, offers: customer.offers.map((o, i) => (i === index ? next : o)) }, before, offer: next };
      if (audit) await appendAudit(tx, audit(changed));
      return changed;
    });
  }

  async pendingRenewals(): Promise<SubscriptionRef[]> {
    return this.subscriptionRefs('s.pending_renewal_request_id IS NOT NULL', []);
  }

  async switchesDue(now: Date): Promise<SubscriptionRef[]> {
    return this.subscriptionRefs(`s.scheduled_switch_on IS NOT NULL AND s.billing = 'partner' AND s.scheduled_switch_on <= ($1::timestamptz AT TIME ZONE p.time_zone)::date`, [now]);
  }

  async withOfferWork(): Promise<CustomerLink[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM offers o WHERE o.customer_tenant_id = c.tenant_id AND ${OFFER_WORK})
       ORDER BY c.partner_tenant_id, c.tenant_id`,
    );
    const customers = await assemble(this.pool, rows);
    return customers.map((customer, i) => ({ partnerTenantId: rows[i]!.partner_tenant_id, customer }));
  }

  /** The offer of the partner that `offer` repeats or collides with (see AddOfferResult), the strongest reason first. */
  private async collidingOffer(tx: Tx, partnerTenantId: string, customerTenantId: string, offer: Offer): Promise<Offer | undefined> {
    const r = offer.relationship;
    const { rows } = await tx.query(
      `SELECT * FROM offers WHERE partner_tenant_id = $1
         AND (id = $2 OR relationship_id = $3 OR lower(relationship_display_name ${UNICODE}) = lower($4 ${UNICODE})
           OR ($3::text IS NULL AND customer_tenant_id = $5 AND relationship_id IS NULL AND status IN ('pending', 'accepted')))
       ORDER BY CASE WHEN id = $2 THEN 0 WHEN relationship_id = $3 THEN 1 WHEN lower(relationship_display_name ${UNICODE}) = lower($4 ${UNICODE}) THEN 2 ELSE 3 END
       LIMIT 1`,
      [partnerTenantId, offer.id, r?.id ?? null, r?.displayName ?? null, customerTenantId],
    );
    return rows[0] && offerFrom(rows[0]);
  }

  private async subscriptionRefs(where: string, values: unknown[]): Promise<SubscriptionRef[]> {
    const { rows } = await this.pool.query(
      `SELECT s.*, array(SELECT r.request_id FROM subscription_renewals r WHERE r.subscription_id = s.id ORDER BY r.seq) AS renewal_ids
       FROM subscriptions s JOIN partners p ON p.tenant_id = s.partner_tenant_id
       WHERE ${where} ORDER BY s.partner_tenant_id, s.customer_tenant_id, s.position`,
      values,
    );
    return rows.map((row) => ({ partnerTenantId: row.partner_tenant_id, customerTenantId: row.customer_tenant_id, subscription: subscriptionFrom(row) }));
  }

  /** The partner's customer (or customers), optionally locking the customer's row for a change. */
  private async load(db: Queryable, partnerTenantId: string, customerTenantId: string, lock: boolean): Promise<Customer[]> {
    const { rows } = await db.query(`SELECT * FROM customers WHERE partner_tenant_id = $1 AND tenant_id = $2${lock ? ' FOR UPDATE' : ''}`, [partnerTenantId, customerTenantId]);
    return assemble(db, rows);
  }

  /** Writes `next` over `current` (same customer): its row, then what it holds. */
  private async write(tx: Tx, partnerTenantId: string, current: Customer, next: Customer): Promise<void> {
    if (next.tenantId !== current.tenantId) throw new Error('a change may not move a customer to another tenant id');
    const contact = next.adminContact;
    await tx.query(
      `UPDATE customers SET name = $2, domain = $3, country = $4, language = $5, admin_name = $6, admin_email = $7, admin_phone = $8, admin_user_principal_name = $9,
         admin_object_id = $10, admin_conversation = $11, admin_reachable = $12, admin_contact_updated_at = $13, version = version + 1,
         admin_password_reset_at = $14, admin_password_reset_by_id = $15, admin_password_reset_by_name = $16, admin_password_reset_request_id = $17,
         admin_password_reset_pending_at = $18, admin_password_reset_pending_by_id = $19, admin_password_reset_pending_by_name = $20, admin_password_reset_pending_request_id = $21
       WHERE tenant_id = $1`,
      [
        next.tenantId,
        next.name,
        next.domain,
        next.country,
        next.language,
        next.admin.name,
        next.admin.email,
        next.admin.phone,
        next.admin.userPrincipalName,
        next.admin.objectId,
        contact?.conversation ?? null,
        contact?.reachable ?? null,
        contact?.updatedAt ?? null,
        ...passwordResetValues(next.admin.passwordReset),
        ...passwordResetValues(next.admin.pendingPasswordReset),
      ],
    );
    const kept = next.subscriptions.map((s) => s.id);
    await tx.query('DELETE FROM subscriptions WHERE customer_tenant_id = $1 AND NOT (id = ANY($2))', [next.tenantId, kept]);
    // Positions move out of the way first, so a reordering never collides with itself.
    await tx.query('UPDATE subscriptions SET position = -1 - position WHERE customer_tenant_id = $1', [next.tenantId]);
    await saveSubscriptions(tx, partnerTenantId, [next]);
    await refreshNextReminders(tx, kept, this.lifecycle);
    await tx.query('DELETE FROM offers WHERE customer_tenant_id = $1 AND NOT (id = ANY($2::uuid[]))', [next.tenantId, next.offers.map((o) => o.id)]);
    for (const [position, o] of next.offers.entries()) await saveOffer(tx, offerValues(partnerTenantId, next.tenantId, position, o), true);
    for (const u of next.addedUsers) await addUser(tx, next.tenantId, u);
  }
}
