/** The partner aggregate on PostgreSQL: profile, staff chats and reminder channel. */
import type { PartnerProfile } from '../../domain/profile.js';
import type { AuditOf, Member, PartnerRepository, ReminderChannel } from '../repositories.js';
import { appendAudit } from './audit.js';
import { transaction, type Pool } from './database.js';
import { defined, ensurePartner, iso } from './rows.js';

export class PostgresPartners implements PartnerRepository {
  constructor(private readonly pool: Pool) {}

  async profile(tenantId: string): Promise<PartnerProfile | undefined> {
    const { rows } = await this.pool.query(
      'SELECT organisation_name, partner_id, cloud_essentials, time_zone, profile_updated_at, profile_updated_by FROM partners WHERE tenant_id = $1 AND organisation_name IS NOT NULL',
      [tenantId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { organisationName: row.organisation_name, partnerId: row.partner_id, cloudEssentials: row.cloud_essentials, timeZone: row.time_zone, updatedAt: iso(row.profile_updated_at), updatedBy: row.profile_updated_by };
  }

  async saveProfile(tenantId: string, profile: PartnerProfile): Promise<void> {
    await this.pool.query(
      `INSERT INTO partners (tenant_id, organisation_name, partner_id, cloud_essentials, time_zone, profile_updated_at, profile_updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id) DO UPDATE SET organisation_name = $2, partner_id = $3, cloud_essentials = $4, time_zone = $5, profile_updated_at = $6, profile_updated_by = $7`,
      [tenantId, profile.organisationName, profile.partnerId, profile.cloudEssentials, profile.timeZone, profile.updatedAt, profile.updatedBy],
    );
  }

  async staff(tenantId: string): Promise<Record<string, Member>> {
    const { rows } = await this.pool.query('SELECT user_id, name, locale, conversation, reachable, updated_at FROM staff_members WHERE partner_tenant_id = $1 ORDER BY user_id', [tenantId]);
    return Object.fromEntries(rows.map((row) => [row.user_id, defined({ name: row.name, locale: row.locale, conversation: row.conversation, updatedAt: iso(row.updated_at), reachable: row.reachable }) as Member]));
  }

  async rememberMember(tenantId: string, userId: string, member: Member): Promise<void> {
    await transaction(this.pool, async (tx) => {
      await ensurePartner(tx, tenantId);
      await tx.query(
        `INSERT INTO staff_members (partner_tenant_id, user_id, name, locale, conversation, reachable, updated_at) VALUES ($1, $2, $3, $4, $5, true, $6)
         ON CONFLICT (partner_tenant_id, user_id) DO UPDATE SET name = $3, locale = $4, conversation = $5, reachable = true, updated_at = $6`,
        [tenantId, userId, member.name, member.locale ?? null, member.conversation, member.updatedAt],
      );
    });
  }

  async markMemberUnreachable(tenantId: string, userId: string): Promise<void> {
    await this.pool.query('UPDATE staff_members SET reachable = false WHERE partner_tenant_id = $1 AND user_id = $2', [tenantId, userId]);
  }

  async reminderChannel(tenantId: string): Promise<ReminderChannel | undefined> {
    const { rows } = await this.pool.query('SELECT conversation, set_by, set_at, reachable FROM reminder_channels WHERE partner_tenant_id = $1', [tenantId]);
    const row = rows[0];
    return row && { conversation: row.conversation, setBy: row.set_by, setAt: iso(row.set_at), reachable: row.reachable };
  }

  async setReminderChannel(tenantId: string, channel: ReminderChannel, audit?: AuditOf<void>): Promise<void> {
    await transaction(this.pool, async (tx) => {
      await ensurePartner(tx, tenantId);
      await tx.query(
        `INSERT INTO reminder_channels (partner_tenant_id, conversation, set_by, set_at, reachable) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (partner_tenant_id) DO UPDATE SET conversation = $2, set_by = $3, set_at = $4, reachable = $5`,
        [tenantId, channel.conversation, channel.setBy, channel.setAt, channel.reachable],
      );
      if (audit) await appendAudit(tx, audit(undefined));
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
