/**
 * A partner whose Teams speaks German renews in the Agents Playground with two keys pasted in one
 * field. The Playground always sends en-US, so a proxy between it and the bot sets each activity's
 * locale to de-DE, as a German Teams client would (test/support/localeProxy.ts).
 */
import { expect } from 'chai';
import { startBot, type RunningBot } from './support/botHarness.js';
import { FakeConnector } from './support/connector.js';
import { ACCOUNT, createCustomer, partnerFile } from './support/journeys.js';
import { startLocaleProxy, type LocaleProxy } from './support/localeProxy.js';
import { chromiumPath, closeBrowser, openChat, startPlayground, type ChatPage, type Playground } from './support/playground.js';
import { TeamsUser } from './support/teams.js';

const TENANT = 'c0ffee00-0000-4000-8000-0000000000de';
const JONAS = { id: 'partner-jonas', name: 'Jonas Weber', aadObjectId: 'aad-jonas-0001' };
const M365 = 'Microsoft 365 Business Standard';

describe('the bot in German in the Agents Playground', function () {
  this.timeout(120_000);
  let bot: RunningBot;
  let proxy: LocaleProxy;
  let playground: Playground;
  let chat: ChatPage;
  let connector: FakeConnector;

  before(async function () {
    if (!chromiumPath() && !process.env.CI) this.skip(); // CI installs Chromium, and must run this
    bot = await startBot();
    proxy = await startLocaleProxy(bot.url, 'de-DE');
    connector = await new FakeConnector().start();
    playground = await startPlayground({ botEndpoint: `${proxy.url}/api/messages`, tenantId: TENANT, user: JONAS });
    chat = await openChat(playground.url);
  });

  after(async () => {
    await chat?.close();
    await closeBrowser();
    await playground?.stop();
    await proxy?.stop();
    await connector?.stop();
    await bot?.stop();
  });

  it('renews a 20-seat subscription with two keys pasted in one field, and keeps its 20 seats', async () => {
    // The customer is set up over HTTP by the same person: two keys of 10 seats, 20 seats in all.
    const jonas = new TeamsUser({ botUrl: bot.url, connector, tenantId: TENANT, userId: JONAS.aadObjectId, name: JONAS.name });
    await createCustomer(jonas, await bot.mintKeys(2, M365, 10, 12), ACCOUNT);
    await chat.waitForText('Ich helfe Ihnen, Microsoft 365 für Ihre Kunden einzurichten');

    await chat.send('kunde contoso');
    await chat.waitForText(`${M365}: 1 von 20 Lizenzen zugewiesen, endet am 2. März 2027`);
    await chat.clickButton('Verlängern');
    await chat.waitForText('Um 20 Lizenzen zu behalten, geben Sie Product Keys für 20 Lizenzen ein.');
    const keys = await bot.mintKeys(2, M365, 10, 12);
    await chat.fillInput('Product Keys', keys.join('\n'));
    await chat.clickButton('Weiter');
    await chat.waitForText('Sieht alles richtig aus?');
    await chat.waitForText('20 Lizenzen → 20 Lizenzen');
    // A text that starts with a German date ("2. März …") is no numbered list: its "2." stays in the text.
    await chat.waitForText('2. März 2027 → 2. März 2028');
    expect(await chat.page.locator('ol', { hasText: 'März' }).count(), 'a date read as a numbered list').to.equal(0);
    const page = await chat.page.content();
    for (const key of keys) {
      expect(page).to.include(`•••••-•••••-•••••-•••••-${key.slice(-5)}`);
      expect(page).not.to.include(key.slice(0, 11));
    }
    await chat.screenshot('renewal-summary-de');

    await chat.clickButton('Verlängern');
    await chat.waitForText(`Verlängert: ${M365} für Contoso GmbH endet jetzt am 2. März 2028 und hat 20 Lizenzen.`);
    await chat.screenshot('renewed-de');
    const contoso = (await partnerFile(bot.dataDir, TENANT)).customers[0];
    expect(contoso.subscriptions.map((s: any) => [s.product, s.seats, s.endDate])).to.deep.equal([[M365, 20, '2028-03-02']]);
  });
});
