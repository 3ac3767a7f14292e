import type { Store } from './store.js';

/** Records which partner set up a customer tenant; a no-op when the index already says so. */
export async function indexCustomer(store: Store, partnerTenantId: string, customerTenantId: string): Promise<void> {
  const shard = store.customerIndex(customerTenantId);
  if (shard.data.customers[customerTenantId]?.partnerTenantId === partnerTenantId) return;
  await shard.update((draft) => void (draft.customers[customerTenantId] = { partnerTenantId }));
}
