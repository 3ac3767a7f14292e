/**
 * Delegated administration over real HTTP with two tenants on two connectors: the partner requests
 * a relationship with roles, the customer's admin answers in its own tenant, either side ends it,
 * and what the partner may do for the customer follows the roles in force.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { GLOBAL_ADMINISTRATOR, roleTemplate, USER_ADMINISTRATOR } from '../src/domain/entraRoles.js';
import type { Offer } from '../src/domain/delegation.js';
import type { CommerceTenant } from '../src/store/repositories.js';
import { startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, inputs, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { injectDiskFault } from './support/diskFaults.js';
import { ACCOUNT as BASE_ACCOUNT, createCustomer, PROFILE } from './support/journeys.js';
import { auditTrail, failWrites, partnerState, sameStoreAs, storedTenants } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'd1b2c3d4-0000-4000-8000-000000000001';
const OTHER_PARTNER = 'd1b2c3d4-0000-4000-8000-000000000002';
const ACCOUNT = { ...BASE_ACCOUNT, email: 'eva@contoso.example', language: 'en' };
const NOT_SAVED = 'Sorry, this step could not be saved, so nothing was changed. Please try again in a moment.';
const HELPDESK = roleTemplate('helpdesk')!.roleIds.join(',');
const DEFAULT_NAME = 'Contoso GmbH – Users and licenses';

/** The customer's tenant as the embedded backend holds it (each test sets up one). */
async function tenantRecord(bot: RunningBot): Promise<CommerceTenant> {
  return (await storedTenants(bot))[0]!;
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

  async function composeCard(): Promise<Card> {
    const compose = (await anna.press(await customerCard(), 'Request delegated administration')).card;
    expect(cardText(compose)).to.include('Request delegated administration from Contoso GmbH');
    return compose;
  }

  /** Sends a request from the form as it comes (Users and licenses, two years), with what is typed over it. */
  async function request(typed: Record<string, string> = {}): Promise<Card> {
    return (await anna.press(await composeCard(), 'Send request', typed)).card;
  }

  /** The last card the bot sent to the customer's chat. */
  function lastCustomerCard(admin: TeamsUser): Card {
    const sent = customerSide.sent.filter((s) => s.conversationId === admin.conversationId && s.activity.attachments);
    return sent.at(-1)!.activity.attachments[0].content;
  }

  /** The relationships the backend holds for the customer, as stored: name → status. */
  async function stored(): Promise<Record<string, string>> {
    return Object.fromEntries((await tenantRecord(bot)).relationships.map((r: any) => [r.displayName, r.status]));
  }

  /** The partner's file cannot be written (a full disk), or on PostgreSQL the offers table. */
  async function offersCannotBeSaved(): Promise<{ hits: number; clear(): unknown }> {
    return bot.store === 'file' ? injectDiskFault(join(bot.dataDir, 'partners'), 'writeFile', 'ENOSPC') : failWrites(bot, 'offers');
  }

  async function admin(): Promise<TeamsUser> {
    const eva = customerUser(customer.adminObjectId);
    await eva.say('hello');
    return eva;
  }

  beforeEach(async () => {
    partnerSide = await new FakeConnector().start();
    customerSide = await new FakeConnector().start();
    bot = await startBot();
    anna = new TeamsUser({ botUrl: bot.url, connector: partnerSide, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
    await createCustomer(anna, await bot.mintKeys(1), ACCOUNT);
    const created = (await partnerState(bot, PARTNER)).customers[0]!;
    customer = { tenantId: created.tenantId, adminObjectId: created.admin.objectId, upn: created.admin.userPrincipalName };
  });

  afterEach(async () => {
    await bot.stop();
    await partnerSide.stop();
    await customerSide.stop();
  });

  it("records the customer's admin, recognised at first sign-in, once in the partner's trail, written with the chat it saves", async () => {
    const eva = customerUser('aad-eva-real');
    customerSide.members.set('29:aad-eva-real', { id: '29:aad-eva-real', name: 'Eva Muster', userPrincipalName: customer.upn, aadObjectId: 'aad-eva-real' });
    await eva.say('hi');
    const partner = await partnerState(bot, PARTNER);
    expect(partner.customers[0]!.adminContact).to.include({ reachable: true });
    // In the outbox of the write that saved the chat (a crash before the trail's append loses
    // neither), or on PostgreSQL in the trail, written in the transaction that saved the chat.
    const written = bot.store === 'file' ? partner.auditOutbox : await auditTrail(bot, PARTNER);
    const queued = written.filter((e: any) => e.verb === 'admin.recognise');
    expect(queued).to.have.length(1);
    await eva.say('hello again');
    // Teams gives the chat a new id (the app reinstalled): saved, but not recognised again.
    await customerUser('aad-eva-real').say('hi from a new chat');
    const recognised = (await auditTrail(bot, PARTNER)).filter((e) => e.verb === 'admin.recognise');
    expect(recognised).to.have.length(1);
    expect(recognised[0]).to.deep.include({ id: queued[0].id, customerTenantId: customer.tenantId, outcome: { result: 'done' } });
    expect(recognised[0]!.actor).to.deep.equal({ name: 'Eva Muster', objectId: 'aad-eva-real', role: 'customerAdmin' });
  });

  it('pushes the request with its roles to a known admin chat; the admin accepts; the partner is told and may add users', async () => {
    const eva = customerUser(customer.adminObjectId);
    const greeting = await eva.say('hello');
    expect(cardText(greeting[0]!)).to.include('Your Microsoft partner Fabrikam IT set up your account contoso.onmicrosoft.com');
    expect(cardText(greeting[0]!)).to.include('There is no open request');

    const compose = await composeCard();
    expect(inputs(compose)).to.include({ displayName: DEFAULT_NAME, templateId: 'usersAndLicenses', duration: '730' });
    const sent = (await anna.press(compose, 'Send request', { message: 'Dear Eva, [click here](https://evil.example) ${t.title}' })).card;
    expect(cardText(sent)).to.include(`The request "${DEFAULT_NAME}" was sent to Eva Muster, the admin of Contoso GmbH.`);
    expect(cardText(sent)).to.include(`${DEFAULT_NAME}\nWaiting for approval`.replace('Waiting for approval', 'waiting for approval since 2 March 2026, expires on 31 May 2026'));
    const pushed = lastCustomerCard(eva);
    expect(cardText(pushed)).to.include('Fabrikam IT asks for delegated administration');
    expect(JSON.stringify(pushed)).to.include('"type":"TextRun","text":"Dear Eva, [click here](https://evil.example) ${t.title}"');
    expect(cardText(pushed)).to.include('**User Administrator**: Add, change and delete users and groups');
    expect(cardText(pushed)).to.include('**License Administrator**').and.include('For 730 days from your approval. It ends then by itself.');
    expect(cardText(pushed)).not.to.include('Global Administrator');
    expect(cardText(pushed)).to.include('type **remove partner access**');

    const from = partnerSide.sent.length;
    const accepted = (await eva.press(pushed, 'Accept')).card;
    expect(cardText(accepted)).to.include('Accepted by Eva Muster on 2 March 2026. Fabrikam IT holds these roles until 1 March 2028.');
    expect(buttons(accepted).filter((b) => b.verb?.startsWith('offer.'))).to.have.length(0);
    const notices = partnerSide.since(from, anna.conversationId).map((s) => s.activity.text);
    expect(notices).to.deep.equal([`Contoso GmbH approved your request "${DEFAULT_NAME}" (Eva Muster, 2 March 2026). You hold these roles until 1 March 2028: Directory Readers, User Administrator, License Administrator.`]);
    expect(cardText(await customerCard())).to.include(`${DEFAULT_NAME}\nActive, until 1 March 2028 · Directory Readers, User Administrator, License Administrator`);
    expect(await stored()).to.deep.equal({ [DEFAULT_NAME]: 'active' });
    expect((await tenantRecord(bot)).subscriptions[0]!.assignedSeats, 'the partner uses no license').to.equal(1);

    const [form] = await anna.say('add user to contoso');
    const added = (await anna.press(form!, 'Add user', { firstName: 'Max', lastName: 'Mustermann', signInName: 'max' })).card;
    expect(cardText(added)).to.include('Max Mustermann was added as max@contoso.onmicrosoft.com with a license for Microsoft 365 Business Standard.');
    expect(cardText(added)).to.include('2 of 10 seats assigned');
    const again = (await anna.press(form!, 'Add user', { firstName: 'Max', lastName: 'Mustermann', signInName: 'max' })).card;
    expect(cardText(again), 'a second press adds nobody twice').to.include('2 of 10 seats assigned');
  });

  it('shows a waiting request when the admin first writes, recognising the admin by sign-in name; a decline is told to the partner', async () => {
    expect(cardText(await request())).to.include('has not opened a chat with Partner Setup Bot yet');
    expect(cardText(await customerCard())).to.include('not yet seen by the admin');
    // A Teams user id the bot has not seen; Teams member info gives the admin's sign-in name.
    const eva = customerUser('aad-eva-real');
    customerSide.members.set('29:aad-eva-real', { id: '29:aad-eva-real', name: 'Eva Muster', userPrincipalName: customer.upn.toUpperCase(), aadObjectId: 'aad-eva-real' });
    await eva.say('hi');
    const shown = lastCustomerCard(eva);
    expect(cardText(shown)).to.include('Fabrikam IT asks for delegated administration');
    expect((await partnerState(bot, PARTNER)).customers[0]!.admin.objectId).to.equal('aad-eva-real');
    const declined = (await eva.press(shown, 'Decline')).card;
    expect(cardText(declined)).to.include('Declined by Eva Muster');
    expect(partnerSide.sent.at(-1)!.activity.text).to.equal(`Contoso GmbH declined your request "${DEFAULT_NAME}" (Eva Muster, 2 March 2026).`);
    expect(cardText(await customerCard())).to.include('Declined, on 2 March 2026');
    expect(await stored()).to.deep.equal({ [DEFAULT_NAME]: 'terminated' });
    const [gate] = await anna.say('add user to contoso');
    expect(cardText(gate!), 'a declined request gives no roles').to.include('This needs the User Administrator role in an active relationship with Contoso GmbH.');
  });

  it('withdraws a pending request from the customer card, updating the card at the customer, whose later press changes nothing', async () => {
    const eva = await admin();
    await request();
    const pushed = lastCustomerCard(eva);
    const withdrawn = (await anna.press(await customerCard(), 'End')).card;
    expect(cardText(withdrawn)).to.include(`The request "${DEFAULT_NAME}" to Contoso GmbH was withdrawn.`);
    expect(cardText(withdrawn)).to.include('Withdrawn, on 2 March 2026');
    const update = customerSide.sent.filter((s) => s.method === 'PUT').at(-1)!;
    expect(cardText(update.activity.attachments[0].content)).to.include('Fabrikam IT withdrew this request');
    const late = (await eva.press(pushed, 'Accept')).card;
    expect(cardText(late)).to.include('This request was already answered or has ended; nothing was changed.');
    expect(await stored()).to.deep.equal({ [DEFAULT_NAME]: 'terminated' });
  });

  it('expires an unanswered request after 90 days and tells both sides once', async () => {
    await admin();
    await request();
    bot.clock.advanceDays(89);
    await bot.app.sweep();
    expect(cardText(await customerCard())).to.include('waiting for approval since');
    bot.clock.advanceDays(1);
    const from = partnerSide.sent.length;
    await bot.app.sweep();
    expect(partnerSide.since(from).map((s) => s.activity.text)).to.deep.equal([
      `Your request "${DEFAULT_NAME}" to Contoso GmbH expired unanswered on 31 May 2026. You can request a new one from the customer card.`,
    ]);
    expect(cardText(customerSide.sent.filter((s) => s.method === 'PUT').at(-1)!.activity.attachments[0].content)).to.include('This request expired on 31 May 2026.');
    await bot.app.sweep();
    expect(partnerSide.since(from), 'told once').to.have.length(1);
  });

  it('refuses a partner that is not enrolled in Cloud Essentials before any request', async () => {
    const [profile] = await anna.say('profile');
    await anna.press(profile!, 'Save profile', { ...PROFILE, cloudEssentials: 'false' });
    const answer = (await anna.press(await customerCard(), 'Request delegated administration')).card;
    expect(cardText(answer)).to.include('Only partners enrolled in the Microsoft Cloud Essentials program');
    const [typed] = await anna.say('delegate contoso');
    expect(cardText(typed!)).to.include('Only partners enrolled');
    expect((await partnerState(bot, PARTNER)).customers[0]!.offers).to.have.length(0);
    expect((await tenantRecord(bot)).relationships).to.have.length(0);
  });

  it('answers bad input on the request form plainly, keeps what was typed, and creates nothing', async () => {
    await admin();
    const compose = await composeCard();
    const cases: Array<[Record<string, string>, string]> = [
      // Shown back cut to the length of a role id.
      [{ roleIds: 'not-a-role,62e90394-69f5-4237-9190-0121771450000' }, 'These roles are not known: not-a-role, 62e90394-69f5-4237-9190-012177145000.'],
      [{ roleIds: '' }, 'Choose at least one role.'],
      [{ duration: '731' }, 'The duration must be from 1 to 730 days (2 years).'],
      [{ duration: '0' }, 'The duration must be from 1 to 730 days (2 years).'],
      [{ duration: 'two years' }, 'Enter the duration as a number of days.'],
      [{ roleIds: GLOBAL_ADMINISTRATOR, autoExtendDuration: 'P180D' }, 'Microsoft does not allow auto-extend while Global Administrator is among the roles.'],
      [{ displayName: 'x'.repeat(51) }, 'Use at most 50 characters for the name.'],
      [{ displayName: '' }, 'Enter a name for the relationship.'],
    ];
    for (const [typed, message] of cases) {
      const answer = (await anna.press(compose, 'Send request', { ...typed, message: 'Kept message' })).card;
      expect(cardText(answer), JSON.stringify(typed)).to.include('Please correct the marked fields. Nothing was sent.').and.include(message);
      // Auto-extension is not offered beside Global Administrator, so it is not shown back.
      const shown = Object.fromEntries(Object.entries(typed).filter(([field]) => field !== 'autoExtendDuration'));
      expect(inputs(answer), 'what was typed is kept').to.include({ ...shown, message: 'Kept message' });
    }
    // A name already used, with any customer, in any case.
    await anna.press(await composeCard(), 'Send request', { displayName: 'Contoso helpdesk', roleIds: HELPDESK });
    const taken = (await anna.press(await composeCard(), 'Send request', { displayName: 'CONTOSO HELPDESK' })).card;
    expect(cardText(taken)).to.include('You already have a relationship with this name.');
    expect(Object.keys(await stored())).to.deep.equal(['Contoso helpdesk']);
    expect((await partnerState(bot, PARTNER)).customers[0]!.offers).to.have.length(1);
    // A forged verb with roles outside the catalogue changes nothing either.
    const forged = await anna.invoke('delegation.request', { customerId: customer.tenantId, requestId: '99999999-9999-4999-8999-999999999999', roleIds: '__proto__', displayName: 'Forged' });
    expect(cardText(forged.card)).to.include('These roles are not known: __proto__.');
    expect(Object.keys(await stored())).to.deep.equal(['Contoso helpdesk']);
  });

  it('puts a template on the form; Full administration warns, offers no auto-extension, and the customer sees the warning', async () => {
    const eva = await admin();
    const full = (await anna.press(await composeCard(), 'Use this template', { templateId: 'fullAdministration', displayName: 'Contoso onboarding', duration: '7' })).card;
    expect(inputs(full)).to.include({ roleIds: GLOBAL_ADMINISTRATOR, displayName: 'Contoso onboarding', duration: '7' });
    expect(cardText(full)).to.include('Microsoft recommends granting only the roles a task needs.');
    expect(inputs(full), 'auto-extension is not offered').not.to.have.property('autoExtendDuration');
    await anna.press(full, 'Send request');
    const pushed = lastCustomerCard(eva);
    expect(cardText(pushed)).to.include('**Global Administrator**: Full control').and.include('Microsoft recommends granting partners only the roles a task needs.');
    expect(cardText(pushed)).to.include('For 7 days from your approval.');
  });

  it('lets nobody but the customer admin answer, and ignores forged or replayed presses', async () => {
    const eva = await admin();
    await request();
    const pushed = lastCustomerCard(eva);
    const offerId = buttons(pushed).find((b) => b.verb === 'offer.accept')!.data.offerId;
    const before = JSON.stringify([(await partnerState(bot, PARTNER)).customers[0]!.offers, await stored()]);

    const actors: Array<[string, TeamsUser, string]> = [
      ['the partner', anna, 'This request is not for your organization'],
      ['another tenant', new TeamsUser({ botUrl: bot.url, connector: partnerSide, tenantId: OTHER_PARTNER, userId: 'eve', name: 'Eve' }), 'This request is not for your organization'],
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
    expect(cardText(forged.card)).to.include('This request is not for your organization');
    const stray = await customerUser('aad-bob', 'Bob').invoke('access.end', { all: true });
    expect(cardText(stray.card)).to.include('Only the admin');
    expect(JSON.stringify([(await partnerState(bot, PARTNER)).customers[0]!.offers, await stored()])).to.equal(before);

    await eva.press(pushed, 'Accept');
    const replay = (await eva.press(pushed, 'Decline')).card;
    expect(cardText(replay)).to.include('already answered');
    expect(cardText(replay)).to.include('Accepted by Eva Muster');
    expect(await stored()).to.deep.equal({ [DEFAULT_NAME]: 'active' });
  });

  it('tells the partner when the admin removed the app, and how to reach them', async () => {
    const eva = await admin();
    customerSide.failWith = { status: 403, code: 'BotNotInConversationRoster' };
    const sent = await request();
    expect(cardText(sent)).to.include('could not be delivered: Eva Muster removed Partner Setup Bot or blocked it');
    expect(cardText(sent)).to.include('add Partner Setup Bot in Teams again');
    expect(cardText(await customerCard())).to.include('the admin cannot be reached');
    customerSide.failWith = undefined;
    await eva.say('hello again');
    expect(cardText(lastCustomerCard(eva))).to.include('Fabrikam IT asks for delegated administration');
  });

  it('holds several relationships; the customer ends the one chosen, then all; the partner is told each time and loses the roles', async () => {
    const eva = await admin();
    await request({ displayName: 'Contoso onboarding', templateId: 'fullAdministration', roleIds: GLOBAL_ADMINISTRATOR, duration: '7' });
    await eva.press(lastCustomerCard(eva), 'Accept');
    await request({ displayName: 'Contoso helpdesk', roleIds: HELPDESK, autoExtendDuration: 'P180D' });
    await eva.press(lastCustomerCard(eva), 'Accept');
    await request();
    await eva.press(lastCustomerCard(eva), 'Accept');
    const card = cardText(await customerCard());
    expect(card).to.include('Contoso onboarding\nEnding soon, until 9 March 2026 · Global Administrator');
    expect(card).to.include('Contoso helpdesk\nActive, extends itself on 1 March 2028 · Directory Readers, Helpdesk Administrator, Service Support Administrator');

    const [confirm] = await eva.say('remove partner access');
    expect(cardText(confirm!)).to.include("End Fabrikam IT's admin access?");
    expect(cardText(confirm!)).to.include('Contoso onboarding: Global Administrator (until 9 March 2026)');
    expect(buttons(confirm!).filter((b) => b.title === 'End this relationship')).to.have.length(3);
    let from = partnerSide.sent.length;
    const one = (await eva.press(confirm!, 'End this relationship', {}, 0)).card;
    expect(cardText(one)).to.include('Ended: Contoso onboarding (Global Administrator). Fabrikam IT was told.');
    expect(buttons(one).filter((b) => b.title === 'End this relationship'), 'two left').to.have.length(2);
    expect(partnerSide.since(from).map((s) => s.activity.text)).to.deep.equal(['Contoso GmbH ended the relationship "Contoso onboarding" (Eva Muster, 2 March 2026). You no longer hold its roles: Global Administrator.']);
    expect(await stored()).to.deep.equal({ 'Contoso onboarding': 'terminated', 'Contoso helpdesk': 'active', [DEFAULT_NAME]: 'active' });

    from = partnerSide.sent.length;
    const all = (await eva.press(one, 'End all')).card;
    expect(cardText(all)).to.include('Fabrikam IT holds no admin roles in your organization');
    expect(partnerSide.since(from), 'told of each').to.have.length(2);
    expect(Object.values(await stored())).to.deep.equal(['terminated', 'terminated', 'terminated']);
    const again = (await eva.press(one, 'End all')).card;
    expect(cardText(again)).to.include('holds no admin roles');
    expect(partnerSide.since(from), 'nothing twice').to.have.length(2);
    const [refused] = await anna.say('add user to contoso');
    expect(cardText(refused!)).to.include('This needs the User Administrator role');
  });

  it('lets the partner end an active relationship; the customer card and the backend show it, and the customer cannot end it again', async () => {
    const eva = await admin();
    await request();
    await eva.press(lastCustomerCard(eva), 'Accept');
    const before = await customerCard();
    const ended = (await anna.press(before, 'End')).card;
    expect(cardText(ended)).to.include(`The relationship "${DEFAULT_NAME}" with Contoso GmbH was ended. You no longer hold its roles.`);
    expect(cardText(ended)).to.include('Ended, on 2 March 2026');
    expect(buttons(ended).map((b) => b.title)).not.to.include('End');
    expect(await stored()).to.deep.equal({ [DEFAULT_NAME]: 'terminated' });
    const [confirm] = await eva.say('remove partner access');
    expect(cardText(confirm!)).to.include('Fabrikam IT holds no admin roles in your organization');
    // A second press of the same button finds it ended by the partner, as asked.
    expect(cardText((await anna.press(before, 'End')).card)).to.include('Ended, on 2 March 2026');
    // One the customer ended meanwhile cannot be ended by the partner.
    await request({ displayName: 'Contoso helpdesk', roleIds: HELPDESK });
    await eva.press(lastCustomerCard(eva), 'Accept');
    const stale = await customerCard();
    await eva.press(await eva.reply('remove partner access'), 'End this relationship');
    const late = (await anna.press(stale, 'End')).card;
    expect(cardText(late)).to.include('The relationship "Contoso helpdesk" has already ended, so nothing was changed.');
    expect(await stored()).to.deep.equal({ [DEFAULT_NAME]: 'terminated', 'Contoso helpdesk': 'terminated' });
    const foreign = await new TeamsUser({ botUrl: bot.url, connector: partnerSide, tenantId: OTHER_PARTNER, userId: 'eve', name: 'Eve' }).invoke('delegation.end', { customerId: customer.tenantId, relationshipId: 'anything' });
    expect(cardText(foreign.card)).to.include('does not exist or is not available to you');
  });

  it('gates adding a user on the roles in force: a helpdesk relationship is refused, naming User Administrator and offering to request it', async () => {
    const eva = await admin();
    const [none] = await anna.say('add user to contoso');
    expect(cardText(none!)).to.include('This needs the User Administrator role in an active relationship with Contoso GmbH. You can request a relationship with that role.');
    expect(inputs(none!)).to.include({ roleIds: USER_ADMINISTRATOR });
    await request({ displayName: 'Contoso helpdesk', roleIds: HELPDESK });
    await eva.press(lastCustomerCard(eva), 'Accept');
    expect(buttons(await customerCard()).map((b) => b.title)).to.include('Add user');
    const refused = (await anna.press(await customerCard(), 'Add user')).card;
    expect(cardText(refused)).to.include('This needs the User Administrator role');
    // Straight at the verb too: nothing is added.
    const forced = await anna.invoke('user.add', { customerId: customer.tenantId, requestId: '88888888-8888-4888-8888-888888888888', firstName: 'Max', lastName: 'Muster', signInName: 'max', product: 'Microsoft 365 Business Standard' });
    expect(cardText(forced.card)).to.include('This needs the User Administrator role');
    expect((await tenantRecord(bot)).users).to.have.length(1);
    // Requesting the role from the refusal; once approved, the user is added.
    await anna.press(refused, 'Send request', { displayName: 'Contoso users' });
    await eva.press(lastCustomerCard(eva), 'Accept');
    const [form] = await anna.say('add user to contoso');
    expect(cardText((await anna.press(form!, 'Add user', { firstName: 'Max', lastName: 'Muster', signInName: 'max' })).card)).to.include('Max Muster was added');
  });

  it('finishes an acceptance whose save failed when the admin presses again, once, and the partner is told once', async () => {
    const eva = await admin();
    await request();
    const pushed = lastCustomerCard(eva);
    const fault = await offersCannotBeSaved();
    try {
      expect(cardText((await eva.press(pushed, 'Accept')).card)).to.equal(NOT_SAVED);
    } finally {
      await fault.clear();
    }
    expect(fault.hits, 'the press met the fault').to.be.above(0);
    expect(await stored(), 'the backend took the answer').to.deep.equal({ [DEFAULT_NAME]: 'active' });
    const from = partnerSide.sent.length;
    expect(cardText((await eva.press(pushed, 'Accept')).card)).to.include('Accepted by Eva Muster on 2 March 2026.');
    expect(cardText((await eva.press(pushed, 'Accept')).card)).to.include('already answered');
    expect(partnerSide.since(from, anna.conversationId), 'the partner is told once').to.have.length(1);
  });

  it('finishes at the sweep after a restart an acceptance whose save failed, and tells the partner', async () => {
    const eva = await admin();
    await request();
    const fault = await offersCannotBeSaved();
    try {
      expect(cardText((await eva.press(lastCustomerCard(eva), 'Accept')).card)).to.equal(NOT_SAVED);
    } finally {
      await fault.clear();
    }
    expect(fault.hits, 'the press met the fault').to.be.above(0);
    await bot.restart();
    anna.options.botUrl = bot.url;
    const from = partnerSide.sent.length;
    // Joins the sweep the start-up began.
    await bot.app.sweep();
    expect(cardText(await customerCard())).to.include(`${DEFAULT_NAME}\nActive, until 1 March 2028`);
    expect(partnerSide.since(from).map((s) => s.activity.text)[0]).to.include(`Contoso GmbH approved your request "${DEFAULT_NAME}" (Eva Muster`);
    await bot.app.sweep();
    expect(partnerSide.since(from).filter((s) => s.activity.text), 'told once').to.have.length(1);
  });

  it('reminds the partner 30, 7 and 1 day before a relationship without auto-extension ends, each once, skipping one overtaken, and none for one that extends itself', async () => {
    const eva = await admin();
    await request({ displayName: 'Contoso short', duration: '40' });
    await eva.press(lastCustomerCard(eva), 'Accept');
    await request({ displayName: 'Contoso helpdesk', roleIds: HELPDESK, duration: '40', autoExtendDuration: 'P180D' });
    await eva.press(lastCustomerCard(eva), 'Accept');
    /** The reminders the partner got from the sweep, as the text on top of each card. */
    const remindersFrom = async (from: number) => {
      await bot.app.sweep();
      return partnerSide.since(from).filter((s) => s.activity.attachments).map((s) => cardText(s.activity.attachments[0].content).split('\n')[0]);
    };
    const at = (day: string) => (bot.clock.current = new Date(`${day}T08:00:00Z`));

    at('2026-03-11');
    expect(await remindersFrom(partnerSide.sent.length), 'not yet').to.deep.equal([]);
    at('2026-03-12');
    let from = partnerSide.sent.length;
    expect(await remindersFrom(from)).to.deep.equal([
      'Your relationship "Contoso short" with Contoso GmbH (Directory Readers, User Administrator, License Administrator) ends on 11 April 2026, in 30 days. It does not extend itself: request a new one to keep these roles.',
    ]);
    const card = partnerSide.since(from).find((s) => s.activity.attachments)!.activity.attachments[0].content;
    expect(buttons(card).map((b) => b.title)).to.include('Request delegated administration');
    expect(await remindersFrom(from), 'once').to.have.length(1);
    // Recorded in the partner's file: a restart sends nothing again.
    await bot.restart();
    anna.options.botUrl = bot.url;
    expect(await remindersFrom(from), 'once across a restart').to.have.length(1);

    // Down over the 7-day reminder: the 1-day one comes alone.
    at('2026-04-10');
    from = partnerSide.sent.length;
    expect(await remindersFrom(from)).to.deep.equal([
      'Your relationship "Contoso short" with Contoso GmbH (Directory Readers, User Administrator, License Administrator) ends on 11 April 2026, in 1 day. It does not extend itself: request a new one to keep these roles.',
    ]);
    at('2026-04-12');
    expect(await remindersFrom(partnerSide.sent.length), 'none after the end').to.deep.equal([]);
    const offers = (await partnerState(bot, PARTNER)).customers[0]!.offers;
    expect(offers.map((o: any) => o.reminders)).to.deep.equal([['before30', 'before7', 'before1'], ['before30', 'before7', 'before1']]);
    expect(cardText(await customerCard())).to.include('Contoso short\nExpired, on 11 April 2026').and.include('Contoso helpdesk\nActive, extends itself on 8 October 2026');
  });

  /**
   * A customer whose admin accepted an offer before relationships existed (and left a second one
   * open), as a file of then holds it. On PostgreSQL the accepted one alone, as an import of such a
   * file holds it: the database keeps one open offer of the old kind per customer (the rule of then),
   * so the one left open cannot be there.
   */
  async function withOldDelegatedAdmin(): Promise<TeamsUser> {
    const eva = await admin();
    await bot.app.embeddedCommerce.setDelegatedAdmin(customer.tenantId, PARTNER, true);
    const old = { id: '77777777-7777-4777-8777-777777777777', status: 'accepted', message: 'Old offer', sentAt: '2026-03-01T09:00:00.000Z', sentBy: { id: 'user-anna', name: 'Anna Berg' }, expiresAt: '2026-05-30T09:00:00.000Z', delivery: 'delivered', answeredAt: '2026-03-01T10:00:00.000Z', answeredBy: { id: customer.adminObjectId, name: 'Eva Muster' }, partnerNotice: 'sent' } as const;
    await bot.stop();
    if (bot.store === 'file') {
      const { answeredAt: _a, answeredBy: _b, partnerNotice: _n, ...unanswered } = old;
      const oldOffers: Offer[] = [old, { ...unanswered, id: '77777777-7777-4777-8777-777777777778', status: 'pending' }];
      const file = join(bot.dataDir, 'partners', `${PARTNER}.json`);
      const doc = JSON.parse(await readFile(file, 'utf8'));
      doc.customers[0].offers.push(...oldOffers);
      await writeFile(file, JSON.stringify(doc));
    }
    bot = await startBot(sameStoreAs(bot), { dataDir: bot.dataDir, clock: bot.clock });
    if (bot.store === 'postgres') {
      expect(await bot.app.repositories.customers.addOffer(PARTNER, customer.tenantId, old)).to.deep.include({ added: true });
    }
    for (const user of [anna, eva]) user.options.botUrl = bot.url;

    return eva;
  }

  it('shows an accepted offer from before relationships as the old delegated admin (Global Administrator, no end), which lets the partner act until the customer ends it; an old offer left open is not answered', async () => {
    const eva = await withOldDelegatedAdmin();
    expect(cardText(await customerCard())).to.include('Delegated administration (no end date)\nActive, no end date · Global Administrator');
    const [form] = await anna.say('add user to contoso');
    expect(cardText(form!)).to.include('Add a user to Contoso GmbH');
    if (bot.store === 'file') {
      const late = await eva.invoke('offer.accept', { offerId: '77777777-7777-4777-8777-777777777778' });
      expect(cardText(late.card)).to.include('This request was already answered or has ended; nothing was changed.');
    }

    const [confirm] = await eva.say('remove partner access');
    expect(cardText(confirm!)).to.include('Delegated administration (no end date): Global Administrator (no end date)');
    expect(cardText((await eva.press(confirm!, 'End this relationship')).card)).to.include('Ended: Delegated administration (no end date) (Global Administrator).');
    expect((await tenantRecord(bot)).delegatedAdmins).to.deep.equal([]);
    expect((await partnerState(bot, PARTNER)).customers[0]!.offers.map((o) => o.status)).to.deep.equal(bot.store === 'file' ? ['ended', 'pending'] : ['ended']);
    expect(cardText((await anna.press(form!, 'Add user', { firstName: 'Max', lastName: 'Muster', signInName: 'max' })).card)).to.include('This needs the User Administrator role');
  });

  it('lets the partner end the old delegated admin from the customer card', async () => {
    await withOldDelegatedAdmin();
    const ended = (await anna.press(await customerCard(), 'End')).card;
    expect(cardText(ended)).to.include('The relationship "Delegated administration (no end date)" with Contoso GmbH was ended.');
    expect(cardText(ended)).to.include('Delegated administration (no end date)\nEnded');
    expect((await tenantRecord(bot)).delegatedAdmins).to.deep.equal([]);
  });
});
