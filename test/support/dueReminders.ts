/**
 * Partners with a renewal reminder due today, written straight into a PostgreSQL database: each
 * with a customer whose subscription ends in 20 days (the 30-day reminder is due) and the staff
 * member who set it up reachable in a chat of its own at the connector.
 */
import { randomUUID } from 'node:crypto';
import type { Customer } from '../../src/domain/customer.js';
import type { Repositories } from '../../src/store/repositories.js';

/** Seeds `count` partners (tenant ids starting with `prefix`); returns the chats the reminders go to. */
export async function seedDueReminders(repositories: Repositories, serviceUrl: string, prefix: string, count: number): Promise<string[]> {
  const ends = new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10);
  const at = new Date().toISOString();
  const chats: string[] = [];
  for (let i = 0; i < count; i++) {
    const tenant = `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const chat = `a:${prefix}-${i}`;
    chats.push(chat);
    await repositories.partners.saveProfile(tenant, { organisationName: `Partner ${i}`, partnerId: '1234567', cloudEssentials: true, timeZone: 'UTC', updatedAt: at, updatedBy: 'owner' });
    await repositories.partners.rememberMember(tenant, 'owner', { name: `Owner ${i}`, conversation: { serviceUrl, channelId: 'msteams', conversation: { id: chat }, bot: { id: '28:bot' }, user: { id: '29:owner' } }, updatedAt: at, reachable: true });
    const customer: Customer = {
      tenantId: randomUUID(),
      name: `Customer ${i}`,
      domain: `customer${i}.onmicrosoft.com`,
      country: 'DE',
      language: 'de',
      admin: { name: 'Bea Admin', email: 'bea@example.com', phone: '+49 30 1234', userPrincipalName: `bea@customer${i}.onmicrosoft.com`, objectId: randomUUID() },
      createdAt: at,
      createdBy: { id: 'owner', name: `Owner ${i}` },
      setupId: randomUUID(),
      subscriptions: [{ id: randomUUID(), product: 'Microsoft 365 Business Standard', seats: 10, assignedSeats: 1, startDate: '2026-01-01', endDate: ends, partnerOfRecord: '1234567', billing: 'partner', renewalIds: [] }],
      offers: [],
      addedUsers: [],
    };
    await repositories.customers.add(tenant, customer);
  }
  return chats;
}
