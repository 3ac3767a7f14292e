/**
 * Dates in the reader's time zone over HTTP, around midnight: a staff member whose Teams client
 * reports no zone reads the partner profile's; one whose client reports a zone (the clientInfo
 * entity) reads that one, also in a later turn that reports none.
 */
import { expect } from 'chai';
import { FakeClock, startBot, type RunningBot } from './support/botHarness.js';
import { cardText } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { createCustomer, grantRole, PROFILE } from './support/journeys.js';
import { partnerState } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'a1a1a1a1-0000-4000-8000-000000000001';
const UNKNOWN_KEY = 'BCDFG-HJKMP-QRTVW-XY234-6789B';

describe('dates in the reader’s time zone over HTTP', () => {
  let bot: RunningBot;
  let connector: FakeConnector;
  /** No zone from the client: the profile's (Europe/Berlin). */
  let anna: TeamsUser;
  /** A client in New York. */
  let ben: TeamsUser;

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    // 23:30 UTC on 2 March: already 3 March in Berlin, still 2 March in New York.
    bot = await startBot({ GUESS_LIMIT: '1', GUESS_LOCK_MINUTES: '60' }, { clock: new FakeClock(new Date('2026-03-02T23:30:00Z')) });
    anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
    ben = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-ben', name: 'Ben Colleague', timeZone: 'America/New_York' });
  });

  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  it('shows when a customer was set up on the profile’s day, or on the day of the zone the client reports', async () => {
    await createCustomer(anna, await bot.mintKeys(1));
    expect((await partnerState(bot, PARTNER)).profile.timeZone).to.equal(PROFILE.timeZone);
    // Anna saved the profile first and is Admin agent; Ben sees customers as a Sales agent.
    await grantRole(anna, ben, 'sales');
    expect(cardText((await anna.say('customer contoso'))[0]!)).to.include('Set up by: Anna Berg, 3 March 2026');
    expect(cardText((await ben.say('customer contoso'))[0]!)).to.include('Set up by: Anna Berg, 2 March 2026');
    // The zone Ben's client reported is remembered for turns (and messages) that carry none.
    const benWithout = new TeamsUser({ ...ben.options, timeZone: undefined });
    expect(cardText((await benWithout.say('customer contoso'))[0]!)).to.include('Set up by: Anna Berg, 2 March 2026');
    expect((await partnerState(bot, PARTNER)).members['user-ben'].timeZone).to.equal('America/New_York');
    // The end date is a calendar day (the partner's): the same for both.
    for (const who of [anna, ben]) expect(cardText((await who.say('customer contoso'))[0]!)).to.include('ends 3 March 2027');
  });

  it('words the redemption lock in the reader’s zone, naming it', async () => {
    const profile = (await anna.say('profile'))[0]!;
    await anna.press(profile, 'Save profile', PROFILE);
    await grantRole(anna, ben, 'sales');
    const entry = async (who: TeamsUser) => (await who.press((await who.say('redeem'))[0]!, 'Next', { key0: UNKNOWN_KEY })).card;
    await entry(anna);
    // Locked for an hour from 23:30 UTC: until 01:30 in Berlin on 3 March, 19:30 on 2 March in New York.
    expect(cardText(await entry(anna))).to.include('redemption is locked until 3 March 2026 at 01:30 CET');
    expect(cardText(await entry(ben))).to.include('redemption is locked until 2 March 2026 at 19:30 GMT-5');
  });

  it('ignores a zone the client reports that does not exist, and uses the profile’s', async () => {
    await createCustomer(anna, await bot.mintKeys(1));
    const odd = new TeamsUser({ ...ben.options, userId: 'user-odd', timeZone: 'Mars/Olympus_Mons' });
    await grantRole(anna, odd, 'sales');
    expect(cardText((await odd.say('customer contoso'))[0]!)).to.include('Set up by: Anna Berg, 3 March 2026');
  });
});
