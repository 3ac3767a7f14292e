/** The partner aggregate on PostgreSQL: profile, staff chats, role book and reminder channel. */
import type { PartnerProfile } from '../../domain/profile.js';
import type { Person, RoleBook } from '../../domain/roles.js';
import type { AuditOf, Member, PartnerRepository, ReminderChannel, RoleUpdate, Welcome } from '../repositories.js';
import { appendAudit } from './audit.js';
import { transaction, type Pool, type Tx } from './database.js';
import { forgetTurnReads, readOnce, type Remember } from '../turnReads.js';
import { GUARD_JSON, guardFromJson } from './guessGuard.js';
import { defined, ensurePartner, guessKey, hasCustomersKey, iso, jsonOf, linkKey } from './rows.js';

const MEMBER_FIELDS = ['user_id', 'name', 'locale', 'time_zone', 'conversation', 'reachable', 'updated_at', 'welcome_conversation_id', 'welcome_activity_id', 'welcome_language', 'welcome_at'];
const MEMBER_COLUMNS = MEMBER_FIELDS.join(', ');

/** A staff member from a row (or from its JSON value). */
function memberFrom(row: Record<string, any>): Member {
  const welcome = row.welcome_conversation_id === null ? undefined : defined({ conversationId: row.welcome_conversation_id, activityId: row.welcome_activity_id, language: row.welcome_language, at: iso(row.welcome_at) });
  return defined({ name: row.name, locale: row.locale, timeZone: row.time_zone, welcome, conversation: row.conversation, updatedAt: iso(row.updated_at), reachable: row.reachable }) as Member;
}

const PROFILE_FIELDS = ['organisation_name', 'partner_id', 'cloud_essentials', 'time_zone', 'profile_updated_at', 'profile_updated_by'];
const PROFILE_COLUMNS = PROFILE_FIELDS.map((field) => `p.${field}`).join(', ');

/** The partner's profile from its row, if it was ever saved. */
function profileFrom(row: Record<string, any>): PartnerProfile | undefined {
  if (row.organisation_name === null) return undefined;
  return { organisationName: row.organisation_name, partnerId: row.partner_id, cloudEssentials: row.cloud_essentials, timeZone: row.time_zone, updatedAt: iso(row.profile_updated_at), updatedBy: row.profile_updated_by };
}

const profileKey = (tenantId: string) => `profile:${tenantId}`;
const rolesKey = (tenantId: string) => `roles:${tenantId}`;

const ROLE_FIELDS = ['user_id', 'role', 'name', 'reason', 'assigned_by', 'assigned_at'];

/**
 * Who is asking, and what a turn reads after that, as one JSON value (`$1` the tenant, `$2` the user):
 * the partner's row (profile and whether it has a role book), its role book, whether the tenant is a
 * customer's, whether the partner has customers (the welcome card) and its guard against guessing keys.
 */
const MEMBER_QUERY = `SELECT json_build_object(
    'member', (SELECT ${jsonOf('m', MEMBER_FIELDS, ['updated_at', 'welcome_at'])} FROM staff_members m WHERE m.partner_tenant_id = $1 AND m.user_id = $2),
    'partner', (SELECT ${jsonOf('p', ['has_role_book', ...PROFILE_FIELDS], ['profile_updated_at'])} FROM partners p WHERE p.tenant_id = $1),
    'roles', (SELECT json_agg(${jsonOf('r', ROLE_FIELDS, ['assigned_at'])} ORDER BY r.user_id) FROM partner_roles r WHERE r.partner_tenant_id = $1),
    'customer_tenant', EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = $1),
    'has_customers', EXISTS (SELECT 1 FROM customers c WHERE c.partner_tenant_id = $1),
    'guard', ${GUARD_JSON}
  ) AS turn`;

function bookFrom(rows: Array<Record<string, any>>): RoleBook {
  return Object.fromEntries(rows.map((row) => [row.user_id, defined({ role: row.role, name: row.name, reason: row.reason, assignedBy: row.assigned_by, assignedAt: iso(row.assigned_at) })])) as RoleBook;
}

