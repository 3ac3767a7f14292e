/**
 * The reminder run the benchmark measures. `runReminderScan` is the one place to change when the
 * real reminder service is wired into createApp: it calls `app.reminders.scan(now)` when createApp
 * returns one, and otherwise a clearly labelled stand-in that does the same reading and rule work
 * over the same data (without writing the queued reminders).
 */
import type { App } from '../../src/app.js';
import { DEFAULT_LIFECYCLE, dueReminder, REMINDER_KINDS, type ReminderKind } from '../../src/domain/lifecycle.js';
import type { PartnerDoc } from '../../src/store/documents.js';
import type { Store } from '../../src/store/store.js';

/** What the reminder service is expected to look like on the object createApp returns. */
interface Reminders {
  scan(now: Date): number | Promise<number>;
}

export function realReminders(app: App): Reminders | undefined {
  const reminders = (app as App & { reminders?: Partial<Reminders> }).reminders;
  return typeof reminders?.scan === 'function' ? (reminders as Reminders) : undefined;
}

export async function runReminderScan(app: App, now: Date): Promise<{ kind: 'real' | 'stand-in'; due: number; note?: string }> {
  const real = realReminders(app);
  if (real) {
    try {
      return { kind: 'real', due: await real.scan(now) };
    } catch (error) {
      // The wired-in API differs from `scan(now: Date): number`: measure the stand-in and say why.
      return { kind: 'stand-in', due: scanRemindersStandIn(storeOf(app), now), note: `app.reminders.scan(now) threw: ${(error as Error)?.message}` };
    }
  }
  return { kind: 'stand-in', due: scanRemindersStandIn(storeOf(app), now) };
}

/**
 * The bot's own store instance. createApp does not expose it, so the stand-in borrows the one the
 * SetupService holds (a TypeScript-private field), rather than loading the data a second time.
 */
export function storeOf(app: App): Store {
  const store = (app.setups as unknown as { store?: Store }).store;
  if (!store || typeof store.partners !== 'function') throw new Error('cannot reach the store for the reminder stand-in (SetupService.store moved?)');
  return store;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** Today's calendar day (YYYY-MM-DD) in a time zone, with one formatter per zone. */
function localDay(now: Date, timeZone: string): string {
  let format = dayFormats.get(timeZone);
  if (!format) dayFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return format.format(now);
}

function remindsPartner(doc: PartnerDoc, subscription: PartnerDoc['customers'][number]['subscriptions'][number]): boolean {
  if (subscription.billing !== 'partner' || !subscription.partnerOfRecord) return false;
  return !doc.profile || doc.profile.partnerId === subscription.partnerOfRecord;
}

/**
 * STAND-IN for the reminder run: for every partner's customers' subscriptions, the reminder due
 * today in the partner's time zone (src/domain/lifecycle.ts dueReminder, after looking up which
 * kinds the partner's file already records). Counts them; writes nothing.
 */
export function scanRemindersStandIn(store: Store, now: Date): number {
  let due = 0;
  for (const partner of store.partners()) {
    const doc = partner.data;
    const today = localDay(now, doc.profile?.timeZone ?? 'UTC');
    const recorded = doc.reminders ?? {};
    for (const customer of doc.customers) {
      for (const subscription of customer.subscriptions) {
        if (!remindsPartner(doc, subscription)) continue;
        const handled = new Set<ReminderKind>();
        for (const kind of REMINDER_KINDS) if (recorded[`${subscription.id}|${subscription.endDate}|${kind}`]) handled.add(kind);
        if (dueReminder(subscription.endDate, today, handled, DEFAULT_LIFECYCLE)) due++;
      }
    }
  }
  return due;
}

/**
 * PREVIEW of the real reminder run before it is wired into createApp: src/reminders/reminderService.ts
 * ReminderService.scan() on the bot's store, with no delivery (scan only queues records, writing each
 * partner file that has a reminder due). Imported by a computed specifier so that the benchmark still
 * type-checks and runs while that module changes; any mismatch is reported, not thrown.
 */
export async function previewReminderService(store: Store, now: Date): Promise<{ due: number } | { error: string }> {
  try {
    const specifier = ['..', '..', 'src', 'reminders', 'reminderService.js'].join('/');
    const module = (await import(specifier)) as { ReminderService?: new (...args: unknown[]) => { scan?: (timeZones?: ReadonlySet<string>) => Promise<number> } };
    if (typeof module.ReminderService !== 'function') return { error: 'src/reminders/reminderService.ts exports no ReminderService' };
    const silent = { info() {}, warn() {}, error() {}, debug() {} };
    const service = new module.ReminderService(store, undefined, () => ({}), () => now, DEFAULT_LIFECYCLE, silent);
    if (typeof service.scan !== 'function') return { error: 'ReminderService has no scan()' };
    return { due: await service.scan() };
  } catch (error) {
    return { error: String((error as Error)?.message ?? error) };
  }
}
