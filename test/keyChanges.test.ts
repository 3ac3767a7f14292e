/** The rules for keys of existing customers: what a renewal with several keys and added keys do. */
import { expect } from 'chai';
import { additionPlan, renewalMismatch, renewalPlan, seatsShort } from '../src/domain/keyChanges.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';

const M365 = 'Microsoft 365 Business Standard';
const key = (seats: number, product = M365, termMonths = 12) => ({ product, seats, termMonths });
const subscription = { id: 's1', product: M365, seats: 20, assignedSeats: 12, endDate: '2027-03-02', billing: 'partner' as const };

describe('keys for existing customers', () => {
  it("renews with the keys' seats together and their term from the end date, or from today once lapsed", () => {
    expect(renewalPlan(subscription, [key(10), key(10)], '2027-01-31', DEFAULT_LIFECYCLE)).to.deep.equal({ seatsBefore: 20, seatsAfter: 20, assignedSeats: 12, endBefore: '2027-03-02', endAfter: '2028-03-02' });
    expect(renewalPlan(subscription, [key(5)], '2027-04-10', DEFAULT_LIFECYCLE)).to.include({ seatsAfter: 5, endAfter: '2028-04-10' });
    expect(renewalPlan(subscription, [key(5)], '2027-07-01', DEFAULT_LIFECYCLE)).to.deep.equal({ refused: 'deprovisioned' });
    expect(renewalPlan(subscription, [], '2027-01-31', DEFAULT_LIFECYCLE)).to.deep.equal({ refused: 'noKeys' });
  });

  it('refuses keys of another product or of another term than the keys before them', () => {
    expect(renewalMismatch(subscription, key(10, 'Office 365 E3'), [])).to.deep.equal({ code: 'otherProduct', keyProduct: 'Office 365 E3', product: M365 });
    expect(renewalMismatch(subscription, key(10, M365, 24), [key(10)])).to.deep.equal({ code: 'otherTerm', months: 24, firstMonths: 12 });
    expect(renewalMismatch(subscription, key(10), [key(5)])).to.equal(undefined);
    expect(renewalPlan(subscription, [key(10), key(10, 'Office 365 E3')], '2027-01-31', DEFAULT_LIFECYCLE)).to.deep.equal({ refused: 'productMismatch' });
    expect(renewalPlan(subscription, [key(10), key(10, M365, 1)], '2027-01-31', DEFAULT_LIFECYCLE)).to.deep.equal({ refused: 'mixedTerms' });
  });

  it('counts the licenses assigned beyond the seats a renewal leaves', () => {
    const plan = renewalPlan(subscription, [key(10)], '2027-01-31', DEFAULT_LIFECYCLE);
    expect('refused' in plan ? plan : seatsShort(plan)).to.equal(2);
  });

  it("adds seats to an active, partner-billed subscription of the product until its end, and starts the others with the keys' term", () => {
    const steps = additionPlan([subscription, { ...subscription, id: 's2', product: 'Exchange Online', billing: 'direct' }], [key(5), key(3), key(10, 'Office 365 E3', 24), key(2, 'Exchange Online')], '2026-06-01', DEFAULT_LIFECYCLE);
    expect(steps).to.deep.equal([
      { kind: 'addSeats', subscriptionId: 's1', product: M365, keys: 2, seatsBefore: 20, seatsAfter: 28, endDate: '2027-03-02' },
      { kind: 'newSubscription', product: 'Office 365 E3', keys: 1, seats: 10, termMonths: 24, startDate: '2026-06-01', endDate: '2028-06-01' },
      { kind: 'newSubscription', product: 'Exchange Online', keys: 1, seats: 2, termMonths: 12, startDate: '2026-06-01', endDate: '2027-06-01' },
    ]);
    expect(additionPlan([subscription], [key(5)], '2027-03-03', DEFAULT_LIFECYCLE), 'an expired subscription gets no seats').to.deep.equal([
      { kind: 'newSubscription', product: M365, keys: 1, seats: 5, termMonths: 12, startDate: '2027-03-03', endDate: '2028-03-03' },
    ]);
  });
});
