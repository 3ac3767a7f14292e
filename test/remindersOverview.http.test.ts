/**
 * The renewals overview over HTTP: every customer's reminders still to come, soonest first, for the
 * next 30, 60 or 90 days or all of them, in pages.
 */
import { expect } from 'chai';
import { FakeClock, startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { ACCOUNT, createCustomer } from './support/journeys.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'a2a2a2a2-0000-4000-8000-000000000001';
const CUSTOMERS = ['Contoso GmbH', 'Fabrikam AG', 'Northwind Traders'];

/** The reminder lines of an overview card ("date: customer, product: kind"). */
const lines = (card: Card) => cardText(card).split('\n').filter((line) => /^\d{1,2} \w+ \d{4}: /.test(line));

describe('the renewals overview over HTTP', () => {
  let bot: RunningBot;
  let connector: FakeConnector;
  let anna: TeamsUser;

  before(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot({}, { clock: new FakeClock(new Date('2026-03-02T09:00:00Z')) });
    anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
    // Three customers with two subscriptions each (one year and two years): 6 × 7 reminders to come.
    for (const name of CUSTOMERS) {
      const prefix = name.split(' ')[0]!.toLowerCase();
      const keys = [...(await bot.mintKeys(1)), ...(await bot.mintKeys(1, 'Office 365 E3', 5, 24))];
      await createCustomer(anna, keys, { ...ACCOUNT, organisationName: name, domainPrefix: prefix, email: `eva@${prefix}.example` });
    }
  });

  after(async () => {
    await bot.stop();
    await connector.stop();
  });

  it('opens on the next 60 days and pages through all reminders of all customers, soonest first', async () => {
    const first = (await anna.say('reminders'))[0]!;
    expect(cardText(first)).to.include('Due in the next 60 days');
    expect(cardText(first)).to.include('No renewal reminders are due in the next 60 days.');

    const all = (await anna.press(first, 'Show', { range: 'all' })).card;
    expect(cardText(all)).to.include('All reminders to come');
    expect(cardText(all)).to.include('Showing 1–20 of 42');
    expect(lines(all)).to.have.length(20);
    // The soonest reminders are each customer's, before any later one of the first.
    for (const name of CUSTOMERS) expect(lines(all).slice(0, 3).join('\n')).to.include(`1 January 2027: ${name}, Microsoft 365 Business Standard: 60 days before the end`);
    expect(buttons(all).map((b) => b.title)).to.deep.equal(['Show', 'Next page']);

    const second = (await anna.press(all, 'Next page')).card;
    expect(cardText(second)).to.include('Showing 21–40 of 42');
    const third = (await anna.press(second, 'Next page')).card;
    expect(cardText(third)).to.include('Showing 41–42 of 42');
    expect(buttons(third).map((b) => b.title)).to.deep.equal(['Show', 'Previous page']);
    const seen = [...lines(all), ...lines(second), ...lines(third)];
    expect(new Set(seen).size).to.equal(42);
    const dates = seen.map((line) => Date.parse(line.split(':')[0]!));
    expect(dates).to.deep.equal([...dates].sort((a, b) => a - b));
    expect(seen.at(-1)).to.include('Office 365 E3: 7 days before data deletion');
    expect(cardText((await anna.press(third, 'Previous page')).card)).to.include('Showing 21–40 of 42');
  });

  it('shows the next 30 or 90 days as chosen', async () => {
    bot.clock.current = new Date('2027-01-15T09:00:00Z');
    const first = (await anna.say('reminders'))[0]!;
    const thirty = (await anna.press(first, 'Show', { range: '30' })).card;
    expect(cardText(thirty)).to.include('Due in the next 30 days');
    expect(lines(thirty)).to.have.length(3);
    for (const line of lines(thirty)) expect(line).to.match(/^31 January 2027: .*Business Standard: 30 days before the end$/);
    const ninety = (await anna.press(thirty, 'Show', { range: '90' })).card;
    expect(cardText(ninety)).to.include('Due in the next 90 days');
    expect(lines(ninety).filter((line) => line.includes('has expired'))).to.have.length(3);
    // A range the card never offered is read as the default.
    expect(cardText((await anna.invoke('reminders.list', { range: '365', page: 'x' })).card)).to.include('Due in the next 60 days');
  });
});
