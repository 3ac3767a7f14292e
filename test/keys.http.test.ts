/**
 * Product keys for customers who already exist, over real HTTP: a renewal with several keys, keys
 * of another product, seats added to a subscription, a new product for a customer, and a renewal
 * that leaves fewer seats than licences assigned.
 */
import { expect } from 'chai';
import { startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { ACCOUNT as BASE_ACCOUNT, createCustomer, enterKeys, offerDelegation } from './support/journeys.js';
import { partnerState, storedTenants } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'e1b2c3d4-0000-4000-8000-0000000000c5';
const ACCOUNT = { ...BASE_ACCOUNT, language: 'en' };
const M365 = 'Microsoft 365 Business Standard';

/** The customer's tenant as the embedded backend holds it (each test sets up one). */
async function backendTenant(bot: RunningBot): Promise<any> {
  return (await storedTenants(bot))[0];
}

describe('product keys for existing customers over HTTP', function () {
  this.timeout(60_000);
  let bot: RunningBot;
  let connector: FakeConnector;
  let anna: TeamsUser;

  /** What the partner's stored state and the backend hold of each subscription: product, seats, end date. */
  async function subscriptions(): Promise<{ mirrored: string[]; backend: string[] }> {
    const line = (s: any) => `${s.product}: ${s.seats} seats, ${s.assignedSeats} assigned, ${s.startDate} to ${s.endDate}`;
    const customer = (await partnerState(bot, PARTNER)).customers[0]!;
    return { mirrored: customer.subscriptions.map(line), backend: (await backendTenant(bot)).subscriptions.map(line) };
  }

  async function customerCard(): Promise<Card> {
    return anna.reply('customer contoso');
  }

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot();
    anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
  });

  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  it('renews a 20-seat subscription made from two keys with two keys pasted in one field, and keeps its 20 seats', async () => {
    await createCustomer(anna, await bot.mintKeys(2, M365, 10, 12), ACCOUNT);
    expect(await subscriptions()).to.deep.equal({ mirrored: [`${M365}: 20 seats, 1 assigned, 2026-03-02 to 2027-03-02`], backend: [`${M365}: 20 seats, 1 assigned, 2026-03-02 to 2027-03-02`] });
    const entry = (await anna.press(await customerCard(), 'Renew')).card;
    expect(cardText(entry)).to.include('to keep 20 seats, enter keys for 20 seats');

    const keys = await bot.mintKeys(2, M365, 10, 12);
    const { review, result } = await enterKeys(anna, entry, [keys[0]!, `${keys[1]!.toLowerCase()}`]);
    const summary = cardText(review);
    expect(summary).to.include('Seats: 20 seats → 20 seats');
    expect(summary).to.include('End date: 2 March 2027 → 2 March 2028');
    for (const key of keys) {
      expect(summary, 'each key masked but for its last group').to.include(`•••••-•••••-•••••-•••••-${key.slice(-5)}`);
      expect(JSON.stringify(review)).not.to.include(key.slice(0, 11));
    }
    expect(summary).not.to.include('are assigned');
    expect(cardText(result)).to.include(`Renewed: ${M365} for Contoso GmbH now ends on 2 March 2028 and has 20 seats.`);
    expect(await subscriptions()).to.deep.equal({ mirrored: [`${M365}: 20 seats, 1 assigned, 2026-03-02 to 2028-03-02`], backend: [`${M365}: 20 seats, 1 assigned, 2026-03-02 to 2028-03-02`] });
    for (const key of keys) expect((await bot.app.embeddedCommerce.checkKey(key)).status).to.equal('redeemed');
    expect((await partnerState(bot, PARTNER)).setups.find((setup) => setup.target?.kind === 'renew'), 'the renewal is done').to.include({ status: 'completed' });
  });

  it('refuses keys of another product, naming both products, and changes nothing', async () => {
    await createCustomer(anna, await bot.mintKeys(1, M365, 10, 12), ACCOUNT);
    const entry = (await anna.press(await customerCard(), 'Renew')).card;
    const [right] = await bot.mintKeys(1, M365, 10, 12);
    const [other] = await bot.mintKeys(1, 'Office 365 E3', 10, 12);
    const before = await partnerState(bot, PARTNER);

    const refused = (await anna.press(entry, 'Next', { key: `${right!}\n${other!}` })).card;
    expect(cardText(refused)).to.include(`Key 2 is for Office 365 E3, not ${M365}. A renewal takes keys of the subscription's product only.`);
    expect(cardText(refused)).not.to.include('Key 1');
    expect(buttons(refused).map((b) => b.title), 'still the key entry').to.include('Next');
    expect(JSON.stringify(refused), 'what was typed stays in the field').to.include(other!);
    const after = await partnerState(bot, PARTNER);
    expect(after.setups, 'no setup saved').to.deep.equal(before.setups);
    expect(after.customers).to.deep.equal(before.customers);
    for (const key of [right!, other!]) expect((await bot.app.embeddedCommerce.checkKey(key)).status).to.equal('valid');

    // The backend refuses them too, should a forged summary get that far.
    const tenant = await backendTenant(bot);
    const handle = ((await bot.app.embeddedCommerce.checkKey(other!)) as { handle: string }).handle;
    const renewal = { idempotencyKey: 'forged', customerTenantId: tenant.tenantId, subscriptionId: tenant.subscriptions[0].id, keyHandles: [handle], today: '2026-03-02' };
    await bot.app.embeddedCommerce.renewSubscription(renewal).then(
      () => expect.fail('renewed with another product'),
      (error) => expect(error.code).to.equal('productMismatch'),
    );
    expect((await bot.app.embeddedCommerce.checkKey(other!)).status).to.equal('valid');
  });

  it('adds the seats of keys for a product the customer has to that subscription, until its end date', async () => {
    await createCustomer(anna, await bot.mintKeys(1, M365, 10, 12), ACCOUNT);
    bot.clock.advanceDays(91); // 1 June 2026
    const entry = (await anna.press(await customerCard(), 'Add product keys')).card;
    expect(cardText(entry)).to.include('Keys of a product Contoso GmbH already has add seats to that subscription until its end date.');
    const { review, result } = await enterKeys(anna, entry, await bot.mintKeys(1, M365, 5, 12), 'Add keys');
    expect(cardText(review)).to.include(`${M365}: 5 seats more in the existing subscription (10 seats → 15 seats), until its end date, 2 March 2027`);
    expect(cardText(result)).to.include(`The product keys were redeemed for Contoso GmbH: ${M365} has 15 seats until 2 March 2027.`);
    expect(cardText(result)).to.include(`${M365}: 1 of 15 seats assigned, ends 2 March 2027`);
    expect(await subscriptions()).to.deep.equal({ mirrored: [`${M365}: 15 seats, 1 assigned, 2026-03-02 to 2027-03-02`], backend: [`${M365}: 15 seats, 1 assigned, 2026-03-02 to 2027-03-02`] });
  });

  it("starts a new subscription with the keys' term for a product the customer lacks; it shows on the customer card and gets its reminders", async () => {
    await createCustomer(anna, await bot.mintKeys(1, M365, 10, 12), ACCOUNT);
    bot.clock.advanceDays(30); // 1 April 2026
    // The typed command opens the same key entry as the customer card's button.
    const entry = await anna.reply('add keys to contoso');
    expect(cardText(entry)).to.include('Add product keys for Contoso GmbH');
    const keys = [...(await bot.mintKeys(2, 'Office 365 E3', 5, 24)), ...(await bot.mintKeys(1, M365, 2, 12))];
    const { review, result } = await enterKeys(anna, entry, keys, 'Add keys');
    expect(cardText(review)).to.include('Office 365 E3: a new subscription with 10 seats for 24 months, from 1 April 2026 to 1 April 2028');
    expect(cardText(review)).to.include(`${M365}: 2 seats more in the existing subscription (10 seats → 12 seats)`);
    expect(cardText(result)).to.include('Office 365 E3: 0 of 10 seats assigned, ends 1 April 2028');
    expect(cardText(await customerCard())).to.include('Office 365 E3: 0 of 10 seats assigned, ends 1 April 2028');
    expect(await subscriptions()).to.deep.equal({
      mirrored: [`${M365}: 12 seats, 1 assigned, 2026-03-02 to 2027-03-02`, 'Office 365 E3: 10 seats, 0 assigned, 2026-04-01 to 2028-04-01'],
      backend: [`${M365}: 12 seats, 1 assigned, 2026-03-02 to 2027-03-02`, 'Office 365 E3: 10 seats, 0 assigned, 2026-04-01 to 2028-04-01'],
    });
    const started = (await partnerState(bot, PARTNER)).customers[0]!.subscriptions[1]!;
    expect(started.partnerOfRecord, "the customer's Partner of Record").to.equal('1234567');

    // 60 days before its end, at nine in Berlin (CEST).
    bot.clock.current = new Date('2028-02-01T07:00:00Z');
    const from = connector.sent.length;
    await bot.app.reminders.run();
    const titles = connector.since(from, anna.conversationId).flatMap((s) => (s.activity.attachments ?? []).map((a: any) => cardText(a.content).split('\n')[0]));
    expect(titles).to.deep.equal(['Office 365 E3 for Contoso GmbH ends in 60 days']);
  });

  it('warns before confirming a renewal with fewer seats than licenses are assigned', async () => {
    await createCustomer(anna, await bot.mintKeys(1, M365, 10, 12), ACCOUNT);
    // Two more licensed users, added as delegated admin: three licenses assigned.
    const customer = (await partnerState(bot, PARTNER)).customers[0]!;
    const eva = new TeamsUser({ botUrl: bot.url, connector, tenantId: customer.tenantId, userId: customer.admin.objectId, name: 'Eva Muster' });
    await eva.say('hello');
    await offerDelegation(anna, 'contoso');
    await eva.press(eva.latestCardWith('offer.accept'), 'Accept');
    for (const signInName of ['max', 'mia']) await anna.press(await anna.reply('add user to contoso'), 'Add user', { firstName: 'Max', lastName: 'Muster', signInName });

    const entry = (await anna.press(await customerCard(), 'Renew')).card;
    const { review, result } = await enterKeys(anna, entry, await bot.mintKeys(1, M365, 2, 12));
    expect(cardText(review)).to.include('Seats: 10 seats → 2 seats');
    expect(cardText(review)).to.include('The keys pay for 2 seats, but 3 seats are assigned. After the renewal, unassign 1 seat in the Microsoft 365 admin center, or add keys for more seats before you renew.');
    expect(buttons(review).map((b) => b.title)).to.deep.equal(['Remove', 'Renew', 'Add more keys', 'Cancel']);
    expect(cardText(result)).to.include('now ends on 2 March 2028 and has 2 seats.');
    expect(await subscriptions()).to.deep.equal({ mirrored: [`${M365}: 2 seats, 3 assigned, 2026-03-02 to 2028-03-02`], backend: [`${M365}: 2 seats, 3 assigned, 2026-03-02 to 2028-03-02`] });
  });
});
