/**
 * The changes of one customer's parts (a subscription) in terms of changing the whole
 * customer under its lock: each store implements `update`, and these follow from it the same way.
 */
import type { Customer, Subscription } from '../domain/customer.js';

export abstract class CustomerChanges {
  abstract update(partnerTenantId: string, customerTenantId: string, change: (customer: Customer) => Customer | undefined): Promise<Customer | undefined>;

  async updateSubscription(partnerTenantId: string, customerTenantId: string, subscriptionId: string, change: (subscription: Subscription) => Subscription): Promise<{ customer: Customer; subscription: Subscription } | undefined> {
    let found: Subscription | undefined;
    const customer = await this.update(partnerTenantId, customerTenantId, (c) => {
      const index = c.subscriptions.findIndex((s) => s.id === subscriptionId);
      if (index < 0) return undefined;
      found = c.subscriptions[index] = change(c.subscriptions[index]!);
      return c;
    });
    return customer && found && { customer, subscription: found };
  }
}
