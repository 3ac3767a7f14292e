/**
 * Two Agents Playground instances, one per tenant: the partner requests a least-privilege
 * relationship in its chat, the customer's admin accepts it by clicking in the customer's chat, in
 * German, and the partner's chat shows the answer. The Playground always sends en-US: the customer's
 * side speaks the language chosen for the customer's account (German here), as a Teams user of that
 * organization would be answered. Screenshots of both land in test-results/.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { roleTemplate } from '../src/domain/entraRoles.js';
import { startBot, type RunningBot } from './support/botHarness.js';
import { FakeConnector } from './support/connector.js';
import { chromiumPath, closeBrowser, openChat, startPlayground, type ChatPage, type Playground } from './support/playground.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'c0ffee00-0000-4000-8000-0000000000f1';

describe('delegated administration in two Agents Playgrounds', function () {
  this.timeout(180_000);
  let bot: RunningBot;
  let connector: FakeConnector;
  const playgrounds: Playground[] = [];
  const chats: ChatPage[] = [];

  before(async function () {
    if (!chromiumPath() && !process.env.CI) this.skip(); // CI installs Chromium, and must run this
    bot = await startBot();
    // The customer is set up over HTTP first: its tenant id and admin only exist afterwards.
    connector = await new FakeConnector().start();
    const setup = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'aad-anna-0001', name: 'Anna Berg' });
    const [entry] = await setup.say('redeem');
    const review = (await setup.press(entry!, 'Next', { key0: (await bot.mintKeys(1))[0]! })).card;
    const receipt = (await setup.press(review, 'Product keys were added')).card;
    const profile = (await setup.press(receipt, "Step 2: Create the customer's account")).card;
    const form = (await setup.press(profile, 'Save profile', { organisationName: 'Fabrikam IT', partnerId: '1234567', cloudEssentials: 'true', timeZone: 'Europe/Berlin' })).card;
    const account = { country: 'DE', organisationName: 'Contoso GmbH', firstName: 'Eva', lastName: 'Muster', email: 'eva@contoso.example', phone: '+49 89 1234567', domainPrefix: 'contoso', signInName: 'eva', language: 'de', partnerOfRecord: 'true' };
    await setup.press((await setup.press(form, 'Next', account)).card, 'Create account');
  });

  after(async () => {
    for (const chat of chats) await chat.close();
    await closeBrowser();
    for (const playground of playgrounds) await playground.stop();
    await connector?.stop();
    await bot?.stop();
  });

  it('lets the customer accept a least-privilege relationship by clicking, in German, and tells the partner', async () => {
    const customer = JSON.parse(await readFile(join(bot.dataDir, 'partners', `${PARTNER}.json`), 'utf8')).customers[0];
    const endpoint = `${bot.url}/api/messages`;
    const [partnerPg, customerPg] = await Promise.all([
      startPlayground({ botEndpoint: endpoint, tenantId: PARTNER, user: { id: 'partner-anna', name: 'Anna Berg', aadObjectId: 'aad-anna-0001' } }),
      startPlayground({ botEndpoint: endpoint, tenantId: customer.tenantId, user: { id: 'customer-eva', name: 'Eva Muster', aadObjectId: customer.admin.objectId } }),
    ]);
    playgrounds.push(partnerPg, customerPg);
    const [partner, admin] = await Promise.all([openChat(partnerPg.url), openChat(customerPg.url)]);
    chats.push(partner, admin);

    // Opening the chat installs the app: the bot greets the admin, in the account's language, and now knows where to reach them.
    await admin.waitForText('Ihr Microsoft-Partner Fabrikam IT hat Ihr Konto contoso.onmicrosoft.com eingerichtet');

    // The form starts from "Users and licenses": Directory Readers, User Administrator, License Administrator.
    await partner.send('delegate contoso');
    await partner.waitForText('Request delegated administration from Contoso GmbH');
    await partner.clickButton('Send request');
    await partner.waitForText('was sent to Eva Muster, the admin of Contoso GmbH.');

    await admin.waitForText('Fabrikam IT bittet um delegierte Administration');
    await admin.waitForText('Benutzeradministrator');
    await admin.waitForText('Für 730 Tage ab Ihrer Genehmigung.');
    await admin.screenshot('delegation-request-at-customer-de');
    await admin.clickButton('Annehmen');
    await admin.waitForText('Fabrikam IT hat diese Rollen bis');
    await admin.screenshot('delegation-accepted-at-customer-de');

    await partner.waitForText('Contoso GmbH approved your request "Contoso GmbH – Users and licenses"');
    await partner.screenshot('delegation-accepted-at-partner');
    const doc = JSON.parse(await readFile(join(bot.dataDir, 'partners', `${PARTNER}.json`), 'utf8'));
    expect(doc.customers[0].offers[0]).to.include({ status: 'accepted' });
    expect(doc.customers[0].offers[0].relationship.accessDetails.unifiedRoles.map((r: { roleDefinitionId: string }) => r.roleDefinitionId)).to.deep.equal(roleTemplate('usersAndLicenses')!.roleIds);
    expect(await bot.app.embeddedCommerce.listRelationships(customer.tenantId, PARTNER)).to.have.length(1).and.satisfy((rs: Array<{ status: string }>) => rs[0]!.status === 'active');
  });
});
