/**
 * Delegated administration over real HTTP with two tenants on two connectors: the partner offers,
 * the customer's admin answers in its own tenant, and the partner hears back.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { injectDiskFault, type DiskFault } from './support/diskFaults.js';
import { ACCOUNT as BASE_ACCOUNT, createCustomer, PROFILE } from './support/journeys.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'd1b2c3d4-0000-4000-8000-000000000001';
const OTHER_PARTNER = 'd1b2c3d4-0000-4000-8000-000000000002';
const ACCOUNT = { ...BASE_ACCOUNT, email: 'eva@contoso.example', language: 'en' };
const NOT_SAVED = 'Sorry, this step could not be saved, so nothing was changed. Please try again in a moment.';

async function partnerFile(dataDir: string): Promise<any> {
  return JSON.parse(await readFile(join(dataDir, 'partners', `${PARTNER}.json`), 'utf8'));
}

async function tenantRecord(dataDir: string): Promise<any> {
  const dir = join(dataDir, 'commerce', 'tenants');
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.json'))) {
    const tenants = Object.values<any>(JSON.parse(await readFile(join(dir, file), 'utf8')).tenants);
    if (tenants.length > 0) return tenants[0];
  }
}

describe('delegated administration over HTTP', () => {
  let bot: RunningBot;
  let partnerSide: FakeConnector;
  let customerSide: FakeConnector;
  let anna: TeamsUser;
  let customer: { tenantId: string; adminObjectId: string; upn: string };

  /** The customer's admin (or another user of the customer tenant) writing from the customer's Teams. */
  const customerUser = (userId: string, name = 'Eva Muster') => new TeamsUser({ botUrl: bot.url, connector: customerSide, tenantId: customer.tenantId, userId, name });

  async function customerCard(): Promise<Card> {
    const [card] = await anna.say('customer contoso');
    return card!;
  }

  async function offer(message?: string): Promise<Card> {
    const compose = (await anna.press(await customerCard(), 'Offer delegated administration')).card;
    expect(cardText(compose)).to.include('Offer delegated administration to Contoso GmbH');
    return (await anna.press(compose, 'Send offer', message ? { message } : {})).card;
  }

  /** The last card the bot sent to the customer's chat. */
  function lastCustomerCard(admin: TeamsUser): Card {
    const sent = customerSide.sent.filter((s) => s.conversationId === admin.conversationId && s.activity.attachments);
    return sent.at(-1)!.activity.attachments[0].content;
  }

  /**
   * Presses Accept as the backend grants the rights and the disk then fills up, so the answer cannot
   * be saved, and the backend fails as well to take the rights back: what an outage can leave.
   */
  async function acceptOnFullDisk(admin: TeamsUser, card: Card): Promise<Card> {
    const commerce = bot.app.embeddedCommerce;
    const setDelegatedAdmin = commerce.setDelegatedAdmin;
    let fault: DiskFault | undefined;
    commerce.setDelegatedAdmin = async (customerTenantId, partnerTenantId, active) => {
      if (fault) throw new Error('backend unavailable');
      await setDelegatedAdmin.call(commerce, customerTenantId, partnerTenantId, active);
      fault = injectDiskFault(join(bot.dataDir, 'partners'), 'writeFile', 'ENOSPC');
    };
    try {
      return (await admin.press(card, 'Accept')).card;
    } finally {
      fault?.clear();
      commerce.setDelegatedAdmin = setDelegatedAdmin;
    }
  }

  /** The partners the backend lists as delegated admins of the customer's tenant. */
  async function delegatedAdmins(): Promise<string[]> {
    return (await tenantRecord(bot.dataDir)).delegatedAdmins.map((admin: { partnerTenantId: string }) => admin.partnerTenantId);
  }

  beforeEach(async () => {
    partnerSide = await new FakeConnector().start();
    customerSide = await new FakeConnector().start();
    bot = await startBot();
    anna = new TeamsUser({ botUrl: bot.url, connector: partnerSide, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
    await createCustomer(anna, await bot.mintKeys(1), ACCOUNT);
    const created = (await partnerFile(bot.dataDir)).customers[0];
    customer = { tenantId: created.tenantId, adminObjectId: created.admin.objectId, upn: created.admin.userPrincipalName };
  });

  afterEach(async () => {
    await bot.stop();
    await partnerSide.stop();
    await customerSide.stop();
  });

  it('pushes the offer to a known admin chat; the admin accepts; the partner is told and may add users', async () => {
    const eva = customerUser(customer.adminObjectId);
    const greeting = await eva.say('hello');
    expect(cardText(greeting[0]!)).to.include('Your Microsoft partner Fabrikam IT set up your account contoso.onmicrosoft.com');
    expect(cardText(greeting[0]!)).to.include('There is no open offer');

    const sent = await offer('Dear Eva, [click here](https://evil.example) ${t.title}');
    expect(cardText(sent)).to.include('The offer was sent to Eva Muster, the admin of Contoso GmbH.');
    const pushed = lastCustomerCard(eva);
    expect(cardText(pushed)).to.include('Fabrikam IT offers to manage Microsoft 365 for you');
    expect(JSON.stringify(pushed)).to.include('"type":"TextRun","text":"Dear Eva, [click here](https://evil.example) ${t.title}"');
    expect(cardText(pushed)).to.include('full admin access to all your services and subscriptions');
    expect(cardText(pushed)).to.include('type **remove partner access**');

    const from = partnerSide.sent.length;
    const accepted = (await eva.press(pushed, 'Accept')).card;
    expect(cardText(accepted)).to.include('Accepted by Eva Muster on 2 March 2026. Fabrikam IT is now your delegated administrator.');
    expect(buttons(accepted).filter((b) => b.verb?.startsWith('offer.'))).to.have.length(0);
    const notices = partnerSide.since(from, anna.conversationId).map((s) => s.activity.text);
    expect(notices).to.deep.equal(['Contoso GmbH accepted your offer of delegated administration (Eva Muster, 2 March 2026). You can now perform admin tasks on the customer\'s behalf, for example type **add user to Contoso GmbH**.']);
    expect(cardText(await customerCard())).to.include('Delegated administration: active (accepted by Eva Muster on 2 March 2026)');
    const tenant = await tenantRecord(bot.dataDir);
    expect(tenant.delegatedAdmins).to.have.length(1);
    expect(tenant.delegatedAdmins[0]).to.include({ partnerTenantId: PARTNER });
    expect(tenant.subscriptions[0].assignedSeats, 'the delegated admin uses no license').to.equal(1);

    const [form] = await anna.say('add user to contoso');
    const added = (await anna.press(form!, 'Add user', { firstName: 'Max', lastName: 'Mustermann', signInName: 'max' })).card;
    expect(cardText(added)).to.include('Max Mustermann was added as max@contoso.onmicrosoft.com with a license for Microsoft 365 Business Standard.');
    expect(cardText(added)).to.include('2 of 10 seats assigned');
    const again = (await anna.press(form!, 'Add user', { firstName: 'Max', lastName: 'Mustermann', signInName: 'max' })).card;
    expect(cardText(again), 'a second press adds nobody twice').to.include('2 of 10 seats assigned');
  });

  it('shows a waiting offer when the admin first writes, recognising the admin by sign-in name', async () => {
    expect(cardText(await offer())).to.include('has not opened a chat with Partner Setup Bot yet');
    expect(cardText(await customerCard())).to.include('not yet seen by the admin');
    // A Teams user id the bot has not seen; Teams member info gives the admin's sign-in name.
    const eva = customerUser('aad-eva-real');
    customerSide.members.set('29:aad-eva-real', { id: '29:aad-eva-real', name: 'Eva Muster', userPrincipalName: customer.upn.toUpperCase(), aadObjectId: 'aad-eva-real' });
    await eva.say('hi');
    const shown = lastCustomerCard(eva);
    expect(cardText(shown)).to.include('Fabrikam IT offers to manage Microsoft 365 for you');
    expect((await partnerFile(bot.dataDir)).customers[0].admin.objectId).to.equal('aad-eva-real');
    const declined = (await eva.press(shown, 'Decline')).card;
    expect(cardText(declined)).to.include('Declined by Eva Muster');
    expect(partnerSide.sent.at(-1)!.activity.text).to.include('Contoso GmbH declined your offer');
    expect(buttons(await customerCard()).map((b) => b.title)).to.include('Offer delegated administration');
  });

  it('withdraws a pending offer, updating the card at the customer, whose later press changes nothing', async () => {
    const eva = customerUser(customer.adminObjectId);
    await eva.say('hello');
    await offer();
    const pushed = lastCustomerCard(eva);
    const withdrawn = (await anna.press(await customerCard(), 'Withdraw offer')).card;
    expect(cardText(withdrawn)).to.include('The offer to Contoso GmbH was withdrawn.');
    const update = customerSide.sent.filter((s) => s.method === 'PUT').at(-1)!;
    expect(cardText(update.activity.attachments[0].content)).to.include('Fabrikam IT withdrew this offer');
    const late = (await eva.press(pushed, 'Accept')).card;
    expect(cardText(late)).to.include('This offer was already answered; nothing was changed.');
    expect((await tenantRecord(bot.dataDir)).delegatedAdmins).to.have.length(0);
  });

  it('expires an unanswered offer after 90 days and tells both sides', async () => {
    const eva = customerUser(customer.adminObjectId);
    await eva.say('hello');
    await offer();
    bot.clock.advanceDays(89);
    await bot.app.sweep();
    expect(cardText(await customerCard())).to.include('offer pending since');
    bot.clock.advanceDays(1);
    const from = partnerSide.sent.length;
    await bot.app.sweep();
    expect(partnerSide.since(from).map((s) => s.activity.text)).to.deep.equal([
      'Your offer of delegated administration to Contoso GmbH expired unanswered on 31 May 2026. You can send a new one from the customer card.',
    ]);
    expect(cardText(customerSide.sent.filter((s) => s.method === 'PUT').at(-1)!.activity.attachments[0].content)).to.include('This offer expired on 31 May 2026.');
    await bot.app.sweep();
    expect(partnerSide.since(from), 'told once').to.have.length(1);
  });

  it('refuses a partner that is not enrolled in Cloud Essentials', async () => {
    const [profile] = await anna.say('profile');
    await anna.press(profile!, 'Save profile', { ...PROFILE, cloudEssentials: 'false' });
    const answer = (await anna.press(await customerCard(), 'Offer delegated administration')).card;
    expect(cardText(answer)).to.include('Only partners enrolled in the Microsoft Cloud Essentials program');
    const [typed] = await anna.say('delegate contoso');
    expect(cardText(typed!)).to.include('Only partners enrolled');
    expect((await partnerFile(bot.dataDir)).customers[0].offers).to.have.length(0);
  });

  it('lets nobody but the customer admin answer, and ignores forged or replayed presses', async () => {
    const eva = customerUser(customer.adminObjectId);
    await eva.say('hello');
    await offer();
    const pushed = lastCustomerCard(eva);
    const offerId = buttons(pushed).find((b) => b.verb === 'offer.accept')!.data.offerId;
    const before = JSON.stringify((await partnerFile(bot.dataDir)).customers[0].offers);

    const actors: Array<[string, TeamsUser, string]> = [
      ['the partner', anna, 'This offer is not for your organization'],
      ['another tenant', new TeamsUser({ botUrl: bot.url, connector: partnerSide, tenantId: OTHER_PARTNER, userId: 'eve', name: 'Eve' }), 'This offer is not for your organization'],
      ['a non-admin of the customer', customerUser('aad-bob', 'Bob'), `Only the admin of your organization's account (${customer.upn})`],
    ];
    for (const [who, actor, message] of actors) {
      for (const verb of ['offer.accept', 'offer.decline']) {
        const { httpStatus, card } = await actor.invoke(verb, { offerId });
        expect(httpStatus, who).to.equal(200);
        expect(cardText(card), who).to.include(message);
      }
    }
    const forged = await eva.invoke('offer.accept', { offerId: '99999999-9999-4999-8999-999999999999' });
    expect(cardText(forged.card)).to.include('This offer is not for your organization');
    expect(JSON.stringify((await partnerFile(bot.dataDir)).customers[0].offers)).to.equal(before);

    await eva.press(pushed, 'Accept');
    const replay = (await eva.press(pushed, 'Decline')).card;
    expect(cardText(replay)).to.include('already answered');
    expect(cardText(await customerCard())).to.include('active (accepted');
  });

  it('tells the partner when the admin removed the app, and how to reach them', async () => {
    const eva = customerUser(customer.adminObjectId);
    await eva.say('hello');
    customerSide.failWith = { status: 403, code: 'BotNotInConversationRoster' };
    const sent = await offer();
    expect(cardText(sent)).to.include('could not be delivered: Eva Muster removed Partner Setup Bot or blocked it');
    expect(cardText(sent)).to.include('add Partner Setup Bot in Teams again');
    expect(cardText(await customerCard())).to.include('the admin cannot be reached');
    customerSide.failWith = undefined;
    await eva.say('hello again');
    expect(cardText(lastCustomerCard(eva))).to.include('Fabrikam IT offers to manage');
  });

  it('lets the customer end delegation; the partner is told and can no longer act', async () => {
    const eva = customerUser(customer.adminObjectId);
    await eva.say('hello');
    await offer();
    await eva.press(lastCustomerCard(eva), 'Accept');
    const [confirm] = await eva.say('remove partner access');
    expect(cardText(confirm!)).to.include("End Fabrikam IT's delegated administration?");
    const from = partnerSide.sent.length;
    const ended = (await eva.press(confirm!, 'End partner access')).card;
    expect(cardText(ended)).to.include('Delegated administration by Fabrikam IT was ended.');
    expect(partnerSide.since(from).map((s) => s.activity.text)[0]).to.include('Contoso GmbH ended your delegated administration');
    expect((await tenantRecord(bot.dataDir)).delegatedAdmins).to.have.length(0);
    const [refused] = await anna.say('add user to contoso');
    expect(cardText(refused!)).to.include('You are not the delegated administrator of Contoso GmbH');
    const stray = await customerUser('aad-bob', 'Bob').invoke('access.end', {});
    expect(cardText(stray.card)).to.include('Only the admin');
  });

  /** An offer pushed to the admin, who pressed Accept as the disk filled up: the rights are granted and not taken back. */
  async function unsavedAcceptance(): Promise<{ eva: TeamsUser; pushed: Card }> {
    const eva = customerUser(customer.adminObjectId);
    await eva.say('hello');
    await offer();
    const pushed = lastCustomerCard(eva);
    expect(cardText(await acceptOnFullDisk(eva, pushed))).to.equal(NOT_SAVED);
    expect(await delegatedAdmins(), 'granted, and not yet taken back').to.deep.equal([PARTNER]);
    return { eva, pushed };
  }

  const closings: Array<[how: string, close: (eva: TeamsUser, pushed: Card) => Promise<unknown>, status: string]> = [
    ['the admin declines', (eva, pushed) => eva.press(pushed, 'Decline'), 'declined'],
    ['the partner withdraws the offer', async () => anna.press(await customerCard(), 'Withdraw offer'), 'withdrawn'],
    ['the offer expires', () => (bot.clock.advanceDays(90), bot.app.sweep()), 'expired'],
  ];
  for (const [how, close, status] of closings) {
    it(`takes back the rights of an acceptance that could not be saved when ${how}`, async () => {
      const { eva, pushed } = await unsavedAcceptance();
      await close(eva, pushed);
      expect((await partnerFile(bot.dataDir)).customers[0].offers[0].status).to.equal(status);
      expect(await delegatedAdmins()).to.deep.equal([]);
    });
  }

  it('accepts once when the admin presses Accept again after an acceptance that could not be saved', async () => {
    const { eva, pushed } = await unsavedAcceptance();
    const from = partnerSide.sent.length;
    const accepted = (await eva.press(pushed, 'Accept')).card;
    expect(cardText(accepted)).to.include('Accepted by Eva Muster on 2 March 2026.');
    expect(cardText((await eva.press(pushed, 'Accept')).card)).to.include('already answered');
    expect(await delegatedAdmins()).to.deep.equal([PARTNER]);
    expect(partnerSide.since(from, anna.conversationId), 'the partner is told once').to.have.length(1);
    const [confirm] = await eva.say('remove partner access');
    await eva.press(confirm!, 'End partner access');
    expect(await delegatedAdmins()).to.deep.equal([]);
  });

  it('takes back at the sweep after a restart the rights of an acceptance that could not be saved, leaving the offer open', async () => {
    await unsavedAcceptance();
    await bot.restart();
    anna.options.botUrl = bot.url;
    // Joins the sweep the start-up began.
    await bot.app.sweep();
    expect(await delegatedAdmins()).to.deep.equal([]);
    expect(cardText(await customerCard())).to.include('offer pending since');
  });
});
