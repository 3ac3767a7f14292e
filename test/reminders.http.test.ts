/** Renewal reminders over real HTTP with a fake clock: a year of days, renewals, downtime, restarts and a flaky connector. */
import { join } from 'node:path';
import { expect } from 'chai';
import { addDays } from '../src/domain/lifecycle.js';
import { ReminderScheduler } from '../src/reminders/scheduler.js';
import { pino } from 'pino';
import { FakeClock, startBot, type RunningBot } from './support/botHarness.js';
import { button, buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { injectDiskFault } from './support/diskFaults.js';
import { ACCOUNT as BASE_ACCOUNT, createCustomer, enterKeys, grantRole } from './support/journeys.js';
import { auditTrail, failWrites, partnerState, storedReminders } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'e1b2c3d4-0000-4000-8000-000000000001';
const ACCOUNT = { ...BASE_ACCOUNT, email: 'eva@contoso.example', language: 'en' };

/** 09:00 in Berlin on a day (CET in winter, CEST in summer). */
function nineInBerlin(day: string): Date {
  const utc = new Date(`${day}T09:00:00Z`);
  const berlinHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hourCycle: 'h23' }).format(utc));
  return new Date(utc.getTime() - (berlinHour - 9) * 3_600_000);
}

describe('renewal reminders over HTTP', function () {
  this.timeout(60_000);
  let bot: RunningBot;
  let connector: FakeConnector;
  let anna: TeamsUser;

  /** Reminder cards that reached a conversation since `from`, as their titles. */
  const titlesSince = (from: number, conversationId = anna.conversationId) =>
    connector.since(from, conversationId).flatMap((s) => (s.activity.attachments ?? []).map((a: any) => cardText(a.content).split('\n')[0]));

  async function runOn(day: string): Promise<void> {
    bot.clock.current = nineInBerlin(day);
    await bot.app.reminders.run();
  }

  /** The embedded backend's tenants cannot be written: their files, or on PostgreSQL their subscriptions' rows. */
  async function backendFault(): Promise<{ hits: number; clear(): unknown }> {
    return bot.store === 'file' ? injectDiskFault(join(bot.dataDir, 'commerce', 'tenants'), 'rename', 'EPERM') : failWrites(bot, 'commerce_subscriptions');
  }

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot({ REMINDER_RETRY_BASE_MS: '10' }, { clock: new FakeClock(new Date('2026-03-02T08:00:00Z')) });
    anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
    await createCustomer(anna, await bot.mintKeys(1), ACCOUNT);
  });

  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  it('sends exactly the reminders of a year and the notices after the end, each once, on its day', async () => {
    const sent: Array<[string, string]> = [];
    for (let day = '2026-03-02'; day <= '2027-07-10'; day = addDays(day, 1)) {
      const from = connector.sent.length;
      await runOn(day);
      for (const title of titlesSince(from)) sent.push([day, title!]);
    }
    expect(sent).to.deep.equal([
      ['2027-01-01', 'Microsoft 365 Business Standard for Contoso GmbH ends in 60 days'],
      ['2027-01-31', 'Microsoft 365 Business Standard for Contoso GmbH ends in 30 days'],
      ['2027-02-23', 'Microsoft 365 Business Standard for Contoso GmbH ends in 7 days'],
      ['2027-03-01', 'Microsoft 365 Business Standard for Contoso GmbH ends in 1 day'],
      ['2027-03-03', 'Microsoft 365 Business Standard for Contoso GmbH has expired'],
      ['2027-04-02', 'Microsoft 365 Business Standard for Contoso GmbH is now disabled'],
      ['2027-06-24', "Contoso GmbH's data in Microsoft 365 Business Standard will be deleted on 1 July 2027"],
    ]);
  });

  it('shows days left, what happens after expiry and the three buttons on a reminder', async () => {
    const from = connector.sent.length;
    await runOn('2027-01-31');
    const card = connector.since(from, anna.conversationId)[0]!.activity.attachments[0].content as Card;
    const text = cardText(card);
    expect(text).to.include('Seats: 10');
    expect(text).to.include('End date: 2 March 2027');
    expect(text).to.include('State: active, 30 days left');
    expect(text).to.include('can use the subscription for another 30 days');
    expect(text).to.include('the data is kept until 30 June 2027 (120 days after the end date)');
    expect(buttons(card).map((b) => b.title)).to.deep.equal(['Renew with product key', 'Switch to direct billing', 'Remind me later']);
    const snoozed = (await anna.press(card, 'Remind me later')).card;
    expect(cardText(snoozed)).to.include("OK, I'll remind you again on 23 February 2027.");
  });

  it('renews from the reminder card, which starts a fresh cycle from the new end date', async () => {
    const from = connector.sent.length;
    await runOn('2027-01-31');
    const reminder = connector.since(from, anna.conversationId)[0]!.activity.attachments[0].content as Card;
    const renew = (await anna.press(reminder, 'Renew with product key')).card;
    expect(cardText(renew)).to.include('Keys of the same product extend the subscription by their term, counted from the current end date (2 March 2027)');
    expect(cardText((await anna.press(renew, 'Next', { key: '  ' })).card)).to.include('Enter at least one product key.');
    const [other] = await bot.mintKeys(1, 'Office 365 E3', 10, 12);
    const wrong = (await anna.press(renew, 'Next', { key: other! })).card;
    expect(cardText(wrong)).to.include("Key 1 is for Office 365 E3, not Microsoft 365 Business Standard. A renewal takes keys of the subscription's product only.");
    const [key] = await bot.mintKeys(1, 'Microsoft 365 Business Standard', 15, 12);
    const { review, result } = await enterKeys(anna, wrong, [key!]);
    expect(cardText(result)).to.include('Renewed: Microsoft 365 Business Standard for Contoso GmbH now ends on 2 March 2028 and has 15 seats.');
    const again = (await anna.press(review, 'Renew')).card;
    expect(cardText(again), 'the same card renews once').to.include('now ends on 2 March 2028 and has 15 seats');

    const sent: string[] = [];
    for (let day = '2027-02-01'; day <= '2028-01-05'; day = addDays(day, 1)) {
      const before = connector.sent.length;
      await runOn(day);
      sent.push(...titlesSince(before).map((t) => `${day} ${t}`));
    }
    expect(sent).to.deep.equal(['2028-01-02 Microsoft 365 Business Standard for Contoso GmbH ends in 60 days']);
  });

  it('reactivates an expired subscription from the renewal day', async () => {
    bot.clock.current = nineInBerlin('2027-04-01');
    const [lastUsableDay] = await anna.say('customer contoso');
    expect(cardText(lastUsableDay!), 'the 30th day after the end').to.include('still usable until 1 April 2027');
    bot.clock.current = nineInBerlin('2027-04-10');
    const [card] = await anna.say('customer contoso');
    expect(cardText(card!)).to.include('disabled: users can no longer use it, the data is kept until 30 June 2027');
    const renew = (await anna.press(card!, 'Renew')).card;
    expect(cardText(renew)).to.include("If you renew it now, the keys' term runs from today");
    const [key] = await bot.mintKeys(1, 'Microsoft 365 Business Standard', 10, 12);
    expect(cardText((await enterKeys(anna, renew, [key!])).result)).to.include('now ends on 10 April 2028');
  });

  it("judges a renewal by the partner's calendar day, also where it differs from the UTC day", async () => {
    // 00:30 on 3 March in Berlin, still 2 March in UTC: the subscription ended yesterday for the partner.
    bot.clock.current = new Date('2027-03-02T23:30:00Z');
    const [card] = await anna.say('customer contoso');
    const renew = (await anna.press(card!, 'Renew')).card;
    expect(cardText(renew)).to.include("the keys' term runs from today");
    const [key] = await bot.mintKeys(1, 'Microsoft 365 Business Standard', 10, 12);
    const { review, result } = await enterKeys(anna, renew, [key!]);
    expect(cardText(review), 'the summary says so').to.include('End date: 2 March 2027 → 3 March 2028');
    expect(cardText(result), 'as the card said').to.include('now ends on 3 March 2028');
  });

  it('sends only the most urgent reminder after downtime, and catches up at start-up', async () => {
    bot.clock.current = nineInBerlin('2027-02-25');
    const from = connector.sent.length;
    await bot.restart();
    anna.options.botUrl = bot.url;
    await bot.app.stop(); // waits for the start-up run
    expect(titlesSince(from)).to.deep.equal(['Microsoft 365 Business Standard for Contoso GmbH ends in 5 days']);
    await bot.restart();
    await runOn('2027-02-26');
    expect(titlesSince(from), 'nothing twice').to.have.length(1);
  });

  it('delivers reminders queued before a crash once, after the restart', async () => {
    bot.clock.current = nineInBerlin('2027-01-01');
    expect(await bot.app.reminders.scan()).to.equal(1); // recorded, then the process dies before sending
    expect((await storedReminders(bot, PARTNER)).map((r) => r.status)).to.deep.equal(['queued']);
    const from = connector.sent.length;
    await bot.restart();
    await runOn('2027-01-01');
    await runOn('2027-01-02');
    expect(titlesSince(from)).to.deep.equal(['Microsoft 365 Business Standard for Contoso GmbH ends in 60 days']);
  });

  it('retries after 429 and 500, and keeps a reminder for the next reachable chat after 403', async () => {
    connector.failWith = { status: 429, code: 'Throttled', retryAfterSeconds: 0, times: 1 };
    let from = connector.sent.length;
    await runOn('2027-01-01');
    expect(titlesSince(from)).to.have.length(1);

    connector.failWith = { status: 500, code: 'InternalServerError', times: 2 };
    from = connector.sent.length;
    await runOn('2027-01-31');
    expect(titlesSince(from)).to.have.length(1);

    connector.failWith = { status: 403, code: 'ConversationBlockedByUser' };
    await runOn('2027-02-23');
    expect((await partnerState(bot, PARTNER)).members['user-anna'].reachable).to.equal(false);
    expect((await storedReminders(bot, PARTNER)).filter((r) => r.status === 'queued')).to.have.length(1);

    connector.failWith = undefined;
    const ben = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-ben', name: 'Ben' });
    await ben.say('hello');
    from = connector.sent.length;
    await bot.app.sweep();
    expect(titlesSince(from, ben.conversationId)).to.deep.equal(['Microsoft 365 Business Standard for Contoso GmbH ends in 7 days']);
    await bot.app.sweep();
    expect((await storedReminders(bot, PARTNER)).filter((r) => r.status === 'queued')).to.have.length(0);
    expect(connector.since(from)).to.have.length(1);
  });

  it('also sends to a team channel chosen with "send reminders here"', async () => {
    await grantRole(anna, new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-ben', name: 'Ben' }), 'sales');
    const channel = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-ben', name: 'Ben', conversationType: 'channel' });
    const [answer] = await channel.say('<at>Partner Setup Bot</at> send reminders here');
    expect(cardText(answer!)).to.include('Renewal reminders will also be sent to this channel.');
    // Recorded once, with who chose the channel, in the audit trail.
    const trail = await auditTrail(bot, PARTNER);
    const chosen = trail.filter((entry) => entry.verb === 'send reminders here');
    expect(chosen.map((entry) => [entry.actor.objectId, entry.details.conversationId, entry.outcome.result])).to.deep.equal([['user-ben', channel.conversationId, 'done']]);
    const from = connector.sent.length;
    await runOn('2027-01-01');
    expect(titlesSince(from)).to.have.length(1);
    expect(titlesSince(from, channel.conversationId)).to.have.length(1);
    // Everyone in a channel sees the card: key entry stays in the personal chat.
    const cardIn = (conversationId: string) => connector.since(from, conversationId)[0]!.activity.attachments[0].content as Card;
    expect(buttons(cardIn(channel.conversationId)).map((b) => b.title)).to.deep.equal(['Switch to direct billing', 'Remind me later']);
    expect(cardText(cardIn(channel.conversationId))).to.include('To renew with a product key, type **customer Contoso GmbH** in your personal chat with me.');
    expect(buttons(cardIn(anna.conversationId)).map((b) => b.title)).to.include('Renew with product key');
  });

  it('switches to direct billing now, or on the day before the end when scheduled, and then stops reminding', async () => {
    bot.clock.current = nineInBerlin('2027-01-10');
    const [card] = await anna.say('customer contoso');
    const billing = (await anna.press(card!, 'Switch to direct billing')).card;
    expect(cardText(billing)).to.include('The new subscription starts immediately, so the rest of the current term (until 2 March 2027) is given up.');
    const scheduled = (await anna.press(billing, 'Schedule for 1 March 2027')).card;
    expect(cardText(scheduled)).to.include('The switch is scheduled for 1 March 2027.');
    const [withSwitch] = await anna.say('customer contoso');
    expect(cardText(withSwitch!)).to.include('switch to direct billing scheduled for 1 March 2027');
    const list = cardText((await anna.say('reminders'))[0]!);
    expect(list).to.include('23 February 2027: Contoso GmbH, Microsoft 365 Business Standard: 7 days before the end');
    expect(list, 'none from the switch day on').not.to.include('1 day before the end');
    expect(list).not.to.include('has expired');

    const from = connector.sent.length;
    for (let day = '2027-01-10'; day <= '2027-03-10'; day = addDays(day, 1)) {
      await runOn(day);
      await bot.app.sweep();
    }
    const texts = connector.since(from, anna.conversationId).map((s) => s.activity.text ?? cardText(s.activity.attachments[0].content).split('\n')[0]);
    expect(texts).to.deep.equal([
      'Microsoft 365 Business Standard for Contoso GmbH ends in 51 days',
      'Microsoft 365 Business Standard for Contoso GmbH ends in 30 days',
      'Microsoft 365 Business Standard for Contoso GmbH ends in 7 days',
      'The scheduled switch ran: Microsoft 365 Business Standard for Contoso GmbH is now billed directly by Microsoft.',
    ]);
    const [after] = await anna.say('customer contoso');
    expect(cardText(after!)).to.include('billed directly by Microsoft, runs until 1 March 2028');
  });

  it('cancels a scheduled switch to direct billing when the subscription is renewed with a key', async () => {
    bot.clock.current = nineInBerlin('2027-01-10');
    const [card] = await anna.say('customer contoso');
    const billing = (await anna.press(card!, 'Switch to direct billing')).card;
    await anna.press(billing, 'Schedule for 1 March 2027');
    const [withSwitch] = await anna.say('customer contoso');
    const renew = (await anna.press(withSwitch!, 'Renew')).card;
    const [key] = await bot.mintKeys(1, 'Microsoft 365 Business Standard', 10, 12);
    const renewed = cardText((await enterKeys(anna, renew, [key!])).result);
    expect(renewed).to.include('now ends on 2 March 2028');
    expect(renewed).to.include('The switch to direct billing scheduled for 1 March 2027 was canceled');
    expect(renewed, 'no switch left on the customer card').not.to.include('; switch to direct billing scheduled for');

    for (let day = '2027-02-25'; day <= '2027-03-05'; day = addDays(day, 1)) {
      bot.clock.current = nineInBerlin(day);
      await bot.app.sweep();
    }
    const [after] = await anna.say('customer contoso');
    expect(cardText(after!), 'the renewed term is kept').to.include('2 March 2028');
    expect(cardText(after!)).not.to.include('billed directly by Microsoft');
  });

  it('does not switch a subscription whose data was deleted to direct billing, even from an old card', async () => {
    bot.clock.current = nineInBerlin('2027-01-10');
    const [card] = await anna.say('customer contoso');
    const billing = (await anna.press(card!, 'Switch to direct billing')).card;
    bot.clock.current = nineInBerlin('2027-07-01');
    const refused = cardText((await anna.press(billing, 'Switch now')).card);
    expect(refused).to.include('The data of this subscription was deleted, so it can no longer be switched to direct billing.');
    expect(refused).not.to.include('Switch now');
    const [after] = await anna.say('customer contoso');
    expect(cardText(after!)).not.to.include('billed directly by Microsoft');
  });

  it('refuses a forged switch to direct billing, now or scheduled, on a subscription whose data was deleted, which no card offers', async () => {
    bot.clock.current = nineInBerlin('2027-01-10');
    const [card] = await anna.say('customer contoso');
    const subscription = button(card!, 'Switch to direct billing').data;
    bot.clock.current = nineInBerlin('2027-07-01');
    const [deleted] = await anna.say('customer contoso');
    expect(buttons(deleted!).map((b) => b.title), 'the customer card offers no switch').not.to.include('Switch to direct billing');
    const billing = (await anna.invoke('billing.compose', subscription)).card;
    expect(buttons(billing).map((b) => b.title), 'the billing card offers neither').to.deep.equal([]);
    for (const verb of ['billing.schedule', 'billing.switch']) {
      const refused = cardText((await anna.invoke(verb, subscription)).card);
      expect(refused, verb).to.include('The data of this subscription was deleted, so it can no longer be switched to direct billing.');
      expect(refused, verb).not.to.include('The switch is scheduled');
    }
    const [after] = await anna.say('customer contoso');
    expect(cardText(after!)).not.to.include('switch to direct billing scheduled');
    expect(cardText(after!)).not.to.include('billed directly by Microsoft');
  });

  it('goes on with the other steps of a sweep when a scheduled switch fails, and runs it at the next sweep', async () => {
    bot.clock.current = nineInBerlin('2027-01-10');
    const [card] = await anna.say('customer contoso');
    await anna.press((await anna.press(card!, 'Switch to direct billing')).card, 'Schedule for 1 March 2027');
    bot.clock.current = nineInBerlin('2027-03-01');
    await bot.app.scheduler.stop();
    expect(bot.app.scheduler.zones()).to.deep.equal([]);
    // The backend's tenants cannot be written: the switch fails.
    const fault = await backendFault();
    try {
      await bot.app.sweep();
    } finally {
      await fault.clear();
    }
    expect(fault.hits, 'the switch met the fault').to.be.above(0);
    expect(bot.app.scheduler.zones(), 'the reminder schedule was still set up').to.deep.equal(['Europe/Berlin']);
    const [before] = await anna.say('customer contoso');
    expect(cardText(before!)).to.include('switch to direct billing scheduled for 1 March 2027');

    await bot.app.sweep();
    const [after] = await anna.say('customer contoso');
    expect(cardText(after!)).to.include('billed directly by Microsoft');
  });

  it('starts while the backend cannot finish a renewal, and finishes it at a sweep once it can', async () => {
    bot.clock.current = nineInBerlin('2027-01-31');
    const [card] = await anna.say('customer contoso');
    const renew = (await anna.press(card!, 'Renew')).card;
    const [key] = await bot.mintKeys(1, 'Microsoft 365 Business Standard', 10, 12);
    const fault = await backendFault();
    try {
      expect(cardText((await enterKeys(anna, renew, [key!])).result)).not.to.include('Renewed');
      await bot.restart();
      anna.options.botUrl = bot.url;
      const [meanwhile] = await anna.say('customer contoso');
      expect(cardText(meanwhile!), 'the bot answers').to.include('2 March 2027');
      // The start-up sweep meets the fault too; a sweep asked for while it runs would only join it.
      await bot.app.sweep();
    } finally {
      await fault.clear();
    }
    expect(fault.hits, 'the renewal met the fault').to.be.above(0);
    await bot.app.sweep();
    const [after] = await anna.say('customer contoso');
    expect(cardText(after!)).to.include('2 March 2028');
  });

  it('records a switch made now whose answer could not be saved, and the sweep finishes it', async () => {
    bot.clock.current = nineInBerlin('2027-01-10');
    const [card] = await anna.say('customer contoso');
    const billing = (await anna.press(card!, 'Switch to direct billing')).card;
    // The backend switches; then the partner's file cannot be written.
    const commerce = bot.app.embeddedCommerce;
    const realSwitch = commerce.switchToDirectBilling.bind(commerce);
    let fault: { hits: number; clear(): unknown } | undefined;
    commerce.switchToDirectBilling = async (...args) => {
      const update = await realSwitch(...args);
      fault = bot.store === 'file' ? injectDiskFault(join(bot.dataDir, 'partners'), 'rename', 'EPERM') : await failWrites(bot, 'subscriptions');
      return update;
    };
    try {
      expect(cardText((await anna.press(billing, 'Switch now')).card)).to.include('could not be saved');
    } finally {
      await fault?.clear();
      commerce.switchToDirectBilling = realSwitch;
    }
    expect(fault?.hits, 'the answer met the fault').to.be.above(0);
    const [meanwhile] = await anna.say('customer contoso');
    expect(cardText(meanwhile!), 'recorded as due today').to.include('switch to direct billing scheduled for 10 January 2027');

    const from = connector.sent.length;
    await bot.app.sweep();
    expect(connector.since(from, anna.conversationId).map((s) => s.activity.text)).to.deep.equal([
      'The scheduled switch ran: Microsoft 365 Business Standard for Contoso GmbH is now billed directly by Microsoft.',
    ]);
    const [after] = await anna.say('customer contoso');
    expect(cardText(after!)).to.include('billed directly by Microsoft, runs until 10 January 2028');
  });

  it('lists the reminders of the next 60 days', async () => {
    bot.clock.current = nineInBerlin('2027-01-15');
    const [list] = await anna.say('reminders');
    const text = cardText(list!);
    expect(text).to.include('31 January 2027: Contoso GmbH, Microsoft 365 Business Standard: 30 days before the end');
    expect(text).to.include('3 March 2027: Contoso GmbH, Microsoft 365 Business Standard: has expired');
    expect(text).not.to.include('60 days before the end');
  });
});

describe('the reminder schedule', () => {
  it('runs the job on its cron expression in each time zone in use', async () => {
    const zones: string[] = [];
    const scheduler = new ReminderScheduler('* * * * * *', async (run) => void zones.push(...run), pino({ level: 'silent' }));
    await scheduler.sync(new Set(['Europe/Berlin', 'America/New_York']));
    await new Promise((resolve) => setTimeout(resolve, 2200));
    await scheduler.sync(new Set(['Europe/Berlin']));
    expect(scheduler.zones()).to.deep.equal(['Europe/Berlin']);
    await scheduler.stop();
    expect(zones).to.include('Europe/Berlin');
    expect(zones).to.include('America/New_York');
  });
});
