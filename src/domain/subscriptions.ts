/** Subscriptions made from redeemed keys; dates are calendar days (YYYY-MM-DD) in UTC. */

export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The same day `months` later, clamped to the month's end (31 January + 1 month = 28/29 February). */
export function addMonths(day: string, months: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const target = new Date(Date.UTC(y, m - 1 + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d, lastDay));
  return isoDay(target);
}

export interface KeyTerm {
  product: string;
  seats: number;
  termMonths: number;
}

export interface SubscriptionPlan {
  product: string;
  seats: number;
  termMonths: number;
  startDate: string;
  endDate: string;
}

/**
 * One subscription per product and term, seats summed, starting today. Keys of one product normally
 * share a term; a key card with another term is another offer, so it gets its own subscription.
 */
export function planSubscriptions(keys: readonly KeyTerm[], today: string): SubscriptionPlan[] {
  const plans = new Map<string, SubscriptionPlan>();
  for (const key of keys) {
    const id = `${key.product}\u0000${key.termMonths}`;
    const plan = plans.get(id) ?? { product: key.product, seats: 0, termMonths: key.termMonths, startDate: today, endDate: addMonths(today, key.termMonths) };
    plan.seats += key.seats;
    plans.set(id, plan);
  }
  return [...plans.values()];
}
