/**
 * The crash test's invariants, on what either store holds (see stored.ts): every operation the bot
 * acknowledged is there exactly once, nothing is doubled or half-done, and the audit trail has an
 * entry for every change. Returns the violations found, as sentences.
 */
import { addMonths } from '../../src/domain/subscriptions.js';
import type { AuditLog } from '../../src/store/auditLog.js';
import type { Stored, StoredCustomer } from './stored.js';

export interface Receipt {
  tenantId: string;
  setupId: string;
  keyRefs: string[];
}
export interface Creation {
  tenantId: string;
  setupId: string;
  name: string;
  domain: string;
}
export interface OfferAck {
  tenantId: string;
  customerId: string;
  offerId: string;
}
export interface RenewalAck {
  tenantId: string;
  customerId: string;
  subscriptionId: string;
  requestId: string;
}
/** What the bot acknowledged during the run. */
export interface Acknowledged {
  redeem: Receipt[];
  create: Creation[];
  offer: OfferAck[];
  renew: RenewalAck[];
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** The audit entry ids a partner's changes must have: its customers, requests and renewals. */
export function auditedChanges(customers: readonly StoredCustomer[]): string[] {
  return customers.flatMap((customer) => [
    `account.create:${customer.setupId}`,
    ...customer.offers.map((o) => `delegation.request:${o.id}`),
    ...customer.subscriptions.flatMap((sub) => sub.renewalIds.map((id) => `keys.apply:${id}`)),
  ]);
}

export async function checkStored(stored: Stored, acked: Acknowledged, trail: AuditLog): Promise<string[]> {
  const violations: string[] = [];
  const fail = (text: string) => violations.push(text);
  const { partners, setups, reservations, catalog, tenants } = stored;

  const customers = partners.flatMap((p) => p.customers.map((customer) => ({ tenantId: p.tenantId, customer })));
  const setupCount = countBy(setups, (s) => `${s.tenantId}/${s.setup.id}`);

  // Nothing half-done after the last recovery.
  for (const { tenantId, setup } of setups) if (setup.status === 'reserving' || setup.status === 'creating') fail(`setup ${tenantId}/${setup.id} left ${setup.status} after recovery`);

  // Receipts: reserved keys, unless a creation redeemed them since.
  for (const r of acked.redeem) {
    const found = setups.filter((s) => s.tenantId === r.tenantId && s.setup.id === r.setupId);
    if (found.length !== 1) {
      fail(`acknowledged receipt ${r.setupId}: ${found.length} setups stored`);
      continue;
    }
    const setup = found[0]!.setup;
    const refs = setup.keys.map((k) => k.ref).sort();
    if (JSON.stringify(refs) !== JSON.stringify([...r.keyRefs].sort())) fail(`acknowledged receipt ${r.setupId}: the setup holds other keys than were added`);
    for (const ref of r.keyRefs) {
      const entry = catalog.get(ref);
      if (setup.status === 'reserved') {
        const holder = reservations.get(ref);
        if (holder?.tenantId !== r.tenantId || holder.setupId !== r.setupId) fail(`acknowledged receipt ${r.setupId}: key …${entry?.lastGroup} not reserved for it`);
        if (entry?.status !== 'available') fail(`acknowledged receipt ${r.setupId}: reserved key …${entry?.lastGroup} is ${entry?.status} in the catalogue`);
      } else if (setup.status === 'completed') {
        if (entry?.status !== 'redeemed' || entry.redeemedFor !== setup.customerId) fail(`receipt ${r.setupId} consumed by a creation, but key …${entry?.lastGroup} is ${entry?.status} for ${entry?.redeemedFor}`);
      } else fail(`acknowledged receipt ${r.setupId}: setup is ${setup.status}`);
    }
  }

  // Creations: one customer each, one tenant each; no domain, tenant or setup twice anywhere.
  for (const c of acked.create) {
    const found = customers.filter((x) => x.tenantId === c.tenantId && x.customer.setupId === c.setupId);
    if (found.length !== 1) fail(`acknowledged creation ${c.name}: ${found.length} customers stored`);
    const customer = found[0]?.customer;
    if (customer && customer.domain !== c.domain) fail(`acknowledged creation ${c.name}: domain ${customer.domain}, expected ${c.domain}`);
    const records = tenants.filter((t) => t.idempotencyKey === c.setupId);
    if (records.length !== 1) fail(`acknowledged creation ${c.name}: ${records.length} commerce tenants`);
    else if (customer && (records[0]!.tenantId !== customer.tenantId || records[0]!.status !== 'active')) fail(`acknowledged creation ${c.name}: commerce tenant ${records[0]!.tenantId} (${records[0]!.status}) is not customer ${customer.tenantId}`);
  }
  for (const [domain, n] of countBy(customers, (x) => x.customer.domain)) if (n > 1) fail(`${n} customers with domain ${domain}`);
  for (const [id, n] of countBy(customers, (x) => x.customer.tenantId)) if (n > 1) fail(`customer tenant ${id} recorded ${n} times`);
  for (const [id, n] of countBy(customers, (x) => x.customer.setupId)) if (n > 1) fail(`setup ${id} made ${n} customers`);
  for (const [key, n] of setupCount) if (n > 1) fail(`setup ${key} stored ${n} times`);
  for (const [id, n] of countBy(tenants, (t) => t.tenantId)) if (n > 1) fail(`commerce tenant ${id} stored ${n} times`);
  for (const [key, n] of countBy(tenants, (t) => t.idempotencyKey)) if (n > 1) fail(`setup ${key} made ${n} commerce tenants`);
  for (const t of tenants) {
    if (t.status !== 'active') fail(`commerce tenant ${t.domain} left ${t.status}`);
    const owners = customers.filter((x) => x.customer.tenantId === t.tenantId);
    if (owners.length !== 1 || owners[0]!.tenantId !== t.partnerTenantId) fail(`commerce tenant ${t.domain} has ${owners.length} customer records at its partner`);
    for (const handle of t.keyHandles) if (catalog.get(handle)?.redeemedFor !== t.tenantId) fail(`commerce tenant ${t.domain}: key …${catalog.get(handle)?.lastGroup} not redeemed for it`);
  }
  // A redeemed key must have made a tenant or a renewal: one redeemed for nothing was lost.
  const redeemedFor = countBy([...catalog.values()].filter((e) => e.status === 'redeemed'), (e) => e.redeemedFor ?? '');
  for (const t of tenants) {
    const used = t.keyHandles.length + t.subscriptions.reduce((n, s) => n + s.renewals.length, 0);
    const redeemed = redeemedFor.get(t.tenantId) ?? 0;
    if (redeemed !== used) fail(`${t.domain}: ${redeemed} keys redeemed for it, but ${t.keyHandles.length} made it and ${used - t.keyHandles.length} renewed it (${redeemed - used} key(s) lost)`);
  }
  const tenantIds = new Set(tenants.map((t) => t.tenantId));
  for (const [ref, entry] of catalog) {
    if (entry.status === 'redeemed' && !tenantIds.has(entry.redeemedFor ?? '')) fail(`key …${entry.lastGroup} redeemed for ${entry.redeemedFor}, which does not exist`);
    if (entry.status === 'redeemed' && reservations.has(ref)) fail(`key …${entry.lastGroup} is both reserved and redeemed`);
  }
  for (const [ref, holder] of reservations) {
    const setup = setups.find((s) => s.tenantId === holder.tenantId && s.setup.id === holder.setupId)?.setup;
    if (!setup || setup.status !== 'reserved') fail(`reservation of key …${catalog.get(ref)?.lastGroup} points to a setup that is ${setup?.status ?? 'missing'}`);
  }

  // Requests: each acknowledged one exactly once, with its relationship once in the backend.
  const offers = customers.flatMap((x) => x.customer.offers.map((o) => ({ tenantId: x.tenantId, customerId: x.customer.tenantId, offer: o })));
  for (const o of acked.offer) {
    const found = offers.filter((x) => x.offer.id === o.offerId);
    if (found.length !== 1 || found[0]!.tenantId !== o.tenantId || found[0]!.customerId !== o.customerId) fail(`acknowledged offer ${o.offerId}: found ${found.length} times`);
  }
  for (const [id, n] of countBy(offers, (x) => x.offer.id)) if (n > 1) fail(`offer ${id} stored ${n} times`);
  const relationships = tenants.flatMap((t) => t.relationships.map((r) => ({ tenantId: t.tenantId, relationship: r })));
  for (const [key, n] of countBy(relationships, (x) => `${x.relationship.partnerTenantId}|${x.relationship.idempotencyKey}`)) if (n > 1) fail(`relationship request ${key} created ${n} times`);
  for (const { customerId, offer } of offers.filter((x) => x.offer.relationship)) {
    const held = relationships.filter((x) => x.tenantId === customerId && x.relationship.id === offer.relationship!.id).length;
    if (held !== 1) fail(`request ${offer.id}: its relationship is ${held} times in the backend`);
  }

  // The audit trail: every chain verifies, no entry twice, and no change without its entry.
  const entryIds = new Map<string, Set<string>>();
  for (const partner of new Set(partners.map((p) => p.tenantId))) {
    const { verdict } = await trail.verify(partner);
    if (!verdict.ok) fail(`audit trail of ${partner} does not verify: ${verdict.broken.problem} at position ${verdict.broken.position}`);
    const ids: string[] = [];
    for await (const entry of trail.entries(partner)) ids.push(entry.id);
    for (const [id, n] of countBy(ids, (id) => id)) if (n > 1) fail(`audit entry ${id} of ${partner} recorded ${n} times`);
    entryIds.set(partner, new Set(ids));
  }
  for (const partner of partners) for (const id of auditedChanges(partner.customers)) if (!entryIds.get(partner.tenantId)?.has(id)) fail(`a change has no audit entry ${id}`);

  // Renewals: once each in the backend and in the partner's mirror; the end date moved once per renewal.
  const tenantById = new Map(tenants.map((t) => [t.tenantId, t]));
  for (const r of acked.renew) {
    const sub = tenantById.get(r.customerId)?.subscriptions.find((s) => s.id === r.subscriptionId);
    const mirror = customers.find((x) => x.customer.tenantId === r.customerId)?.customer.subscriptions.find((s) => s.id === r.subscriptionId);
    const inBackend = sub?.renewals.filter((id) => id === r.requestId).length ?? 0;
    const inMirror = mirror?.renewalIds.filter((id) => id === r.requestId).length ?? 0;
    if (inBackend !== 1 || inMirror !== 1) fail(`acknowledged renewal ${r.requestId}: ${inBackend}× in the backend, ${inMirror}× in the partner's customer record`);
  }
  for (const t of tenants) {
    for (const sub of t.subscriptions) {
      let expected = addMonths(sub.startDate, 12);
      for (let i = 0; i < sub.renewals.length; i++) expected = addMonths(expected, 12);
      if (sub.endDate !== expected) fail(`${t.domain}: ends ${sub.endDate} after ${sub.renewals.length} renewals, expected ${expected}`);
      const mirror = customers.find((x) => x.customer.tenantId === t.tenantId)?.customer.subscriptions.find((s) => s.id === sub.id);
      if (mirror && mirror.endDate !== sub.endDate) {
        const lost = sub.renewals.filter((id) => !mirror.renewalIds.includes(id));
        fail(`${t.domain}: the partner's record says it ends ${mirror.endDate}, the backend ${sub.endDate} (renewals not mirrored: ${lost.join(', ')})`);
      }
    }
  }
  return violations;
}
