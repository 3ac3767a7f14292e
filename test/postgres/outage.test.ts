/**
 * The database goes away under a running bot and comes back: /healthz says so, a turn meanwhile
 * answers that nothing was changed and half-writes nothing, and the pool reconnects by itself.
 */
import { expect } from 'chai';
import pg from 'pg';
import { startBot, type RunningBot } from '../support/botHarness.js';
import { cardText } from '../support/cardQuery.js';
import { FakeConnector } from '../support/connector.js';
import { createCustomer } from '../support/journeys.js';
import { ownServer, type OwnServer } from '../support/postgres.js';
import { TeamsUser } from '../support/teams.js';

const PARTNER = 'd1d2d3d4-0000-4000-8000-000000000001';

describe('a PostgreSQL outage under a running bot', function () {
  this.timeout(120_000);
  let server: OwnServer;
  let bot: RunningBot;
  let connector: FakeConnector;

  before(async function () {
    server = await ownServer(this);
    connector = await new FakeConnector().start();
    bot = await startBot({ DATABASE_URL: server.adminUrl });
  });

  after(async () => {
    await bot?.stop();
    await connector?.stop();
    await server?.stop();
  });

  const health = async () => {
    const response = await fetch(`${bot.url}/healthz`);
    return { status: response.status, body: await response.json() };
  };
  const count = async (sql: string) => {
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows[0].n as number;
    } finally {
      await client.end();
    }
  };

  it('answers 503 while the database is down, "nothing was changed" to a turn, and carries on once it is back', async () => {
    const ada = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'ada-0001', name: 'Ada Lovelace' });
    const [first, second] = await bot.mintKeys(2);
    await createCustomer(ada, [first!]);
    expect((await health()).status).to.equal(200);
    const entry = await ada.reply('redeem');

    await server.pause();
    try {
      const down = await health();
      expect(down.status).to.equal(503);
      expect(JSON.stringify(down.body)).to.match(/database/i);
      const during = await ada.press(entry, 'Next', { key0: second! });
      expect(during.httpStatus).to.equal(200);
      expect(cardText(during.card)).to.include('nothing was changed');
      const [answer] = await ada.say('customers');
      expect(cardText(answer!)).to.include('nothing was changed');
    } finally {
      await server.resume();
    }

    expect((await health()).status).to.equal(200);
    // The press during the outage left nothing behind: the same card's press now adds the key.
    expect(await count("SELECT count(*)::int AS n FROM setups WHERE status = 'entering' OR status = 'reviewing'")).to.equal(0);
    const after = await ada.press(entry, 'Next', { key0: second! });
    expect(cardText(after.card)).to.include(second!.slice(-5));
    expect(await count('SELECT count(*)::int AS n FROM customers')).to.equal(1);
  });

  it('refuses to start with a DATABASE_URL that cannot be reached, naming the host and never the password', async () => {
    let failure: Error | undefined;
    await startBot({ DATABASE_URL: 'postgres://bot:s3cret-pw@127.0.0.1:1/partners' }).catch((error: Error) => (failure = error));
    expect(failure?.message).to.include('127.0.0.1:1/partners');
    expect(failure?.message).not.to.include('s3cret-pw');
  });
});
