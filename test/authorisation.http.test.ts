/**
 * Wrong actors over real HTTP, table-driven: every card verb the bot accepts and every typed command
 * that changes state, each sent with the payload of a real card the bot gave the legitimate actor,
 * is tried by everyone who must not be able to use it: another partner, users of a customer tenant,
 * the partner on the customer's answers, a colleague on a setup that is not theirs. Each must get a
 * plain refusal and leave every byte of the data folder as it was; the legitimate actor then sends
 * the same payload and gets through, which proves the payload itself was good.
 *
 * The world (three customers, an open offer, an active delegation, setups at each step, a reminder)
 * is built once; each row runs on its own copy of the data folder (on PostgreSQL, of the database),
 * so a row's legitimate press never changes what the next row starts from.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { VERBS, type Verb } from '../src/bot/actions.js';
import { parseTextCommand } from '../src/bot/textCommands.js';
import { fileNameFor } from '../src/store/fileNames.js';
import { FakeClock, startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { ACCOUNT, createCustomer, grantRole, offerDelegation, openAccountForm, reserveKeys } from './support/journeys.js';
import { databaseUrl } from './support/postgres.js';
import type { Snapshot } from './support/dataFiles.js';
import { auditTrail, changedParts, partnerState, snapshotByPartner } from './support/stored.js';
import { pressData, TeamsUser } from './support/teams.js';

const PARTNER = '5ec00000-0000-4000-8000-000000000001';
const OTHER_PARTNER = '5ec00000-0000-4000-8000-000000000002';
/** The other partner's own file and its backup: the only files it may change, and only on its own organisation. */
const OTHER_PARTNER_FILES = [`partners/${fileNameFor(OTHER_PARTNER)}`, `partners/${fileNameFor(OTHER_PARTNER)}.bak`, `audit/${fileNameFor(OTHER_PARTNER).replace(/\.json$/, '.jsonl')}`];
/** Whether a changed part of the store is the other partner's own: one of its files, or its rows of a table (snapshotByPartner). */
const otherPartnersOwn = (part: string) => OTHER_PARTNER_FILES.includes(part) || part.endsWith(`/${OTHER_PARTNER}`);
/** A partner's audit trail: its file, or its rows (the entries and the chain's head). */
const trailOf = (part: string): string | undefined => (part.startsWith('audit/') ? part : /^audit_(entries|heads)\/(.+)$/.exec(part)?.[2]);
/** 09:00 in Berlin on the day the 60-day reminders of subscriptions set up on 2 March 2026 are due. */
const REMINDER_DAY = new Date('2027-01-01T08:00:00Z');

const customerAccount = (organisationName: string, domainPrefix: string, firstName: string) => ({
  ...ACCOUNT,
  organisationName,
  domainPrefix,
  firstName,
  signInName: firstName.toLowerCase(),
  email: `${firstName.toLowerCase()}@${domainPrefix}.example`,
  language: 'en',
});
const CONTOSO = customerAccount('Contoso GmbH', 'contoso', 'Eva');
const NORTHWIND = customerAccount('Northwind Traders', 'northwind', 'Nina');
const TAILSPIN = customerAccount('Tailspin Toys', 'tailspin', 'Tom');

/** The cards the legitimate actors were sent, by name; the rows press their buttons. */
const CARD_NAMES = [
  'helpNotice', 'firstWelcome', 'welcome', 'keyEntry', 'keysReview', 'receipt', 'accountForm', 'accountReview', 'profile', 'customers',
  'contoso', 'northwind', 'tailspin', 'compose', 'userForm', 'renew', 'renewReview', 'billing', 'billingScheduled', 'reminder', 'reminders', 'offer', 'accessEnd', 'history',
] as const;
type CardName = (typeof CARD_NAMES)[number];

interface World {
  cards: Record<CardName, Card>;
  /** A fresh key for the key entry and one of the renewed product, typed into those forms. */
  spareKey: string;
  renewalKey: string;
  /** The last groups of the partner's keys, which nobody outside the partner may see. */
  keyGroups: string[];
  clock: Date;
}

