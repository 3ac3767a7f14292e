import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import type { Commerce } from '../src/commerce/commerce.js';
import { DelegationService, type OfferChannel } from '../src/delegation/delegationService.js';
import type { Customer } from '../src/domain/customer.js';
import { answer, expire, isDue, newOffer, offeredRelationships, type Offer } from '../src/domain/delegation.js';
import { GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR } from '../src/domain/entraRoles.js';
import { approve, lockForApproval, newRelationship, terminate, type Relationship } from '../src/domain/relationship.js';
import { JsonFileStore } from '../src/store/store.js';
import { fileAuditTrail } from './support/fileAuditTrail.js';
import { openFileRepositories } from '../src/store/files/index.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';

const now = new Date('2026-03-02T09:00:00Z');
const anna = { id: 'anna', name: 'Anna' };
const eva = { id: 'eva', name: 'Eva' };

describe('delegation rules', () => {
  it('shows each offer as its relationship at the moment asked, and an accepted offer of the old kind as Global Administrator with no end', () => {
    const requested = requestedRelationship('r1');
    const offer = newOffer('11111111-1111-4111-8111-111111111111', 'hi', anna, now, 90, undefined, requested);
    const old = answer(newOffer('22222222-2222-4222-8222-222222222222', 'hi', anna, now, 90), true, eva, now);
    const customer = { tenantId: 'c1', name: 'Contoso', offers: [old, offer] };
    const [legacy, pending] = offeredRelationships(customer, now).map((r) => r.relationship);
    expect(legacy).to.include({ id: old.id, status: 'active', legacy: true });
    expect(legacy!.endDateTime, 'no end date').to.equal(undefined);
    expect(legacy!.accessDetails.unifiedRoles).to.deep.equal([{ roleDefinitionId: GLOBAL_ADMINISTRATOR }]);
    expect(pending).to.include({ status: 'approvalPending' });
    // Unanswered, it runs out with its offer, 90 days on.
    expect(offeredRelationships(customer, new Date('2026-05-31T09:00:00Z'))[1]!.relationship).to.include({ status: 'expired' });
    const approved = (approve(requested, now) as { relationship: Relationship }).relationship;
    const active = { ...offer, status: 'accepted' as const, relationship: approved };
    expect(offeredRelationships({ ...customer, offers: [active] }, new Date('2028-02-15T00:00:00Z'))[0]!.relationship).to.include({ status: 'expiring' });
    expect(offeredRelationships({ ...customer, offers: [active] }, new Date('2028-03-02T09:00:00Z'))[0]!.relationship).to.include({ status: 'expired' });
    // A declined or withdrawn offer of the old kind never held anything.
    expect(offeredRelationships({ ...customer, offers: [{ ...old, status: 'declined' }] }, now)).to.deep.equal([]);
  });

  it('expires a pending offer on the day its validity ends, not before', () => {
    const offer = newOffer('11111111-1111-4111-8111-111111111111', 'hi', anna, now, 90);
    expect(offer.expiresAt).to.equal('2026-05-31T09:00:00.000Z');
    expect(isDue(offer, new Date('2026-05-31T08:59:59Z'))).to.equal(false);
    expect(isDue(offer, new Date('2026-05-31T09:00:00Z'))).to.equal(true);
    expect(isDue(answer(offer, true, eva, now), new Date('2027-01-01T00:00:00Z'))).to.equal(false);
    expect(expire(offer, now)).to.include({ status: 'expired', partnerNotice: 'pending' });
  });
});

/** A request for User Administrator for two years, sent to the customer. */
function requestedRelationship(id: string, customerTenantId = 'c1'): Relationship {
  const created = newRelationship({ id, displayName: `Request ${id}`, partnerTenantId: 'partner', customer: { tenantId: customerTenantId, displayName: 'Contoso' }, roleIds: [USER_ADMINISTRATOR], duration: 'P730D', autoExtendDuration: 'PT0S' }, now);
  return (lockForApproval(created, now) as { relationship: Relationship }).relationship;
}

