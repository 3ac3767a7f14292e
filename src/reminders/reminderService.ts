/**
 * Renewal reminders for the partner of record: which are due (pure rules), recorded in the ledger as
 * queued before any send, and delivered politely to the partner's chats through the outbox. Each
 * (subscription, end date, kind) is recorded once and each chat's copy is one outbox message, so a
 * reminder is neither lost nor sent twice across restarts and instances. Runs on one instance at a
 * time (RunnerLock); another takes over what a dead one left queued.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ConversationRef, OutgoingMessage } from '../domain/conversation.js';
import { remindsPartner, type Customer, type Subscription } from '../domain/customer.js';
import { timeZoneOf, type PartnerProfile } from '../domain/profile.js';
import { addDays, localDay, dueReminder, nextReminder, REMINDER_KINDS, reminderSchedule, type LifecycleDays, type ReminderKind } from '../domain/lifecycle.js';
import type { Actor } from '../domain/actor.js';
import type { ReminderContext, Snoozed, Upcoming } from '../domain/outcomes.js';
import { KeyedLock } from '../store/keyedLock.js';
import { reminderKey } from '../store/reminderCycle.js';
import { TimeSlices } from '../store/timeSlices.js';
import type { Member, ReminderCandidate, ReminderChannel, ReminderId, ReminderRecord, Repositories, StoredReminder } from '../store/repositories.js';
import type { DeliveryQueue } from './deliveryQueue.js';
import type { AuditTrail } from '../partners/auditTrail.js';

export { reminderKey };

/** Due subscriptions asked for at once; a run asks again while a full batch was found. */
const BATCH = 5_000;
/** How long sent and failed messages stay in the outbox: far longer than any crash takes to recover from. */
const OUTBOX_KEEP_DAYS = 2;
const DAY_MS = 86_400_000;

type RunResult = { queued: number; sent: number };

export class ReminderService {
  /** This process's runs one after the other; other instances are kept out by the runner lock. */
  private readonly runs = new KeyedLock();

