/**
 * The changes of one customer's parts (a subscription, an offer) in terms of changing the whole
 * customer under its lock: each store implements `update`, and these follow from it the same way.
 */
import type { Customer, Subscription } from '../domain/customer.js';
import type { Offer } from '../domain/delegation.js';
import type { AddOfferResult, AuditOf } from './repositories.js';

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

  async addOffer(partnerTenantId: string, customerTenantId: string, offer: Offer): Promise<AddOfferResult> {
    let open: Offer | undefined;
    const customer = await this.update(partnerTenantId, customerTenantId, (c) => {
      open = c.offers.find((o) => o.status === 'pending' || o.status === 'accepted');
      if (open) return undefined;
      c.offers.push(offer);
      return c;
    });
    if (open) return { added: false, open };
    if (!customer) throw new Error(`customer ${customerTenantId} not found`);
    return { added: true, offer };
  }

  async updateOffer(partnerTenantId: string, customerTenantId: string, offerId: string, change: (offer: Offer) => Offer): Promise<Offer | undefined> {
    let changed: Offer | undefined;
    await this.update(partnerTenantId, customerTenantId, (c) => {
      const index = c.offers.findIndex((o) => o.id === offerId);
      if (index < 0) return undefined;
      changed = c.offers[index] = change(c.offers[index]!);
      return c;
    });
    return changed;
  }
}
