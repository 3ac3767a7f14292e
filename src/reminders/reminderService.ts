/**
 * Renewal reminders for the partner of record: which are due (pure rules), queued in the partner's
 * file before any send, and delivered politely to the partner's chats. Each (subscription, end date,
 * kind) is recorded once, so a reminder is neither lost nor sent twice across restarts.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurnOfTheLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ConversationRef, OutgoingMessage } from '../domain/conversation.js';
import { remindsPartner, type Customer, type Subscription } from '../domain/customer.js';
import { timeZoneOf } from '../domain/profile.js';
import { addDays, dayNumber, localDay, dueReminder, latestDue, nextReminder, REMINDER_KINDS, reminderSchedule, type LifecycleDays, type ReminderKind } from '../domain/lifecycle.js';
import type { PartnerDoc, ReminderRecord } from '../store/documents.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../domain/actor.js';
import type { ReminderContext, Snoozed, Upcoming } from '../domain/outcomes.js';
import { KeyedLock } from '../store/keyedLock.js';
import { kindBit, NO_SWITCH } from '../store/partnerSummary.js';
import type { DeliveryQueue } from './deliveryQueue.js';
import type { AuditTrail } from '../partners/auditTrail.js';

export function reminderKey(subscriptionId: string, endDate: string, kind: ReminderKind): string {
  return `${subscriptionId}|${endDate}|${kind}`;
}

/** Partners scanned between two yields to the event loop, so turns are not held up by a long scan. */
const PARTNERS_PER_SLICE = 20;

/** A partner with reminders due on its own `today`. */
export interface DueWork {
  tenantId: string;
  today: string;
}

export class ReminderService {
  private readonly deliveryLock = new KeyedLock();

