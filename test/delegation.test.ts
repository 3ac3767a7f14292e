import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import type { Commerce } from '../src/commerce/commerce.js';
import { DelegationService, type OfferChannel } from '../src/delegation/delegationService.js';
import type { Customer } from '../src/domain/customer.js';
import { answer, delegationState, end, expire, isDue, newOffer, withdraw, type Offer } from '../src/domain/delegation.js';
import { JsonFileStore } from '../src/store/store.js';
import { AuditTrail } from '../src/partners/auditTrail.js';
import { FileAuditLog } from '../src/store/auditFile.js';

const now = new Date('2026-03-02T09:00:00Z');
const anna = { id: 'anna', name: 'Anna' };
const eva = { id: 'eva', name: 'Eva' };

describe('delegation rules', () => {
  it('has no delegation without offers, a pending one after sending, an active one after acceptance', () => {
    expect(delegationState([])).to.deep.equal({ state: 'none' });
    const offer = newOffer('11111111-1111-4111-8111-111111111111', 'hi', anna, now, 90);
    expect(delegationState([offer]).state).to.equal('pending');
    const accepted = answer(offer, true, eva, now);
    expect(delegationState([accepted])).to.deep.equal({ state: 'active', offer: accepted });
    expect(accepted.partnerNotice).to.equal('pending');
    expect(delegationState([end(accepted, eva, now)]).state).to.equal('none');
    expect(delegationState([answer(offer, false, eva, now)]).state).to.equal('none');
    expect(delegationState([withdraw(offer, anna, now)]).state).to.equal('none');
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
    const first = newOffer('11111111-1111-4111-8111-111111111111', 'hi', anna, now, 90);
    const second = newOffer('22222222-2222-4222-8222-222222222222', 'hi', anna, now, 90);
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
    };
    const later = new Date(Date.parse(first.expiresAt));
    const service = new DelegationService(store, {} as Commerce, channel, () => later, 90, pino({ level: 'silent' }), new AuditTrail(store, FileAuditLog.in(dir), () => later, 730, pino({ level: 'silent' })));

    const sweep = service.sweep();
    await atFirstCard;
    expect(await service.withdraw({ tenantId: 'partner', userId: anna.id, name: anna.name }, 'c2', second.id)).to.have.nested.property('offer.status', 'withdrawn');
    release();
    const expired = await sweep;
    expect(store.partner('partner').data.customers.map((c) => c.offers[0]!.status)).to.deep.equal(['expired', 'withdrawn']);
    expect(expired, 'offers expired').to.equal(1);
    await store.flush();
  });
});
