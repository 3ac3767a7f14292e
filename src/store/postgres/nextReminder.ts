/**
 * subscriptions.next_reminder_on: the day the next reminder of the current cycle falls due that the
 * ledger does not have yet (see reminderCycle.ts), kept in step so that finding due reminders is an
 * index range scan.
 */
import type { LifecycleDays, ReminderKind } from '../../domain/lifecycle.js';
import { nextReminderOn } from '../reminderCycle.js';
import type { Tx } from './database.js';

/** Recomputes the day for these subscriptions from their end date and the ledger, in the caller's transaction. */
export async function refreshNextReminders(tx: Tx, subscriptionIds: readonly string[], lifecycle: LifecycleDays): Promise<void> {
  if (subscriptionIds.length === 0) return;
  const { rows } = await tx.query<{ id: string; end_date: string; kinds: ReminderKind[] }>(
    `SELECT s.id, s.end_date, coalesce(array_agg(r.kind) FILTER (WHERE r.kind IS NOT NULL), '{}') AS kinds
     FROM subscriptions s LEFT JOIN reminders r ON r.subscription_id = s.id AND r.end_date = s.end_date
     WHERE s.id = ANY($1) GROUP BY s.id`,
    [subscriptionIds],
  );
  await tx.query(
    `UPDATE subscriptions s SET next_reminder_on = v.day FROM unnest($1::text[], $2::date[]) AS v(id, day)
     WHERE s.id = v.id AND s.next_reminder_on IS DISTINCT FROM v.day`,
    [rows.map((row) => row.id), rows.map((row) => nextReminderOn(row.end_date, row.kinds, lifecycle))],
  );
}
