/**
 * Renewing a customer's subscription with a product key, or moving it to direct billing by
 * Microsoft now or on the day before it ends. The backend is the source of truth; the partner's
 * file mirrors what it answered, so reminders and the customer card follow the new dates.
 */
import type { Logger } from 'pino';
import { CommerceError, type Commerce, type SubscriptionUpdate } from '../commerce/commerce.js';
import type { Customer, Subscription } from '../domain/customer.js';
import type { Actor } from '../domain/actor.js';
import { addDays, localDay, subscriptionActions, type LifecycleDays } from '../domain/lifecycle.js';
import { normaliseKey } from '../domain/productKey.js';
import type { RenewRefusal, Renewed, Switched, SwitchRefused } from '../domain/outcomes.js';
import { timeZoneOf } from '../domain/profile.js';
import type { SetupService } from '../setups/setupService.js';
import { StoreWriteError } from '../store/documentFile.js';
import { KeyedLock } from '../store/keyedLock.js';
import type { Store } from '../store/store.js';
import { randomUUID } from 'node:crypto';
import type { AuditDraft } from '../domain/audit.js';
import { SYSTEM, type AuditTrail } from '../partners/auditTrail.js';

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

  find(tenantId: string, customerTenantId: string, subscriptionId: string): { customer: Customer; subscription: Subscription } | undefined {
    const customer = this.store.partner(tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
    const subscription = customer?.subscriptions.find((s) => s.id === subscriptionId);
    return customer && subscription ? { customer, subscription } : undefined;
  }

  today(tenantId: string): string {
    return localDay(this.now(), timeZoneOf(this.store.head(tenantId).profile));
  }

  /** Renews with a typed key; `requestId` comes from the card, so a double press renews once. */
  renewWithKey(actor: Actor, customerTenantId: string, subscriptionId: string, requestId: string, typed: string): Promise<({ ok: true } & Renewed) | ({ ok: false } & RenewRefusal)> {
    return this.lock.run(customerTenantId, async () => {
      const found = this.find(actor.tenantId, customerTenantId, subscriptionId);
      if (!found) return { ok: false, code: 'notFound' };
      if (found.subscription.renewalIds.includes(requestId)) return { ok: true, ...found };
      const pending = found.subscription.pendingRenewal;
      // The same press again after a crash or a lost answer: finish it with the key it had.
      if (pending?.requestId === requestId) return this.applyRenewal(actor.tenantId, customerTenantId, subscriptionId, pending, found.subscription.product, actor);
      const normal = normaliseKey(typed);
      if ('problem' in normal) return { ok: false, code: 'format', problem: normal.problem };
      const renewed = await this.setups.useSingleKey(actor, normal.key, async (check): Promise<({ ok: true } & Renewed) | ({ ok: false } & RenewRefusal)> => {
        if (check.product !== found.subscription.product) return { ok: false, code: 'productMismatch', keyProduct: check.product };
        const intent = { requestId, keyHandle: check.handle };
        await this.change(actor.tenantId, customerTenantId, subscriptionId, (s) => ({ ...s, pendingRenewal: intent }), false);
        return this.applyRenewal(actor.tenantId, customerTenantId, subscriptionId, intent, check.product, actor, normal.key);
      });
      if ('locked' in renewed) return { ok: false, code: 'locked', until: renewed.locked };
      return renewed;
    });
  }

  /** Sends a recorded renewal to the backend (idempotent per request) and mirrors the answer. */
  private async applyRenewal(
    tenantId: string,
    customerTenantId: string,
    subscriptionId: string,
    intent: { requestId: string; keyHandle: string },
    keyProduct: string,
    actor: Actor = SYSTEM,
    key?: string,
  ): Promise<({ ok: true } & Renewed) | ({ ok: false } & RenewRefusal)> {
    let update: SubscriptionUpdate;
    try {
      update = await this.commerce.renewSubscription({ idempotencyKey: intent.requestId, customerTenantId, subscriptionId, keyHandle: intent.keyHandle, today: this.today(tenantId) });
    } catch (error) {
      const code = error instanceof CommerceError ? error.code : undefined;
      if (code === undefined || code === 'unknownTenant' || code === 'invalidRequest') throw error;
      await this.change(tenantId, customerTenantId, subscriptionId, ({ pendingRenewal: _dropped, ...s }) => s, false);
      if (code === 'productMismatch') return { ok: false, code, keyProduct };
      if (code === 'tooFewSeats' || code === 'deprovisioned' || code === 'notPartnerBilled') return { ok: false, code };
      return { ok: false, code: 'keyUnavailable' };
    }
    this.log.info({ tenantId, customerTenantId, subscriptionId, endDate: update.endDate }, 'subscription renewed with a product key');
    const entry = (renewed: Renewed) => this.entry(tenantId, actor, 'renew.submit', intent.requestId, customerTenantId, renewed.subscription, key ? [key] : []);
    return { ok: true, ...(await this.mirror(tenantId, customerTenantId, update, entry, intent.requestId)) };
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
              return intent ? this.applyRenewal(tenantId, customer.tenantId, subscriptionId, intent, subscription.product) : undefined;
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
    return this.mirror(tenantId, customerTenantId, update, (switched) => this.entry(tenantId, actor, actor === SYSTEM ? 'billing.scheduledSwitch' : 'billing.switch', subscriptionId, customerTenantId, switched.subscription));
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
   * Copies the backend's answer into the partner's file. A switch to direct billing clears a
   * scheduled one, and so does a renewal with a key: the partner chose to keep billing, and the
   * old switch day would otherwise end the term just paid for.
   */
  private mirror(tenantId: string, customerTenantId: string, update: SubscriptionUpdate, entry: (done: Renewed) => AuditDraft, renewalId?: string): Promise<Renewed> {
    return this.audit.inPartner(tenantId, (doc) => {
      const customer = doc.customers.find((c) => c.tenantId === customerTenantId)!;
      const index = customer.subscriptions.findIndex((s) => s.id === update.id);
      const { scheduledSwitch, partnerOfRecord, pendingRenewal: _done, ...current } = customer.subscriptions[index]!;
      const keepSwitch = scheduledSwitch && !renewalId;
      const kept = update.billing === 'direct' ? {} : { ...(keepSwitch ? { scheduledSwitch } : {}), ...(partnerOfRecord ? { partnerOfRecord } : {}) };
      const renewalIds = renewalId ? [...current.renewalIds, renewalId] : current.renewalIds;
      customer.subscriptions[index] = { ...current, ...kept, renewalIds, seats: update.seats, assignedSeats: update.assignedSeats, startDate: update.startDate, endDate: update.endDate, billing: update.billing };
      const canceledSwitch = renewalId && scheduledSwitch ? { canceledSwitch: scheduledSwitch.on } : {};
      const result = { customer, subscription: customer.subscriptions[index]!, ...canceledSwitch };
      return { result, entry: entry(result) };
    });
  }
}
