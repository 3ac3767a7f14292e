/** The redemption journey over real HTTP: restify + CloudAdapter + JSON files + a local connector. */
import { expect } from 'chai';
import { startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, inputs, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { createCustomer, reserveKeys } from './support/journeys.js';
import { partnerState, reservationCount, storedTexts } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'a1b2c3d4-0000-4000-8000-000000000001';
const OTHER_PARTNER = 'a1b2c3d4-0000-4000-8000-000000000002';

describe('redeeming product keys over HTTP', () => {
  let bot: RunningBot;
  let connector: FakeConnector;
  let anna: TeamsUser;

  const user = (tenantId: string, userId: string, name: string, locale = 'en-US') =>
    new TeamsUser({ botUrl: bot.url, connector, tenantId, userId, name, locale });

  /** Opens the entry card, types the keys into the first field and presses Next. */
  async function enterKeys(who: TeamsUser, text: string): Promise<Card> {
    const [entry] = await who.say('redeem');
    return (await who.press(entry!, 'Next', { key0: text })).card;
  }

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot();
    anna = user(PARTNER, 'user-anna', 'Anna Berg');
  });

  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  it('welcomes on install and on help or unknown text, offering the redeem flow', async () => {
    const [installed] = await anna.install();
    expect(cardText(installed!)).to.include('Partner Setup Bot');
    expect(buttons(installed!).map((b) => b.title)).to.include('Redeem product keys');
    for (const text of ['help', 'what is this?']) {
      const [card] = await anna.say(text);
      expect(cardText(card!)).to.include('I help you set up Microsoft 365');
    }
  });

  it('redeems two keys to the confirmation, showing only the last group of each', async () => {
    const keys = await bot.mintKeys(2);
    const [entry] = await anna.say('redeem');
    const withField = (await anna.press(entry!, 'Add another key', { key0: keys[0]!.toLowerCase() })).card;
    expect(inputs(withField)).to.deep.equal({ key0: keys[0]!.toLowerCase(), key1: '' });

    const review = (await anna.press(withField, 'Next', { key1: keys[1]!.replace(/-/g, ' ') })).card;
    const text = cardText(review);
    expect(text).to.include('Does everything look right?');
    expect(text).to.include(`•••••-•••••-•••••-•••••-${keys[0]!.slice(-5)}`);
    expect(text).to.include('Microsoft 365 Business Standard: 20 seats from 2 keys');
    for (const key of keys) expect(JSON.stringify(review)).not.to.include(key.slice(0, 11));

    const receipt = (await anna.press(review, 'Product keys were added')).card;
    expect(cardText(receipt)).to.include('Product keys were added');
    expect(cardText(receipt)).to.include('reserved for your organization until 16 March 2026');
    expect(buttons(receipt).map((b) => b.title), 'a receipt offers only the next step').to.deep.equal(["Step 2: Create the customer's account"]);
    expect(await reservationCount(bot)).to.equal(2);

    const [welcome] = await anna.say('help');
    expect(buttons(welcome!).map((b) => b.title)).to.include('Continue your setup with 2 keys');
  });

  it('accepts several keys pasted into one field, separated by lines, commas or spaces', async () => {
    const keys = await bot.mintKeys(3);
    const review = await enterKeys(anna, `${keys[0]}\n${keys[1]}, ${keys[2]!.replace(/-/g, '')}`);
    expect(cardText(review)).to.include('30 seats from 3 keys');
  });

  it('names each wrong key, keeps what was typed, and saves nothing', async () => {
    const [good, redeemedElsewhere] = await bot.mintKeys(2);
    await enterKeys(user(OTHER_PARTNER, 'user-olaf', 'Olaf'), redeemedElsewhere!).then((review) =>
      user(OTHER_PARTNER, 'user-olaf', 'Olaf').press(review, 'Product keys were added'),
    );
    const short = good!.replace(/-/g, '').slice(0, 24);
    const typed = [good, short, good, 'ABCDE-FGHIJ-KLMNO-PQRST-UVWX§', 'BBBBB-BBBBB-BBBBB-BBBBB-BBBBB', redeemedElsewhere].join('\n');
    const card = await enterKeys(anna, typed);
    const text = cardText(card);
    expect(text).to.include('Key 2 has 24 characters; a product key has 25.');
    expect(text).to.include('Key 3 was entered twice (it is the same as key 1).');
    expect(text).to.include('Key 4 contains §');
    expect(text).to.include('Key 5 is not a valid product key');
    expect(text).to.include('Key 6 is already being redeemed in another setup.');
    expect(text).not.to.include('Olaf');
    expect(inputs(card).key0).to.equal(typed);
    expect(await partnerState(bot, PARTNER).catch(() => ({ setups: [] }))).to.have.property('setups').that.is.empty;
  });

  it('says when a key is blocked or already redeemed, and asks for at least one key', async () => {
    const [blocked] = await bot.mintKeys(1);
    await bot.app.embeddedCommerce.blockKey(blocked!);
    expect(cardText(await enterKeys(anna, blocked!))).to.include('Key 1 is blocked');
    expect(cardText(await enterKeys(anna, '   '))).to.include('Enter at least one product key.');
  });

  it('removes a key and goes back to add more from the summary', async () => {
    const keys = await bot.mintKeys(3);
    let card = await enterKeys(anna, `${keys[0]}\n${keys[1]}`);
    card = (await anna.press(card, 'Remove', {}, 0)).card;
    expect(cardText(card)).to.include('10 seats from 1 key');
    expect(cardText(card)).not.to.include(keys[0]!.slice(-5));
    card = (await anna.press(card, 'Add more keys')).card;
    expect(cardText(card)).to.include(`•••••-${keys[1]!.slice(-5)}`);
    card = (await anna.press(card, 'Next', { key0: keys[1]! })).card;
    expect(cardText(card)).to.include('Key 1 is already in this setup.');
    card = (await anna.press(card, 'Next', { key0: keys[2]! })).card;
    expect(cardText(card)).to.include('20 seats from 2 keys');
  });

  it('survives a restart between the summary and the confirmation', async () => {
    const keys = await bot.mintKeys(2);
    const review = await enterKeys(anna, keys.join('\n'));
    await bot.restart();
    anna.options.botUrl = bot.url;
    const receipt = (await anna.press(review, 'Product keys were added')).card;
    expect(cardText(receipt)).to.include('Product keys were added');
    expect(await reservationCount(bot)).to.equal(2);
  });

  it('answers a double press and an old card without changing anything', async () => {
    const keys = await bot.mintKeys(2);
    const review = await enterKeys(anna, keys.join('\n'));
    const [first, second] = await Promise.all([anna.press(review, 'Product keys were added'), anna.press(review, 'Product keys were added')]);
    const texts = [cardText(first.card), cardText(second.card)];
    expect(texts.filter((t) => t.includes('These product keys were already added'))).to.have.length(1);
    expect(await reservationCount(bot)).to.equal(2);
    const setups = (await partnerState(bot, PARTNER)).setups;
    expect(setups).to.have.length(1);

    const again = (await anna.press(review, 'Remove')).card;
    expect(cardText(again)).to.include('already added');
    expect((await partnerState(bot, PARTNER)).setups[0]!.keys).to.have.length(2);
  });

  it('refuses another tenant and lets a colleague see but not change a setup', async () => {
    const keys = await bot.mintKeys(1);
    const review = await enterKeys(anna, keys[0]!);
    const setupId = buttons(review).find((b) => b.verb === 'redeem.confirm')!.data.setupId;
    const before = (await partnerState(bot, PARTNER)).setups;

    const outsider = user(OTHER_PARTNER, 'user-eve', 'Eve');
    for (const verb of ['redeem.confirm', 'setup.discard', 'redeem.back']) {
      const { httpStatus, card } = await outsider.invoke(verb, { setupId, rev: 1 });
      expect(httpStatus).to.equal(200);
      expect(cardText(card)).to.include('does not exist or is not available to you');
      expect(cardText(card)).not.to.include(keys[0]!.slice(-5));
    }
    const opened = await outsider.invoke('setup.open', { setupId });
    expect(cardText(opened.card)).to.include('not available to you');

    const colleague = user(PARTNER, 'user-ben', 'Ben');
    const [welcome] = await colleague.say('help');
    expect(cardText(welcome!)).to.include("Anna Berg's setup with 1 key");
    const refused = await colleague.invoke('redeem.confirm', { setupId, rev: 1 });
    expect(cardText(refused.card)).to.include('This setup belongs to Anna Berg');
    expect(buttons(refused.card)).to.have.length(0);
    expect((await partnerState(bot, PARTNER)).setups).to.deep.equal(before);
    expect(await reservationCount(bot)).to.equal(0);
  });

  it('discards a setup, releasing its keys, and refuses its old buttons', async () => {
    const keys = await bot.mintKeys(1);
    const review = await enterKeys(anna, keys[0]!);
    const receipt = (await anna.press(review, 'Product keys were added')).card;
    expect(cardText(receipt)).to.equal(
      [
        'Product keys were added',
        'These keys are reserved for your organization until 16 March 2026. If they are not used by then, they are released again.',
        `•••••-•••••-•••••-•••••-${keys[0]!.slice(-5)}`,
        'Microsoft 365 Business Standard · 10 seats · 12 months',
        'Total per product',
        'Microsoft 365 Business Standard: 10 seats from 1 key',
        'Next step',
        "Next, create your customer's account from these keys. You can stop here: this setup is kept, and the welcome card offers to continue it.",
      ].join('\n'),
    );
    expect(buttons(receipt).map((b) => b.title)).to.deep.equal(["Step 2: Create the customer's account"]);
    const [welcome] = await anna.say('help');
    const discarded = (await anna.press(welcome!, 'Discard')).card;
    expect(cardText(discarded)).to.include('Setup discarded');
    expect(await reservationCount(bot)).to.equal(0);
    expect(cardText((await anna.press(review, 'Product keys were added')).card)).to.include('This setup was discarded, so nothing was changed.');
    const ben = user(PARTNER, 'user-ben', 'Ben');
    expect(cardText(await enterKeys(ben, keys[0]!))).to.include('Does everything look right?');
  });

  it('releases a reservation that is not used in time and tells the partner', async () => {
    const keys = await bot.mintKeys(2);
    await anna.press(await enterKeys(anna, keys.join('\n')), 'Product keys were added');
    bot.clock.advanceDays(13);
    expect(await bot.app.sweep()).to.equal(0);
    bot.clock.advanceDays(1);
    const from = connector.sent.length;
    expect(await bot.app.sweep()).to.equal(1);
    const notices = connector.since(from, anna.conversationId).map((s) => s.activity.text);
    expect(notices).to.have.length(1);
    expect(notices[0]).to.include(`was not continued by 16 March 2026, so its keys were released`);
    expect(notices[0]).to.include(keys[1]!.slice(-5));
    expect(notices[0]).not.to.include(keys[1]!.slice(0, 5));
    expect(await reservationCount(bot)).to.equal(0);
    expect(await bot.app.sweep(), 'a second sweep releases nothing more').to.equal(0);
    expect(connector.since(from)).to.have.length(1);
    const [welcome] = await anna.say('help');
    expect(cardText(welcome!)).not.to.include('Unfinished setups');
  });

  it('drops closed setups from the setup book after their retention, keeping open ones and customers', async () => {
    const keys = await bot.mintKeys(4);
    const discardedReview = await enterKeys(anna, keys[0]!);
    const [welcome] = await anna.say('help');
    await anna.press(welcome!, 'Discard');
    await createCustomer(anna, [keys[1]!]);
    await reserveKeys(anna, [keys[2]!]);
    await enterKeys(anna, keys[3]!);
    const statuses = async () => (await partnerState(bot, PARTNER)).setups.map((s: { status: string }) => s.status).sort();
    expect(await statuses()).to.deep.equal(['completed', 'discarded', 'reserved', 'reviewing']);

    bot.clock.advanceDays(14);
    expect(await bot.app.sweep(), 'the reservation runs out').to.equal(1);
    bot.clock.advanceDays(15);
    await bot.app.sweep();
    expect(await statuses(), '29 days after closing: all kept').to.deep.equal(['completed', 'discarded', 'released', 'reviewing']);
    bot.clock.advanceDays(1);
    await bot.app.sweep();
    expect(await statuses(), '30 days after closing: the completed and the discarded setup are gone').to.deep.equal(['released', 'reviewing']);
    expect((await partnerState(bot, PARTNER)).customers.map((c: { name: string }) => c.name)).to.deep.equal(['Contoso GmbH']);
    expect(cardText((await anna.press(discardedReview, 'Product keys were added')).card)).to.include('This setup does not exist or is not available to you. Nothing was changed.');

    bot.clock.advanceDays(14);
    await bot.app.sweep();
    expect(await statuses(), 'the released one 30 days after its release; the unfinished one stays').to.deep.equal(['reviewing']);
    const [later] = await anna.say('help');
    expect(cardText(later!)).to.include('Unfinished setups');
  });

  it('locks redemption for a tenant after too many unknown keys', async () => {
    const [good] = await bot.mintKeys(1);
    const unknown = Array.from({ length: 11 }, (_, i) => `BBBBB-BBBBB-BBBBB-BBBBB-BBB${'CDFGHJKMPQR'[i]}B`);
    const ten = cardText(await enterKeys(anna, unknown.slice(0, 10).join('\n')));
    expect(ten).to.include('Key 5 is not a valid product key');
    expect(ten, 'a field shows at most five problems').to.include('… and 5 more problems in this field.');
    expect(cardText(await enterKeys(anna, unknown[10]!)), 'the eleventh unknown key locks').to.include('redemption is locked until');
    const locked = await enterKeys(user(PARTNER, 'user-ben', 'Ben'), good!);
    expect(cardText(locked)).to.include('redemption is locked until');
    expect(inputs(locked).key0).to.equal(good);
    expect(cardText(await enterKeys(user(OTHER_PARTNER, 'user-olaf', 'Olaf'), good!)), 'other tenants are not locked').to.include('Does everything look right?');
  });

  it('refuses a first card pressed again once its setup is saved, whatever it carries, counting no guess', async () => {
    const [good] = await bot.mintKeys(1);
    const unknown = (i: number) => `BBBBB-BBBBB-BBBBB-BBBBB-BBB${'CDFGHJKMPQR'[i]}B`;
    const [entry] = await anna.say('redeem');
    const review = (await anna.press(entry!, 'Next', { key0: good! })).card;
    expect(cardText(review)).to.include('Does everything look right?');
    const saved = (await partnerState(bot, PARTNER)).setups;
    // The same first card again: the key again, nothing, or ten unknown keys (the whole guessing budget).
    for (const key0 of [good!, '', Array.from({ length: 10 }, (_, i) => unknown(i)).join('\n')]) {
      const again = (await anna.press(entry!, 'Next', { key0 })).card;
      expect(cardText(again)).to.include('This card was out of date, so nothing was changed.');
      expect(cardText(again)).to.include('Does everything look right?');
    }
    const colleague = (await user(PARTNER, 'user-ben', 'Ben').press(entry!, 'Next', { key0: unknown(0) })).card;
    expect(cardText(colleague)).to.include('This setup belongs to Anna Berg');
    expect((await partnerState(bot, PARTNER)).setups).to.deep.equal(saved);
    // None of the unknown keys above was counted: ten on a new card still leave the tenant unlocked.
    const ten = cardText(await enterKeys(anna, Array.from({ length: 10 }, (_, i) => unknown(i)).join('\n')));
    expect(ten).to.include('Key 1 is not a valid product key');
    expect(ten).not.to.include('redemption is locked');

    await anna.press(review, 'Cancel');
    expect(cardText((await anna.press(entry!, 'Next', { key0: good! })).card)).to.include('This setup was discarded, so nothing was changed.');
  });

  it('speaks German to a German Teams client', async () => {
    const jonas = user(PARTNER, 'user-jonas', 'Jonas', 'de-DE');
    const [welcome] = await jonas.say('hilfe');
    expect(buttons(welcome!).map((b) => b.title)).to.include('Product Keys einlösen');
    const [entry] = await jonas.say('einlösen');
    const card = (await jonas.press(entry!, 'Weiter', { key0: 'ABC' })).card;
    expect(cardText(card)).to.include('Product Key 1 hat 3 Zeichen; ein Product Key hat 25.');
  });

  describe('the welcome on install, whose conversationUpdate carries no locale', () => {
    const GERMAN = 'Ich helfe Ihnen, Microsoft 365 für Ihre Kunden einzurichten';
    const posts = (who: TeamsUser) => connector.sent.filter((s) => s.conversationId === who.conversationId && s.method === 'POST');
    const updates = (who: TeamsUser) => connector.sent.filter((s) => s.conversationId === who.conversationId && s.method === 'PUT');

    it('welcomes once in German when the installationUpdate comes first', async () => {
      const jonas = user(PARTNER, 'user-jonas', 'Jonas', 'de-DE');
      const cards = await jonas.install('installationUpdateFirst');
      expect(cards).to.have.length(1);
      expect(cardText(cards[0]!)).to.include(GERMAN);
      expect(updates(jonas)).to.have.length(0);
    });

    it('puts a welcome sent before the installationUpdate into German, in place', async () => {
      const jonas = user(PARTNER, 'user-jonas', 'Jonas', 'de-DE');
      await jonas.install('conversationUpdateFirst');
      const [sent] = posts(jonas);
      expect(posts(jonas), 'one welcome').to.have.length(1);
      const [update] = updates(jonas);
      expect(update?.activity.id, 'the welcome replaced').to.equal(sent!.id);
      expect(cardText(update!.activity.attachments[0].content)).to.include(GERMAN);
    });

    it("remembers the language of the user's first message for a later install", async () => {
      const jonas = user(PARTNER, 'user-jonas', 'Jonas', 'de-DE');
      await jonas.say('hallo');
      const from = connector.sent.length;
      // Only the conversationUpdate arrives (Teams does not always send the installationUpdate), a day later.
      bot.clock.advanceDays(1);
      const { locale: _none, ...conversationUpdate } = { ...(jonas as any).base('conversationUpdate'), membersAdded: [{ id: '28:bot' }] };
      await jonas.post(conversationUpdate);
      const [welcome] = jonas.repliesSince(from);
      expect(cardText(welcome!)).to.include(GERMAN);
      expect((await partnerState(bot, PARTNER)).members['user-jonas'].locale).to.equal('de-DE');
    });
  });

  it('answers malformed, unknown and foreign requests with a plain message', async () => {
    const unknownVerb = await anna.invoke('tenant.delete', {});
    expect(cardText(unknownVerb.card)).to.include('not known to this version');
    const badData = await anna.invoke('redeem.confirm', { setupId: 'not-a-uuid', rev: 'x' });
    expect(badData.httpStatus).to.equal(200);
    expect(cardText(badData.card)).to.include('Field concerned: setupId');
    const noAction = await anna.post({ ...(anna as any).base('invoke'), name: 'adaptiveCard/action', value: { nonsense: true } });
    expect(noAction.status).to.equal(200);
    expect(cardText(noAction.body.value)).to.include('could not understand');
    const noTenant = await anna.post({ ...(anna as any).base('message'), text: 'help', channelData: {}, conversation: { id: 'x' } });
    expect(noTenant.status).to.equal(200);
    expect(cardText(connector.sent.at(-1)!.activity.attachments[0].content)).to.include('works in Microsoft Teams');
  });

  it('never writes a full product key to the database', async () => {
    const keys = await bot.mintKeys(2);
    await anna.press(await enterKeys(anna, keys.join('\n')), 'Product keys were added');
    // Every file of the data folder, or every row of the database.
    const content = await storedTexts(bot);
    expect(content, 'the keys are stored, by their last group').to.include(keys[0]!.slice(-5));
    for (const key of keys) {
      expect(content).not.to.include(key);
      expect(content).not.to.include(key.replace(/-/g, ''));
    }
  });
});
