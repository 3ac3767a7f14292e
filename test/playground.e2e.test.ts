/**
 * A partner in the Microsoft 365 Agents Playground (a local Teams emulator) in headless Chromium:
 * types and clicks through a redemption to the receipt, creates a customer, renews from a reminder
 * and gets a proactive release notice. One bot and one chat serve all tests (starting them is slow),
 * but each test sets up the state it needs. Screenshots land in test-results/.
 */
import { expect } from 'chai';
import { startBot, type RunningBot } from './support/botHarness.js';
import { FakeConnector } from './support/connector.js';
import { ACCOUNT, createCustomer, partnerFile } from './support/journeys.js';
import { chromiumPath, closeBrowser, openChat, startPlayground, type ChatPage, type Playground } from './support/playground.js';
import { TeamsUser } from './support/teams.js';

const TENANT = 'c0ffee00-0000-4000-8000-00000000a11c';
const ANNA = { id: 'partner-anna', name: 'Anna Berg', aadObjectId: 'aad-anna-0001' };

describe('the bot in the Agents Playground', function () {
  this.timeout(120_000);
  let bot: RunningBot;
  let playground: Playground;
  let chat: ChatPage;
  let connector: FakeConnector;

  /** Redeems one key in the chat to its receipt; waits for this key's cards, not older ones alike. */
  async function reserveInChat(key: string): Promise<void> {
    const masked = `•••••-•••••-•••••-•••••-${key.slice(-5)}`;
    const messages = chat.page.locator('div:has(> [aria-label="Message header"])').filter({ hasText: masked });
    await chat.send('redeem');
    await chat.fillInput('Product key 1', key);
    await chat.clickButton('Next');
    await messages.filter({ hasText: 'Does everything look right?' }).last().waitFor();
    await chat.clickButton('Product keys were added');
    await messages.filter({ hasText: 'These keys are reserved for your organization until' }).last().waitFor();
  }

  before(async function () {
    if (!chromiumPath() && !process.env.CI) this.skip(); // CI installs Chromium, and must run this
    bot = await startBot();
    connector = await new FakeConnector().start();
    playground = await startPlayground({ botEndpoint: `${bot.url}/api/messages`, tenantId: TENANT, user: ANNA });
    chat = await openChat(playground.url);
  });

  after(async () => {
    await chat?.close();
    await closeBrowser();
    await playground?.stop();
    await connector?.stop();
    await bot?.stop();
  });

  it('redeems two keys to the receipt by typing and clicking', async () => {
    const keys = await bot.mintKeys(2);
    await chat.waitForText('I help you set up Microsoft 365');
    await chat.send('redeem');
    await chat.waitForText('Enter the 25-character product key');
    await chat.fillInput('Product key 1', keys[0]!);
    await chat.clickButton('Add another key');
    await chat.fillInput('Product key 2', keys[1]!.toLowerCase().replace(/-/g, ' '));
    await chat.clickButton('Next');
    await chat.waitForText('Does everything look right?');
    await chat.waitForText('Microsoft 365 Business Standard: 20 seats from 2 keys');
    const page = await chat.page.content();
    expect(page).to.include(`•••••-•••••-•••••-•••••-${keys[1]!.slice(-5)}`);
    expect(page).not.to.include(keys[0]!.slice(0, 11));
    await chat.screenshot('redeem-summary');

    await chat.clickButton('Product keys were added');
    await chat.waitForText('These keys are reserved for your organization until');
    await chat.screenshot('redeem-receipt');
  });

  it("creates the customer's account from the reserved keys", async () => {
    await reserveInChat((await bot.mintKeys(1))[0]!);
    await chat.clickButton("Step 2: Create the customer's account");
    await chat.waitForText('Before you create customer accounts');
    await chat.fillInput('Partner organization name', 'Fabrikam IT');
    await chat.fillInput('Partner ID (used as your Partner of Record number)', '1234567');
    // The time zone list is a typeahead search by city (Input.ChoiceSet style "filtered"), named as Windows names zones.
    const zone = chat.page.locator('.ac-adaptiveCard').last().getByRole('combobox').first();
    await zone.click();
    await zone.fill('');
    await zone.pressSequentially('Vienna');
    await chat.page.getByRole('option', { name: '(UTC+01:00) Berlin, Vienna, Zurich' }).click();
    await chat.clickButton('Save profile');
    await chat.waitForText("Step 2: Create your customer's account");
    expect((await partnerFile(bot.dataDir, TENANT)).profile.timeZone).to.equal('Europe/Berlin');
    // The country list is a typeahead search too; older cards above keep their own lists, so the newest card's.
    const country = chat.page.locator('.ac-adaptiveCard').last().getByRole('combobox').first();
    await country.click();
    await country.pressSequentially('Germ');
    await chat.page.getByRole('option', { name: 'Germany' }).click();
    await chat.fillInput('Organization name', 'Contoso GmbH');
    await chat.fillInput("Admin's first name", 'Eva');
    await chat.fillInput("Admin's last name", 'Muster');
    await chat.fillInput("Admin's contact email", 'eva.muster@contoso.example');
    await chat.fillInput("Admin's phone number", '+49 89 1234567');
    await chat.fillInput('Initial domain', 'contoso');
    await chat.fillInput("Admin's sign-in name", 'eva');
    await chat.screenshot('account-form');
    await chat.clickButton('Next');
    await chat.waitForText('Check the account before it is created.');
    await chat.clickButton('Create account');
    await chat.waitForText('The account was created');
    await chat.waitForText('Eva Muster now has admin rights for Contoso GmbH');
    await chat.screenshot('account-created');
    const contoso = (await partnerFile(bot.dataDir, TENANT)).customers.find((c: any) => c.name === 'Contoso GmbH');
    expect(contoso.admin.userPrincipalName).to.equal('eva@contoso.onmicrosoft.com');
    expect(contoso.subscriptions.map((s: any) => [s.product, s.seats, s.partnerOfRecord])).to.deep.equal([['Microsoft 365 Business Standard', 10, '1234567']]);
  });

  it('shows a renewal reminder proactively and renews with a product key', async () => {
    // Its own customer, set up over HTTP by the same person years after any other test's, so no
    // other subscription has a reminder due on its day.
    bot.clock.current = new Date('2030-06-01T08:00:00Z');
    const anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: TENANT, userId: ANNA.aadObjectId, name: ANNA.name });
    await createCustomer(anna, await bot.mintKeys(1), { ...ACCOUNT, organisationName: 'Northwind Traders', domainPrefix: 'northwind', email: 'eva@northwind.example', language: 'en' });
    // Writing in the Playground makes its chat the one reminders go to again.
    await chat.send('reminders');
    await chat.waitForText('Due in the next 60 days');
    // It ends on 1 June 2031; 30 days before, at 09:00 in the partner's zone (CEST).
    bot.clock.current = new Date('2031-05-02T07:00:00Z');
    await bot.app.reminders.run();
    await chat.waitForText('Microsoft 365 Business Standard for Northwind Traders ends in 30 days');
    await chat.screenshot('reminder-card');
    await chat.clickButton('Renew with product key');
    await chat.waitForText('Keys of the same product extend the subscription by their term, counted from the current end date');
    const [key] = await bot.mintKeys(1, 'Microsoft 365 Business Standard', 20, 12);
    await chat.fillInput('Product keys', key!);
    await chat.clickButton('Next');
    await chat.waitForText('10 seats → 20 seats');
    await chat.waitForText('1 June 2031 → 1 June 2032');
    await chat.screenshot('renewal-summary');
    await chat.clickButton('Renew');
    await chat.waitForText('now ends on 1 June 2032 and has 20 seats');
    await chat.screenshot('renewed');
    const northwind = (await partnerFile(bot.dataDir, TENANT)).customers.find((c: any) => c.name === 'Northwind Traders');
    expect(northwind.subscriptions.map((s: any) => [s.endDate, s.seats])).to.deep.equal([['2032-06-01', 20]]);
  });

  it('shows a proactive notice when a reservation runs out', async () => {
    // Reservations other tests left run out first, so only this one is due at the sweep below.
    bot.clock.advanceDays(30);
    await bot.app.sweep();
    const [key] = await bot.mintKeys(1);
    await reserveInChat(key!);
    bot.clock.advanceDays(15);
    expect(await bot.app.sweep()).to.equal(1);
    await chat.waitForText(`(ending in ${key!.slice(-5)}) was not continued`);
    await chat.waitForText('so its keys were released');
    await chat.screenshot('reservation-released');
  });
});
