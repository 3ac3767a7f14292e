/**
 * Races over real HTTP: presses that reach the bot at the same moment, from one person, from
 * colleagues, from many partners, or from both sides of a delegation, must leave exactly one
 * consistent outcome in the files, and every side must be told the outcome that was saved.
 */
import { expect } from 'chai';
import { addMonths } from '../src/domain/subscriptions.js';
import { startBot, type RunningBot } from './support/botHarness.js';
import { button, buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { partnerState, reservationCount, reservationHolders, storedTenants } from './support/stored.js';
import { ACCOUNT as BASE_ACCOUNT, createCustomer, grantRole, offerDelegation, openAccountForm, reserveKeys } from './support/journeys.js';
import { TeamsUser, type InvokeResult } from './support/teams.js';

const PARTNER = '9ace0000-0000-4000-8000-000000000001';
const OTHER_PARTNER = '9ace0000-0000-4000-8000-000000000002';
/** The offer card at the customer is in the account's language; English keeps the assertions readable. */
const ACCOUNT = { ...BASE_ACCOUNT, language: 'en' };
const RACERS = 50;
const ROUNDS = 10;

/** Race figures over the whole suite, printed at the end. */
const tally = { run: 0, consistent: 0, accepted: 0, withdrawn: 0, renewed: 0, reserved: 0, usedTwice: 0 };

/** Runs one race and its checks; it counts as consistent only when every check passed. */
async function race(checks: () => Promise<void>): Promise<void> {
  tally.run++;
  await checks();
  tally.consistent++;
}

function expectNoServerErrors(results: readonly InvokeResult[]): void {
  expect(results.map((r) => r.httpStatus).filter((status) => status !== 200), 'every press is answered with HTTP 200').to.deep.equal([]);
}

/** Starts two presses at the same moment, which of them leaves first alternating by round; results in a fixed order. */
async function together(round: number, a: () => Promise<InvokeResult>, b: () => Promise<InvokeResult>): Promise<[InvokeResult, InvokeResult]> {
  if (round % 2 === 0) return Promise.all([a(), b()]);
  const [second, first] = await Promise.all([b(), a()]);
  return [first, second];
}

/** How many answers include `text`. */
function countSaying(results: readonly InvokeResult[], text: string): number {
  return results.filter((r) => cardText(r.card).includes(text)).length;
}

describe('races over HTTP', function () {
  this.timeout(60_000);
  let bot: RunningBot;
  let partnerSide: FakeConnector;
  let customerSide: FakeConnector;
  let anna: TeamsUser;
  let ben: TeamsUser;

  const staff = (tenantId: string, userId: string, name: string) => new TeamsUser({ botUrl: bot.url, connector: partnerSide, tenantId, userId, name });

  /** Texts (not cards) the bot sent to a partner's chat since `from`: the notices about offers. */
  const noticesSince = (from: number, who: TeamsUser): string[] => partnerSide.since(from, who.conversationId).flatMap((s) => (s.activity.text ? [s.activity.text] : []));

  const setupsOf = async (tenantId: string): Promise<any[]> => (await partnerState(bot, tenantId)).setups;

  const theCustomer = async (): Promise<any> => (await partnerState(bot, PARTNER)).customers[0];

  async function theTenant(): Promise<any> {
    const tenants = await storedTenants(bot);
    expect(tenants, 'one customer tenant in the commerce data').to.have.length(1);
    return tenants[0];
  }

  /** Sets up Contoso for Anna and opens its admin's chat, so offers are pushed to it. */
  async function customerWithAdmin(): Promise<TeamsUser> {
    await createCustomer(anna, await bot.mintKeys(1), ACCOUNT);
    const customer = await theCustomer();
    const eva = new TeamsUser({ botUrl: bot.url, connector: customerSide, tenantId: customer.tenantId, userId: customer.admin.objectId, name: 'Eva Muster' });
    await eva.say('hello');
    return eva;
  }

  /** The customer's relationships as the backend stores them, oldest first. */
  async function statuses(): Promise<string[]> {
    return (await theTenant()).relationships.map((r: any) => r.status);
  }

  let requests = 0;
  /** Sends a fresh request (each with a name of its own) and returns the card it put in the admin's chat. */
  async function pushedOffer(eva: TeamsUser): Promise<Card> {
    const from = customerSide.sent.length;
    expect(cardText(await offerDelegation(anna, 'contoso', { displayName: `Contoso ${++requests}` }))).to.include('was sent to Eva Muster');
    return eva.latestCardWith('offer.accept', from);
  }

  async function endDelegation(eva: TeamsUser): Promise<void> {
    const confirm = await eva.reply('remove partner access');
    expect(cardText((await eva.press(confirm, 'End this relationship')).card)).to.include('Ended: ');
  }

  /** The summary of a renewal with one key, from the customer card: "Renew" there, the key, "Next". */
  async function renewalSummary(who: TeamsUser, key: string): Promise<Card> {
    const entry = (await who.press(await who.reply('customer contoso'), 'Renew')).card;
    return (await who.press(entry, 'Next', { key })).card;
  }

  beforeEach(async () => {
    partnerSide = await new FakeConnector().start();
    customerSide = await new FakeConnector().start();
    bot = await startBot();
    anna = staff(PARTNER, 'user-anna', 'Anna Berg');
    ben = staff(PARTNER, 'user-ben', 'Ben Colleague');
  });

  afterEach(async () => {
    await bot.stop();
    await partnerSide.stop();
    await customerSide.stop();
  });

  after(() => {
    console.log(
      `      races: ${tally.run} run, ${tally.consistent} consistent; accept vs end: ${tally.accepted} accepted then ended, ${tally.withdrawn} withdrawn; ` +
        `renewal vs reservation of one key: ${tally.renewed} renewed, ${tally.reserved} reserved, ${tally.usedTwice} used twice`,
    );
  });

  it(`gives one product key to exactly one of ${RACERS} partners entering and confirming it at the same moment`, async () => {
    const [key] = await bot.mintKeys(1);
    const partners = Array.from({ length: RACERS }, (_, i) => staff(`9ace0000-0000-4000-8000-${String(1000 + i).padStart(12, '0')}`, `staff-${i}`, `Staff ${i}`));
    const entries = await Promise.all(partners.map(async (who) => await who.reply('redeem')));
    let summaries: InvokeResult[] = [];
    let winner: TeamsUser | undefined;

    await race(async () => {
      // Entering a key only checks it, so every partner reaches its summary and nothing is reserved yet.
      summaries = await Promise.all(partners.map((who, i) => who.press(entries[i]!, 'Next', { key0: key! })));
      expectNoServerErrors(summaries);
      expect(countSaying(summaries, 'Does everything look right?')).to.equal(RACERS);
      expect(await reservationCount(bot)).to.equal(0);
    });

    await race(async () => {
      // Confirming reserves: one partner wins; the others are told the key was taken and lose it from their setup.
      const answers = await Promise.all(partners.map((who, i) => who.press(summaries[i]!.card, 'Product keys were added')));
      expectNoServerErrors(answers);
      const won = answers.map((a) => cardText(a.card).includes('reserved for your organization until'));
      expect(won.filter(Boolean), 'winners').to.have.length(1);
      winner = partners[won.indexOf(true)]!;
      expect(countSaying(answers, `The key ending in ${key!.slice(-5)} can no longer be reserved`), 'losers told').to.equal(RACERS - 1);

      const holders = await reservationHolders(bot);
      expect(holders.map((h) => h.tenantId)).to.deep.equal([winner.options.tenantId]);
      for (const who of partners) {
        const setups = await setupsOf(who.options.tenantId);
        expect(setups, who.options.name).to.have.length(1);
        if (who === winner) expect(setups[0]).to.deep.include({ status: 'reserved', id: holders[0]!.setupId });
        else expect(setups[0].keys, `${who.options.name} keeps no copy of the lost key`).to.deep.equal([]);
      }
    });

    await race(async () => {
      // The losers enter the key again, all at once: each gets a plain refusal, and there is still one holder.
      const losers = partners.filter((who) => who !== winner);
      const retries = await Promise.all(losers.map(async (who) => who.press(await who.reply('redeem'), 'Next', { key0: key! })));
      expectNoServerErrors(retries);
      expect(countSaying(retries, 'Key 1 is already being redeemed in another setup.')).to.equal(RACERS - 1);
      expect(await reservationCount(bot)).to.equal(1);
    });
  });

  it('creates one tenant and one customer when "Create account" is pressed twice at once, and refuses a colleague pressing it too', async () => {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(2)));
    const review = (await anna.press(form, 'Next', ACCOUNT)).card;
    // A Sales agent may create accounts, but not finish a colleague's setup.
    await grantRole(anna, ben, 'sales');

    await race(async () => {
      const [first, second, colleague] = await Promise.all([anna.press(review, 'Create account'), anna.press(review, 'Create account'), ben.press(review, 'Create account')]);
      expectNoServerErrors([first, second, colleague]);
      expect(countSaying([first, second], 'The account was created'), 'the owner sees the result twice').to.equal(2);
      expect(countSaying([first, second], 'This account was already created. Nothing was created twice.')).to.equal(1);
      // A setup belongs to the person who started it: a colleague sees it (or the customer it became) but cannot change it.
      expect(cardText(colleague.card)).to.include('This setup belongs to Anna Berg');
      expect(buttons(colleague.card).filter((b) => /^(redeem|setup|account)\./.test(b.verb ?? '')), 'no buttons for the setup').to.deep.equal([]);

      const { customers } = await partnerState(bot, PARTNER);
      expect(customers).to.have.length(1);
      expect((await setupsOf(PARTNER)).map((s) => s.status)).to.deep.equal(['completed']);
      expect((await theTenant()).tenantId).to.equal(customers[0]!.tenantId);
      expect(await reservationCount(bot)).to.equal(0);
    });
  });

  it('keeps one setup when "Next" is pressed twice at once, and settles "Discard" and "Create account" pressed together one way', async () => {
    const [key] = await bot.mintKeys(1);
    const entry = await anna.reply('redeem');
    await race(async () => {
      const answers = await Promise.all([anna.press(entry, 'Next', { key0: key! }), anna.press(entry, 'Next', { key0: key! })]);
      expectNoServerErrors(answers);
      expect(countSaying(answers, 'Does everything look right?')).to.equal(2);
      expect(countSaying(answers, 'This card was out of date')).to.equal(1);
      expect((await setupsOf(PARTNER)).map((s) => s.keys.length)).to.deep.equal([1]);
    });

    for (const round of [0, 1]) {
      const [key] = await bot.mintKeys(1);
      const form = await openAccountForm(anna, await reserveKeys(anna, [key!]));
      const review = (await anna.press(form, 'Next', { ...ACCOUNT, domainPrefix: `contoso${round}` })).card;
      const setupId = button(review, 'Create account').data.setupId;
      const welcome = await anna.reply('help');
      // The welcome card lists every unfinished setup, each with its own "Discard".
      const discardThis = buttons(welcome).filter((b) => b.title === 'Discard').findIndex((b) => b.data.setupId === setupId);
      await race(async () => {
        const [discarding, creating] = await together(round, () => anna.press(welcome, 'Discard', {}, discardThis), () => anna.press(review, 'Create account'));
        expectNoServerErrors([discarding, creating]);
        const { status } = (await setupsOf(PARTNER)).find((s) => s.id === setupId);
        const created = (await partnerState(bot, PARTNER)).customers.filter((c: any) => c.setupId === setupId);
        const tenants = (await storedTenants(bot)).filter((t: any) => t.idempotencyKey === setupId);
        const keyStatus = (await bot.app.embeddedCommerce.checkKey(key!)).status;
        expect(await reservationCount(bot), 'redeemed or released, the key is no longer reserved').to.equal(0);
        if (status === 'completed') {
          expect(cardText(creating.card)).to.include('The account was created');
          expect(cardText(discarding.card)).not.to.include('Setup discarded');
          expect([created.length, tenants.length, keyStatus]).to.deep.equal([1, 1, 'redeemed']);
        } else {
          expect(status).to.equal('discarded');
          expect(cardText(discarding.card)).to.include('Setup discarded');
          expect(cardText(creating.card)).to.include('This setup was discarded, so nothing was changed.');
          expect([created.length, tenants.length, keyStatus]).to.deep.equal([0, 0, 'valid']);
        }
      });
    }
  });

  it(`settles Accept by the admin and End by the partner, pressed at the same moment, one way (${ROUNDS} requests)`, async () => {
    const eva = await customerWithAdmin();
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const offerCard = await pushedOffer(eva);
      const offerId = button(offerCard, 'Accept').data.offerId;
      const customerCard = await anna.reply('customer contoso');
      const noticesFrom = partnerSide.sent.length;
      const updatesFrom = customerSide.sent.length;

      await race(async () => {
        const [atCustomer, atPartner] = await together(round, () => eva.press(offerCard, 'Accept'), () => anna.press(customerCard, 'End'));
        expectNoServerErrors([atCustomer, atPartner]);
        const offer = (await theCustomer()).offers.find((o: any) => o.id === offerId);
        const customerSees = cardText(atCustomer.card);
        const partnerSees = cardText(atPartner.card);
        outcomes.push(offer.status);
        // Either way the relationship ends: the partner asked to end it, whatever it had become.
        expect((await statuses()).at(-1)).to.equal('terminated');
        if (offer.status === 'ended') {
          expect(customerSees).to.include('Accepted by Eva Muster');
          expect(partnerSees).to.include(`The relationship "Contoso ${requests}" with Contoso GmbH was ended.`);
          expect(cardText(eva.repliesSince(updatesFrom).at(-1)!), "the admin's card is updated").to.include('Ended by Anna Berg');
          expect(noticesSince(noticesFrom, anna)).to.have.length(1).and.satisfy((texts: string[]) => texts[0]!.includes('Contoso GmbH approved your request'));
        } else {
          expect(offer.status).to.equal('withdrawn');
          expect(partnerSees).to.include(`The request "Contoso ${requests}" to Contoso GmbH was withdrawn.`);
          expect(customerSees).to.include('This request was already answered or has ended; nothing was changed.').and.include('Fabrikam IT withdrew this request');
          expect(cardText(eva.repliesSince(updatesFrom).at(-1)!), "the admin's card is updated").to.include('Fabrikam IT withdrew this request');
          expect(noticesSince(noticesFrom, anna), 'no notice of an answer').to.deep.equal([]);
        }
      });
    }
    tally.accepted += outcomes.filter((o) => o === 'ended').length;
    tally.withdrawn += outcomes.filter((o) => o === 'withdrawn').length;
  });

  it('delegates once when the admin presses Accept twice at once, and settles Accept and Decline pressed together one way', async () => {
    const eva = await customerWithAdmin();
    let offerCard = await pushedOffer(eva);
    let noticesFrom = partnerSide.sent.length;

    await race(async () => {
      const answers = await Promise.all([eva.press(offerCard, 'Accept'), eva.press(offerCard, 'Accept')]);
      expectNoServerErrors(answers);
      expect(countSaying(answers, 'Accepted by Eva Muster')).to.equal(2);
      expect(countSaying(answers, 'This request was already answered or has ended; nothing was changed.')).to.equal(1);
      expect(await statuses()).to.deep.equal(['active']);
      expect((await theCustomer()).offers.map((o: any) => o.status)).to.deep.equal(['accepted']);
      expect(noticesSince(noticesFrom, anna), 'the partner is told once').to.have.length(1);
    });

    await endDelegation(eva);
    offerCard = await pushedOffer(eva);
    noticesFrom = partnerSide.sent.length;
    await race(async () => {
      const [accepted, declined] = await Promise.all([eva.press(offerCard, 'Accept'), eva.press(offerCard, 'Decline')]);
      expectNoServerErrors([accepted, declined]);
      const { status } = (await theCustomer()).offers.at(-1);
      expect(status).to.be.oneOf(['accepted', 'declined']);
      const [won, lost] = status === 'accepted' ? [accepted, declined] : [declined, accepted];
      expect(cardText(won.card)).to.include(status === 'accepted' ? 'Accepted by Eva Muster' : 'Declined by Eva Muster').and.not.include('already answered');
      expect(cardText(lost.card)).to.include('This request was already answered or has ended; nothing was changed.');
      expect((await statuses()).at(-1)).to.equal(status === 'accepted' ? 'active' : 'terminated');
      expect(noticesSince(noticesFrom, anna)).to.have.length(1).and.satisfy((texts: string[]) => texts[0]!.includes(`Contoso GmbH ${status === 'accepted' ? 'approved' : 'declined'} your request`));
    });
  });

  it('sends one request, adds one user and ends a relationship once when each button is pressed twice at once', async () => {
    const eva = await customerWithAdmin();
    const compose = (await anna.press(await anna.reply('customer contoso'), 'Request delegated administration')).card;
    const pushedFrom = customerSide.sent.length;

    await race(async () => {
      const sends = await Promise.all([anna.press(compose, 'Send request'), anna.press(compose, 'Send request')]);
      expectNoServerErrors(sends);
      // The second press finds the request the first sent, and says so.
      expect(countSaying(sends, 'was sent to Eva Muster')).to.equal(2);
      expect((await theCustomer()).offers.map((o: any) => o.status)).to.deep.equal(['pending']);
      expect(await statuses()).to.deep.equal(['approvalPending']);
      expect(eva.repliesSince(0).filter((card) => buttons(card).some((b) => b.verb === 'offer.accept')), 'pushed once').to.have.length(1);
      expect(customerSide.since(pushedFrom)).to.have.length(1);
    });

    await eva.press(eva.latestCardWith('offer.accept'), 'Accept');
    const form = await anna.reply('add user to contoso');
    const max = { firstName: 'Max', lastName: 'Mustermann', signInName: 'max' };
    await race(async () => {
      const adds = await Promise.all([anna.press(form, 'Add user', max), anna.press(form, 'Add user', max)]);
      expectNoServerErrors(adds);
      expect(countSaying(adds, 'Max Mustermann was added as max@contoso.onmicrosoft.com')).to.equal(2);
      const tenant = await theTenant();
      expect(tenant.users.filter((u: any) => u.userPrincipalName === 'max@contoso.onmicrosoft.com')).to.have.length(1);
      expect(tenant.subscriptions[0].assignedSeats).to.equal(2);
      const customer = await theCustomer();
      expect(customer.addedUsers).to.have.length(1);
      expect(customer.subscriptions[0].assignedSeats).to.equal(2);
    });

    const confirm = await eva.reply('remove partner access');
    const noticesFrom = partnerSide.sent.length;
    await race(async () => {
      const ends = await Promise.all([eva.press(confirm, 'End this relationship'), eva.press(confirm, 'End this relationship')]);
      expectNoServerErrors(ends);
      expect(countSaying(ends, 'Ended: ')).to.equal(1);
      expect(countSaying(ends, 'Fabrikam IT holds no admin roles in your organization')).to.equal(2);
      expect(await statuses()).to.deep.equal(['terminated']);
      expect((await theCustomer()).offers.map((o: any) => o.status)).to.deep.equal(['ended']);
      expect(noticesSince(noticesFrom, anna)).to.have.length(1).and.satisfy((texts: string[]) => texts[0]!.includes('Contoso GmbH ended the relationship'));
    });
  });

  it('settles "Add user" by the partner and the end of the relationship by the admin, pressed together, one way', async () => {
    const eva = await customerWithAdmin();
    for (const round of [0, 1]) {
      await eva.press(await pushedOffer(eva), 'Accept');
      const form = await anna.reply('add user to contoso');
      const confirm = await eva.reply('remove partner access');
      const signInName = `max${round}`;
      await race(async () => {
        const [adding, ending] = await together(round, () => anna.press(form, 'Add user', { firstName: 'Max', lastName: 'Mustermann', signInName }), () => eva.press(confirm, 'End this relationship'));
        expectNoServerErrors([adding, ending]);
        expect(cardText(ending.card)).to.include('Ended: ');
        const tenant = await theTenant();
        expect(await statuses()).to.deep.equal(round === 0 ? ['terminated'] : ['terminated', 'terminated']);
        const added = tenant.users.filter((u: any) => u.userPrincipalName === `${signInName}@contoso.onmicrosoft.com`).length;
        expect((await theCustomer()).addedUsers.filter((u: any) => u.userPrincipalName.startsWith(`${signInName}@`))).to.have.length(added);
        // A user added while delegation was active stays; otherwise the partner is told it no longer may act.
        if (added === 1) expect(cardText(adding.card)).to.include(`Max Mustermann was added as ${signInName}@contoso.onmicrosoft.com`);
        else expect(cardText(adding.card)).to.include('This needs the User Administrator role in an active relationship with Contoso GmbH.');
      });
    }
  });

  it('renews once when "Renew" is pressed twice at once, and once when two colleagues renew with the same key', async () => {
    await createCustomer(anna, await bot.mintKeys(1), ACCOUNT);
    const renewals = async () => {
      const mirrored = (await theCustomer()).subscriptions[0];
      const backend = (await theTenant()).subscriptions[0];
      return { endDate: mirrored.endDate, ids: mirrored.renewalIds.length, backendEndDate: backend.endDate, backendIds: backend.renewals.length };
    };
    const [key] = await bot.mintKeys(1);
    const card = await renewalSummary(anna, key!);

    await race(async () => {
      const answers = await Promise.all([anna.press(card, 'Renew'), anna.press(card, 'Renew')]);
      expectNoServerErrors(answers);
      expect(countSaying(answers, 'now ends on 2 March 2028')).to.equal(2);
      expect(await renewals()).to.deep.equal({ endDate: '2028-03-02', ids: 1, backendEndDate: '2028-03-02', backendIds: 1 });
      expect((await bot.app.embeddedCommerce.checkKey(key!)).status).to.equal('redeemed');
    });

    const [shared] = await bot.mintKeys(1);
    await grantRole(anna, ben, 'sales');
    const [annas, bens] = [await renewalSummary(anna, shared!), await renewalSummary(ben, shared!)];
    await race(async () => {
      const answers = await Promise.all([anna.press(annas, 'Renew'), ben.press(bens, 'Renew')]);
      expectNoServerErrors(answers);
      expect(countSaying(answers, 'now ends on 2 March 2029')).to.equal(1);
      expect(countSaying(answers, `The key ending in ${shared!.slice(-5)} can no longer be reserved`)).to.equal(1);
      expect(await renewals()).to.deep.equal({ endDate: '2029-03-02', ids: 2, backendEndDate: '2029-03-02', backendIds: 2 });
    });
  });

  it(`uses a key once when one partner renews with it while another confirms it in a setup (${ROUNDS} keys)`, async () => {
    await createCustomer(anna, await bot.mintKeys(1), ACCOUNT);
    const eve = staff(OTHER_PARTNER, 'user-eve', 'Eve');
    // Each round has its own key, so a round that fails does not spoil the next: all are run, then judged.
    const failedRounds: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [key] = await bot.mintKeys(1);
      const summary = (await eve.press(await eve.reply('redeem'), 'Next', { key0: key! })).card;
      const renew = await renewalSummary(anna, key!);
      const endDate = (await theCustomer()).subscriptions[0].endDate;
      const reservedBefore = await reservationCount(bot);

      await race(async () => {
        const [reserving, renewing] = await together(round, () => eve.press(summary, 'Product keys were added'), () => anna.press(renew, 'Renew'));
        expectNoServerErrors([reserving, renewing]);
        const renewed = cardText(renewing.card).includes('Renewed:');
        const reserved = cardText(reserving.card).includes('reserved for your organization until');
        const keyStatus = (await bot.app.embeddedCommerce.checkKey(key!)).status;
        const subscription = (await theCustomer()).subscriptions[0];
        const uses = [renewed && `renewed until ${subscription.endDate}`, reserved && `reserved by ${eve.options.name}`].filter(Boolean);
        if (uses.length === 2) tally.usedTwice++;
        expect(uses, `exactly one use of the key (${keyStatus} at the backend): ${uses.join(' and ') || 'none'}`).to.have.length(1);
        if (renewed) {
          tally.renewed++;
          expect(cardText(reserving.card)).to.include(`The key ending in ${key!.slice(-5)} can no longer be reserved`);
          expect(await reservationCount(bot)).to.equal(reservedBefore);
          expect(keyStatus).to.equal('redeemed');
          expect(subscription.endDate).to.equal(addMonths(endDate, 12));
        } else {
          tally.reserved++;
          expect(cardText(renewing.card)).to.include(`The key ending in ${key!.slice(-5)} can no longer be reserved`);
          expect(await reservationCount(bot)).to.equal(reservedBefore + 1);
          expect(keyStatus).to.equal('valid');
          expect(subscription.endDate).to.equal(endDate);
        }
      }).catch((error: Error) => failedRounds.push(`round ${round}: ${error.message}`));
    }
    expect(failedRounds).to.deep.equal([]);
  });
});
