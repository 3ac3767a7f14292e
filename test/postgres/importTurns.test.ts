/**
 * Issue 21: a file store made by the bench's data generator (small), imported into PostgreSQL by
 * `npm run db:import`, answers the same turns with the same cards. The real app runs once on the
 * files and once on the database, on one fake clock, each with the key-hash secret as db:import
 * says (the contents of the folder's key-hash-secret file); the same Teams users send both the same
 * messages and presses over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateDataset, type Dataset } from '../../scripts/bench/dataset.js';
import { fileNameFor } from '../../src/store/fileNames.js';
import { FakeClock, startBot, type RunningBot } from '../support/botHarness.js';
import { buttons, cardText, type Card } from '../support/cardQuery.js';
import { FakeConnector } from '../support/connector.js';
import { freshDatabase } from '../support/postgres.js';
import { runScript } from '../support/scripts.js';
import { newBotFolder } from '../support/testRun.js';
import { TeamsUser } from '../support/teams.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Every id the data folder holds: ids a card shows from the data must be the same on both stores. */
async function idsIn(dir: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    for (const id of (await readFile(join(entry.parentPath, entry.name), 'utf8')).match(UUID) ?? []) ids.add(id.toLowerCase());
  }
  return ids;
}

/**
 * The one normalisation: an id the bot made during the turns (a new setup, a request id a compose
 * card carries) is random on each bot, so it becomes "<new n>" by order of first appearance. The
 * same new id used twice stays the same placeholder, and every id from the data must match as is.
 */
function normalised(cards: Card[][], known: ReadonlySet<string>): string {
  const fresh = new Map<string, string>();
  return JSON.stringify(cards, null, 1).replace(UUID, (id) => {
    if (known.has(id.toLowerCase())) return id;
    if (!fresh.has(id)) fresh.set(id, `<new ${fresh.size + 1}>`);
    return fresh.get(id)!;
  });
}

