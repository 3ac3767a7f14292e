/**
 * The reminder ledger on the files: each partner's records in its file, keyed by subscription, end
 * date and kind, so each is recorded once. Due reminders are found from the partners' summaries
 * (kept in memory, with each reminded subscription's end day, switch day, recorded kinds and ids):
 * from each summary a schedule is made once, ordered by the day the next reminder falls due (a
 * summary is replaced, never changed, when its file changes), so a run looks at each partner's
 * schedule only up to today and reads no file.
 */
import { cycleRuns, dayNumber, fromDayNumber, localDay, REMINDER_KINDS, reminderOffsets, type LifecycleDays, type ReminderKind } from '../../domain/lifecycle.js';
import type { PartnerDoc, ReminderRecord } from '../documents.js';
import { kindBit, NO_SWITCH, reminderIdsAt, type PartnerSummary } from '../partnerSummary.js';
import { reminderKey } from '../reminderCycle.js';
import { TimeSlices } from '../timeSlices.js';
import type { ReminderCandidate, ReminderId, ReminderRepository, StoredReminder } from '../repositories.js';
import type { Store } from '../store.js';
import { copyOf } from '../copy.js';

const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
const byOrder = <T>(...keys: Array<(item: T) => string | number>) => (a: T, b: T) => keys.reduce((order, key) => order || compare(key(a), key(b)), 0);

type Due = ReminderCandidate & { dueOn: string };

/**
 * A summary's subscriptions by the day their next unrecorded reminder falls due, soonest first: each
 * entry is day × SLOTS + the triple's index, so that one numeric sort orders them.
 */
type Schedule = Float64Array;
const SLOTS = 2 ** 24;

export class FileReminders implements ReminderRepository {
  private readonly schedules = new WeakMap<PartnerSummary, Schedule>();

  /** Days from the end date to each reminder of the cycle, in REMINDER_KINDS order. */
  private readonly offsets: number[];

  constructor(
    private readonly store: Store,
    private readonly lifecycle: LifecycleDays,
  ) {
    this.offsets = reminderOffsets(lifecycle).map(({ offset }) => offset);
  }

  async dueReminders(now: Date, limit: number, timeZones?: ReadonlySet<string>): Promise<ReminderCandidate[]> {
    const found: Due[] = [];
    const days = new Map<string, string>();
    // Over every partner, even with each schedule made already, the walk held the loop for 20–30 ms: it yields now and then.
    const slices = new TimeSlices();
    for (const [tenantId, summary] of this.store.summaries()) {
      if (timeZones && !timeZones.has(summary.timeZone)) continue;
      let today = days.get(summary.timeZone);
      if (today === undefined) days.set(summary.timeZone, (today = localDay(now, summary.timeZone)));
      await slices.pause();
      found.push(...this.dueFrom(tenantId, summary, today));
    }
    // The order PostgreSQL gives: by the day the reminder fell due, then by subscription.
    return found
      .sort(byOrder((c) => c.dueOn, (c) => c.subscriptionId))
      .slice(0, limit)
      .map(({ dueOn: _dueOn, ...candidate }) => candidate);
  }

  /** The summary's subscriptions due by `today`, from its schedule: only those due are looked at. */
  private dueFrom(tenantId: string, summary: PartnerSummary, today: string): Due[] {
    const todayNumber = dayNumber(today);
    const { reminders } = summary;
    const due: Array<{ at: number; day: number; endDay: number; mask: number }> = [];
    for (const entry of this.schedule(summary)) {
      const day = Math.floor(entry / SLOTS);
      if (day > todayNumber) break;
      const at = entry - day * SLOTS;
      const [endDay, switchDay, mask] = [reminders[at * 3]!, reminders[at * 3 + 1]!, reminders[at * 3 + 2]!];
      if (cycleRuns(todayNumber - endDay, this.lifecycle) && (switchDay === NO_SWITCH || switchDay > todayNumber)) due.push({ at, day, endDay, mask });
    }
    if (due.length === 0) return [];
    const ids = reminderIdsAt(summary.reminderIds, due.map(({ at }) => at));
    return due.map(({ at, day, endDay, mask }) => {
      const [customerTenantId, subscriptionId] = ids.get(at)!;
      const recorded = REMINDER_KINDS.filter((kind) => (mask & kindBit(kind)) !== 0);
      return { partnerTenantId: tenantId, today, customerTenantId, subscriptionId, endDate: fromDayNumber(endDay), recorded, dueOn: fromDayNumber(day) };
    });
  }

