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

/** One reminder run as of `now`. The caller has set the app's clock (createApp `now`) to `now` too. */
export async function runReminderScan(app: App, now: Date): Promise<{ kind: 'real' | 'stand-in'; due: number; note?: string }> {
  const real = realReminders(app);
  if (real) {
    try {
      return { kind: 'real', due: await real.scan(now) };
    } catch (error) {
      // Not `scan(now: Date)` (today: `scan(timeZones?)` on the app's clock, which the child has set
      // to `now`); it fails on the first partner, before writing anything. Call it without arguments.
      if (!(error instanceof TypeError)) throw error;
      return { kind: 'real', due: await (real.scan as () => number | Promise<number>)(), note: `app.reminders.scan(now) threw "${error.message}"; measured app.reminders.scan() with the app clock at now` };
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