describe('db:import: the imported store answers the same turns with the same cards', function () {
  this.timeout(240_000);
  const clock = new FakeClock(new Date('2026-03-02T09:00:00Z'));
  const secret = randomBytes(32).toString('hex');
  let dir: string;
  let dataset: Dataset;
  let known: Set<string>;
  const running: Array<{ bot: RunningBot; connector: FakeConnector }> = [];

  before(async function () {
    const url = await freshDatabase(this);
    // In the test run's folder, so the secrets scan after all suites reads what the bot on the files wrote.
    dir = join(newBotFolder(), 'data');
    await mkdir(dir, { recursive: true });
    // The secret as the bot generates it into its data folder on first start.
    await writeFile(join(dir, 'key-hash-secret'), `${secret}\n`, { mode: 0o600 });
    // Enough customers for a second page of the customer list; every reminder due so far recorded as sent.
    dataset = await generateDataset({ dir, serviceUrl: 'https://smba.example/emea/', keyHashSecret: secret, partners: 3, customersPerPartner: 14, subscriptionsPerCustomer: 2, keys: 6, now: clock.now(), reminderState: 'today' });
    await addOldOffers(dataset.users[0]!.tenantId, 3);
    known = await idsIn(dir);
    // Without KEY_HASH_SECRET: the import finds the secret in the folder, as an operator's would.
    const imported = await runScript('db-import.ts', { ...(process.env as Record<string, string>), DATABASE_URL: url, KEY_HASH_SECRET: '' }, '--from', dir);
    expect(imported.code, imported.stderr).to.equal(0);
    for (const env of [{ DATABASE_URL: '' }, { DATABASE_URL: url }]) {
      const connector = await new FakeConnector().start();
      running.push({ bot: await startBot({ ...env, KEY_HASH_SECRET: secret }, { ...(env.DATABASE_URL === '' && { dataDir: dir }), clock }), connector });
    }
  });

  /**
   * Offers from before relationships, as a file from then may hold them (delegation.http.test.ts
   * plays the same): the old delegated admin accepted, and a second request of the old kind left
   * open, which nobody can answer any more and which runs out.
   */
  async function addOldOffers(partnerTenantId: string, customerIndex: number): Promise<void> {
    const file = join(dir, 'partners', fileNameFor(partnerTenantId));
    const doc = JSON.parse(await readFile(file, 'utf8'));
    const customer = doc.customers[customerIndex];
    const sentBy = { id: dataset.users[0]!.userId, name: dataset.users[0]!.name };
    const old = { id: '77777777-7777-4777-8777-777777777777', status: 'accepted', message: 'Old offer', sentAt: '2026-02-01T09:00:00.000Z', sentBy, expiresAt: '2026-05-02T09:00:00.000Z', delivery: 'delivered', answeredAt: '2026-02-01T10:00:00.000Z', answeredBy: { id: customer.admin.objectId, name: customer.admin.name }, partnerNotice: 'sent' };
    const { answeredAt: _a, answeredBy: _b, partnerNotice: _n, ...unanswered } = old;
    customer.offers.push(old, { ...unanswered, id: '77777777-7777-4777-8777-777777777778', status: 'pending' });
    await writeFile(file, JSON.stringify(doc));
  }

  after(async () => {
    for (const { bot, connector } of running) {
      await bot.stop();
      await connector.stop();
    }
  });

  /** The turns, for one bot: every card each answer holds, in order. */
  async function converse(bot: RunningBot, connector: FakeConnector): Promise<Card[][]> {
    const transcript: Card[][] = [];
    const say = async (user: TeamsUser, text: string) => {
      const cards = await user.say(text);
      transcript.push(cards);
      return cards[0]!;
    };
    const press = async (user: TeamsUser, card: Card, title: string, typed: Record<string, string> = {}) => {
      const { httpStatus, card: next } = await user.press(card, title, typed);
      transcript.push([next]);
      expect(httpStatus, title).to.equal(200);
      return next;
    };
    for (const [p, staff] of dataset.users.entries()) {
      const user = new TeamsUser({ botUrl: bot.url, connector, tenantId: staff.tenantId, userId: staff.userId, name: staff.name });
      // The chat the data folder knows this person by.
      Object.assign(user, { conversationId: staff.conversationId });
      await say(user, 'help');
      const list = await say(user, 'customers');
      const second = await press(user, list, 'Next page');
      await press(user, second, 'Previous page');
      await say(user, 'customers of partner');
      const customer = await say(user, `customer Customer 0${p + 3} of partner ${p}`);
      expect(cardText(customer)).to.include(`Customer 0${p + 3} of partner ${p}`);
      if (p === 0) expect(cardText(customer)).to.include('Delegated administration (no end date)\nActive, no end date · Global Administrator');
      const overview = await say(user, 'reminders');
      await press(user, overview, 'Show', { range: 'all' });
      if (buttons(customer).some((b) => b.title === 'Renew')) {
        const renewal = await press(user, customer, 'Renew');
        await press(user, renewal, 'Next', { key: dataset.keys[p]! });
      }
      const compose = await press(user, customer, 'Request delegated administration');
      expect(buttons(compose).map((b) => b.title)).to.include('Send request');
      const entry = await say(user, 'redeem');
      const review = await press(user, entry, 'Next', { key0: dataset.keys[3 + p]! });
      const receipt = await press(user, review, 'Product keys were added');
      await press(user, receipt, "Step 2: Create the customer's account");
      await say(user, 'profile');
    }
    return transcript;
  }

  it('gives the same cards on the files and on the database', async () => {
    const [onFiles, onDatabase] = [await converse(running[0]!.bot, running[0]!.connector), await converse(running[1]!.bot, running[1]!.connector)];
    expect(running.map(({ bot }) => bot.store)).to.deep.equal(['file', 'postgres']);
    // Something was said: each turn got a card.
    expect(onFiles.every((cards) => cards.length > 0)).to.equal(true);
    expect(normalised(onDatabase, known)).to.equal(normalised(onFiles, known));
  });
});
