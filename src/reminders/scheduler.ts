/**
 * Runs reminders on REMINDER_CRON in each partner's own time zone: one node-cron job per zone in
 * use, kept in step with the partners' profiles.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';

export class ReminderScheduler {
  private readonly jobs = new Map<string, ScheduledTask>();

  constructor(
    private readonly expression: string,
    private readonly run: (timeZones: ReadonlySet<string>) => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  /** Starts a job for each new zone and stops the jobs of zones no partner uses any more. */
  async sync(timeZones: ReadonlySet<string>): Promise<void> {
    for (const zone of timeZones) {
      if (this.jobs.has(zone)) continue;
      const job = cron.schedule(this.expression, () => void this.run(new Set([zone])).catch((error) => this.log.error({ err: error, zone }, 'reminder run failed')), {
        timezone: zone,
        name: `reminders ${zone}`,
      });
      this.jobs.set(zone, job);
    }
    for (const [zone, job] of this.jobs) {
      if (timeZones.has(zone)) continue;
      await job.stop();
      this.jobs.delete(zone);
    }
  }

  zones(): string[] {
    return [...this.jobs.keys()];
  }

  async stop(): Promise<void> {
    for (const job of this.jobs.values()) await job.stop();
    this.jobs.clear();
  }
}