  /**
   * Made once per summary: for each triple (end day, switch day, recorded kinds) the day its next
   * reminder falls due, leaving out those a scheduled switch makes moot, soonest first.
   */
  private schedule(summary: PartnerSummary): Schedule {
    let schedule = this.schedules.get(summary);
    if (schedule) return schedule;
    const reminders = summary.reminders;
    const entries: number[] = [];
    for (let i = 0; i < reminders.length; i += 3) {
      const [endDay, switchDay, mask] = [reminders[i]!, reminders[i + 1]!, reminders[i + 2]!];
      // Bit k is REMINDER_KINDS[k]: the next kind is the one after the highest bit set.
      const next = this.offsets[mask === 0 ? 0 : 32 - Math.clz32(mask)];
      if (next === undefined) continue;
      const day = endDay + next;
      if (switchDay !== NO_SWITCH && switchDay <= day) continue;
      entries.push(day * SLOTS + i / 3);
    }
    schedule = Float64Array.from(entries).sort();
    this.schedules.set(summary, schedule);
    return schedule;
  }

  async record(partnerTenantId: string, records: readonly ReminderRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    return this.store.partner(partnerTenantId).update((draft) => {
      let added = 0;
      for (const record of records) {
        const key = reminderKey(record.subscriptionId, record.endDate, record.kind);
        if (draft.reminders[key]) continue;
        draft.reminders[key] = { ...record, deliveredTo: [] };
        added++;
      }
      return added;
    });
  }

  async get(partnerTenantId: string, id: ReminderId): Promise<StoredReminder | undefined> {
    const record = this.stored(partnerTenantId, id);
    return record && { ...copyOf(record), partnerTenantId };
  }

  async forPartner(partnerTenantId: string): Promise<StoredReminder[]> {
    return this.records(partnerTenantId, () => true).sort(byOrder((r) => r.createdAt, (r) => r.subscriptionId, (r) => r.endDate, (r) => r.kind));
  }

  async queued(limit: number): Promise<StoredReminder[]> {
    return this.store
      .partnersWith('queuedReminders')
      .flatMap((partner) => this.records(partner.data.tenantId, (r) => r.status === 'queued'))
      .sort(byOrder((r) => r.createdAt, (r) => r.subscriptionId, (r) => r.kind))
      .slice(0, limit);
  }

  async prune(partnerTenantId: string, endedBefore: string): Promise<number> {
    const doc = this.store.partner(partnerTenantId).data;
    const stale = (d: Readonly<PartnerDoc>) => {
      const current = new Set(d.customers.flatMap((c) => c.subscriptions.map((s) => `${s.id}|${s.endDate}`)));
      return Object.entries(d.reminders)
        .filter(([, r]) => r.status !== 'queued' && r.endDate < endedBefore && !current.has(`${r.subscriptionId}|${r.endDate}`))
        .map(([key]) => key);
    };
    // Looked for in the file as read first: a partner with nothing to drop is not written.
    if (stale(doc).length === 0) return 0;
    return this.store.partner(partnerTenantId).update((draft, current) => {
      const keys = stale(current);
      for (const key of keys) delete draft.reminders[key];
      return keys.length;
    });
  }

  async markDelivered(partnerTenantId: string, id: ReminderId, target: string): Promise<void> {
    await this.change(partnerTenantId, id, (record) => !record.deliveredTo.includes(target) && void record.deliveredTo.push(target));
  }

  async markSent(partnerTenantId: string, id: ReminderId, at: Date): Promise<void> {
    await this.change(partnerTenantId, id, (record) => record.status === 'queued' && void Object.assign(record, { status: 'sent', sentAt: at.toISOString() }));
  }

  async markSkipped(partnerTenantId: string, id: ReminderId): Promise<void> {
    await this.change(partnerTenantId, id, (record) => record.status === 'queued' && void (record.status = 'skipped'));
  }

  /** Applies `change` to the record in the partner's file; `change` returns false when it has nothing to do. */
  private async change(partnerTenantId: string, id: ReminderId, change: (record: ReminderRecord) => unknown): Promise<void> {
    const stored = this.stored(partnerTenantId, id);
    // Tried on a copy first, so that a change with nothing to do writes no file.
    if (!stored || change(copyOf(stored)) === false) return;
    await this.store.partner(partnerTenantId).update((draft) => {
      const record = draft.reminders[reminderKey(id.subscriptionId, id.endDate, id.kind)];
      if (record) change(record);
    });
  }

  private stored(partnerTenantId: string, id: ReminderId): Readonly<ReminderRecord> | undefined {
    return this.store.partner(partnerTenantId).data.reminders[reminderKey(id.subscriptionId, id.endDate, id.kind as ReminderKind)];
  }

  private records(partnerTenantId: string, matches: (record: ReminderRecord) => boolean): StoredReminder[] {
    return Object.values(this.store.partner(partnerTenantId).data.reminders)
      .filter(matches)
      .map((record) => ({ ...copyOf(record), partnerTenantId }));
  }
}
