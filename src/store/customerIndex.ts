import type { Store } from './store.js';

/** Records which partner set up a customer tenant; a no-op when the index already says so. */
export async function indexCustomer(store: Store, partnerTenantId: string, customerTenantId: string): Promise<void> {
  const shard = store.customerIndex(customerTenantId);
  if (shard.data.customers[customerTenantId]?.partnerTenantId === partnerTenantId) return;
  await shard.update((draft) => void (draft.customers[customerTenantId] = { partnerTenantId }));
}

/** Mends the index from the partners' files, where customers are recorded first. */
export async function indexAllCustomers(store: Store): Promise<void> {
  for (const partner of store.partners()) for (const customer of partner.data.customers) await indexCustomer(store, partner.data.tenantId, customer.tenantId);
}
