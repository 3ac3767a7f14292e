/**
 * Two real bot processes on one PostgreSQL database, as behind a load balancer: one partner's turns
 * alternate between them, and partners racing for one key through both get it once.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { BotProcess, PROCESS_SECRET } from '../support/botProcess.js';
import { buttons, cardText, type Card } from '../support/cardQuery.js';
import { FakeConnector } from '../support/connector.js';
import { ACCOUNT, PROFILE } from '../support/journeys.js';
import { freshDatabase } from '../support/postgres.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import { seedDueReminders } from '../support/dueReminders.js';
import { TeamsUser } from '../support/teams.js';

/** Mints keys into the database's catalogue with `npm run keys`, as a distributor would. */
function mintKeys(databaseUrl: string, count: number): string[] {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'issue', '--product', 'Microsoft 365 Business Standard', '--seats', '10', '--months', '12', '--count', String(count)], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, KEY_HASH_SECRET: PROCESS_SECRET },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`npm run keys failed: ${run.stderr}`);
  return run.stdout.match(/[A-Z0-9]{5}(?:-[A-Z0-9]{5}){4}/g) ?? [];
}

describe('two bot processes on one PostgreSQL database', function () {
  this.timeout(180_000);
  let databaseUrl: string;
  let connector: FakeConnector;
  let dataDirs: string[];
  let bots: BotProcess[];
  let urls: string[];
  let db: pg.Pool;

  before(async function () {
    databaseUrl = await freshDatabase(this);
    connector = await new FakeConnector().start();
    dataDirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'two-instances-'))));
    bots = dataDirs.map((dir) => new BotProcess({ DATABASE_URL: databaseUrl, DATA_DIR: dir }));
    urls = await Promise.all(bots.map((bot) => bot.url()));
    db = new pg.Pool({ connectionString: databaseUrl });
  });

  after(async () => {
    await Promise.all((bots ?? []).map((bot) => bot.kill()));
    await connector?.stop();
    await db?.end();
  });

  const user = (tenantId: string, userId: string, name: string) => new TeamsUser({ botUrl: urls[0]!, connector, tenantId, userId, name });
  /** The next turn goes to the other instance. */
  const other = (who: TeamsUser) => (who.options.botUrl = who.options.botUrl === urls[0] ? urls[1]! : urls[0]!);

  it('continues a setup started on one instance on the other, turn by turn, to a created customer', async () => {
    const [key] = mintKeys(databaseUrl, 1);
    const ada = user('a1a2a3a4-0000-4000-8000-000000000001', 'ada-0001', 'Ada Lovelace');
    const steps: Array<(card: Card) => Promise<Card>> = [
      async (entry) => (await ada.press(entry, 'Next', { key0: key! })).card,
      async (review) => (await ada.press(review, 'Product keys were added')).card,
      async (receipt) => (await ada.press(receipt, "Step 2: Create the customer's account")).card,
      async (profile) => (await ada.press(profile, 'Save profile', PROFILE)).card,
      async (form) => (await ada.press(form, 'Next', ACCOUNT)).card,
      async (summary) => (await ada.press(summary, 'Create account')).card,
    ];
    let card = await ada.reply('redeem');
    for (const step of steps) {
      other(ada);
      card = await step(card);
    }
    expect(cardText(card)).to.include('Contoso GmbH');
    other(ada);
    expect(cardText(await ada.reply('customers'))).to.include('Contoso GmbH');
    const { rows } = await db.query('SELECT count(*)::int AS n FROM customers WHERE partner_tenant_id = $1', [ada.options.tenantId]);
    expect(rows[0].n).to.equal(1);
  });

  it('reserves a key for exactly one of 50 setups racing for it through both instances', async () => {
    const [key] = mintKeys(databaseUrl, 1);
    const people = Array.from({ length: 50 }, (_, i) => user(`b1b2b3b4-0000-4000-8000-${String(i).padStart(12, '0')}`, `racer-${i}`, `Racer ${i}`));
    people.forEach((who, i) => i % 2 === 1 && other(who));
    // Everyone checks the key first (it is valid and free for all of them), then all press at once.
    const reviews = await Promise.all(people.map(async (who) => (await who.press(await who.reply('redeem'), 'Next', { key0: key! })).card));
    const receipts = await Promise.all(people.map((who, i) => who.press(reviews[i]!, 'Product keys were added')));
    const reserved = receipts.filter(({ card }) => buttons(card).some((action) => action.title === "Step 2: Create the customer's account"));
    expect(reserved).to.have.length(1);
    expect(receipts.every(({ httpStatus }) => httpStatus === 200)).to.equal(true);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM key_reservations r JOIN setups s ON s.id = r.setup_id WHERE s.partner_tenant_id LIKE 'b1b2b3b4-%'");
    expect(rows[0].n).to.equal(1);
  });

  it('sends each due reminder once when two instances start their reminder run at the same moment', async () => {
    const { pool, repositories } = await openPostgres(databaseUrl, DEFAULT_LIFECYCLE);
    try {
      const chats = await seedDueReminders(repositories, connector.url, 'c1c2c3c4', 20);
      // Both start now: each runs the reminders at start-up, at the same moment as the other.
      const pair = dataDirs.map((dir) => new BotProcess({ DATABASE_URL: databaseUrl, DATA_DIR: dir }));
      bots.push(...pair);
      await Promise.all(pair.map((bot) => bot.url()));
      const sent = () => connector.sent.filter((s) => chats.includes(s.conversationId));
      const ledger = async () => (await pool.query("SELECT count(*)::int AS n FROM reminders WHERE status = 'sent' AND partner_tenant_id LIKE 'c1c2c3c4-%'")).rows[0].n as number;
      for (let waited = 0; (await ledger()) < chats.length && waited < 60_000; waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
      // A moment more, for a second send that would come late.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await ledger()).to.equal(chats.length);
      expect(sent().map((s) => s.conversationId).sort()).to.deep.equal([...chats].sort());
    } finally {
      await pool.end();
    }
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * Seeds 40 due reminders, starts an instance that runs them and kills it (kill -9) after 8 sends,
   * lets `takeOver` bring another instance in, and waits for the ledger to hold every one as sent.
   * Nothing lost (each sent and in its chat), nothing doubled but the one send the killed instance
   * may have handed to Teams without living to mark it sent. Returns how long the takeover took.
   */
  async function killMidRun(prefix: string, takeOver: () => Promise<void>): Promise<number> {
    const { pool, repositories } = await openPostgres(databaseUrl, DEFAULT_LIFECYCLE);
    try {
      // One send after the other, each a round trip to the connector and the database: 40 take a few seconds.
      const chats = await seedDueReminders(repositories, connector.url, prefix, 40);
      const sent = () => connector.sent.filter((s) => chats.includes(s.conversationId));
      const dying = new BotProcess({ DATABASE_URL: databaseUrl, DATA_DIR: dataDirs[0]!, REMINDER_SEND_LEASE_SECONDS: '2' });
      bots.push(dying);
      await dying.url();
      for (let waited = 0; sent().length < 8 && waited < 60_000; waited += 50) await sleep(50);
      await dying.kill('SIGKILL');
      const killedAt = Date.now();
      expect(sent().length, 'killed in the middle of its run').to.be.within(8, chats.length - 10);
      await takeOver();
      const ledger = async () => (await pool.query("SELECT count(*)::int AS n FROM reminders WHERE status = 'sent' AND partner_tenant_id LIKE $1", [`${prefix}-%`])).rows[0].n as number;
      while ((await ledger()) < chats.length && Date.now() - killedAt < 120_000) await sleep(200);
      const tookMs = Date.now() - killedAt;
      // A moment more, for a second send that would come late.
      await sleep(1000);
      expect(await ledger()).to.equal(chats.length);
      const received = sent().map((s) => s.conversationId);
      expect(new Set(received)).to.deep.equal(new Set(chats));
      expect(received.length - chats.length).to.be.at.most(1);
      return tookMs;
    } finally {
      await pool.end();
    }
  }

  it('finishes a reminder run on another instance when the one holding the runner lock is killed (kill -9) in the middle of it', async () => {
    // The runner lock went with the dead instance's connection: the next one's run at its start takes the work over.
    await killMidRun('e1e2e3e4', async () => {
      const next = new BotProcess({ DATABASE_URL: databaseUrl, DATA_DIR: dataDirs[1]!, REMINDER_SEND_LEASE_SECONDS: '2' });
      bots.push(next);
      await next.url();
    });
  });

  it('takes a killed instance’s reminder run over within a minute by the sweep of an instance already running (the default on a database)', async function () {
    this.timeout(240_000);
    // Nothing is started: the two instances of this suite, running since its start with the default
    // sweep (every minute on a database), find the run's queued reminders at their next one.
    const tookMs = await killMidRun('f1f2f3f4', async () => undefined);
    // Within the minute of the next sweep, and the seconds its sends and the dead one's lease take.
    expect(tookMs, 'taken over within a minute').to.be.below(75_000);
  });

  it('writes nothing into either instance’s data folder: everything is in the database', async () => {
    for (const dir of dataDirs) expect(await readdir(dir), dir).to.deep.equal([]);
  });
});
