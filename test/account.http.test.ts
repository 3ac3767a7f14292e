/** Step 2 over real HTTP: partner profile, the customer's account, the tenant, and the customer list. */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { createKeyHasher } from '../src/commerce/keyHasher.js';
import { startBot, TEST_SECRET, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, inputs } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { injectDiskFault } from './support/diskFaults.js';
import { ACCOUNT, grantRole, openAccountForm, PROFILE, reserveKeys } from './support/journeys.js';
import { auditTrail, failWrites, partnerState, reservationCount, storedTenants } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'b1b2c3d4-0000-4000-8000-000000000001';
const OTHER_PARTNER = 'b1b2c3d4-0000-4000-8000-000000000002';



describe('creating the customer account over HTTP', () => {
  let bot: RunningBot;
  let connector: FakeConnector;
  let anna: TeamsUser;

  const user = (tenantId: string, userId: string, name: string, locale = 'en-US') => new TeamsUser({ botUrl: bot.url, connector, tenantId, userId, name, locale });

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot();
    anna = user(PARTNER, 'user-anna', 'Anna Berg');
  });

  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  it('asks for the partner profile first, then creates the account with admin, license and subscriptions', async () => {
    const keys = [...(await bot.mintKeys(2)), ...(await bot.mintKeys(1, 'Office 365 E3', 5, 24))];
    const receipt = await reserveKeys(anna, keys);
    const profileCard = (await anna.press(receipt, "Step 2: Create the customer's account")).card;
    expect(cardText(profileCard)).to.include("Before you create customer accounts, please enter your organization's details.");
    const form = (await anna.press(profileCard, 'Save profile', PROFILE)).card;
    expect(cardText(form)).to.include('Your partner profile was saved.');
    expect(cardText(form)).to.include("Step 2: Create your customer's account");
    expect(JSON.stringify(form)).to.include('Add me as Partner of Record (partner ID 1234567)');
    expect((await partnerState(bot, PARTNER)).profile).to.include({ partnerId: '1234567', timeZone: 'Europe/Berlin', cloudEssentials: true });

    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    const reviewText = cardText(review);
    expect(reviewText).to.include('Does everything look right?');
    expect(reviewText).to.include('Initial domain: contoso.onmicrosoft.com');
    expect(reviewText).to.include('Admin sign-in name: eva@contoso.onmicrosoft.com');
    expect(reviewText).to.include('Country or region: Germany');
    expect(reviewText).to.include('Microsoft 365 Business Standard: 20 seats, from 2 March 2026 to 2 March 2027');
    expect(reviewText).to.include('Office 365 E3: 5 seats, from 2 March 2026 to 2 March 2028');

    const result = (await anna.press(review, 'Create account')).card;
    const text = cardText(result);
    expect(text).to.include('The account was created');
    expect(text).to.include('Eva Muster now has admin rights for Contoso GmbH and a license for Microsoft 365 Business Standard.');
    expect(text).to.match(/Tenant ID: [0-9a-f-]{36}/);
    expect(text).to.include('Microsoft 365 Business Standard: 1 of 20 seats assigned, ends 2 March 2027');
    expect(text).to.include('Office 365 E3: 0 of 5 seats assigned, ends 2 March 2028');
    expect(text).to.include('Partner of Record: 1234567');
    expect(buttons(result).map((b) => b.title)).to.include.members(['Add users', 'Set up email', 'Add a domain', 'Migrate mail and data']);

    const doc = await partnerState(bot, PARTNER);
    expect(doc.customers).to.have.length(1);
    expect(doc.customers[0]!.subscriptions.every((s) => s.partnerOfRecord === '1234567')).to.equal(true);
    expect(doc.setups[0]!.status).to.equal('completed');
    expect(await reservationCount(bot)).to.equal(0);
    for (const key of keys) expect((await bot.app.embeddedCommerce.checkKey(key)).status).to.equal('redeemed');
  });

  it('leaves the Partner of Record off when the partner unticks it', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    const review = (await anna.press(form, 'Next', { ...ACCOUNT, partnerOfRecord: 'false' })).card;
    expect(cardText(review)).to.include('Partner of Record: No');
    await anna.press(review, 'Create account');
    expect((await partnerState(bot, PARTNER)).customers[0]!.subscriptions[0]).not.to.have.property('partnerOfRecord');
  });

  it('names every wrong field, keeps what was typed, and saves nothing', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    const before = (await partnerState(bot, PARTNER)).setups;
    const typed = { ...ACCOUNT, country: 'Kuba', organisationName: '', firstName: 'E'.repeat(65), email: 'eva@', phone: '12', domainPrefix: 'con toso', signInName: '.eva' };
    const card = (await anna.press(form, 'Next', typed)).card;
    const text = cardText(card);
    expect(text).to.include('Please correct the fields marked below.');
    expect(text).to.include('Microsoft 365 is not sold in Cuba with product keys');
    expect(text).to.include('This field is required.');
    expect(text).to.include('Use at most 64 characters.');
    expect(text).to.include('This is not a valid email address');
    expect(text).to.include('Enter a phone number of 6 to 15 digits');
    expect(text).to.include('Use only letters a–z, digits and hyphens.');
    expect(text).to.include('starting and ending with a letter or digit');
    expect(inputs(card)).to.include({ organisationName: '', email: 'eva@', domainPrefix: 'con toso', signInName: '.eva', country: 'Kuba' });

    const more = cardText((await anna.press(card, 'Next', { ...ACCOUNT, country: 'Atlantis', domainPrefix: '-contoso' })).card);
    expect(more).to.include('Choose a country or region from the list.');
    expect(more).to.include('The domain cannot start or end with a hyphen.');
    expect((await partnerState(bot, PARTNER)).setups).to.deep.equal(before);
  });

  it('suggests free domains when the prefix is taken, and uses one on a click', async () => {
    const first = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    await anna.press((await anna.press(first, 'Next', ACCOUNT)).card, 'Create account');

    const ben = user(PARTNER, 'user-ben', 'Ben');
    await grantRole(anna, ben, 'sales');
    const form = await openAccountForm(ben, await reserveKeys(ben, await bot.mintKeys(1)));
    const taken = (await ben.press(form, 'Next', { ...ACCOUNT, signInName: 'admin' })).card;
    expect(cardText(taken)).to.include('contoso.onmicrosoft.com is already taken.');
    expect(buttons(taken).map((b) => b.title)).to.include.members(['Use contosogmbh.onmicrosoft.com', 'Use contoso1.onmicrosoft.com']);
    expect(inputs(taken).signInName).to.equal('admin');
    const review = (await ben.press(taken, 'Use contosogmbh.onmicrosoft.com')).card;
    expect(cardText(review)).to.include('Admin sign-in name: admin@contosogmbh.onmicrosoft.com');
  });

  it('creates one tenant for a double press, and answers the second with the result', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(2)));
    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    const [a, b] = await Promise.all([anna.press(review, 'Create account'), anna.press(review, 'Create account')]);
    const texts = [cardText(a.card), cardText(b.card)];
    expect(texts.every((t) => t.includes('The account was created'))).to.equal(true);
    expect(texts.filter((t) => t.includes('This account was already created. Nothing was created twice.'))).to.have.length(1);
    const again = cardText((await anna.press(review, 'Create account')).card);
    expect(again).to.include('already created');
    expect((await partnerState(bot, PARTNER)).customers).to.have.length(1);
    expect(await storedTenants(bot)).to.have.length(1);
  });

  it('keeps the reviewed account across a restart and creates it afterwards', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    await bot.restart();
    anna.options.botUrl = bot.url;
    const [welcome] = await anna.say('help');
    const resumed = (await anna.press(welcome!, 'Continue your setup with 1 key')).card;
    expect(cardText(resumed)).to.include('Initial domain: contoso.onmicrosoft.com');
    expect(cardText((await anna.press(review, 'Create account')).card)).to.include('The account was created');
  });

  it('finishes a creation a crash interrupted, and tells the owner', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    const setupId = buttons(review).find((b) => b.verb === 'account.create')!.data.setupId;
    // The state a crash leaves right after "creating" was saved and before the backend answered.
    await bot.app.setups.updateSetup(PARTNER, setupId, (s) => ({ ...s, status: 'creating' }));
    const from = connector.sent.length;
    await bot.restart();
    const notices = connector.since(from, anna.conversationId).map((s) => s.activity.text);
    expect(notices).to.have.length(1);
    expect(notices[0]).to.include('The account of Contoso GmbH (contoso.onmicrosoft.com), whose creation was interrupted, is now ready.');
    expect((await partnerState(bot, PARTNER)).customers).to.have.length(1);
  });

  it('records a creation finished at start-up, and the confirmation before it, once each (issue 18)', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    const setupId = buttons(review).find((b) => b.verb === 'account.create')!.data.setupId;
    const trail = async () => (await auditTrail(bot, PARTNER)).map((entry) => entry.id);
    const recorded = { confirmed: [`redeem.confirm:${setupId}`], created: [`account.create:${setupId}`] };
    const ofSetup = async () => {
      const ids = await trail();
      return { confirmed: ids.filter((id) => id === recorded.confirmed[0]), created: ids.filter((id) => id === recorded.created[0]) };
    };
    // A crash after "creating" was saved, before the backend answered: finished and recorded at start.
    await bot.app.setups.updateSetup(PARTNER, setupId, (s) => ({ ...s, status: 'creating' }));
    await bot.restart();
    expect(await ofSetup()).to.deep.equal(recorded);
    // A crash after the customer (and its entry) was saved, before the setup was completed: the
    // start finishes the setup and records nothing again.
    await bot.app.setups.updateSetup(PARTNER, setupId, (s) => ({ ...s, status: 'creating' }));
    await bot.restart();
    expect((await bot.app.setups.find(PARTNER, setupId))?.status).to.equal('completed');
    expect((await partnerState(bot, PARTNER)).customers).to.have.length(1);
    expect(await ofSetup()).to.deep.equal(recorded);
  });

  it('finishes at the next sweep a creation whose customer could not be saved after the tenant was made', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    // Only the customer's save fails (the partner's file, or the customers table): the backend has
    // made the tenant, the customer is not recorded.
    const fault = bot.store === 'file' ? injectDiskFault(join(bot.dataDir, 'partners'), 'rename', 'EPERM') : await failWrites(bot, 'customers');
    try {
      expect(cardText((await anna.press(review, 'Create account')).card)).to.include('could not be saved');
    } finally {
      await fault.clear();
    }
    expect(fault.hits, 'the press met the fault').to.be.above(0);
    expect((await partnerState(bot, PARTNER)).customers).to.have.length(0);

    const from = connector.sent.length;
    await bot.app.sweep();
    const notices = connector.since(from, anna.conversationId).map((s) => s.activity.text);
    expect(notices).to.have.length(1);
    expect(notices[0]).to.include('The account of Contoso GmbH (contoso.onmicrosoft.com), whose creation was interrupted, is now ready.');
    expect((await partnerState(bot, PARTNER)).customers).to.have.length(1);
    await bot.app.sweep();
    expect(connector.since(from, anna.conversationId), 'told once').to.have.length(1);
    expect(cardText((await anna.press(review, 'Create account')).card)).to.include('already created');
  });

  it('keeps the keys reserved and creates nothing when the backend fails half-way', async () => {
    // Two keys stored in different catalogue files (rows on PostgreSQL), so the second can fail after the first succeeded.
    const hash = createKeyHasher(TEST_SECRET);
    const shardOf = (key: string) => join(bot.dataDir, 'commerce', 'catalog', `${hash(key).slice(0, 2)}.json`);
    const pool = await bot.mintKeys(3);
    const first = pool[0]!;
    const second = pool.find((key) => shardOf(key) !== shardOf(first))!;
    expect(second, 'three random keys in one file').to.be.a('string');
    const form = await openAccountForm(anna, await reserveKeys(anna, [first, second]));
    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    let fault: { clear(): Promise<unknown> };
    if (bot.store === 'file') {
      await rm(shardOf(second));
      await mkdir(shardOf(second)); // a write onto a folder fails, as a full disk would
      fault = { clear: () => rm(shardOf(second), { recursive: true }) };
    } else fault = await failWrites(bot, 'commerce_keys', `NEW.ref = '${hash(second)}'`);
    const failed = (await anna.press(review, 'Create account')).card;
    expect(cardText(failed)).to.include('Nothing was created and your keys stay reserved');
    await fault.clear();
    const doc = await partnerState(bot, PARTNER);
    expect(doc.customers).to.have.length(0);
    expect(doc.setups[0]!.status).to.equal('reserved');
    expect(await reservationCount(bot)).to.equal(2);
    expect((await bot.app.embeddedCommerce.checkKey(first)).status).to.equal('valid');
    expect(await bot.app.embeddedCommerce.isDomainAvailable('contoso')).to.equal(true);
  });

  it('lists, filters and opens customers, and shows another tenant none of them', async () => {
    for (const [name, prefix] of [['Contoso GmbH', 'contoso'], ['Northwind Traders', 'northwind']] as const) {
      const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
      await anna.press((await anna.press(form, 'Next', { ...ACCOUNT, organisationName: name, domainPrefix: prefix })).card, 'Create account');
    }
    const [list] = await anna.say('customers');
    expect(cardText(list!)).to.include('Showing 1–2 of 2');
    expect(cardText(list!)).to.include('Northwind Traders');
    const filtered = (await anna.press(list!, 'Filter', { filter: 'north' })).card;
    expect(cardText(filtered)).to.include('Northwind Traders');
    expect(cardText(filtered)).not.to.include('Contoso GmbH');
    const [opened] = await anna.say('customer contoso');
    expect(cardText(opened!)).to.include('Domain: contoso.onmicrosoft.com');
    expect(cardText(opened!)).to.include('Delegated administration\nNo relationships yet.');

    const eve = user(OTHER_PARTNER, 'user-eve', 'Eve');
    const [foreignList] = await eve.say('customers');
    expect(cardText(foreignList!)).to.include('You have not set up any customers yet.');
    const customerId = (await partnerState(bot, PARTNER)).customers[0]!.tenantId;
    const foreign = await eve.invoke('customer.open', { tenantId: customerId });
    expect(cardText(foreign.card)).to.include('does not exist or is not available to you');
    expect(JSON.stringify(foreign.card)).not.to.include('contoso');
  });

  it('edits the profile and refuses a wrong partner ID or time zone', async () => {
    const [card] = await anna.say('profile');
    expect(cardText(card!)).to.include('Your partner profile');
    const wrong = (await anna.press(card!, 'Save profile', { ...PROFILE, partnerId: '12ab', timeZone: 'Mars/Olympus' })).card;
    expect(cardText(wrong)).to.include('A partner ID has 5 to 10 digits.');
    expect(cardText(wrong)).to.include('This is not a known time zone.');
    expect(inputs(wrong).partnerId).to.equal('12ab');
    expect((await partnerState(bot, PARTNER).catch(() => undefined))?.profile).to.equal(undefined);
    const saved = (await anna.press(wrong, 'Save profile', PROFILE)).card;
    expect(cardText(saved)).to.include('Your partner profile was saved.');
    const ben = user(PARTNER, 'user-ben', 'Ben');
    await grantRole(anna, ben, 'helpdesk');
    const [colleagueView] = await ben.say('profil');
    expect(inputs(colleagueView!).partnerId).to.equal('1234567');
    expect(cardText(colleagueView!)).to.include('Last changed by Anna Berg');
  });

  it('speaks German on the account form', async () => {
    const jonas = user(PARTNER, 'user-jonas', 'Jonas', 'de-DE');
    const form = await (async () => {
      const [entry] = await jonas.say('einlösen');
      const review = (await jonas.press(entry!, 'Weiter', { key0: (await bot.mintKeys(1))[0]! })).card;
      const receipt = (await jonas.press(review, 'Product Keys wurden hinzugefügt')).card;
      const profile = (await jonas.press(receipt, 'Schritt 2: Das Konto des Kunden erstellen')).card;
      return (await jonas.press(profile, 'Profil speichern', PROFILE)).card;
    })();
    expect(cardText(form)).to.include('Schritt 2: Das Konto Ihres Kunden erstellen');
    expect(JSON.stringify(form)).to.include('"title":"Deutschland","value":"DE"');
    const refused = (await jonas.press(form, 'Weiter', { ...ACCOUNT, country: 'Kuba' })).card;
    expect(cardText(refused)).to.include('In Kuba ist Microsoft 365 nicht mit Product Keys erhältlich');
    // Microsoft 365 in mainland China is a separate service operated by 21Vianet: not offered, and said so by name.
    expect(JSON.stringify(form)).not.to.include('"value":"CN"');
    const china = cardText((await jonas.press(refused, 'Weiter', { ...ACCOUNT, country: 'CN' })).card);
    expect(china).to.include('In China ist Microsoft 365 nicht mit Product Keys erhältlich, daher kann dort kein Konto erstellt werden.');
  });
});