/**
 * Who legitimately uses a row: the staff member who owns the setup, any staff member of the partner,
 * the admin of Contoso (which has an open offer) or the admin of Northwind (which accepted one).
 */
type Legit = 'owner' | 'partner' | 'offeredAdmin' | 'delegatedAdmin';
type ActorName = 'anna' | 'ben' | 'eve' | 'evaX' | 'bobX' | 'evaY' | 'bobY';

interface RowBase {
  legit: Legit;
  /** Whether the legitimate press changes the data folder (otherwise it must change nothing). */
  changes?: boolean;
  /** The verb acts only on the actor's own organisation: another partner gets its own view, not a refusal. */
  ownOrganisation?: boolean;
  /** Customer admins whose own tenant the verb shows (what the partner did there): their own view, not a refusal. */
  ownTenant?: ActorName[];
}
/** A card verb, pressed on the named card with what the legitimate actor types into its inputs, or sent with `data` (a verb no card button carries). */
interface VerbRow extends RowBase {
  verb: Verb;
  on?: CardName;
  data?: Record<string, unknown>;
  typed?: (world: World) => Record<string, string>;
}
/** A typed command, in a personal chat or a team channel. */
interface TextRow extends RowBase {
  text: string;
  inChannel?: boolean;
}
type Row = VerbRow | TextRow;

const ADVENTURE_WORKS = customerAccount('Adventure Works', 'adventure', 'Ada');
const NEW_USER = { firstName: 'Max', lastName: 'Mustermann', signInName: 'max' };

/** One row per verb and per state-changing typed command; a new verb needs a new row (checked below). */
const ROWS: Row[] = [
  { verb: 'welcome.show', on: 'helpNotice', legit: 'partner', ownOrganisation: true },
  { verb: 'redeem.start', on: 'firstWelcome', legit: 'partner', ownOrganisation: true },
  { verb: 'redeem.addField', on: 'keyEntry', legit: 'partner', ownOrganisation: true },
  { verb: 'redeem.next', on: 'keyEntry', legit: 'owner', changes: true, typed: (w) => ({ key0: w.spareKey }) },
  { verb: 'redeem.removeKey', on: 'keysReview', legit: 'owner', changes: true },
  { verb: 'redeem.back', on: 'keysReview', legit: 'owner', changes: true },
  { verb: 'redeem.confirm', on: 'keysReview', legit: 'owner', changes: true },
  { verb: 'setup.open', on: 'welcome', legit: 'owner' },
  { verb: 'setup.discard', on: 'keysReview', legit: 'owner', changes: true },
  { verb: 'account.start', on: 'receipt', legit: 'owner' },
  { verb: 'account.edit', on: 'accountReview', legit: 'owner' },
  { verb: 'account.check', on: 'accountForm', legit: 'owner', changes: true, typed: () => ADVENTURE_WORKS },
  { verb: 'account.create', on: 'accountReview', legit: 'owner', changes: true },
  { verb: 'profile.show', on: 'firstWelcome', legit: 'partner', ownOrganisation: true },
  { verb: 'profile.save', on: 'profile', legit: 'partner', changes: true, ownOrganisation: true, typed: () => ({ organisationName: 'Fabrikam IT Services' }) },
  { verb: 'customers.list', on: 'welcome', legit: 'partner', ownOrganisation: true },
  { verb: 'customer.open', on: 'customers', legit: 'partner' },
  { verb: 'delegation.compose', on: 'tailspin', legit: 'partner' },
  { verb: 'delegation.template', on: 'compose', legit: 'partner' },
  { verb: 'delegation.request', on: 'compose', legit: 'partner', changes: true },
  { verb: 'delegation.end', on: 'contoso', legit: 'partner', changes: true },
  { verb: 'user.compose', on: 'northwind', legit: 'partner' },
  { verb: 'user.add', on: 'userForm', legit: 'partner', changes: true, typed: () => NEW_USER },
  { verb: 'offer.accept', on: 'offer', legit: 'offeredAdmin', changes: true },
  { verb: 'offer.decline', on: 'offer', legit: 'offeredAdmin', changes: true },
  { verb: 'access.end', on: 'accessEnd', legit: 'delegatedAdmin', changes: true },
  { verb: 'renew.compose', on: 'contoso', legit: 'partner' },
  { verb: 'keys.compose', on: 'contoso', legit: 'partner' },
  { verb: 'keys.check', on: 'renew', legit: 'partner', changes: true, typed: (w) => ({ key: w.renewalKey }) },
  { verb: 'keys.apply', on: 'renewReview', legit: 'owner', changes: true },
  { verb: 'billing.compose', on: 'contoso', legit: 'partner' },
  { verb: 'billing.switch', on: 'billing', legit: 'partner', changes: true },
  { verb: 'billing.schedule', on: 'billing', legit: 'partner', changes: true },
  { verb: 'billing.unschedule', on: 'billingScheduled', legit: 'partner', changes: true },
  { verb: 'reminder.snooze', on: 'reminder', legit: 'partner' },
  { verb: 'reminders.list', on: 'reminders', legit: 'partner', ownOrganisation: true, typed: () => ({ range: 'all' }) },
  // Contoso's offer is still open, so only the colleague who created it may reset its admin's password.
  { verb: 'password.reset', on: 'contoso', legit: 'owner', changes: true },
  { verb: 'roles.show', data: {}, legit: 'partner', ownOrganisation: true },
  { verb: 'role.assign', data: { userId: 'user-ben', field: 'role1', role1: 'helpdesk' }, legit: 'partner', changes: true, ownOrganisation: true },
  { verb: 'history.show', on: 'history', legit: 'partner', ownOrganisation: true },
  { verb: 'activity.show', data: {}, legit: 'delegatedAdmin', ownTenant: ['evaX'] },
  { text: 'cancel', legit: 'owner', changes: true },
  { text: 'send reminders here', legit: 'partner', changes: true, ownOrganisation: true, inChannel: true },
  { text: 'remove partner access', legit: 'delegatedAdmin' },
];

