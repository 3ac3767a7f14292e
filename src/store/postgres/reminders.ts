/**
 * The reminder ledger on PostgreSQL. Each (subscription, end date, kind) is a row at most once, and
 * subscriptions.next_reminder_on (kept in step with the ledger) makes finding the due ones a query
 * on an index, in each partner's own calendar day.
 */
import { REMINDER_KINDS, reminderSchedule, type LifecycleDays, type ReminderKind } from '../../domain/lifecycle.js';
import type { ReminderCandidate, ReminderId, ReminderRecord, ReminderRepository, StoredReminder } from '../repositories.js';
import { transaction, type Pool } from './database.js';
import { refreshNextReminders } from './nextReminder.js';
import { defined, ensurePartner, iso } from './rows.js';

type Row = Record<string, any>;

function reminderFrom(row: Row): StoredReminder {
  return defined({
    partnerTenantId: row.partner_tenant_id,
    customerTenantId: row.customer_tenant_id,
    subscriptionId: row.subscription_id,
    endDate: row.end_date,
    kind: row.kind,
    status: row.status,
    createdAt: iso(row.created_at),
    sentAt: iso(row.sent_at),
    deliveredTo: row.delivered_to,
  }) as StoredReminder;
}

const BY_ID = 'partner_tenant_id = $1 AND subscription_id = $2 AND end_date = $3 AND kind = $4';
const idValues = (partnerTenantId: string, id: ReminderId) => [partnerTenantId, id.subscriptionId, id.endDate, id.kind];

export class PostgresReminders implements ReminderRepository {
  constructor(
    private readonly pool: Pool,
    private readonly lifecycle: LifecycleDays,
  ) {}

  async dueReminders(now: Date, limit: number, timeZones?: ReadonlySet<string>): Promise<ReminderCandidate[]> {
    // No zone is more than a day ahead of UTC (+14 hours at most): the first condition is the index's range.
    // The last condition is the domain's cycleRuns: reminders stop after the last day the data is kept.
    const { rows } = await this.pool.query(
      `WITH due AS (
         SELECT s.id, s.end_date, s.next_reminder_on, s.partner_tenant_id, s.customer_tenant_id, local.today
         FROM subscriptions s
         JOIN partners p ON p.tenant_id = s.partner_tenant_id
         CROSS JOIN LATERAL (SELECT ($1::timestamptz AT TIME ZONE p.time_zone)::date AS today) AS local
         WHERE s.next_reminder_on <= ($1::timestamptz AT TIME ZONE 'UTC')::date + 1
           AND s.next_reminder_on <= local.today
           AND s.billing = 'partner' AND s.partner_of_record IS NOT NULL AND (p.partner_id IS NULL OR p.partner_id = s.partner_of_record)
           AND (s.scheduled_switch_on IS NULL OR s.scheduled_switch_on > local.today)
           AND local.today - s.end_date <= $3
           AND ($4::text[] IS NULL OR p.time_zone = ANY ($4))
         ORDER BY s.next_reminder_on, s.id
         LIMIT $2
       )
       -- What each found subscription has recorded, read for the few found only.
       SELECT due.*, array(SELECT r.kind FROM reminders r WHERE r.subscription_id = due.id AND r.end_date = due.end_date) AS recorded
       FROM due
       ORDER BY due.next_reminder_on, due.id`,
      [now, limit, this.lifecycle.deprovisionDays, timeZones ? [...timeZones] : null],
    );
    return rows.map((row) => ({
      partnerTenantId: row.partner_tenant_id,
      today: row.today,
      customerTenantId: row.customer_tenant_id,
      subscriptionId: row.id,
      endDate: row.end_date,
      recorded: (row.recorded as ReminderKind[]).sort((a, b) => REMINDER_KINDS.indexOf(a) - REMINDER_KINDS.indexOf(b)),
    }));
  }

  async record(partnerTenantId: string, records: readonly ReminderRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    const dueOn = (record: ReminderRecord) => reminderSchedule(record.endDate, this.lifecycle).find((r) => r.kind === record.kind)!.due;
    return transaction(this.pool, async (tx) => {
      await ensurePartner(tx, partnerTenantId);
      const column = <K extends keyof ReminderRecord>(key: K) => records.map((r) => r[key]);
      const { rowCount } = await tx.query(
        `INSERT INTO reminders (subscription_id, end_date, kind, due_on, partner_tenant_id, customer_tenant_id, status, created_at, sent_at, delivered_to)
         SELECT r.subscription_id, r.end_date, r.kind, r.due_on, $1, r.customer_tenant_id, r.status, r.created_at, r.sent_at, '{}'
         FROM unnest($2::text[], $3::date[], $4::text[], $5::date[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[])
           AS r(subscription_id, end_date, kind, due_on, customer_tenant_id, status, created_at, sent_at)
         ON CONFLICT DO NOTHING`,
        [partnerTenantId, column('subscriptionId'), column('endDate'), column('kind'), records.map(dueOn), column('customerTenantId'), column('status'), column('createdAt'), records.map((r) => r.sentAt ?? null)],
      );
      await refreshNextReminders(tx, [...new Set(records.map((r) => r.subscriptionId))], this.lifecycle);
      return rowCount ?? 0;
    });
  }

  async get(partnerTenantId: string, id: ReminderId): Promise<StoredReminder | undefined> {
    const { rows } = await this.pool.query(`SELECT * FROM reminders WHERE ${BY_ID}`, idValues(partnerTenantId, id));
    return rows[0] && reminderFrom(rows[0]);
  }

  async forPartner(partnerTenantId: string): Promise<StoredReminder[]> {
    const { rows } = await this.pool.query('SELECT * FROM reminders WHERE partner_tenant_id = $1 ORDER BY created_at, subscription_id, end_date, kind', [partnerTenantId]);
    return rows.map(reminderFrom);
  }

  async queued(limit: number): Promise<StoredReminder[]> {
    const { rows } = await this.pool.query(`SELECT * FROM reminders WHERE status = 'queued' ORDER BY created_at, subscription_id, kind LIMIT $1`, [limit]);
    return rows.map(reminderFrom);
  }

  async markDelivered(partnerTenantId: string, id: ReminderId, target: string): Promise<void> {
    await this.pool.query(`UPDATE reminders SET delivered_to = array_append(delivered_to, $5) WHERE ${BY_ID} AND NOT ($5 = ANY (delivered_to))`, [...idValues(partnerTenantId, id), target]);
  }

  async markSent(partnerTenantId: string, id: ReminderId, at: Date): Promise<void> {
    await this.pool.query(`UPDATE reminders SET status = 'sent', sent_at = $5 WHERE ${BY_ID} AND status = 'queued'`, [...idValues(partnerTenantId, id), at]);
  }

  async prune(partnerTenantId: string, endedBefore: string): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM reminders r WHERE r.partner_tenant_id = $1 AND r.end_date < $2 AND r.status <> 'queued'
         AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = r.subscription_id AND s.end_date = r.end_date)`,
      [partnerTenantId, endedBefore],
    );
    return rowCount ?? 0;
  }

  async markSkipped(partnerTenantId: string, id: ReminderId): Promise<void> {
    await this.pool.query(`UPDATE reminders SET status = 'skipped' WHERE ${BY_ID} AND status = 'queued'`, idValues(partnerTenantId, id));
  }
}
