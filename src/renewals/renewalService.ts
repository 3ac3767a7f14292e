/**
 * Product keys for existing customers (renewing a subscription, adding seats and subscriptions),
 * and moving a subscription to direct billing by Microsoft now or on the day before it ends. The backend is the source of truth; the partner's
 * file mirrors what it answered, so reminders and the customer card follow the new dates.
 */
import type { Logger } from 'pino';
import { CommerceError, type Commerce, type SubscriptionUpdate } from '../commerce/commerce.js';
import type { Customer, Subscription } from '../domain/customer.js';
import type { Actor } from '../domain/actor.js';
import { addDays, localDay, subscriptionActions, type LifecycleDays } from '../domain/lifecycle.js';
import type { ApplyRefusal, ApplyResult, CheckResult, Refusal, Switched, SwitchRefused } from '../domain/outcomes.js';
import * as setupRules from '../domain/setup.js';
import type { Setup, SetupTarget } from '../domain/setup.js';
import { timeZoneOf } from '../domain/profile.js';
import { changeStoredSetup } from '../setups/accountService.js';
import type { SetupService } from '../setups/setupService.js';
import { StoreWriteError } from '../store/documentFile.js';
import { KeyedLock } from '../store/keyedLock.js';
import type { Repositories } from '../store/repositories.js';
import { randomUUID } from 'node:crypto';
import type { AuditActor, AuditDraft } from '../domain/audit.js';
import { SYSTEM, type AuditTrail } from '../partners/auditTrail.js';

const APPLY_REFUSALS: readonly string[] = ['keyUnavailable', 'productMismatch', 'mixedTerms', 'deprovisioned', 'notPartnerBilled', 'notDelegated'] satisfies ApplyRefusal[];

