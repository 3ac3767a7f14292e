/** Connector and user-token clients are reused across turns, but never across service URLs or apps. */
import { expect } from 'chai';
import { AuthenticationConstants, ClaimsIdentity } from 'botframework-connector';
import { ReusedConnectorsAuthentication } from '../src/bot/reusedConnectors.js';
import { startBot, type RunningBot } from './support/botHarness.js';
import { FakeConnector } from './support/connector.js';
import { TeamsUser } from './support/teams.js';

describe('reused connector clients', () => {
  it('makes one client per service URL and keeps it for later turns', async () => {
    const auth = new ReusedConnectorsAuthentication({});
    const identity = new ClaimsIdentity([], 'anonymous');
    const first = await auth.createConnectorFactory(identity).create('http://127.0.0.1:1/emea/');
    const again = await auth.createConnectorFactory(identity).create('http://127.0.0.1:1/emea/');
    const other = await auth.createConnectorFactory(identity).create('http://127.0.0.1:1/amer/');
    expect(again).to.equal(first);
    expect(other).not.to.equal(first);
    expect(other.conversations).to.be.an('object');
  });

  it('makes one user-token client per app and keeps it for later turns', async () => {
    const auth = new ReusedConnectorsAuthentication({});
    const forApp = (appId: string) => new ClaimsIdentity([{ type: AuthenticationConstants.AudienceClaim, value: appId }], true);
    const first = await auth.createUserTokenClient(forApp('app-a'));
    expect(await auth.createUserTokenClient(forApp('app-a'))).to.equal(first);
    expect(await auth.createUserTokenClient(forApp('app-b'))).not.to.equal(first);
  });

  describe('over HTTP', () => {
    let bot: RunningBot;
    let emea: FakeConnector;
    let amer: FakeConnector;

    beforeEach(async () => {
      [emea, amer] = await Promise.all([new FakeConnector().start(), new FakeConnector().start()]);
      bot = await startBot();
    });

    afterEach(async () => {
      await bot.stop();
      await Promise.all([emea.stop(), amer.stop()]);
    });

    it('sends each reply to the connector its activity came from, turn after turn', async () => {
      const anna = new TeamsUser({ botUrl: bot.url, connector: emea, tenantId: 'a1b2c3d4-0000-4000-8000-0000000000e1', userId: 'user-anna', name: 'Anna' });
      const bob = new TeamsUser({ botUrl: bot.url, connector: amer, tenantId: 'a1b2c3d4-0000-4000-8000-0000000000a1', userId: 'user-bob', name: 'Bob' });
      for (let round = 0; round < 3; round++) {
        expect(await anna.say('help')).to.have.length(1);
        expect(await bob.say('help')).to.have.length(1);
      }
      expect(emea.sent.map((s) => s.conversationId)).to.deep.equal(Array(3).fill(anna.conversationId));
      expect(amer.sent.map((s) => s.conversationId)).to.deep.equal(Array(3).fill(bob.conversationId));
    });
  });
});
