/**
 * The day the next reminder of a subscription's current cycle falls due that the ledger does not
 * have yet. Reminders before the last one recorded are moot (see dueReminder), so only the kinds
 * after it count. Both stores find due reminders with it: PostgreSQL keeps it in an indexed column,
 * the files compute it from the partner's summary and file.
 */
import { reminderSchedule, REMINDER_KINDS, type LifecycleDays, type ReminderKind } from '../domain/lifecycle.js';

export function nextReminderOn(endDate: string, recorded: readonly ReminderKind[], lifecycle: LifecycleDays): string | null {
  const schedule = reminderSchedule(endDate, lifecycle);
  const lastRecorded = Math.max(-1, ...recorded.map((kind) => REMINDER_KINDS.indexOf(kind)));
  return schedule.find((_, i) => i > lastRecorded)?.due ?? null;
}

/** The key of a reminder in a partner file's ledger. */
export function reminderKey(subscriptionId: string, endDate: string, kind: ReminderKind): string {
  return `${subscriptionId}|${endDate}|${kind}`;
}
