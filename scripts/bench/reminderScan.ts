/**
 * The reminder run the benchmark measures: finding what is due over all subscriptions (the figure
 * the target is about), then recording it in the partners' files as a real run does.
 */
import type { App } from '../../src/app.js';

export async function runReminderScan(app: App): Promise<{ kind: 'real'; due: number; findMs: number }> {
  const started = performance.now();
  const work = await app.reminders.findDue();
  const findMs = performance.now() - started;
  const due = await app.reminders.record(work);
  return { kind: 'real', due, findMs };
}