  constructor(
    private readonly repos: Pick<Repositories, 'reminders' | 'partners' | 'customers' | 'outbox' | 'runnerLock'>,
    private readonly queue: DeliveryQueue,
    private readonly render: (context: ReminderContext) => Promise<OutgoingMessage>,
    private readonly now: () => Date,
    private readonly lifecycle: LifecycleDays,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Finds the reminders due today and records them as queued (and the ones they overtook as
   * skipped), for partners in `timeZones` when given. Returns how many were queued.
   */
  async scan(timeZones?: ReadonlySet<string>): Promise<number> {
    let queued = 0;
    for (;;) {
      const found = await this.repos.reminders.dueReminders(this.now(), BATCH, timeZones);
      const { queued: added, recorded } = await this.recordDue(found);
      queued += added;
      // Found in full and recorded: more may be due. Anything left unrecorded stays found: stop there.
      if (found.length < BATCH || recorded === 0) return queued;
    }
  }

  /** What is due now, found on the ledger's index (the benchmark times this step alone). */
  findDue(): Promise<ReminderCandidate[]> {
    return this.repos.reminders.dueReminders(this.now(), Number.MAX_SAFE_INTEGER);
  }

  /** Records what `findDue` found; returns how many were queued. */
  async record(candidates: readonly ReminderCandidate[]): Promise<number> {
    return (await this.recordDue(candidates)).queued;
  }

  /**
   * The domain's choice for each candidate (the most urgent reminder due, the ones it overtook
   * skipped), recorded per partner in one write; the partner's cycles long past are pruned after.
   */
  private async recordDue(candidates: readonly ReminderCandidate[]): Promise<{ queued: number; recorded: number }> {
    const byPartner = new Map<string, { today: string; records: ReminderRecord[] }>();
    const createdAt = this.now().toISOString();
    // Thousands of candidates held the loop for 20–30 ms in one go: the choices are made in slices.
    const slices = new TimeSlices();
    for (const { partnerTenantId, today, customerTenantId, subscriptionId, endDate, recorded } of candidates) {
      await slices.pause();
      const choice = dueReminder(endDate, today, new Set(recorded), this.lifecycle);
      if (!choice) continue;
      const base = { customerTenantId, subscriptionId, endDate, createdAt, deliveredTo: [] };
      const entry = byPartner.get(partnerTenantId) ?? { today, records: [] };
      entry.records.push(...choice.skip.map((kind) => ({ ...base, kind, status: 'skipped' as const })), { ...base, kind: choice.send, status: 'queued' });
      byPartner.set(partnerTenantId, entry);
    }
    let queued = 0;
    let recorded = 0;
    for (const [partnerTenantId, { today, records }] of byPartner) {
      // Each partner's write in a turn of the loop of its own (on the files, reading and serialising
      // a partner file is synchronous), so that turns waiting meanwhile get in between.
      await slices.next();
      const added = await this.repos.reminders.record(partnerTenantId, records);
      recorded += added;
      // Recorded together: either this run added them, or another run (instance) did first.
      if (added > 0) queued += records.filter((r) => r.status === 'queued').length;
      await this.repos.reminders.prune(partnerTenantId, addDays(today, -(this.lifecycle.deprovisionDays + 1)));
    }
    return { queued, recorded };
  }

  /**
   * Sends every queued reminder to the partner's chats: the staff member who set the customer up and
   * the reminder channel, if chosen. A chat that is gone is marked and the next reachable chat of the
   * partner takes the reminder; if none can, it stays queued for the next run.
   */
  async deliverQueued(): Promise<number> {
    return (await this.exclusive(async () => ({ queued: 0, sent: await this.deliverQueuedNow() }))).sent;
  }

  /** A scan, then delivery of everything queued (also what an earlier run could not send). */
  async run(timeZones?: ReadonlySet<string>): Promise<RunResult> {
    const result = await this.exclusive(async () => {
      const queued = await this.scan(timeZones);
      return { queued, sent: await this.deliverQueuedNow() };
    });
    if (result.queued + result.sent > 0) this.log.info(result, 'reminder run');
    return result;
  }

  /**
   * One run at a time: in this process one after the other (a second waits, then finds the first's
   * reminders sent); across instances under the runner lock, where a run another instance is doing
   * already is left to it.
   */
  private exclusive(work: () => Promise<RunResult>): Promise<RunResult> {
    return this.runs.run('run', async () => {
      const outcome = await this.repos.runnerLock.runExclusive('reminders', work);
      return outcome.ran ? outcome.result : { queued: 0, sent: 0 };
    });
  }

  private async deliverQueuedNow(): Promise<number> {
    let sent = 0;
    const partners = new Map<string, PartnerProfile | undefined>();
    for (;;) {
      const batch = await this.repos.reminders.queued(BATCH);
      let settled = 0;
      for (const reminder of batch) {
        const tenantId = reminder.partnerTenantId;
        if (!partners.has(tenantId)) partners.set(tenantId, await this.repos.partners.profile(tenantId));
        const profile = partners.get(tenantId);
        const customer = await this.repos.customers.get(tenantId, reminder.customerTenantId);
        const subscription = customer?.subscriptions.find((s) => s.id === reminder.subscriptionId);
        // The subscription was renewed or moved to direct billing since: this reminder is moot.
        if (!customer || !subscription || subscription.endDate !== reminder.endDate || !remindsPartner(profile?.partnerId, subscription)) {
          await this.repos.reminders.markSkipped(tenantId, reminder);
          settled++;
          continue;
        }
        if (await this.deliverOne(reminder, profile, customer, subscription)) {
          sent++;
          settled++;
        }
      }
      // The rest stays queued for a chat that can take it: asking again would find the same ones.
      if (batch.length < BATCH || settled === 0) return sent;
    }
  }

  private async deliverOne(reminder: StoredReminder, profile: PartnerProfile | undefined, customer: Customer, subscription: Subscription): Promise<boolean> {
    const tenantId = reminder.partnerTenantId;
    const today = localDay(this.now(), timeZoneOf(profile));
    const deliveredTo = new Set(reminder.deliveredTo);
    // A second round reaches the fallback chats when the first found the chosen ones gone.
    for (let round = 0; round < 2 && deliveredTo.size === 0; round++) {
      const [staff, channel] = await Promise.all([this.repos.partners.staff(tenantId), this.repos.partners.reminderChannel(tenantId)]);
      for (const target of targets(staff, channel, customer)) {
        if (deliveredTo.has(target.id)) continue;
        const key = reminderKey(reminder.subscriptionId, reminder.endDate, reminder.kind);
        const activity = await this.render({ partnerTenantId: tenantId, key, kind: reminder.kind, customer, subscription, today, recipientId: target.recipientId, inChannel: target.id === 'channel' });
        const outcome = await this.queue.send({
          // One message per reminder and chat as it was saved: a chat saved again (the member wrote again) gets a new one.
          uniqueKey: `reminder|${tenantId}|${key}|${target.id}|${target.version}`,
          tenantId,
          conversation: target.conversation,
          activity: activity as Record<string, unknown>,
        });
        if (outcome === 'sent') {
          await this.repos.reminders.markDelivered(tenantId, reminder, target.id);
          deliveredTo.add(target.id);
        } else if (outcome === 'unreachable') {
          await (target.id === 'channel' ? this.repos.partners.markReminderChannelUnreachable(tenantId) : this.repos.partners.markMemberUnreachable(tenantId, target.recipientId));
          this.log.warn({ tenantId, target: target.id }, 'reminder chat unreachable; trying the next one');
        }
        // Another person's chat is only the fallback: one of them is enough.
        if (outcome === 'sent' && !target.primary) break;
      }
    }
    if (deliveredTo.size === 0) {
      this.log.warn({ tenantId, kind: reminder.kind }, 'reminder kept: no reachable chat of the partner yet');
      return false;
    }
    await this.repos.reminders.markSent(tenantId, reminder, this.now());
    return true;
  }

  /** Drops what the outbox no longer needs: messages sent or given up on days ago. */
  async pruneOutbox(): Promise<number> {
    return this.repos.outbox.prune(new Date(Date.now() - OUTBOX_KEEP_DAYS * DAY_MS));
  }

  /** The reminders still to come for all the partner's customers, soonest first: within `days` days, or all when none given. */
  async upcoming(tenantId: string, days?: number): Promise<Upcoming[]> {
    const [profile, customers, ledger] = await Promise.all([this.repos.partners.profile(tenantId), this.repos.customers.list(tenantId), this.repos.reminders.forPartner(tenantId)]);
    const recorded = new Set(ledger.map((r) => reminderKey(r.subscriptionId, r.endDate, r.kind)));
    const today = localDay(this.now(), timeZoneOf(profile));
    // "All" needs no later bound: each cycle ends by itself, with the deletion of the data.
    const until = days === undefined ? '9999-12-31' : addDays(today, days);
    const list: Upcoming[] = [];
    for (const customer of customers) {
      for (const subscription of customer.subscriptions) {
        if (!remindsPartner(profile?.partnerId, subscription)) continue;
        // From a scheduled switch to direct billing on, the partner is no longer reminded.
        const last = subscription.scheduledSwitch ? addDays(subscription.scheduledSwitch.on, -1) : until;
        for (const { kind, due } of reminderSchedule(subscription.endDate, this.lifecycle)) {
          if (due >= today && due <= until && due <= last && !recorded.has(reminderKey(subscription.id, subscription.endDate, kind))) list.push({ customer, subscription, kind, due });
        }
      }
    }
    return list.sort((a, b) => a.due.localeCompare(b.due));
  }

  /**
   * "Remind me later": says when the next reminder of the cycle comes. Nothing is stored: the
   * reminders come on their days whether or not one was put aside.
   */
  async snooze(actor: Actor, key: string): Promise<Snoozed | undefined> {
    const id = parseReminderKey(key);
    // The key comes from a card: only the partner's own records count.
    const record = id && (await this.repos.reminders.get(actor.tenantId, id));
    if (!record) return undefined;
    const today = localDay(this.now(), timeZoneOf(await this.repos.partners.profile(actor.tenantId)));
    return { kind: record.kind, customerTenantId: record.customerTenantId, subscriptionId: record.subscriptionId, next: nextReminder(record.endDate, today, this.lifecycle) };
  }

  /** "send reminders here" in a team channel; recorded in the same write, since every reminder goes there from now on. */
  async setChannel(actor: Actor, conversation: ConversationRef): Promise<void> {
    // Made outside the change: a retried transaction records the same entry.
    const entry = this.audit.draft(actor.tenantId, await this.audit.actorOf(actor.tenantId, actor), { id: `reminders.channel:${randomUUID()}`, verb: 'send reminders here', details: { conversationId: conversation.conversation.id }, outcome: { result: 'done' } });
    await this.repos.partners.setReminderChannel(actor.tenantId, { conversation, setBy: actor.userId, setAt: this.now().toISOString(), reachable: true }, () => [entry]);
  }

  /** The partners' time zones: the scheduler keeps one job per zone. */
  timeZones(): Promise<Set<string>> {
    return this.repos.partners.timeZones();
  }
}

/** A reminder's key from a card (`subscription|end date|kind`), or undefined when it is not one. */
function parseReminderKey(key: string): ReminderId | undefined {
  const [subscriptionId, endDate, kind, ...rest] = key.split('|');
  if (rest.length > 0 || !subscriptionId || !endDate || !REMINDER_KINDS.includes(kind as ReminderKind)) return undefined;
  return { subscriptionId, endDate, kind: kind as ReminderKind };
}

interface Target {
  id: string;
  recipientId: string;
  conversation: ConversationRef;
  /** When the chat was saved: a message belongs to the chat as it was then. */
  version: string;
  primary: boolean;
}

/**
 * The chats to send to, in order: the staff member who set the customer up and the reminder channel;
 * then, only if neither is reachable, any other reachable staff member.
 */
function targets(staff: Record<string, Member>, channel: ReminderChannel | undefined, customer: Customer): Target[] {
  const member = (userId: string, primary: boolean): Target | undefined => {
    const m = staff[userId];
    if (!m?.reachable) return undefined;
    return { id: `member:${userId}`, recipientId: userId, conversation: m.conversation, version: m.updatedAt, primary };
  };
  const primary: Target[] = [];
  const owner = member(customer.createdBy.id, true);
  if (owner) primary.push(owner);
  if (channel?.reachable) primary.push({ id: 'channel', recipientId: channel.setBy, conversation: channel.conversation, version: channel.setAt, primary: true });
  if (primary.length > 0) return primary;
  return Object.keys(staff)
    .filter((id) => id !== customer.createdBy.id)
    .map((id) => member(id, false))
    .filter((t): t is Target => t !== undefined);
}
