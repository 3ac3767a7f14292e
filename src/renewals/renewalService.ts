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
import type { SetupService } from '../setups/setupService.js';
import { StoreWriteError } from '../store/documentFile.js';
import { KeyedLock } from '../store/keyedLock.js';
import type { Store } from '../store/store.js';
import { randomUUID } from 'node:crypto';
import type { AuditDraft } from '../domain/audit.js';
import { SYSTEM, type AuditTrail } from '../partners/auditTrail.js';

const APPLY_REFUSALS: readonly string[] = ['keyUnavailable', 'productMismatch', 'mixedTerms', 'deprovisioned', 'notPartnerBilled', 'notDelegated'] satisfies ApplyRefusal[];

export class RenewalService {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: Store,
    private readonly commerce: Commerce,
    private readonly setups: SetupService,
    private readonly now: () => Date,
    private readonly lifecycle: LifecycleDays,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
  ) {}

  /** The entry of a subscription's change; `key` is the change's idempotency key (request, subscription). */
  private entry(tenantId: string, actor: Actor, verb: string, key: string, customerTenantId: string, subscription: Subscription, keys: readonly string[] = []): AuditDraft {
    return this.audit.draft(tenantId, actor, {
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
  private keysEntry(tenantId: string, actor: Actor, changeId: string, customerTenantId: string, target: SetupTarget, changed: readonly Subscription[], keys: readonly string[]): AuditDraft {
    return this.audit.draft(tenantId, actor, {
      id: `keys.apply:${changeId}`,
      verb: 'keys.apply',
      customerTenantId,
      ...(target.kind === 'renew' && { subscriptionId: target.subscriptionId }),
      keys,
      details: { change: target.kind, subscriptions: changed.map((s) => `${s.id} (${s.product}, ${s.seats} seats, ends ${s.endDate})`).join('; ') },
      outcome: { result: 'done' },
    });
  }

  find(tenantId: string, customerTenantId: string, subscriptionId: string): { customer: Customer; subscription: Subscription } | undefined {
    const customer = this.store.partner(tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
    const subscription = customer?.subscriptions.find((s) => s.id === subscriptionId);
    return customer && subscription ? { customer, subscription } : undefined;
  }

  today(tenantId: string): string {
    return localDay(this.now(), timeZoneOf(this.store.head(tenantId).profile));
  }

  /**
   * Checks keys typed for an existing customer into a setup with that target (created on first use,
   * under the id its card carries): the same format checks, guessing lock and reservation as at
   * redemption. `target` counts only for a new setup; a saved one keeps its own.
   */
  async checkKeys(actor: Actor, setupId: string, rev: number, text: string, target: SetupTarget): Promise<CheckResult | Refusal | { refused: 'notAllowed' }> {
    const purpose = (await this.setups.find(actor.tenantId, setupId))?.target ?? target;
    if (!this.store.partner(actor.tenantId).data.customers.some((c) => c.tenantId === purpose.customerId)) return { refused: 'notFound' };
    if (!this.allows(actor.tenantId, purpose)) return { refused: 'notAllowed' };
    return this.setups.checkAndAdd(actor, setupId, rev, [text], purpose);
  }

  /** Whether keys may go to the target now: the partner's customer, and for a renewal a subscription that can still be renewed. */
  allows(tenantId: string, target: SetupTarget): boolean {
    const customer = this.store.partner(tenantId).data.customers.find((c) => c.tenantId === target.customerId);
    if (target.kind === 'add' || !customer) return customer !== undefined;
    const subscription = customer.subscriptions.find((s) => s.id === target.subscriptionId);
    return subscription !== undefined && subscriptionActions(subscription, this.today(tenantId), this.lifecycle).canRenew;
  }

  /**
   * Applies a summary's keys to the existing customer: reserves them as a setup's confirmation does,
   * records the setup as applying, then asks the backend (idempotent per setup) and mirrors its answer.
   */
  async applyKeys(actor: Actor, setupId: string, rev: number): Promise<ApplyResult | Refusal> {
    const refusal = await this.setups.refusalFor(actor, setupId, rev, 'apply');
    const setup = await this.setups.find(actor.tenantId, setupId);
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
      const reserved = (await this.setups.find(actor.tenantId, setupId))!;
      if (reserved.status !== 'reserved') return (await this.applied(actor, setupId)) ?? (await this.setups.refusalFor(actor, setupId, undefined, 'apply')) ?? { refused: 'stale' as const, setup: reserved };
      const applying = await this.setups.updateSetup(actor.tenantId, setupId, (s) => setupRules.startCreating(s, this.now()));
      return this.applyNow(actor.tenantId, applying, actor);
    });
  }

  /** The outcome of keys the actor already applied: a second press of the same card answers it again. */
  private async applied(actor: Actor, setupId: string): Promise<Extract<ApplyResult, { ok: true }> | undefined> {
    const setup = await this.setups.find(actor.tenantId, setupId);
    if (setup?.status !== 'completed' || !setup.target || setup.ownerId !== actor.userId) return undefined;
    const customer = this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === setup.target!.customerId);
    return customer && { ok: true, setup, customer, changed: customer.subscriptions.filter((s) => s.renewalIds.includes(setupId)) };
  }

  /** Finishes keys for existing customers that a crash or a failed write left applying; returns how many. */
  async resumeApplying(): Promise<number> {
    let resumed = 0;
    for (const book of this.store.setupBooks()) {
      const { tenantId } = book.data;
      for (const { id } of book.data.setups.filter((s) => s.status === 'creating' && s.target)) {
        try {
          const result = await this.setups.exclusive(id, async () => {
            const setup = await this.setups.find(tenantId, id);
            return setup?.status === 'creating' ? this.applyNow(tenantId, setup) : undefined;
          });
          if (result) resumed++;
        } catch (error) {
          this.log.error({ err: error, tenantId, setupId: id }, 'keys for an existing customer not applied yet; tried again at the next sweep');
        }
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
    const today = this.today(tenantId);
    const keyHandles = setup.keys.map((key) => key.handle);
    const customer = this.store.partner(tenantId).data.customers.find((c) => c.tenantId === target.customerId);
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
      await this.setups.releaseKeys({ tenantId, setupId: setup.id }, setup.keys);
      const back = await this.setups.updateSetup(tenantId, setup.id, (s) => setupRules.abandonReserving(s, this.now()));
      return { ok: false, reason: code as ApplyRefusal, setup: back };
    }
    const entry = (done: { changed: Subscription[] }) => this.keysEntry(tenantId, actor, setup.id, target.customerId, target, done.changed, setup.keys.map((key) => key.lastGroup));
    const mirrored = await this.lock.run(target.customerId, () => this.mirror(tenantId, target.customerId, updates, entry, setup.id, partnerOfRecord));
    const completed = await this.setups.updateSetup(tenantId, setup.id, (s) => setupRules.complete(s, target.customerId, this.now()));
    // The keys are redeemed now; a failure to drop their index entries is mended by the next sweep.
    await this.setups.releaseKeys({ tenantId, setupId: setup.id }, setup.keys).catch((error) => this.log.warn({ err: error, setupId: setup.id }, 'reservation index not yet cleaned'));
    this.log.info({ tenantId, setupId: setup.id, customerTenantId: target.customerId, kind: target.kind, keys: setup.keys.length }, 'product keys applied to an existing customer');
    return { ok: true, setup: completed, ...mirrored };
  }

  /** Sends a renewal recorded before this version (one key, on the subscription) to the backend and mirrors the answer. */
  private async applyRenewal(tenantId: string, customerTenantId: string, subscriptionId: string, intent: { requestId: string; keyHandle: string }): Promise<boolean> {
    let update: SubscriptionUpdate;
    try {
      update = await this.commerce.renewSubscription({ idempotencyKey: intent.requestId, customerTenantId, subscriptionId, keyHandles: [intent.keyHandle], today: this.today(tenantId) });
    } catch (error) {
      const code = error instanceof CommerceError ? error.code : undefined;
      if (!code || !APPLY_REFUSALS.includes(code)) throw error;
      await this.change(tenantId, customerTenantId, subscriptionId, ({ pendingRenewal: _dropped, ...s }) => s, false);
      return false;
    }
    // Only the key's handle was kept with such a renewal: its entry names no key.
    const entry = (done: { changed: Subscription[] }) => this.keysEntry(tenantId, SYSTEM, intent.requestId, customerTenantId, { kind: 'renew', customerId: customerTenantId, subscriptionId }, done.changed, []);
    await this.mirror(tenantId, customerTenantId, [update], entry, intent.requestId);
    return true;
  }

  /**
   * Finishes renewals a crash or an unreachable backend left between the partner's file and the
   * backend. One that fails again stays recorded for the next try, and does not stop the others.
   */
  async resumePending(): Promise<number> {
    let resumed = 0;
    for (const partner of this.store.partnersWith('pendingRenewal')) {
      const tenantId = partner.data.tenantId;
      for (const customer of partner.data.customers) {
        for (const { id: subscriptionId } of customer.subscriptions.filter((s) => s.pendingRenewal)) {
          try {
            const finished = await this.lock.run(customer.tenantId, async () => {
              // Read under the lock: a press of the same card may have finished it meanwhile.
              const subscription = this.find(tenantId, customer.tenantId, subscriptionId)?.subscription;
              const intent = subscription?.pendingRenewal;
              return intent ? this.applyRenewal(tenantId, customer.tenantId, subscriptionId, intent) : undefined;
            });
            if (finished) resumed++;
          } catch (error) {
            this.log.error({ err: error, tenantId, customerTenantId: customer.tenantId, subscriptionId }, 'renewal not finished yet; tried again at the next sweep');
          }
        }
      }
    }
    if (resumed > 0) this.log.warn({ resumed }, 'finished renewals a crash interrupted');
    return resumed;
  }

  /** The refusal of a switch the subscription's state does not allow (already direct, or its data deleted). */
  private switchRefusal(tenantId: string, found: Switched): SwitchRefused | undefined {
    return subscriptionActions(found.subscription, this.today(tenantId), this.lifecycle).canSwitch ? undefined : { refused: 'notSwitchable', ...found };
  }

  /** Moves the subscription to direct billing now; the new subscription starts today. */
  switchNow(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | SwitchRefused | undefined> {
    return this.lock.run(customerTenantId, async () => {
      const found = this.find(actor.tenantId, customerTenantId, subscriptionId);
      if (!found) return undefined;
      const refusal = this.switchRefusal(actor.tenantId, found);
      if (refusal) return refusal;
      // Recorded as a switch due today before the backend is asked: if its answer cannot be saved,
      // the sweep runs the switch again (the backend's is idempotent) and records it.
      const scheduled = found.subscription.scheduledSwitch;
      const today = this.today(actor.tenantId);
      if (scheduled?.on !== today) await this.change(actor.tenantId, customerTenantId, subscriptionId, (s) => ({ ...s, scheduledSwitch: { on: today, by: { id: actor.userId, name: actor.name } } }), false);
      try {
        return await this.switchAndMirror(actor.tenantId, customerTenantId, subscriptionId, actor);
      } catch (error) {
        // The backend did not switch (or may not have): the press leaves the schedule as it was.
        if (!(error instanceof StoreWriteError)) {
          await this.change(actor.tenantId, customerTenantId, subscriptionId, ({ scheduledSwitch: _pressed, ...s }) => (scheduled ? { ...s, scheduledSwitch: scheduled } : s), false).catch(() => undefined);
        }
        throw error;
      }
    });
  }

  /** A subscription moves to direct billing once: its id keys the entry, whoever (or whichever job) ran it. */
  private async switchAndMirror(tenantId: string, customerTenantId: string, subscriptionId: string, actor: Actor = SYSTEM): Promise<Switched> {
    const update = await this.commerce.switchToDirectBilling(customerTenantId, subscriptionId, this.today(tenantId));
    this.log.info({ tenantId, customerTenantId, subscriptionId }, 'subscription moved to direct billing');
    const { customer, changed } = await this.mirror(tenantId, customerTenantId, [update], (switched) => this.entry(tenantId, actor, actor === SYSTEM ? 'billing.scheduledSwitch' : 'billing.switch', subscriptionId, customerTenantId, switched.changed[0]!));
    return { customer, subscription: changed[0]! };
  }

  /** Schedules the switch for the day before the end date, the moment the bot advises. */
  schedule(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | SwitchRefused | undefined> {
    return this.lock.run(customerTenantId, async () => {
      const found = this.find(actor.tenantId, customerTenantId, subscriptionId);
      if (!found) return undefined;
      const scheduled = (s: Subscription): Subscription => ({ ...s, scheduledSwitch: { on: this.switchDay(actor.tenantId, s), by: { id: actor.userId, name: actor.name } } });
      // A schedule may be made, canceled and made again: each gets an id of its own.
      return this.switchRefusal(actor.tenantId, found) ?? this.change(actor.tenantId, customerTenantId, subscriptionId, scheduled, false, (done) => this.entry(actor.tenantId, actor, 'billing.schedule', randomUUID(), customerTenantId, done.subscription));
    });
  }

  unschedule(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | undefined> {
    return this.change(actor.tenantId, customerTenantId, subscriptionId, ({ scheduledSwitch: _removed, ...s }) => s, true, (done) => this.entry(actor.tenantId, actor, 'billing.unschedule', randomUUID(), customerTenantId, done.subscription));
  }

  /** The day before the end, or today if that has passed. */
  switchDay(tenantId: string, subscription: Subscription): string {
    const dayBefore = addDays(subscription.endDate, -1);
    const today = this.today(tenantId);
    return dayBefore < today ? today : dayBefore;
  }

  /** Runs the scheduled switches that are due in each partner's own day; returns them for notices. */
  async runScheduled(): Promise<Array<{ tenantId: string; byId: string } & Switched>> {
    const done: Array<{ tenantId: string; byId: string } & Switched> = [];
    for (const partner of this.store.partnersWith('scheduledSwitch')) {
      const tenantId = partner.data.tenantId;
      const today = this.today(tenantId);
      const due = (s: Subscription | undefined) => s?.scheduledSwitch && s.scheduledSwitch.on <= today && s.billing === 'partner';
      for (const customer of partner.data.customers) {
        for (const subscription of customer.subscriptions.filter(due)) {
          // One switch the backend refuses or cannot take now must not hold up the others.
          const switched = await this.lock.run(customer.tenantId, async () =>
            // Read under the lock: a renewal or a press may have changed it meanwhile.
            due(this.find(tenantId, customer.tenantId, subscription.id)?.subscription) ? this.switchAndMirror(tenantId, customer.tenantId, subscription.id) : undefined,
          ).catch((error: unknown) => {
            this.log.error({ err: error, tenantId, customerTenantId: customer.tenantId, subscriptionId: subscription.id }, 'scheduled switch failed; tried again at the next sweep');
            return undefined;
          });
          if (switched) done.push({ tenantId, byId: subscription.scheduledSwitch!.by.id, ...switched });
        }
      }
    }
    return done;
  }

  /** Rewrites one subscription in the partner's file; `takeLock` false when the caller holds the lock. */
  private change(tenantId: string, customerTenantId: string, subscriptionId: string, change: (s: Subscription) => Subscription, takeLock = true, entry?: (done: Switched) => AuditDraft): Promise<Switched | undefined> {
    const run = async () => {
      if (!this.find(tenantId, customerTenantId, subscriptionId)) return undefined;
      return this.audit.inPartner(tenantId, (doc) => {
        const customer = doc.customers.find((c) => c.tenantId === customerTenantId)!;
        const index = customer.subscriptions.findIndex((s) => s.id === subscriptionId);
        customer.subscriptions[index] = change(customer.subscriptions[index]!);
        const result = { customer, subscription: customer.subscriptions[index]! };
        return { result, entry: entry?.(result) };
      });
    };
    return takeLock ? this.lock.run(customerTenantId, run) : run();
  }

  /**
   * Copies the backend's answer into the partner's file; a subscription the keys started joins the
   * customer. A switch to direct billing clears a scheduled one, and so does a renewal with keys:
   * the partner chose to keep billing, and the old switch day would otherwise end the term just paid for.
   */
  private mirror(
    tenantId: string,
    customerTenantId: string,
    updates: readonly SubscriptionUpdate[],
    entry: (done: { customer: Customer; changed: Subscription[] }) => AuditDraft,
    changeId?: string,
    partnerOfRecord?: string,
  ): Promise<{ customer: Customer; changed: Subscription[]; canceledSwitch?: string }> {
    return this.audit.inPartner(tenantId, (doc) => {
      const customer = doc.customers.find((c) => c.tenantId === customerTenantId)!;
      // Mirrored again after a crash (the backend answers the same): the change and its entry are already there.
      const again = changeId !== undefined && customer.subscriptions.some((s) => s.renewalIds.includes(changeId));
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
      const result = { customer, changed, ...(canceledSwitch && { canceledSwitch }) };
      return again ? { result } : { result, entry: entry(result) };
    });
  }
}
