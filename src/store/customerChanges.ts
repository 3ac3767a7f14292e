/**
 * The changes of one customer's parts (a subscription) in terms of changing the whole
 * customer under its lock: each store implements `update`, and these follow from it the same way.
 */
import type { Customer, Subscription } from '../domain/customer.js';
import type { AuditOf } from './repositories.js';

export abstract class CustomerChanges {
  abstract update(partnerTenantId: string, customerTenantId: string, change: (customer: Customer) => Customer | undefined, audit?: AuditOf<Customer>): Promise<Customer | undefined>;

  async updateSubscription(
    partnerTenantId: string,
    customerTenantId: string,
    subscriptionId: string,
    change: (subscription: Subscription) => Subscription | undefined,
    audit?: AuditOf<{ customer: Customer; subscription: Subscription }>,
  ): Promise<{ customer: Customer; subscription: Subscription } | undefined> {
    let found: Subscription | undefined;
    const customer = await this.update(
      partnerTenantId,
      customerTenantId,
      (c) => {
        // Run again on a retried transaction: nothing of an earlier run counts.
        found = undefined;
        const index = c.subscriptions.findIndex((s) => s.id === subscriptionId);
        if (index < 0) return undefined;
        const next = change(c.subscriptions[index]!);
        if (!next) return undefined;
        found = c.subscriptions[index] = next;
        return c;
      },
      audit && ((c) => audit({ customer: c, subscription: found! })),
    );
    return customer && found && { customer, subscription: found };
  }
}
