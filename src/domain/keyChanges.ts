/**
 * What product keys entered for an existing customer do: renew one subscription, or add seats to the
 * customer's subscriptions and start new ones. Pure rules: the review card shows them, the service
 * and the commerce backend apply the same ones.
 */
import type { Subscription } from './customer.js';
import { renewedEndDate, subscriptionState, type LifecycleDays } from './lifecycle.js';
import { planSubscriptions, type KeyTerm } from './subscriptions.js';

/** Why a key cannot renew a subscription together with the keys entered before it. */
export type KeyMismatch = { code: 'otherProduct'; keyProduct: string; product: string } | { code: 'otherTerm'; months: number; firstMonths: number };

/** Renewal keys are of the subscription's product, and of one term (the term is what the renewal adds). */
export function renewalMismatch(subscription: { product: string }, key: KeyTerm, earlier: readonly KeyTerm[]): KeyMismatch | undefined {
  if (key.product !== subscription.product) return { code: 'otherProduct', keyProduct: key.product, product: subscription.product };
  const first = earlier[0];
  if (first && first.termMonths !== key.termMonths) return { code: 'otherTerm', months: key.termMonths, firstMonths: first.termMonths };
  return undefined;
}

export interface RenewalPlan {
  seatsBefore: number;
  /** The seats the keys pay for together: the subscription's seat count from the renewal on. */
  seatsAfter: number;
  assignedSeats: number;
  endBefore: string;
  endAfter: string;
}

export type RenewalRefusal = 'productMismatch' | 'mixedTerms' | 'deprovisioned' | 'noKeys';

/**
 * A renewal with several keys: their seats together become the seat count (a partner renewing 20
 * seats buys keys for 20), and their term extends the end date (from today once it has lapsed).
 */
export function renewalPlan(subscription: Pick<Subscription, 'product' | 'seats' | 'assignedSeats' | 'endDate'>, keys: readonly KeyTerm[], today: string, lifecycle: LifecycleDays): RenewalPlan | { refused: RenewalRefusal } {
  if (keys.length === 0) return { refused: 'noKeys' };
  const mismatch = keys.map((key, index) => renewalMismatch(subscription, key, keys.slice(0, index))).find(Boolean);
  if (mismatch) return { refused: mismatch.code === 'otherProduct' ? 'productMismatch' : 'mixedTerms' };
  const endAfter = renewedEndDate(subscription.endDate, today, keys[0]!.termMonths, lifecycle);
  if (!endAfter) return { refused: 'deprovisioned' };
  const seatsAfter = keys.reduce((sum, key) => sum + key.seats, 0);
  return { seatsBefore: subscription.seats, seatsAfter, assignedSeats: subscription.assignedSeats, endBefore: subscription.endDate, endAfter };
}

/** Licences assigned beyond the seats a renewal leaves: that many users must lose theirs. */
export function seatsShort(plan: RenewalPlan): number {
  return Math.max(0, plan.assignedSeats - plan.seatsAfter);
}

export type AdditionStep =
  | { kind: 'addSeats'; subscriptionId: string; product: string; keys: number; seatsBefore: number; seatsAfter: number; endDate: string }
  | { kind: 'newSubscription'; product: string; keys: number; seats: number; termMonths: number; startDate: string; endDate: string };

/**
 * Keys of a product the customer has in an active, partner-billed subscription add seats to it,
 * until its end date; keys of any other product start a subscription of their own with the keys'
 * term, from today (one per product and term, as at redemption).
 */
export function additionPlan(subscriptions: ReadonlyArray<Pick<Subscription, 'id' | 'product' | 'seats' | 'endDate' | 'billing'>>, keys: readonly KeyTerm[], today: string, lifecycle: LifecycleDays): AdditionStep[] {
  const target = (product: string) => subscriptions.find((s) => s.product === product && s.billing === 'partner' && subscriptionState(s.endDate, today, lifecycle) === 'active');
  const steps = new Map<string, Extract<AdditionStep, { kind: 'addSeats' }>>();
  const fresh: KeyTerm[] = [];
  for (const key of keys) {
    const subscription = target(key.product);
    if (!subscription) {
      fresh.push(key);
      continue;
    }
    const step = steps.get(subscription.id) ?? { kind: 'addSeats', subscriptionId: subscription.id, product: subscription.product, keys: 0, seatsBefore: subscription.seats, seatsAfter: subscription.seats, endDate: subscription.endDate };
    step.keys += 1;
    step.seatsAfter += key.seats;
    steps.set(subscription.id, step);
  }
  const started = planSubscriptions(fresh, today).map((plan): AdditionStep => ({
    kind: 'newSubscription',
    product: plan.product,
    keys: fresh.filter((key) => key.product === plan.product && key.termMonths === plan.termMonths).length,
    seats: plan.seats,
    termMonths: plan.termMonths,
    startDate: plan.startDate,
    endDate: plan.endDate,
  }));
  return [...steps.values(), ...started];
}