export class RenewalService {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly repositories: Pick<Repositories, 'customers' | 'setups' | 'partners'>,
    private readonly commerce: Commerce,
    private readonly setups: SetupService,
    private readonly now: () => Date,
    private readonly lifecycle: LifecycleDays,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
  ) {}

  /** The entry of a subscription's change; `key` is the change's idempotency key (request, subscription). */
  private entry(tenantId: string, who: AuditActor, verb: string, key: string, customerTenantId: string, subscription: Subscription, keys: readonly string[] = []): AuditDraft {
    return this.audit.draft(tenantId, who, {
      id: `${verb}:${key}`,
      verb,
      customerTenantId,
      subscriptionId: subscription.id,
      keys,
      details: { product: subscription.product, endDate: subscription.endDate, billing: subscription.billing, ...(subscription.scheduledSwitch ? { scheduledSwitch: subscription.scheduledSwitch.on } : {}) },
      outcome: { result: 'done' },
    });
  }

  /** The entry of keys applied to an existing customer; the setup (or a legacy renewal's request) keys it. */
  private keysEntry(tenantId: string, who: AuditActor, changeId: string, customerTenantId: string, target: SetupTarget, changed: readonly Subscription[], keys: readonly string[]): AuditDraft {
    return this.audit.draft(tenantId, who, {
      id: `keys.apply:${changeId}`,
      verb: 'keys.apply',
      customerTenantId,
      ...(target.kind === 'renew' && { subscriptionId: target.subscriptionId }),
      keys,
      details: { change: target.kind, subscriptions: changed.map((s) => `${s.id} (${s.product}, ${s.seats} seats, ends ${s.endDate})`).join('; ') },
      outcome: { result: 'done' },
    });
  }

  async find(tenantId: string, customerTenantId: string, subscriptionId: string): Promise<Switched | undefined> {
    const customer = await this.repositories.customers.get(tenantId, customerTenantId);
    const subscription = customer?.subscriptions.find((s) => s.id === subscriptionId);
    return customer && subscription ? { customer, subscription } : undefined;
  }

  /** The partner's calendar day (in its profile's time zone) at `now`. */
  async today(tenantId: string, now = this.now()): Promise<string> {
    return localDay(now, timeZoneOf(await this.repositories.partners.profile(tenantId)));
  }

  /**
   * Checks keys typed for an existing customer into a setup with that target (created on first use,
   * under the id its card carries): the same format checks, guessing lock and reservation as at
   * redemption. `target` counts only for a new setup; a saved one keeps its own.
   */
  async checkKeys(actor: Actor, setupId: string, rev: number, text: string, target: SetupTarget): Promise<CheckResult | Refusal | { refused: 'notAllowed' }> {
    const purpose = (await this.repositories.setups.find(actor.tenantId, setupId))?.target ?? target;
    const customer = await this.repositories.customers.get(actor.tenantId, purpose.customerId);
    if (!customer) return { refused: 'notFound' };
    if (!this.allowsFor(customer, purpose, await this.today(actor.tenantId))) return { refused: 'notAllowed' };
    return this.setups.checkAndAdd(actor, setupId, rev, [text], purpose);
  }

  /** Whether keys may go to the target now: the partner's customer, and for a renewal a subscription that can still be renewed. */
  async allows(tenantId: string, target: SetupTarget): Promise<boolean> {
    const customer = await this.repositories.customers.get(tenantId, target.customerId);
    return customer !== undefined && this.allowsFor(customer, target, await this.today(tenantId));
  }

  private allowsFor(customer: Customer, target: SetupTarget, today: string): boolean {
    if (target.kind === 'add') return true;
    const subscription = customer.subscriptions.find((s) => s.id === target.subscriptionId);
    return subscription !== undefined && subscriptionActions(subscription, today, this.lifecycle).canRenew;
  }

  /**
   * Applies a summary's keys to the existing customer: reserves them as a setup's confirmation does,
   * records the setup as applying, then asks the backend (idempotent per setup) and mirrors its answer.
   */
  async applyKeys(actor: Actor, setupId: string, rev: number): Promise<ApplyResult | Refusal> {
    const refusal = await this.setups.refusalFor(actor, setupId, rev, 'apply');
    const setup = await this.repositories.setups.find(actor.tenantId, setupId);
    // Another press of the same card, under way or done: this one answers with its outcome below.
    const pressed = setup?.target !== undefined && setup.ownerId === actor.userId && ['reserving', 'reserved', 'creating', 'completed'].includes(setup.status);
    if (refusal && !pressed) return refusal;
    if (setup!.status === 'reviewing') {
      const confirmed = await this.setups.confirm(actor, setupId, rev);
      if ('refused' in confirmed) {
        if (confirmed.refused !== 'alreadyReserved') return confirmed;
      } else if (!confirmed.ok) return confirmed;
    }
    return this.setups.exclusive(setupId, async () => {
      const applying = await this.startApplying(actor.tenantId, setupId);
      if (applying) return this.applyNow(actor.tenantId, applying, actor);
      const current = (await this.repositories.setups.find(actor.tenantId, setupId))!;
      return (await this.applied(actor, current)) ?? (await this.setups.refusalFor(actor, setupId, undefined, 'apply')) ?? { refused: 'stale' as const, setup: current };
    });
  }

  /** Moves a reserved setup to applying, in one change: of two presses (or instances) one does; undefined for the other. */
  private async startApplying(tenantId: string, setupId: string): Promise<Setup | undefined> {
    const now = this.now();
    try {
      return await this.repositories.setups.update(tenantId, setupId, (s) => {
        if (s.status !== 'reserved') throw new NotReserved();
        return setupRules.startCreating(s, now);
      });
    } catch (error) {
      if (error instanceof NotReserved) return undefined;
      throw error;
    }
  }

  /** The outcome of keys the actor already applied: a second press of the same card answers it again. */
  private async applied(actor: Actor, setup: Setup): Promise<Extract<ApplyResult, { ok: true }> | undefined> {
    if (setup.status !== 'completed' || !setup.target || setup.ownerId !== actor.userId) return undefined;
    const customer = await this.repositories.customers.get(actor.tenantId, setup.target.customerId);
    return customer && { ok: true, setup, customer, changed: customer.subscriptions.filter((s) => s.renewalIds.includes(setup.id)) };
  }

  /** Finishes keys for existing customers that a crash or a failed write left applying; returns how many. */
  async resumeApplying(): Promise<number> {
    let resumed = 0;
    for (const { tenantId, setup: { id, target } } of await this.repositories.setups.withStatus('creating')) {
      // Creations of new customers are finished by the account service.
      if (!target) continue;
      try {
        const result = await this.setups.exclusive(id, async () => {
          const setup = await this.repositories.setups.find(tenantId, id);
          return setup?.status === 'creating' ? this.applyNow(tenantId, setup) : undefined;
        });
        if (result) resumed++;
      } catch (error) {
        this.log.error({ err: error, tenantId, setupId: id }, 'keys for an existing customer not applied yet; tried again at the next sweep');
      }
    }
    if (resumed > 0) this.log.warn({ resumed }, 'finished applying keys a crash interrupted');
    return resumed;
  }

  /**
   * Sends the keys to the backend and mirrors its answer. A refusal releases the keys and puts the
   * summary back; a failure leaves the setup applying, for the next sweep to finish.
   */
  private async applyNow(tenantId: string, setup: Setup, actor: Actor = SYSTEM): Promise<ApplyResult> {
    const target = setup.target!;
    const now = this.now();
    const today = await this.today(tenantId, now);
    const keyHandles = setup.keys.map((key) => key.handle);
    const keyRefs = setup.keys.map((key) => key.ref);
    const customer = await this.repositories.customers.get(tenantId, target.customerId);
    const partnerOfRecord = customer?.subscriptions.find((s) => s.partnerOfRecord)?.partnerOfRecord;
    let updates: SubscriptionUpdate[];
    try {
      updates =
        target.kind === 'renew'
          ? [await this.commerce.renewSubscription({ idempotencyKey: setup.id, customerTenantId: target.customerId, subscriptionId: target.subscriptionId, keyHandles, today })]
          : await this.commerce.addKeys({ idempotencyKey: setup.id, customerTenantId: target.customerId, partnerTenantId: tenantId, keyHandles, today, ...(partnerOfRecord && { partnerOfRecord }) });
    } catch (error) {
      const code = error instanceof CommerceError ? error.code : undefined;
      if (!code || !APPLY_REFUSALS.includes(code)) throw error;
      await this.repositories.setups.releaseKeys(setup.id, keyRefs);
      const back = await changeStoredSetup(this.repositories.setups, tenantId, setup.id, (s) => setupRules.abandonReserving(s, now));
      return { ok: false, reason: code as ApplyRefusal, setup: back };
    }
    // Who acted is settled before the transaction: its callbacks stay pure.
    const who = await this.audit.actorOf(tenantId, actor);
    const entry = (done: { changed: Subscription[] }) => this.keysEntry(tenantId, who, setup.id, target.customerId, target, done.changed, setup.keys.map((key) => key.lastGroup));
    const { again: _either, ...mirrored } = await this.lock.run(target.customerId, () => this.mirror(tenantId, target.customerId, updates, entry, setup.id, partnerOfRecord));
    const completed = await changeStoredSetup(this.repositories.setups, tenantId, setup.id, (s) => setupRules.complete(s, target.customerId, now));
    // The keys are redeemed now; a failure to drop their reservations is mended by the next sweep.
    await this.repositories.setups.releaseKeys(setup.id, keyRefs).catch((error) => this.log.warn({ err: error, setupId: setup.id }, 'reservation index not yet cleaned'));
    this.log.info({ tenantId, setupId: setup.id, customerTenantId: target.customerId, kind: target.kind, keys: setup.keys.length }, 'product keys applied to an existing customer');
    return { ok: true, setup: completed, ...mirrored };
  }

  /** Sends a renewal recorded before this version (one key, on the subscription) to the backend and mirrors the answer. */
  private async applyRenewal(tenantId: string, customerTenantId: string, subscriptionId: string, intent: { requestId: string; keyHandle: string }): Promise<boolean> {
    let update: SubscriptionUpdate;
    try {
      update = await this.commerce.renewSubscription({ idempotencyKey: intent.requestId, customerTenantId, subscriptionId, keyHandles: [intent.keyHandle], today: await this.today(tenantId) });
    } catch (error) {
      const code = error instanceof CommerceError ? error.code : undefined;
      if (!code || !APPLY_REFUSALS.includes(code)) throw error;
      await this.repositories.customers.updateSubscription(tenantId, customerTenantId, subscriptionId, ({ pendingRenewal: _dropped, ...s }) => s);
      return false;
    }
    // Only the key's handle was kept with such a renewal: its entry names no key.
    const who = await this.audit.actorOf(tenantId, SYSTEM);
    const entry = (done: { changed: Subscription[] }) => this.keysEntry(tenantId, who, intent.requestId, customerTenantId, { kind: 'renew', customerId: customerTenantId, subscriptionId }, done.changed, []);
    await this.mirror(tenantId, customerTenantId, [update], entry, intent.requestId);
    return true;
  }

  /**
   * Finishes renewals a crash or an unreachable backend left between the customer repository and the
   * backend. One that fails again stays recorded for the next try, and does not stop the others.
   */
  async resumePending(): Promise<number> {
    let resumed = 0;
    for (const { partnerTenantId: tenantId, customerTenantId, subscription } of await this.repositories.customers.pendingRenewals()) {
      const subscriptionId = subscription.id;
      try {
        const finished = await this.lock.run(customerTenantId, async () => {
          // Read under the lock: a press of the same card may have finished it meanwhile.
          const intent = (await this.find(tenantId, customerTenantId, subscriptionId))?.subscription.pendingRenewal;
          return intent ? this.applyRenewal(tenantId, customerTenantId, subscriptionId, intent) : undefined;
        });
        if (finished) resumed++;
      } catch (error) {
        this.log.error({ err: error, tenantId, customerTenantId, subscriptionId }, 'renewal not finished yet; tried again at the next sweep');
      }
    }
    if (resumed > 0) this.log.warn({ resumed }, 'finished renewals a crash interrupted');
    return resumed;
  }

  /** The refusal of a switch the subscription's state does not allow (already direct, or its data deleted). */
  private switchRefusal(today: string, found: Switched): SwitchRefused | undefined {
    return this.switchable(found.subscription, today) ? undefined : { refused: 'notSwitchable', ...found };
  }

  private switchable(subscription: Subscription, today: string): boolean {
    return subscriptionActions(subscription, today, this.lifecycle).canSwitch;
  }

  /** Moves the subscription to direct billing now; the new subscription starts today. */
  switchNow(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | SwitchRefused | undefined> {
    return this.lock.run(customerTenantId, async () => {
      const found = await this.find(actor.tenantId, customerTenantId, subscriptionId);
      if (!found) return undefined;
      const today = await this.today(actor.tenantId);
      const refusal = this.switchRefusal(today, found);
      if (refusal) return refusal;
      // Recorded as a switch due today before the backend is asked: if its answer cannot be saved,
      // the sweep runs the switch again (the backend's is idempotent) and records it.
      const scheduled = found.subscription.scheduledSwitch;
      const customers = this.repositories.customers;
      const by = { id: actor.userId, name: actor.name };
      if (scheduled?.on !== today) await customers.updateSubscription(actor.tenantId, customerTenantId, subscriptionId, (s) => ({ ...s, scheduledSwitch: { on: today, by } }));
      try {
        const { again: _either, ...switched } = await this.switchAndMirror(actor.tenantId, customerTenantId, subscriptionId, today, actor);
        return switched;
      } catch (error) {
        // The backend did not switch (or may not have): the press leaves the schedule as it was.
        if (!(error instanceof StoreWriteError)) {
          await customers.updateSubscription(actor.tenantId, customerTenantId, subscriptionId, ({ scheduledSwitch: _pressed, ...s }) => (scheduled ? { ...s, scheduledSwitch: scheduled } : s)).catch(() => undefined);
        }
        throw error;
      }
    });
  }

  /**
   * A subscription moves to direct billing once: its id keys the entry, whoever (or whichever job) ran
   * it; `again` when another press or instance had mirrored the switch already.
   */
  private async switchAndMirror(tenantId: string, customerTenantId: string, subscriptionId: string, today: string, actor: Actor = SYSTEM): Promise<Switched & { again: boolean }> {
    const update = await this.commerce.switchToDirectBilling(customerTenantId, subscriptionId, today);
    this.log.info({ tenantId, customerTenantId, subscriptionId }, 'subscription moved to direct billing');
    const who = await this.audit.actorOf(tenantId, actor);
    const { customer, changed, again } = await this.mirror(tenantId, customerTenantId, [update], (switched) => this.entry(tenantId, who, actor === SYSTEM ? 'billing.scheduledSwitch' : 'billing.switch', subscriptionId, customerTenantId, switched.changed[0]!));
    return { customer, subscription: changed[0]!, again };
  }

  /** Schedules the switch for the day before the end date, the moment the bot advises. */
  schedule(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | SwitchRefused | undefined> {
    return this.lock.run(customerTenantId, async () => {
      const found = await this.find(actor.tenantId, customerTenantId, subscriptionId);
      if (!found) return undefined;
      const today = await this.today(actor.tenantId);
      const refusal = this.switchRefusal(today, found);
      if (refusal) return refusal;
      // A schedule may be made, canceled and made again: each gets an id of its own.
      const scheduleId = randomUUID();
      const who = await this.audit.actorOf(actor.tenantId, actor);
      const by = { id: actor.userId, name: actor.name };
      const scheduled = await this.repositories.customers.updateSubscription(
        actor.tenantId,
        customerTenantId,
        subscriptionId,
        // Checked again in the change: another instance may have switched it meanwhile.
        (s) => (this.switchable(s, today) ? { ...s, scheduledSwitch: { on: switchDayOf(s, today), by } } : undefined),
        (done) => [this.entry(actor.tenantId, who, 'billing.schedule', scheduleId, customerTenantId, done.subscription)],
      );
      if (scheduled) return scheduled;
      const now = await this.find(actor.tenantId, customerTenantId, subscriptionId);
      return now && { refused: 'notSwitchable' as const, ...now };
    });
  }

  /** Cancels a scheduled switch; one already canceled (a second press) changes and records nothing. */
  async unschedule(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | undefined> {
    const unscheduleId = randomUUID();
    const who = await this.audit.actorOf(actor.tenantId, actor);
    const done = await this.lock.run(customerTenantId, () =>
      this.repositories.customers.updateSubscription(
        actor.tenantId,
        customerTenantId,
        subscriptionId,
        ({ scheduledSwitch, ...s }) => (scheduledSwitch ? s : undefined),
        (changed) => [this.entry(actor.tenantId, who, 'billing.unschedule', unscheduleId, customerTenantId, changed.subscription)],
      ),
    );
    return done ?? this.find(actor.tenantId, customerTenantId, subscriptionId);
  }

  /** The day before the end, or today if that has passed. */
  async switchDay(tenantId: string, subscription: Subscription): Promise<string> {
    return switchDayOf(subscription, await this.today(tenantId));
  }

  /** Runs the scheduled switches that are due in each partner's own day; returns them for notices. */
  async runScheduled(): Promise<Array<{ tenantId: string; byId: string } & Switched>> {
    const done: Array<{ tenantId: string; byId: string } & Switched> = [];
    const now = this.now();
    for (const { partnerTenantId: tenantId, customerTenantId, subscription } of await this.repositories.customers.switchesDue(now)) {
      const today = await this.today(tenantId, now);
      const due = (s: Subscription | undefined) => s?.scheduledSwitch && s.scheduledSwitch.on <= today && s.billing === 'partner';
      // One switch the backend refuses or cannot take now must not hold up the others.
      const switched = await this.lock
        .run(customerTenantId, async () =>
          // Read under the lock: a renewal or a press may have changed it meanwhile.
          due((await this.find(tenantId, customerTenantId, subscription.id))?.subscription) ? this.switchAndMirror(tenantId, customerTenantId, subscription.id, today) : undefined,
        )
        .catch((error: unknown) => {
          this.log.error({ err: error, tenantId, customerTenantId, subscriptionId: subscription.id }, 'scheduled switch failed; tried again at the next sweep');
          return undefined;
        });
      // Told once: a run on another instance that mirrored the same switch first tells it.
      if (switched && !switched.again) done.push({ tenantId, byId: subscription.scheduledSwitch!.by.id, customer: switched.customer, subscription: switched.subscription });
    }
    return done;
  }

  /**
   * Copies the backend's answer into the customer, with its entry in the same write; a subscription
   * the keys started joins the customer. Mirrored again (a second press, a resumed run, another
   * instance: the backend answers the same) it changes nothing more and records nothing.
   */
  private async mirror(
    tenantId: string,
    customerTenantId: string,
    updates: readonly SubscriptionUpdate[],
    entry: (done: { customer: Customer; changed: Subscription[] }) => AuditDraft,
    changeId?: string,
    partnerOfRecord?: string,
  ): Promise<{ customer: Customer; changed: Subscription[]; canceledSwitch?: string; again: boolean }> {
    let outcome: Mirrored | undefined;
    const customer = await this.repositories.customers.update(
      tenantId,
      customerTenantId,
      (current) => {
        outcome = mirrored(current, updates, changeId, partnerOfRecord);
        return current;
      },
      (done) => (outcome!.again ? [] : [entry({ customer: done, changed: outcome!.changed })]),
    );
    if (!customer) throw new Error(`customer ${customerTenantId} of partner ${tenantId} not found to mirror the backend's answer`);
    const { changed, canceledSwitch, again } = outcome!;
    return { customer, changed, again, ...(canceledSwitch && { canceledSwitch }) };
  }
}

class NotReserved extends Error {}

/** The day before the end, or `today` if that has passed: when a switch to direct billing runs. */
function switchDayOf(subscription: Subscription, today: string): string {
  const dayBefore = addDays(subscription.endDate, -1);
  return dayBefore < today ? today : dayBefore;
}

interface Mirrored {
  changed: Subscription[];
  canceledSwitch?: string;
  /** The answer was mirrored before: nothing new to record. */
  again: boolean;
}

/**
 * Writes the backend's answer into `customer` (changed in place). A switch to direct billing clears
 * a scheduled one, and so does a renewal with keys: the partner chose to keep billing, and the old
 * switch day would otherwise end the term just paid for.
 */
function mirrored(customer: Customer, updates: readonly SubscriptionUpdate[], changeId: string | undefined, partnerOfRecord: string | undefined): Mirrored {
  const again =
    changeId !== undefined
      ? customer.subscriptions.some((s) => s.renewalIds.includes(changeId))
      : updates.every((update) => update.billing === 'direct' && customer.subscriptions.some((s) => s.id === update.id && s.billing === 'direct'));
  let canceledSwitch: string | undefined;
  const changed = updates.map((update) => {
    const index = customer.subscriptions.findIndex((s) => s.id === update.id);
    if (index < 0) {
      const started: Subscription = { ...update, ...(partnerOfRecord && { partnerOfRecord }), renewalIds: changeId ? [changeId] : [] };
      customer.subscriptions.push(started);
      return started;
    }
    const { scheduledSwitch, partnerOfRecord: por, pendingRenewal: _done, ...current } = customer.subscriptions[index]!;
    const keepSwitch = scheduledSwitch && !changeId;
    const kept = update.billing === 'direct' ? {} : { ...(keepSwitch ? { scheduledSwitch } : {}), ...(por ? { partnerOfRecord: por } : {}) };
    const renewalIds = changeId && !current.renewalIds.includes(changeId) ? [...current.renewalIds, changeId] : current.renewalIds;
    customer.subscriptions[index] = { ...current, ...kept, renewalIds, seats: update.seats, assignedSeats: update.assignedSeats, startDate: update.startDate, endDate: update.endDate, billing: update.billing };
    if (changeId && scheduledSwitch) canceledSwitch = scheduledSwitch.on;
    return customer.subscriptions[index]!;
  });
  return { changed, again, ...(canceledSwitch && { canceledSwitch }) };
}