function customer(tenantId: string, offer: Offer): Customer {
  return {
    tenantId,
    name: `Customer ${tenantId}`,
    domain: `${tenantId}.onmicrosoft.com`,
    country: 'DE',
    language: 'en',
    admin: { name: 'Eva', email: 'e@x', phone: '+49891234567', userPrincipalName: `eva@${tenantId}.onmicrosoft.com`, objectId: 'eva' },
    createdAt: now.toISOString(),
    createdBy: anna,
    setupId: '11111111-1111-4111-8111-111111111111',
    subscriptions: [],
    offers: [offer],
    addedUsers: [],
  };
}

describe('delegation service', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-delegation-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('expires only what is still pending when the sweep reaches it, not what its copy showed', async () => {
    const store = await JsonFileStore.open(dir);
    const first = newOffer('11111111-1111-4111-8111-111111111111', 'hi', anna, now, 90, undefined, requestedRelationship('r1', 'c1'));
    const second = newOffer('22222222-2222-4222-8222-222222222222', 'hi', anna, now, 90, undefined, requestedRelationship('r2', 'c2'));
    await store.partner('partner').update((doc) => void doc.customers.push(customer('c1', first), customer('c2', second)));
    // The sweep waits at the first customer's card while the partner withdraws the second offer.
    let reached!: () => void;
    const atFirstCard = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const channel: OfferChannel = {
      sendOffer: async () => ({ ok: false, unreachable: false }),
      refreshOffer: async (link) => {
        if (link.customer.tenantId !== 'c1') return;
        reached();
        await held;
      },
      notifyPartner: async () => true,
      remindPartner: async () => true,
    };
    const later = new Date(Date.parse(first.expiresAt));
    // The backend has nothing answered; it withdraws what the partner ends.
    const commerce = {
      listRelationships: async () => [],
      terminateRelationship: async () => (terminate(second.relationship!, 'partner', now) as { relationship: Relationship }).relationship,
    } as unknown as Commerce;
    const { repositories } = await openFileRepositories(dir, DEFAULT_LIFECYCLE, store);
    const service = new DelegationService(repositories, commerce, channel, () => later, 90, pino({ level: 'silent' }), fileAuditTrail(store, dir, () => later));

    const sweep = service.sweep();
    await atFirstCard;
    expect(await service.endByPartner({ tenantId: 'partner', userId: anna.id, name: anna.name }, 'c2', 'r2')).to.have.nested.property('relationship.status', 'terminated');
    release();
    const expired = await sweep;
    expect(store.partner('partner').data.customers.map((c) => c.offers[0]!.status)).to.deep.equal(['expired', 'withdrawn']);
    expect(expired, 'offers expired').to.equal(1);
    await store.flush();
  });
  it('sends again at the next sweep a last end reminder recorded but not sent, once it is', async () => {
    const store = await JsonFileStore.open(dir);
    const approved = (approve(requestedRelationship('r1'), now) as { relationship: Relationship }).relationship;
    // The 1-day reminder was recorded, and the process died before (or while) sending it.
    const offer: Offer = { ...answer(newOffer('11111111-1111-4111-8111-111111111111', 'hi', anna, now, 90, undefined, approved), true, eva, now), partnerNotice: 'sent', reminders: ['before30', 'before7', 'before1'], reminderDue: 'before1' };
    await store.partner('partner').update((doc) => void doc.customers.push(customer('c1', offer)));
    const sent: string[] = [];
    let reachable = false;
    const channel: OfferChannel = {
      sendOffer: async () => ({ ok: false, unreachable: false }),
      refreshOffer: async () => undefined,
      notifyPartner: async () => true,
      remindPartner: async (_link, _offer, kind) => (reachable ? (sent.push(kind), true) : false),
    };
    const commerce = { listRelationships: async () => [approved] } as unknown as Commerce;
    const { repositories } = await openFileRepositories(dir, DEFAULT_LIFECYCLE, store);
    const service = new DelegationService(repositories, commerce, channel, () => now, 90, pino({ level: 'silent' }), fileAuditTrail(store, dir, () => now));
    await service.sweep();
    expect(sent, 'the chat cannot be reached').to.deep.equal([]);
    reachable = true;
    await service.sweep();
    await service.sweep();
    expect(sent).to.deep.equal(['before1']);
    expect(store.partner('partner').data.customers[0]!.offers[0]).to.not.have.property('reminderDue');
    await store.flush();
  });
});
