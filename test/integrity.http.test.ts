/** Setups hold up against reused ids from other tenants, channels, blocked keys, races and double sweeps. */
import { expect } from 'chai';
import { startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { reservationHolders } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'c1b2c3d4-0000-4000-8000-000000000001';
const OTHER_PARTNER = 'c1b2c3d4-0000-4000-8000-000000000002';

describe('setup integrity over HTTP', () => {
  let bot: RunningBot;
  let connector: FakeConnector;
  const user = (tenantId: string, userId: string, conversationType: 'personal' | 'channel' = 'personal') =>
    new TeamsUser({ botUrl: bot.url, connector, tenantId, userId, name: userId, conversationType });

  async function review(who: TeamsUser, keys: string[]): Promise<Card> {
    const [entry] = await who.say('redeem');
    return (await who.press(entry!, 'Next', { key0: keys.join('\n') })).card;
  }

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot();
  });
  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  it('does not let another tenant take over or free a reservation by reusing its setup id', async () => {
    const [key] = await bot.mintKeys(1);
    const anna = user(PARTNER, 'anna');
    const summary = await review(anna, [key!]);
    await anna.press(summary, 'Product keys were added');
    const setupId = buttons(summary).find((b) => b.verb === 'redeem.confirm')!.data.setupId;

    const eve = user(OTHER_PARTNER, 'eve');
    const forged = await eve.invoke('redeem.next', { setupId, rev: 0, fieldCount: 1, key0: key });
    expect(cardText(forged.card)).to.include('Key 1 is already being redeemed in another setup.');
    await eve.invoke('setup.discard', { setupId, rev: 1 });
    // Still held by Anna's setup alone (when it was reserved tells nothing more: the clock stands still).
    expect((await reservationHolders(bot)).map(({ tenantId, setupId }) => ({ tenantId, setupId }))).to.deep.equal([{ tenantId: PARTNER, setupId }]);
  });

  it('keeps key entry out of team channels, where a card shows to everyone', async () => {
    const [key] = await bot.mintKeys(1);
    const inChannel = user(PARTNER, 'anna', 'channel');
    const [answer] = await inChannel.say('redeem');
    expect(cardText(answer!)).to.include('setups happen in a personal chat with me');
    const pressed = await inChannel.invoke('redeem.next', { setupId: '11111111-1111-4111-8111-111111111111', rev: 0, fieldCount: 1, key0: key });
    expect(cardText(pressed.card)).to.include('setups happen in a personal chat');
    expect(JSON.stringify(pressed.card)).not.to.include(key!.slice(0, 5));
    expect(await reservationHolders(bot)).to.deep.equal([]);
  });

  it('shows back a product key typed into a text command only as its last group', async () => {
    const [key] = await bot.mintKeys(1);
    const anna = user(PARTNER, 'anna');
    for (const text of [`customers ${key}`, `customer ${key}`, `delegate ${key!.replace(/-/g, '')}`]) {
      const [answer] = await anna.say(text);
      const shown = JSON.stringify(answer);
      expect(shown, text).to.include(key!.slice(-5));
      expect(shown, text).not.to.include(key!.slice(0, 5));
    }
  });

  it('re-checks keys when confirming, so one blocked after the summary is not reserved', async () => {
    const keys = await bot.mintKeys(2);
    const anna = user(PARTNER, 'anna');
    const summary = await review(anna, keys);
    await bot.app.embeddedCommerce.blockKey(keys[1]!);
    const answer = cardText((await anna.press(summary, 'Product keys were added')).card);
    expect(answer).to.include(`The key ending in ${keys[1]!.slice(-5)} can no longer be reserved`);
    expect(answer).to.include('10 seats from 1 key');
    expect(await reservationHolders(bot)).to.deep.equal([]);
  });

  it('gives all shared keys to one of two setups confirmed at the same moment', async () => {
    const keys = await bot.mintKeys(2);
    const anna = user(PARTNER, 'anna');
    const eve = user(OTHER_PARTNER, 'eve');
    const [a, b] = [await review(anna, keys), await review(eve, [keys[1]!, keys[0]!])];
    await Promise.all([anna.press(a, 'Product keys were added'), eve.press(b, 'Product keys were added')]);
    const holders = await reservationHolders(bot);
    expect(holders).to.have.length(2);
    expect(new Set(holders.map((h) => h.tenantId)).size, 'one tenant holds both').to.equal(1);
  });

  it('treats a press for a key that is not on the summary as out of date, changing nothing', async () => {
    const anna = user(PARTNER, 'anna');
    const summary = await review(anna, await bot.mintKeys(1));
    const confirm = buttons(summary).find((b) => b.verb === 'redeem.confirm')!;
    const forged = await anna.invoke('redeem.removeKey', { ...confirm.data, keyId: '99999999-9999-4999-8999-999999999999' });
    expect(cardText(forged.card)).to.include('This card was out of date');
    expect(cardText((await anna.press(summary, 'Product keys were added')).card)).to.include('Product keys were added');
  });

  it('sends one release notice when two sweeps meet', async () => {
    const anna = user(PARTNER, 'anna');
    await anna.press(await review(anna, await bot.mintKeys(1)), 'Product keys were added');
    bot.clock.advanceDays(15);
    const from = connector.sent.length;
    await Promise.all([bot.app.sweep(), bot.app.sweep()]);
    expect(connector.since(from)).to.have.length(1);
  });
});