/** The typed commands that change state, or lead to the one card that does. */
const STATE_CHANGING_COMMANDS = ['cancel', 'remindersHere', 'removeAccess'];

const LEGIT_ACTOR: Record<Legit, ActorName> = { owner: 'anna', partner: 'anna', offeredAdmin: 'evaX', delegatedAdmin: 'evaY' };
/** X is the customer with an open offer, Y the one whose admin accepted. */
const WRONG_ACTORS: Record<Legit, ActorName[]> = {
  owner: ['eve', 'ben', 'bobY', 'evaY'],
  partner: ['eve', 'bobY', 'evaY'],
  offeredAdmin: ['eve', 'bobX', 'anna', 'evaY'],
  delegatedAdmin: ['eve', 'bobY', 'anna', 'evaX'],
};
const ACTOR_LABELS: Record<ActorName, string> = {
  anna: 'the partner (Anna)',
  ben: "Anna's colleague",
  eve: 'a user of another partner tenant',
  evaX: "Contoso's admin",
  bobX: 'a non-admin user at Contoso',
  evaY: "Northwind's admin",
  bobY: 'a non-admin user at Northwind',
};
/** Names a customer's users know anyway: their own organisation's and their partner's. */
const KNOWN_TO: Partial<Record<ActorName, string[]>> = {
  evaX: ['Contoso GmbH', 'Fabrikam IT'],
  bobX: ['Contoso GmbH', 'Fabrikam IT'],
  evaY: ['Northwind Traders', 'Fabrikam IT'],
  bobY: ['Northwind Traders', 'Fabrikam IT'],
};

