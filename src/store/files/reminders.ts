/**
 * The reminder ledger on the files: each partner's records in its file, keyed by subscription, end
 * date and kind, so each is recorded once. Due reminders are found from the partners' summaries
 * (kept in memory): each summary's earliest next reminder day is worked out once per summary (a
 * summary is replaced, never changed, when its file changes), so a run looks at one number per
 * partner instead of every subscription, and reads only the files of partners with something due.
 */
import { remindsPartner } from '../../domain/customer.js';
import { cycleRuns, dayNumber, daysBetween, localDay, REMINDER_KINDS, reminderOffsets, type LifecycleDays, type ReminderKind } from '../../domain/lifecycle.js';
import type { PartnerDoc, ReminderRecord } from '../documents.js';
import { kindBit, NO_SWITCH, type PartnerSummary } from '../partnerSummary.js';
import { nextReminderOn, reminderKey } from '../reminderCycle.js';
import type { ReminderCandidate, ReminderId, ReminderRepository, StoredReminder } from '../repositories.js';
import type { Store } from '../store.js';

const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
const byOrder = <T>(...keys: Array<(item: T) => string | number>) => (a: T, b: T) => keys.reduce((order, key) => order || compare(key(a), key(b)), 0);

export class FileReminders implements ReminderRepository {
  /** Per summary, the day number its earliest unrecorded reminder falls due (Infinity: none). */
  private readonly earliest = new WeakMap<PartnerSummary, number>();

  constructor(
    private readonly store: Store,
    private readonly lifecycle: LifecycleDays,
  ) {}

  async dueReminders(now: Date, limit: number): Promise<ReminderCandidate[]> {
    const found: Array<ReminderCandidate & { dueOn: string }> = [];
    const days = new Map<string, string>();
    for (const [tenantId, summary] of this.store.summaries()) {
      let today = days.get(summary.timeZone);
      if (today === undefined) days.set(summary.timeZone, (today = localDay(now, summary.timeZone)));
      if (this.earliestDue(summary) > dayNumber(today)) continue;
      found.push(...this.dueIn(this.store.partner(tenantId).data, today));
    }
    // The order PostgreSQL gives: by the day the reminder fell due, then by subscription.
    return found
      .sort(byOrder((c) => c.dueOn, (c) => c.subscription.id))
      .slice(0, limit)
      .map(({ dueOn: _dueOn, ...candidate }) => candidate);
  }

  /**
   * The earliest day a summary's triples (end day, switch day, recorded kinds) have a next reminder
   * due, leaving out those a scheduled switch makes moot and those after their cycle's end.
   */
  private earliestDue(summary: PartnerSummary): number {
    const known = this.earliest.get(summary);
    if (known !== undefined) return known;
    const offsets = reminderOffsets(this.lifecycle);
    const reminders = summary.reminders;
    let earliest = Infinity;
    for (let i = 0; i < reminders.length; i += 3) {
      const [endDay, switchDay, mask] = [reminders[i]!, reminders[i + 1]!, reminders[i + 2]!];
      const next = offsets[offsets.findLastIndex(({ kind }) => (mask & kindBit(kind)) !== 0) + 1];
      if (!next || !cycleRuns(next.offset, this.lifecycle)) continue;
      const day = endDay + next.offset;
      if (switchDay !== NO_SWITCH && switchDay <= day) continue;
      if (day < earliest) earliest = day;
    }
    this.earliest.set(summary, earliest);
    return earliest;
  }

  private dueIn(doc: Readonly<PartnerDoc>, today: string): Array<ReminderCandidate & { dueOn: string }> {
    return doc.customers.flatMap((customer) =>
      customer.subscriptions.flatMap((subscription) => {
        if (!remindsPartner(doc.profile?.partnerId, subscription)) return [];
        if (subscription.scheduledSwitch && subscription.scheduledSwitch.on <= today) return [];
        if (!cycleRuns(daysBetween(subscription.endDate, today), this.lifecycle)) return [];
        const recorded = REMINDER_KINDS.filter((kind) => doc.reminders[reminderKey(subscription.id, subscription.endDate, kind)]);
        const dueOn = nextReminderOn(subscription.endDate, recorded, this.lifecycle);
        if (dueOn === null || dueOn > today) return [];
        return [{ partnerTenantId: doc.tenantId, today, customerTenantId: customer.tenantId, subscription: structuredClone(subscription), recorded, dueOn }];
      }),
    );
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
    return record && { ...structuredClone(record), partnerTenantId };
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
    if (!stored || change(structuredClone(stored)) === false) return;
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
      .map((record) => ({ ...structuredClone(record), partnerTenantId }));
  }
}