/** Locks the partner's row (made on first use) for this transaction: its role changes go one after the other. */
async function lockPartner(tx: Tx, tenantId: string): Promise<{ hasRoleBook: boolean }> {
  await ensurePartner(tx, tenantId);
  const { rows } = await tx.query<{ has_role_book: boolean }>('SELECT has_role_book FROM partners WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
  return { hasRoleBook: rows[0]!.has_role_book };
}

const READ_BOOK = `SELECT ${ROLE_FIELDS.join(', ')} FROM partner_roles WHERE partner_tenant_id = $1 ORDER BY user_id`;

/** The partner's row (has_role_book and the profile) with each of its roles: one row per role, one with NULL roles when none. */
const ROLES_QUERY = `SELECT p.has_role_book, ${ROLE_FIELDS.map((field) => `r.${field}`).join(', ')}, ${PROFILE_COLUMNS}
  FROM partners p LEFT JOIN partner_roles r ON r.partner_tenant_id = p.tenant_id WHERE p.tenant_id = $1 ORDER BY r.user_id`;

async function readBook(tx: Tx | Pool, tenantId: string): Promise<RoleBook> {
  const { rows } = await tx.query(READ_BOOK, [tenantId]);
  return bookFrom(rows);
}

/** Replaces the partner's book with `book` (a few rows: written whole). */
async function writeBook(tx: Tx, tenantId: string, book: RoleBook): Promise<void> {
  await tx.query('DELETE FROM partner_roles WHERE partner_tenant_id = $1', [tenantId]);
  const entries = Object.entries(book);
  if (entries.length > 0) {
    await tx.query(
      `INSERT INTO partner_roles (partner_tenant_id, user_id, role, name, reason, assigned_by, assigned_at)
       SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])`,
      [
        tenantId,
        entries.map(([userId]) => userId),
        entries.map(([, a]) => a.role),
        entries.map(([, a]) => a.name),
        entries.map(([, a]) => a.reason),
        entries.map(([, a]) => a.assignedBy ?? null),
        entries.map(([, a]) => a.assignedAt),
      ],
    );
  }
  await tx.query('UPDATE partners SET has_role_book = true WHERE tenant_id = $1', [tenantId]);
}

export class PostgresPartners implements PartnerRepository {
  constructor(private readonly pool: Pool) {}

  profile(tenantId: string): Promise<PartnerProfile | undefined> {
    return readOnce(profileKey(tenantId), async () => {
      const { rows } = await this.pool.query(`SELECT ${PROFILE_COLUMNS} FROM partners p WHERE tenant_id = $1`, [tenantId]);
      return rows[0] && profileFrom(rows[0]);
    });
  }

  async saveProfile(tenantId: string, profile: PartnerProfile, roles?: (book: Readonly<RoleBook>) => RoleUpdate, audit?: AuditOf<RoleUpdate>): Promise<void> {
    await transaction(this.pool, async (tx) => {
      // The upsert locks the partner's row: a role change of another instance waits for this one.
      await tx.query(
        `INSERT INTO partners (tenant_id, organisation_name, partner_id, cloud_essentials, time_zone, profile_updated_at, profile_updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id) DO UPDATE SET organisation_name = $2, partner_id = $3, cloud_essentials = $4, time_zone = $5, profile_updated_at = $6, profile_updated_by = $7`,
        [tenantId, profile.organisationName, profile.partnerId, profile.cloudEssentials, profile.timeZone, profile.updatedAt, profile.updatedBy],
      );
      const book = await readBook(tx, tenantId);
      const update = roles?.(book) ?? { book, changes: [] };
      if (roles) await writeBook(tx, tenantId, update.book);
      await appendAudit(tx, audit?.(update) ?? []);
    });
  }

  async staff(tenantId: string): Promise<Record<string, Member>> {
    const { rows } = await this.pool.query(`SELECT ${MEMBER_COLUMNS} FROM staff_members WHERE partner_tenant_id = $1 ORDER BY user_id`, [tenantId]);
    return Object.fromEntries(rows.map((row) => [row.user_id, memberFrom(row)]));
  }

  member(tenantId: string, userId: string): Promise<Member | undefined> {
    return readOnce(`member:${tenantId}:${userId}`, async (remember) => {
      const { rows } = await this.pool.query(MEMBER_QUERY, [tenantId, userId]);
      const turn = rows[0]!.turn;
      this.rememberBook(tenantId, turn.partner ?? undefined, turn.roles ?? [], remember);
      if (!turn.customer_tenant) remember(linkKey(tenantId), undefined);
      remember(hasCustomersKey(tenantId), turn.has_customers);
      remember(guessKey(tenantId), guardFromJson(turn.guard));
      return turn.member === null ? undefined : memberFrom(turn.member);
    });
  }

  async rememberMember(tenantId: string, userId: string, member: Member): Promise<void> {
    const { welcome } = member;
    await transaction(this.pool, async (tx) => {
      await ensurePartner(tx, tenantId);
      // A member saved without a welcome keeps the one stored (the welcome's columns go together).
      await tx.query(
        `INSERT INTO staff_members (partner_tenant_id, user_id, name, locale, time_zone, conversation, reachable, updated_at, welcome_conversation_id, welcome_activity_id, welcome_language, welcome_at)
         VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8, $9, $10, $11)
         ON CONFLICT (partner_tenant_id, user_id) DO UPDATE SET name = $3, locale = $4, time_zone = $5, conversation = $6, reachable = true, updated_at = $7,
           welcome_conversation_id = COALESCE($8, staff_members.welcome_conversation_id),
           welcome_activity_id = CASE WHEN $8::text IS NULL THEN staff_members.welcome_activity_id ELSE $9 END,
           welcome_language = COALESCE($10, staff_members.welcome_language),
           welcome_at = COALESCE($11, staff_members.welcome_at)`,
        [tenantId, userId, member.name, member.locale ?? null, member.timeZone ?? null, member.conversation, member.updatedAt, welcome?.conversationId ?? null, welcome?.activityId ?? null, welcome?.language ?? null, welcome?.at ?? null],
      );
    });
  }

  async rememberWelcome(tenantId: string, userId: string, welcome: Welcome): Promise<void> {
    await this.pool.query('UPDATE staff_members SET welcome_conversation_id = $3, welcome_activity_id = $4, welcome_language = $5, welcome_at = $6 WHERE partner_tenant_id = $1 AND user_id = $2', [
      tenantId,
      userId,
      welcome.conversationId,
      welcome.activityId ?? null,
      welcome.language,
      welcome.at,
    ]);
    forgetTurnReads();
  }

  async markMemberUnreachable(tenantId: string, userId: string): Promise<void> {
    await this.pool.query('UPDATE staff_members SET reachable = false WHERE partner_tenant_id = $1 AND user_id = $2', [tenantId, userId]);
    forgetTurnReads();
  }

  roles(tenantId: string): Promise<RoleBook | undefined> {
    return readOnce(rolesKey(tenantId), async (remember) => {
      const { rows } = await this.pool.query(ROLES_QUERY, [tenantId]);
      // A row per role, or one with NULL roles; none for a partner not met yet.
      return this.rememberBook(tenantId, rows[0], rows.filter((row) => row.user_id !== null), remember);
    });
  }

  /**
   * The role book from the partner's row and its roles' rows, remembered for the turn with the profile
   * of the partner's row; returns the book.
   */
  private rememberBook(tenantId: string, partner: Record<string, any> | undefined, roles: Array<Record<string, any>>, remember: Remember): RoleBook | undefined {
    // A tenant the bot has not met yet starts with an empty book.
    const book = !partner ? {} : partner.has_role_book ? bookFrom(roles) : undefined;
    remember(profileKey(tenantId), partner && profileFrom(partner));
    remember(rolesKey(tenantId), book);
    return book;
  }

  async upgradeRoles(tenantId: string, upgrade: (people: Person[]) => RoleUpdate, audit?: AuditOf<RoleUpdate>): Promise<RoleBook> {
    return transaction(this.pool, async (tx) => {
      const { hasRoleBook } = await lockPartner(tx, tenantId);
      if (hasRoleBook) return readBook(tx, tenantId);
      // Everyone who could act before roles: the staff met, who saved the profile, who set up a customer.
      const { rows } = await tx.query<{ user_id: string; name: string }>(
        `SELECT user_id, name FROM (
           SELECT 1 AS part, user_id, name, NULL::timestamptz AS at FROM staff_members WHERE partner_tenant_id = $1
           UNION ALL
           SELECT 2, p.profile_updated_by, COALESCE(s.name, p.profile_updated_by), NULL FROM partners p
             LEFT JOIN staff_members s ON s.partner_tenant_id = p.tenant_id AND s.user_id = p.profile_updated_by
             WHERE p.tenant_id = $1 AND p.profile_updated_by IS NOT NULL
           UNION ALL
           SELECT 3, created_by_id, created_by_name, created_at FROM customers WHERE partner_tenant_id = $1
         ) people ORDER BY part, at, user_id`,
        [tenantId],
      );
      const update = upgrade(rows.map((row) => ({ userId: row.user_id, name: row.name })));
      await writeBook(tx, tenantId, update.book);
      await appendAudit(tx, audit?.(update) ?? []);
      return update.book;
    });
  }

  async updateRoles<R>(tenantId: string, change: (book: Readonly<RoleBook>, staff: ReadonlyMap<string, string>) => { book?: RoleBook; result: R }, audit?: AuditOf<R>): Promise<R> {
    return transaction(this.pool, async (tx) => {
      await lockPartner(tx, tenantId);
      const book = await readBook(tx, tenantId);
      const { rows } = await tx.query<{ user_id: string; name: string }>('SELECT user_id, name FROM staff_members WHERE partner_tenant_id = $1', [tenantId]);
      const outcome = change(book, new Map(rows.map((row) => [row.user_id, row.name])));
      if (!outcome.book) return outcome.result;
      await writeBook(tx, tenantId, outcome.book);
      await appendAudit(tx, audit?.(outcome.result) ?? []);
      return outcome.result;
    });
  }

  async reminderChannel(tenantId: string): Promise<ReminderChannel | undefined> {
    const { rows } = await this.pool.query('SELECT conversation, set_by, set_at, reachable FROM reminder_channels WHERE partner_tenant_id = $1', [tenantId]);
    const row = rows[0];
    return row && { conversation: row.conversation, setBy: row.set_by, setAt: iso(row.set_at), reachable: row.reachable };
  }

  async setReminderChannel(tenantId: string, channel: ReminderChannel, audit?: AuditOf<ReminderChannel>): Promise<void> {
    await transaction(this.pool, async (tx) => {
      await ensurePartner(tx, tenantId);
      await tx.query(
        `INSERT INTO reminder_channels (partner_tenant_id, conversation, set_by, set_at, reachable) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (partner_tenant_id) DO UPDATE SET conversation = $2, set_by = $3, set_at = $4, reachable = $5`,
        [tenantId, channel.conversation, channel.setBy, channel.setAt, channel.reachable],
      );
      await appendAudit(tx, audit?.(channel) ?? []);
    });
  }

  async markReminderChannelUnreachable(tenantId: string): Promise<void> {
    await this.pool.query('UPDATE reminder_channels SET reachable = false WHERE partner_tenant_id = $1', [tenantId]);
  }

  async timeZones(): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ time_zone: string }>('SELECT DISTINCT time_zone FROM partners');
    return new Set(rows.map((row) => row.time_zone));
  }
}