/** Plain refusals, each saying (or meaning) that nothing was changed. */
const REFUSALS = [
  'does not exist or is not available to you. Nothing was changed.',
  'You can see it, but only Anna Berg can change it. Nothing was changed.',
  'This request is not for your organization. Nothing was changed.',
  "Only the admin of your organization's account",
  'This reminder is no longer known. Nothing was changed.',
  'You have no unfinished setup to cancel.',
  'holds no admin roles in your organization, so there is nothing to end.',
  // A customer's admin who types a partner command gets the customer side's greeting, nothing else.
  'There is no open request',
  "Only the person who created this account (Anna Berg) can reset the admin's password",
  'There is no open offer',
  // Staff without the role the verb needs.
  'You cannot do this: it needs the role',
];
const FAILURES = ['Sorry, something went wrong', 'could not understand', 'not known to this version'];
const isRefusal = (text: string) => REFUSALS.some((refusal) => text.includes(refusal));

/** Figures over the whole table, printed at the end. */
const tally = { refusals: 0, ownViews: 0, legitimate: 0 };

describe('wrong actors over HTTP, for every verb and state-changing command', function () {
  this.timeout(60_000);
  let partnerSide: FakeConnector;
  let customerSide: FakeConnector;
  /** The bot the world was built on, stopped; its folder or database is what each row copies. */
  let base: RunningBot;
  let worldStored: Snapshot;
  let world: World;
  /** Each actor in a personal chat and in a team channel of their tenant. */
  const actors = { personal: {} as Record<ActorName, TeamsUser>, channel: {} as Record<ActorName, TeamsUser> };
  const everyone = () => [...Object.values(actors.personal), ...Object.values(actors.channel)];

  function addActor(name: ActorName, connector: FakeConnector, tenantId: string, userId: string, displayName: string): void {
    for (const conversationType of ['personal', 'channel'] as const) {
      actors[conversationType][name] = new TeamsUser({ botUrl: '', connector, tenantId, userId, name: displayName, conversationType });
    }
  }

  /** What pressing the button with this verb on a card sends. */
  function payloadOf(card: Card, verb: string, typed: Record<string, string> = {}): Record<string, unknown> {
    const action = buttons(card).find((b) => b.verb === verb);
    if (!action) throw new Error(`no ${verb} button on the card: ${buttons(card).map((b) => b.verb ?? b.title).join(', ')}`);
    return pressData(card, action, typed);
  }

  const pressVerb = (who: TeamsUser, card: Card, verb: string, typed: Record<string, string> = {}) => who.invoke(verb, payloadOf(card, verb, typed));

  /** Builds the world on a running bot; every step goes through the cards, as Teams would. */
  async function buildWorld(bot: RunningBot): Promise<World> {
    const cards = {} as Record<CardName, Card>;
    const anna = actors.personal.anna;
    for (const user of everyone()) user.options.botUrl = bot.url;
    cards.helpNotice = await anna.reply('cancel');
    cards.firstWelcome = await anna.reply('help');

    const customerKeys = await bot.mintKeys(3);
    for (const [i, account] of [CONTOSO, NORTHWIND, TAILSPIN].entries()) await createCustomer(anna, [customerKeys[i]!], account);
    const customers = (await partnerState(bot, PARTNER)).customers;
    const tenantOf = (name: string) => customers.find((c) => c.name === name)!;
    const [x, y] = [tenantOf('Contoso GmbH'), tenantOf('Northwind Traders')];
    addActor('evaX', customerSide, x.tenantId, x.admin.objectId, 'Eva Muster');
    addActor('bobX', customerSide, x.tenantId, 'user-bob-x', 'Bob Contoso');
    addActor('evaY', customerSide, y.tenantId, y.admin.objectId, 'Nina Muster');
    addActor('bobY', customerSide, y.tenantId, 'user-bob-y', 'Bob Northwind');
    for (const user of everyone()) user.options.botUrl = bot.url;
    const { evaX, evaY } = actors.personal;

    // Two months before the end: each customer's first reminder reaches the partner.
    bot.clock.current = new Date(REMINDER_DAY);
    const remindersFrom = partnerSide.sent.length;
    await bot.app.reminders.run();
    cards.reminder = anna.repliesSince(remindersFrom).find((card) => cardText(card).includes('for Contoso GmbH ends in 60 days'))!;

    await evaX.say('hello');
    await evaY.say('hello');
    await offerDelegation(anna, 'contoso');
    cards.offer = evaX.latestCardWith('offer.accept');
    await offerDelegation(anna, 'northwind');
    await pressVerb(evaY, evaY.latestCardWith('offer.accept'), 'offer.accept');
    cards.accessEnd = await evaY.reply('remove partner access');

    const northwindBilling = (await pressVerb(anna, await anna.reply('customer northwind'), 'billing.compose')).card;
    cards.billingScheduled = (await pressVerb(anna, northwindBilling, 'billing.schedule')).card;
    cards.northwind = await anna.reply('customer northwind');
    cards.userForm = (await pressVerb(anna, cards.northwind, 'user.compose')).card;
    cards.contoso = await anna.reply('customer contoso');
    cards.renew = (await pressVerb(anna, cards.contoso, 'renew.compose')).card;
    const [renewingKey] = await bot.mintKeys(1);
    cards.renewReview = (await pressVerb(anna, (await pressVerb(anna, cards.contoso, 'renew.compose')).card, 'keys.check', { key: renewingKey! })).card;
    cards.billing = (await pressVerb(anna, cards.contoso, 'billing.compose')).card;
    cards.tailspin = await anna.reply('customer tailspin');
    cards.compose = (await pressVerb(anna, cards.tailspin, 'delegation.compose')).card;
    cards.customers = await anna.reply('customers');
    cards.profile = await anna.reply('profile');
    cards.reminders = await anna.reply('reminders');
    cards.history = await anna.reply('history');
    // Anna saved the profile first and is Admin agent; her colleague redeems keys as a Sales agent, but not in her setups.
    await grantRole(anna, actors.personal.ben, 'sales');

    // Setups at each step, a minute apart, so the newest (the one "cancel" discards) is the key entry.
    const keys = await bot.mintKeys(4);
    cards.receipt = await reserveKeys(anna, [keys[0]!]);
    cards.accountForm = (await pressVerb(anna, cards.receipt, 'account.start')).card;
    bot.clock.advanceMinutes(1);
    const wingtipForm = await openAccountForm(anna, await reserveKeys(anna, [keys[1]!]));
    cards.accountReview = (await anna.press(wingtipForm, 'Next', customerAccount('Wingtip Toys', 'wingtip', 'Will'))).card;
    bot.clock.advanceMinutes(1);
    cards.keysReview = (await anna.press(await anna.reply('redeem'), 'Next', { key0: keys[2]! })).card;
    bot.clock.advanceMinutes(1);
    const secondReview = (await anna.press(await anna.reply('redeem'), 'Next', { key0: keys[3]! })).card;
    cards.keyEntry = (await pressVerb(anna, secondReview, 'redeem.back')).card;
    cards.welcome = await anna.reply('help');

    // Everyone has written to the bot once, so being remembered is not a change a row could cause.
    for (const name of ['ben', 'eve', 'bobX', 'bobY'] as const) await actors.personal[name].say('hello');

    const [spareKey] = await bot.mintKeys(1);
    const [renewalKey] = await bot.mintKeys(1);
    const missing = CARD_NAMES.filter((name) => !cards[name]);
    expect(missing, 'cards the world did not produce').to.deep.equal([]);
    return { cards, spareKey: spareKey!, renewalKey: renewalKey!, keyGroups: [...customerKeys, ...keys, renewingKey!].map((key) => key.slice(-5)), clock: new Date(bot.clock.current) };
  }

  /**
   * A bot on a fresh copy of the world's data folder (file times kept, so the store sees its
   * summaries' cache as current and the start-up writes nothing) or database, with every actor pointed at it.
   */
  async function worldCopy(): Promise<RunningBot> {
    const dataDir = await mkdtemp(join(tmpdir(), 'psb-authz-'));
    if (base.store === 'file') await cp(base.dataDir, dataDir, { recursive: true, preserveTimestamps: true });
    const database: Record<string, string> = base.databaseUrl === undefined ? {} : { DATABASE_URL: await databaseUrl(base.databaseUrl) };
    // The world's clock is months past the setups it closed: a long retention keeps the start-up sweep from dropping them.
    const bot = await startBot({ SETUP_RETENTION_DAYS: '3650', ...database }, { dataDir, clock: new FakeClock(new Date(world.clock)) });
    for (const user of everyone()) user.options.botUrl = bot.url;
    return bot;
  }

  /** Stops a bot on a folder of this test's own and removes the folder (a database copy stays for the secrets scan). */
  async function discard(bot: RunningBot): Promise<void> {
    await bot.app.stop();
    await rm(bot.dataDir, { recursive: true, force: true });
  }

  /** What the row sends: the legitimate actor's card payload, or the typed text. */
  const sentBy = (row: Row): Record<string, unknown> | string => ('text' in row ? row.text : (row.data ?? payloadOf(world.cards[row.on!], row.verb, row.typed?.(world))));

  /** Sends the row as this actor and returns the visible text of the answer. */
  async function attempt(row: Row, name: ActorName): Promise<string> {
    if ('text' in row) return (await actors[row.inChannel ? 'channel' : 'personal'][name].say(row.text)).map(cardText).join('\n');
    const { httpStatus, card } = await actors.personal[name].invoke(row.verb, sentBy(row));
    return httpStatus === 200 ? cardText(card) : `HTTP ${httpStatus}`;
  }

  /** What this actor must never see: the partner's staff, customers and keys, except what it sent itself. */
  function secretsFor(name: ActorName, sent: string): string[] {
    // The partner's own staff may see the partner's data (a colleague sees a setup it cannot change).
    if (actors.personal[name].options.tenantId === PARTNER) return [];
    const all = ['Anna Berg', 'Fabrikam IT', 'Contoso GmbH', 'Northwind Traders', 'Tailspin Toys', 'Wingtip Toys', ...world.keyGroups];
    return all.filter((secret) => !KNOWN_TO[name]?.includes(secret) && !sent.includes(secret));
  }

  /**
   * Sends the row as a wrong actor and says what went wrong: a changed file, a failure, something
   * shown that the actor must not see, or an answer that is no refusal.
   */
  async function wrongActorProblems(bot: RunningBot, row: Row, name: ActorName, sent: string): Promise<string[]> {
    const who = `${ACTOR_LABELS[name]} (${name})`;
    const problems: string[] = [];
    const before = await snapshotByPartner(bot);
    const answer = await attempt(row, name);
    // Another partner acting on its own organisation changes its own file or rows, and only those.
    const ownView = (row.ownOrganisation === true && name === 'eve') || row.ownTenant?.includes(name) === true;
    const allChanged = changedParts(before, await snapshotByPartner(bot)).filter((part) => !(ownView && otherPartnersOwn(part)));
    // A press the role does not allow is recorded as refused: the trail grows by that entry, and nothing else changes.
    const trails = allChanged.filter((part) => trailOf(part) !== undefined);
    for (const trail of new Set(trails.map(trailOf))) {
      const last = trail!.startsWith('audit/') ? JSON.parse((await readFile(join(bot.dataDir, trail!), 'utf8')).trim().split('\n').at(-1)!) : (await auditTrail(bot, trail!)).at(-1)!;
      if (last.outcome.result !== 'refused') problems.push(`${who} added a ${last.outcome.result} entry to ${trail}`);
    }
    const changed = allChanged.filter((part) => !trails.includes(part));
    if (changed.length > 0) problems.push(`${who} changed ${changed.join(', ')}`);
    if (FAILURES.some((failure) => answer.includes(failure)) || answer.startsWith('HTTP')) problems.push(`${who} got a failure, not a refusal: ${answer.slice(0, 200)}`);
    const leaked = secretsFor(name, sent).filter((secret) => answer.includes(secret));
    if (leaked.length > 0) problems.push(`${who} was shown ${leaked.join(', ')}`);
    if (ownView) tally.ownViews++;
    else if (isRefusal(answer)) tally.refusals++;
    else problems.push(`${who} was not refused: ${answer.slice(0, 300)}`);
    return problems;
  }

  before(async () => {
    partnerSide = await new FakeConnector().start();
    customerSide = await new FakeConnector().start();
    addActor('anna', partnerSide, PARTNER, 'user-anna', 'Anna Berg');
    addActor('ben', partnerSide, PARTNER, 'user-ben', 'Ben Colleague');
    addActor('eve', partnerSide, OTHER_PARTNER, 'user-eve', 'Eve Outsider');
    base = await startBot({}, { dataDir: await mkdtemp(join(tmpdir(), 'psb-authz-world-')) });
    world = await buildWorld(base);
    // Stopped, not removed: the rows start from copies of this folder or database.
    await base.app.stop();
    worldStored = await snapshotByPartner(base);
  });

  after(async () => {
    console.log(`      authorisation: ${ROWS.length} rows, ${tally.refusals} refusals checked, ${tally.ownViews} own-organisation answers checked, ${tally.legitimate} legitimate presses got through`);
    await rm(base.dataDir, { recursive: true, force: true });
    await partnerSide.stop();
    await customerSide.stop();
  });

  it('has a row for every card verb and every state-changing typed command', () => {
    const rowVerbs = ROWS.flatMap((row) => ('verb' in row ? [row.verb] : []));
    expect(VERBS.filter((verb) => !rowVerbs.includes(verb)), 'verbs without a row').to.deep.equal([]);
    expect(rowVerbs.filter((verb) => rowVerbs.indexOf(verb) !== rowVerbs.lastIndexOf(verb)), 'verbs with two rows').to.deep.equal([]);
    expect(ROWS.flatMap((row) => ('text' in row ? [parseTextCommand(row.text)?.command] : [])).sort()).to.deep.equal([...STATE_CHANGING_COMMANDS].sort());
  });

  for (const row of ROWS) {
    const title = 'verb' in row ? row.verb : `"${row.text}"`;
    it(`${title}: ${WRONG_ACTORS[row.legit].map((name) => ACTOR_LABELS[name]).join(', ')} are turned away; ${ACTOR_LABELS[LEGIT_ACTOR[row.legit]]} gets through`, async () => {
      const bot = await worldCopy();
      try {
        const sent = JSON.stringify(sentBy(row));
        expect(changedParts(worldStored, await snapshotByPartner(bot)), 'the copy starts as the world was left').to.deep.equal([]);
        const problems: string[] = [];
        for (const name of WRONG_ACTORS[row.legit]) problems.push(...(await wrongActorProblems(bot, row, name, sent)));
        expect(problems).to.deep.equal([]);

        // The same payload from the legitimate actor gets through: the refusals above were about who sent it.
        // Compared with the store as the refusals left it: they may have added refused entries to a trail.
        const beforeLegit = await snapshotByPartner(bot);
        const answer = await attempt(row, LEGIT_ACTOR[row.legit]);
        expect(FAILURES.some((failure) => answer.includes(failure)), `the legitimate actor's press failed: ${answer.slice(0, 300)}`).to.equal(false);
        const changed = changedParts(beforeLegit, await snapshotByPartner(bot));
        // A change proves the press got through; a card that only shows something must not be a refusal.
        if (row.changes) expect(changed, 'the legitimate press changes the data').not.to.deep.equal([]);
        else expect({ changed, refused: isRefusal(answer) }, answer.slice(0, 300)).to.deep.equal({ changed: [], refused: false });
        tally.legitimate++;
      } finally {
        await discard(bot);
      }
    });
  }
});