  constructor(
    private readonly store: Store,
    private readonly queue: DeliveryQueue,
    private readonly render: (context: ReminderContext) => Promise<OutgoingMessage>,
    private readonly now: () => Date,
    private readonly lifecycle: LifecycleDays,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Finds the reminders due today and records them as queued (and the ones they overtook as
   * skipped) in each partner's file. Only partners in `timeZones` when given. Returns how many were queued.
   */
  async scan(timeZones?: ReadonlySet<string>): Promise<number> {
    return this.record(await this.findDue(timeZones));
  }

  /**
   * The partners with a reminder due today, found from the summaries alone (no file is read), in
   * slices so that turns keep flowing. Each partner's own file then says exactly what is due.
   */
  async findDue(timeZones?: ReadonlySet<string>): Promise<DueWork[]> {
    const at = this.now();
    const work: DueWork[] = [];
    let scanned = 0;
    for (const [tenantId, summary] of this.store.summaries()) {
      if (++scanned % PARTNERS_PER_SLICE === 0) await nextTurnOfTheLoop();
      if (timeZones && !timeZones.has(summary.timeZone)) continue;
      const today = localDay(at, summary.timeZone);
      if (this.anyDue(summary.reminders, dayNumber(today))) work.push({ tenantId, today });
    }
    return work;
  }

  /** Whether a summary's subscriptions have a reminder due that is not recorded yet (see dueIn). */
  private anyDue(reminders: readonly number[], todayNumber: number): boolean {
    for (let i = 0; i < reminders.length; i += 3) {
      const fromEnd = todayNumber - reminders[i]!;
      const latest = latestDue(fromEnd, this.lifecycle);
      if (!latest || reminders[i + 2]! & kindBit(latest)) continue;
      const switchDay = reminders[i + 1]!;
      if (switchDay === NO_SWITCH || switchDay > todayNumber) return true;
    }
    return false;
  }

  /** Records what is due for the partners `findDue` found, before anything is sent; returns how many were queued. */
  async record(work: readonly DueWork[]): Promise<number> {
    let queued = 0;
    // One partner file at a time: each is read, changed and serialised synchronously, and with a
    // few at once their steps ran back to back in one turn of the event loop (over 50 ms in the
    // benchmark), holding up the turns meanwhile; one at a time, about 30 ms.
    // Each partner's steps also run in turns of the loop of their own: reading and checking its file,
    // then changing and serialising it, so that turns waiting meanwhile get in between.
    for (const { tenantId, today } of work) {
      await nextTurnOfTheLoop();
      const partner = this.store.partner(tenantId);
      const due = this.dueIn(partner.data, today);
      if (due.length === 0) continue;
      await nextTurnOfTheLoop();
      await partner.update((draft, current) => {
        for (const key of this.staleRecords(current, today)) delete draft.reminders[key];
        for (const { key, record } of due) if (!draft.reminders[key]) draft.reminders[key] = record;
      });
      queued += due.filter(({ record }) => record.status === 'queued').length;
    }
    return queued;
  }

  /**
   * The records that can no longer matter: cycles whose data deletion has passed, and cycles of an
   * end date a renewal or a switch replaced. Queued ones stay until delivered or found moot. Read
   * from the plain document, not the draft: walking every customer through the draft would copy it.
   */
  private staleRecords(doc: Readonly<PartnerDoc>, today: string): string[] {
    const todayNumber = dayNumber(today);
    const endDates = new Map<string, string>();
    for (const customer of doc.customers) for (const subscription of customer.subscriptions) endDates.set(subscription.id, subscription.endDate);
    return Object.entries(doc.reminders)
      .filter(([, record]) => record.status !== 'queued' && (todayNumber - dayNumber(record.endDate) > this.lifecycle.deprovisionDays || endDates.get(record.subscriptionId) !== record.endDate))
      .map(([key]) => key);
  }

  /** The records a scan would add for one partner on `today`; nothing is written. */
  private dueIn(doc: PartnerDoc, today: string): Array<{ key: string; record: ReminderRecord }> {
    const out: Array<{ key: string; record: ReminderRecord }> = [];
    const createdAt = this.now().toISOString();
    const todayNumber = dayNumber(today);
    for (const customer of doc.customers) {
      for (const subscription of customer.subscriptions) {
        if (!remindsPartner(doc.profile?.partnerId, subscription)) continue;
        const { id, endDate } = subscription;
        // Most subscriptions are far from any reminder, or already had the latest one due.
        const fromEnd = todayNumber - dayNumber(endDate);
        const latest = latestDue(fromEnd, this.lifecycle);
        if (!latest || doc.reminders[reminderKey(id, endDate, latest)]) continue;
        const handled = new Set<ReminderKind>();
        for (const kind of REMINDER_KINDS) {
          if (doc.reminders[reminderKey(id, endDate, kind)]) handled.add(kind);
        }
        const choice = dueReminder(endDate, today, handled, this.lifecycle);
        if (!choice) continue;
        // The partner already decided to switch to direct billing by then: reminders from that day are moot.
        if (subscription.scheduledSwitch && subscription.scheduledSwitch.on <= today) continue;
        const base = { customerTenantId: customer.tenantId, subscriptionId: id, endDate, createdAt, deliveredTo: [] };
        for (const kind of choice.skip) out.push({ key: reminderKey(id, endDate, kind), record: { ...base, kind, status: 'skipped' } });
        out.push({ key: reminderKey(id, endDate, choice.send), record: { ...base, kind: choice.send, status: 'queued' } });
      }
    }
    return out;
  }

  /**
   * Sends every queued reminder to the partner's chats: the staff member who set the customer up and
   * the reminder channel, if chosen. A chat that is gone is marked and the next reachable chat of the
   * partner takes the reminder; if none can, it stays queued for the next run.
   */
  deliverQueued(): Promise<number> {
    // One delivery pass at a time: a second one waits and then finds the first one's reminders sent.
    return this.deliveryLock.run('all', () => this.deliverQueuedNow());
  }

  private async deliverQueuedNow(): Promise<number> {
    let sent = 0;
    for (const partner of this.store.partnersWith('queuedReminders')) {
      const tenantId = partner.data.tenantId;
      for (const [key, record] of Object.entries(partner.data.reminders)) {
        if (record.status !== 'queued') continue;
        const customer = partner.data.customers.find((c) => c.tenantId === record.customerTenantId);
        const subscription = customer?.subscriptions.find((s) => s.id === record.subscriptionId);
        // The subscription was renewed or moved to direct billing since: this reminder is moot.
        if (!customer || !subscription || subscription.endDate !== record.endDate || !remindsPartner(partner.data.profile?.partnerId, subscription)) {
          await partner.update((draft) => void (draft.reminders[key] = { ...draft.reminders[key]!, status: 'skipped' }));
          continue;
        }
        if (await this.deliverOne(tenantId, key, customer, subscription)) sent++;
      }
    }
    return sent;
  }

  private async deliverOne(tenantId: string, key: string, customer: Customer, subscription: Subscription): Promise<boolean> {
    const partner = this.store.partner(tenantId);
    const today = localDay(this.now(), timeZoneOf(partner.data.profile));
    // A second round reaches the fallback chats when the first found the chosen ones gone.
    for (let round = 0; round < 2 && partner.data.reminders[key]!.deliveredTo.length === 0; round++) {
      await this.sendToTargets(partner, tenantId, key, customer, subscription, today);
    }
    const delivered = partner.data.reminders[key]!.deliveredTo.length > 0;
    if (delivered) await partner.update((draft) => void (draft.reminders[key] = { ...draft.reminders[key]!, status: 'sent', sentAt: this.now().toISOString() }));
    else this.log.warn({ tenantId, key }, 'reminder kept: no reachable chat of the partner yet');
    return delivered;
  }

  private async sendToTargets(partner: ReturnType<Store['partner']>, tenantId: string, key: string, customer: Customer, subscription: Subscription, today: string): Promise<void> {
    for (const target of this.targets(partner.data, customer)) {
      const record = partner.data.reminders[key]!;
      if (record.deliveredTo.includes(target.id)) continue;
      const message = await this.render({ partnerTenantId: tenantId, key, kind: record.kind, customer, subscription, today, recipientId: target.recipientId, inChannel: target.id === 'channel' });
      const outcome = await this.queue.send(target.conversation, message);
      if (outcome === 'sent') {
        await partner.update((draft) => void draft.reminders[key]!.deliveredTo.push(target.id));
      } else if (outcome === 'unreachable') {
        await partner.update((draft) => target.markUnreachable(draft));
        this.log.warn({ tenantId, target: target.id }, 'reminder chat unreachable; trying the next one');
      }
      // Another person's chat is only the fallback: one of them is enough.
      if (outcome === 'sent' && !target.primary) break;
    }
  }

  /**
   * The chats to send to, in order: the staff member who set the customer up and the reminder channel;
   * then, only if neither is reachable, any other reachable staff member.
   */
  private targets(doc: PartnerDoc, customer: Customer) {
    type Target = { id: string; recipientId: string; conversation: ConversationRef; primary: boolean; markUnreachable: (draft: PartnerDoc) => void };
    const member = (userId: string, primary: boolean): Target | undefined => {
      const m = doc.members[userId];
      if (!m?.reachable) return undefined;
      return { id: `member:${userId}`, recipientId: userId, conversation: m.conversation, primary, markUnreachable: (draft) => void (draft.members[userId]!.reachable = false) };
    };
    const primary: Target[] = [];
    const owner = member(customer.createdBy.id, true);
    if (owner) primary.push(owner);
    if (doc.reminderChannel?.reachable) {
      primary.push({ id: 'channel', recipientId: doc.reminderChannel.setBy, conversation: doc.reminderChannel.conversation, primary: true, markUnreachable: (draft) => void (draft.reminderChannel!.reachable = false) });
    }
    if (primary.length > 0) return primary;
    return Object.keys(doc.members)
      .filter((id) => id !== customer.createdBy.id)
      .map((id) => member(id, false))
      .filter((t): t is Target => t !== undefined);
  }

  /** A scan, then delivery of everything queued (also what an earlier run could not send). */
  async run(timeZones?: ReadonlySet<string>): Promise<{ queued: number; sent: number }> {
    const queued = await this.scan(timeZones);
    const sent = await this.deliverQueued();
    if (queued + sent > 0) this.log.info({ queued, sent }, 'reminder run');
    return { queued, sent };
  }

  /** The reminders still to come for all the partner's customers, soonest first: within `days` days, or all when none given. */
  upcoming(tenantId: string, days?: number): Upcoming[] {
    const doc = this.store.partner(tenantId).data;
    const today = localDay(this.now(), timeZoneOf(doc.profile));
    // "All" needs no later bound: each cycle ends by itself, with the deletion of the data.
    const until = days === undefined ? '9999-12-31' : addDays(today, days);
    const list: Upcoming[] = [];
    for (const customer of doc.customers) {
      for (const subscription of customer.subscriptions) {
        if (!remindsPartner(doc.profile?.partnerId, subscription)) continue;
        // From a scheduled switch to direct billing on, the partner is no longer reminded.
        const last = subscription.scheduledSwitch ? addDays(subscription.scheduledSwitch.on, -1) : until;
        for (const { kind, due } of reminderSchedule(subscription.endDate, this.lifecycle)) {
          if (due >= today && due <= until && due <= last && !doc.reminders[reminderKey(subscription.id, subscription.endDate, kind)]) list.push({ customer, subscription, kind, due });
        }
      }
    }
    return list.sort((a, b) => a.due.localeCompare(b.due));
  }

  /**
   * "Remind me later": says when the next reminder of the cycle comes. Nothing is stored: the
   * reminders come on their days whether or not one was put aside.
   */
  snooze(actor: Actor, key: string): Snoozed | undefined {
    const partner = this.store.partner(actor.tenantId);
    // The key comes from a card: only the partner's own records count, never inherited properties.
    if (!Object.hasOwn(partner.data.reminders, key)) return undefined;
    const { kind, customerTenantId, subscriptionId, endDate } = partner.data.reminders[key]!;
    return { kind, customerTenantId, subscriptionId, next: nextReminder(endDate, localDay(this.now(), timeZoneOf(partner.data.profile)), this.lifecycle) };
  }

  /** "send reminders here" in a team channel; recorded in the same write, since every reminder goes there from now on. */
  async setChannel(actor: Actor, conversation: ConversationRef): Promise<void> {
    await this.audit.inPartner(actor.tenantId, (draft) => {
      draft.reminderChannel = { conversation, setBy: actor.userId, setAt: this.now().toISOString(), reachable: true };
      const entry = this.audit.draft(actor.tenantId, actor, { id: `reminders.channel:${randomUUID()}`, verb: 'send reminders here', details: { conversationId: conversation.conversation.id }, outcome: { result: 'done' } });
      return { result: undefined, entries: [entry] };
    });
  }

  /** The partners' time zones: the scheduler keeps one job per zone. */
  timeZones(): Set<string> {
    return new Set(Array.from(this.store.summaries(), ([, summary]) => summary.timeZone));
  }
}
