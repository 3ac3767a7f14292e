/**
 * Database faults at the bot: a full disk or a permission error during a card action is told to the
 * user in plain words, changes no file, and the same press succeeds once the fault is gone.
 * Disk faults are the file store's own; on PostgreSQL the counterpart, a database that fails under a
 * turn ("nothing was changed", nothing half-written, the same press then succeeds), is
 * test/postgres/outage.test.ts.
 */
import { expect } from 'chai';
import { startBot, type RunningBot } from './support/botHarness.js';
import { cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { changedFiles, commerceTenants, snapshotFiles } from './support/dataFiles.js';
import { injectDiskFault, type FaultCode, type FaultyOperation } from './support/diskFaults.js';
import { ACCOUNT, createCustomer, openAccountForm, partnerFile, reservationCount, reserveKeys } from './support/journeys.js';
import { onlyOn } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'f1b2c3d4-0000-4000-8000-000000000001';
const NOT_SAVED = 'Sorry, this step could not be saved, so nothing was changed. Please try again in a moment.';

interface FaultCase {
  action: string;
  fault: [FaultyOperation, FaultCode];
  /** The journey up to the card whose button is pressed. */
  prepare(bot: RunningBot, anna: TeamsUser): Promise<Card>;
  button: string;
  /** What the answer says once the step is saved, and when the same press comes again. */
  saved: string;
  again: string;
  /** What the step left in the files, counted; after the retry and the doubled press it is there once. */
  effects(dataDir: string): Promise<Record<string, number>>;
  once: Record<string, number>;
}

const cases: FaultCase[] = [
  {
    action: 'confirming product keys',
    fault: ['writeFile', 'ENOSPC'],
    prepare: async (bot, anna) => {
      const [entry] = await anna.say('redeem');
      return (await anna.press(entry!, 'Next', { key0: (await bot.mintKeys(2)).join('\n') })).card;
    },
    button: 'Product keys were added',
    saved: 'reserved for your organization until',
    again: 'These product keys were already added. Nothing was changed.',
    effects: async (dataDir) => ({
      reservations: await reservationCount(dataDir),
      reservedSetups: (await partnerFile(dataDir, PARTNER)).setups.filter((s: { status: string }) => s.status === 'reserved').length,
    }),
    once: { reservations: 2, reservedSetups: 1 },
  },
  {
    action: 'creating the customer account',
    fault: ['rename', 'EPERM'],
    prepare: async (bot, anna) => {
      const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
      return (await anna.press(form, 'Next', ACCOUNT)).card;
    },
    button: 'Create account',
    saved: 'The account was created',
    again: 'This account was already created. Nothing was created twice.',
    effects: async (dataDir) => ({ customers: (await partnerFile(dataDir, PARTNER)).customers.length, commerceTenants: (await commerceTenants(dataDir)).length }),
    once: { customers: 1, commerceTenants: 1 },
  },
  {
    action: 'sending a request for delegated administration',
    fault: ['writeFile', 'EACCES'],
    prepare: async (bot, anna) => {
      await createCustomer(anna, await bot.mintKeys(1));
      const [customer] = await anna.say('customer contoso');
      return (await anna.press(customer!, 'Request delegated administration')).card;
    },
    button: 'Send request',
    saved: 'is saved',
    // The same press finds the request it sent.
    again: 'is saved',
    effects: async (dataDir) => ({ offers: (await partnerFile(dataDir, PARTNER)).customers[0].offers.length, relationships: (await commerceTenants(dataDir))[0].relationships.length }),
    once: { offers: 1, relationships: 1 },
  },
];

describe('database faults over HTTP', () => {
  let bot: RunningBot;
  let connector: FakeConnector;
  let anna: TeamsUser;

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot();
    anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
  });
  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  for (const { action, fault: [operation, code], prepare, button, saved, again, effects, once } of cases) {
    it(`${action}: says ${code} was not saved, changes no file, and the same press succeeds once it is gone`, async function () {
      onlyOn('file', this, 'a fault of the data folder; PostgreSQL failing under a turn is test/postgres/outage.test.ts');
      const card = await prepare(bot, anna);
      const before = await snapshotFiles(bot.dataDir);

      const fault = injectDiskFault(bot.dataDir, operation, code);
      let answer: Card;
      try {
        answer = (await anna.press(card, button)).card;
      } finally {
        fault.clear();
      }
      expect(fault.hits, 'the press met the fault').to.be.above(0);
      expect(cardText(answer)).to.equal(NOT_SAVED);
      expect(changedFiles(before, await snapshotFiles(bot.dataDir)), 'files changed').to.deep.equal([]);

      expect(cardText((await anna.press(card, button)).card)).to.include(saved);
      expect(cardText((await anna.press(card, button)).card)).to.include(again);
      expect(await effects(bot.dataDir)).to.deep.equal(once);
    });
  }
});
