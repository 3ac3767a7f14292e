import { expect } from 'chai';
import { answer, delegationState, end, expire, isDue, newOffer, withdraw } from '../src/domain/delegation.js';

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
