/**
 * Roles and the audit trail over real HTTP: every verb run as each role against the README's table,
 * the last-admin rule, a role for someone the bot never met, the upgrade of a partner that predates
 * roles, one entry per change, and the customer's admin seeing their own tenant only.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { PERMISSIONS } from '../src/bot/actions.js';
import { fileNameFor } from '../src/store/fileNames.js';
import { startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { ACCOUNT, createCustomer, enterKeys, grantRole, offerDelegation } from './support/journeys.js';
import { auditTrail, partnerState, queryDatabase } from './support/stored.js';
import { TeamsUser } from './support/teams.js';
import { readmeTable } from './permissionTable.test.js';

const PARTNER = '70100000-0000-4000-8000-000000000001';
const ROLE_REFUSAL = 'You cannot do this: it needs the role';
const NOT_YOURS = 'This request is not for your organization.';
const COLUMNS = ['admin', 'sales', 'helpdesk', 'none'] as const;

/** The README's table as verb → the roles it marks (the table test reads the README, not the code). */
function readmeAccess(): Map<string, Set<string>> {
  const rows = readmeTable().split('\n').slice(2);
  return new Map(
    rows.map((row) => {
      const cells = row.split(' | ').map((cell) => cell.replace(/^\| |\s\|$/g, '').trim());
      const verb = cells[1]!.replace(/`/g, '');
      return [verb, new Set(COLUMNS.filter((_, i) => cells[2 + i] === '✓'))];
    }),
  );
}

const trail = (bot: RunningBot): Promise<any[]> => auditTrail(bot, PARTNER);

/** Makes the partner look as the version before roles left it: the file without its role book, or the rows as migration 003 found them. */
async function forgetRoles(bot: RunningBot): Promise<void> {
  if (bot.store === 'postgres') {
    await queryDatabase(bot, 'DELETE FROM partner_roles WHERE partner_tenant_id = $1', [PARTNER]);
    await queryDatabase(bot, 'UPDATE partners SET has_role_book = false WHERE tenant_id = $1', [PARTNER]);
    return;
  }
  const path = join(bot.dataDir, 'partners', fileNameFor(PARTNER));
  const { roles: _dropped, ...before } = JSON.parse(await readFile(path, 'utf8'));
  await writeFile(path, JSON.stringify(before));
}

describe('roles and the audit trail over HTTP', function () {
  this.timeout(60_000);
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

  it("runs every verb as each role and allows or refuses it as the README's table says; refused presses are recorded as refused", async () => {
    await createCustomer(anna, await bot.mintKeys(1));
    const people = { admin: anna, sales: user(PARTNER, 'user-sam', 'Sam Sales'), helpdesk: user(PARTNER, 'user-hal', 'Hal Helpdesk'), none: user(PARTNER, 'user-nora', 'Nora None') };
    await grantRole(anna, people.sales, 'sales');
    await grantRole(anna, people.helpdesk, 'helpdesk');
    await people.none.say('hello');
    const table = readmeAccess();
    const mismatches: string[] = [];
    for (const { verb } of PERMISSIONS) {
      const typed = !verb.includes('.');
      for (const role of COLUMNS) {
        const answer = typed ? (await people[role].say(verb)).map(cardText).join('\n') : cardText((await people[role].invoke(verb, {})).card);
        const refused = answer.includes(ROLE_REFUSAL) || answer.includes(NOT_YOURS);
        if (refused === table.get(verb)!.has(role)) mismatches.push(`${verb} as ${role}: ${refused ? 'refused' : 'allowed'}: ${answer.slice(0, 120)}`);
      }
    }
    expect(mismatches).to.deep.equal([]);
    const refusedSwitch = (await trail(bot)).filter((entry) => entry.verb === 'billing.switch' && entry.actor.objectId === 'user-nora');
    expect(refusedSwitch.map((entry) => entry.outcome)).to.deep.equal([{ result: 'refused', reason: 'role' }]);
    const [refusal] = await people.sales.say('history');
    expect(cardText(refusal!)).to.include('Ask Anna Berg (Admin agent)');
    const [german] = await user(PARTNER, 'user-sam', 'Sam Sales', 'de-DE').say('verlauf');
    expect(cardText(german!)).to.include('Wenden Sie sich an Anna Berg (Administrator-Agent)');
  });

  it('makes the first profile saver Admin agent, keeps the last one, and changes nothing for someone it never met', async () => {
    await createCustomer(anna, await bot.mintKeys(1));
    expect((await partnerState(bot, PARTNER)).roles!['user-anna']).to.include({ role: 'admin', reason: 'firstProfile' });
    const roles = await anna.reply('roles');
    const stepDown = await anna.invoke('role.assign', { userId: 'user-anna', field: 'role0', role0: 'sales' });
    expect(cardText(stepDown.card)).to.include('the last one cannot give up the role');
    const stranger = await anna.invoke('role.assign', { userId: 'user-from-elsewhere', field: 'role0', role0: 'admin' });
    expect(cardText(stranger.card)).to.include('not someone I have met in your organisation');
    // Someone of another tenant the bot has met is still no one it met in this one.
    await user('70100000-0000-4000-8000-000000000002', 'user-eve', 'Eve Outsider').say('hello');
    expect(cardText((await anna.invoke('role.assign', { userId: 'user-eve', field: 'role0', role0: 'admin' })).card)).to.include('not someone I have met');
    expect(Object.keys((await partnerState(bot, PARTNER)).roles!)).to.deep.equal(['user-anna']);
    expect(cardText(roles)).to.include('Anna Berg');

    const ben = user(PARTNER, 'user-ben', 'Ben Colleague');
    await grantRole(anna, ben, 'admin');
    const [benRoles] = await ben.say('roles');
    expect(cardText(benRoles!)).to.include('Anna Berg');
    expect(cardText((await anna.invoke('role.assign', { userId: 'user-anna', field: 'role0', role0: 'sales' })).card)).to.include('Anna Berg now has the role Sales agent');
    const changes = (await trail(bot)).filter((entry) => entry.verb.startsWith('role.')).map((entry) => [entry.verb, entry.details.person, entry.details.to]);
    expect(changes).to.deep.equal([
      ['role.firstProfile', 'Anna Berg', 'Admin agent'],
      ['role.assign', 'Ben Colleague', 'Admin agent'],
      ['role.assign', 'Anna Berg', 'Sales agent'],
    ]);
  });

  it('keeps the staff of a partner that predates roles working: they become Admin agents, recorded', async () => {
    await createCustomer(anna, await bot.mintKeys(1));
    const ben = user(PARTNER, 'user-ben', 'Ben Colleague');
    await ben.say('hello');
    await bot.stop();
    await forgetRoles(bot);
    await bot.restart();
    for (const who of [anna, ben]) who.options.botUrl = bot.url;

    const [customers] = await ben.say('customers');
    expect(cardText(customers!)).to.include('Contoso GmbH');
    const [history] = await anna.say('history');
    expect(cardText(history!)).to.include('role.upgrade');
    const roles = (await partnerState(bot, PARTNER)).roles;
    expect(Object.fromEntries(Object.entries<any>(roles!).map(([id, r]) => [id, [r.role, r.reason]]))).to.deep.equal({ 'user-anna': ['admin', 'upgrade'], 'user-ben': ['admin', 'upgrade'] });
    expect((await trail(bot)).filter((entry) => entry.verb === 'role.upgrade')).to.have.length(2);
  });

  it('records keys applied to an existing customer once per setup: who, renew or add, the masked keys, the customer and its subscriptions', async () => {
    await createCustomer(anna, await bot.mintKeys(1));
    const sam = user(PARTNER, 'user-sam', 'Sam Sales');
    await grantRole(anna, sam, 'sales');
    const [renewing] = await bot.mintKeys(1);
    const [customerCard] = await sam.say('customer contoso');
    const renewed = await enterKeys(sam, (await sam.press(customerCard!, 'Renew')).card, [renewing!]);
    const renewSetup = buttons(renewed.review).find((action) => action.verb === 'keys.apply')!.data.setupId;
    const added = await bot.mintKeys(2, 'Office 365 E3', 5, 12);
    await enterKeys(sam, await sam.reply('add keys to contoso'), added, 'Add keys');
    // The same summary pressed again answers the outcome and records nothing more.
    await sam.press(renewed.review, 'Renew');

    const contoso: any = (await partnerState(bot, PARTNER)).customers[0];
    const applied = (await trail(bot)).filter((entry) => entry.verb === 'keys.apply');
    expect(applied.map((entry) => entry.id)).to.deep.equal([`keys.apply:${renewSetup}`, `keys.apply:${contoso.subscriptions[1].renewalIds[0]}`]);
    expect(applied.map((entry) => ({ change: entry.details.change, keys: entry.keys, customer: entry.customerTenantId, actor: entry.actor }))).to.deep.equal([
      { change: 'renew', keys: [`•••••-•••••-•••••-•••••-${renewing!.slice(-5)}`], customer: contoso.tenantId, actor: { name: 'Sam Sales', objectId: 'user-sam', role: 'sales' } },
      { change: 'add', keys: added.map((key) => `•••••-•••••-•••••-•••••-${key.slice(-5)}`), customer: contoso.tenantId, actor: { name: 'Sam Sales', objectId: 'user-sam', role: 'sales' } },
    ]);
    expect(applied[0].subscriptionId).to.equal(contoso.subscriptions[0].id);
    expect(contoso.subscriptions[0].renewalIds).to.deep.equal([renewSetup]);
    expect(applied[1].details.subscriptions).to.include(contoso.subscriptions[1].id);
  });

  it('records each change once, and shows the customer admin what the partner did in their tenant only', async () => {
    // The customer's language is English, so what its admin gets reads in English.
    await createCustomer(anna, await bot.mintKeys(1), { ...ACCOUNT, language: 'en' });
    await createCustomer(anna, await bot.mintKeys(1), { ...ACCOUNT, organisationName: 'Northwind Traders', domainPrefix: 'northwind', signInName: 'nina' });
    await offerDelegation(anna, 'contoso');
    const contoso = (await partnerState(bot, PARTNER)).customers.find((c: any) => c.name === 'Contoso GmbH')!;
    const eva = user(contoso.tenantId, contoso.admin.objectId, 'Eva Muster');
    await eva.say('hello');
    await eva.press(eva.latestCardWith('offer.accept'), 'Accept');

    const entries = await trail(bot);
    const ids = entries.map((entry) => entry.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i), 'no entry twice').to.deep.equal([]);
    const count = (verb: string) => entries.filter((entry) => entry.verb === verb).length;
    expect({ confirm: count('redeem.confirm'), created: count('account.create'), profile: count('profile.save'), offered: count('delegation.request'), accepted: count('offer.accept') }).to.deep.equal({ confirm: 2, created: 2, profile: 1, offered: 1, accepted: 1 });
    const accepted = entries.find((entry) => entry.verb === 'offer.accept');
    expect(accepted.actor).to.deep.include({ role: 'customerAdmin', objectId: contoso.admin.objectId });
    expect(JSON.stringify(entries)).not.to.match(/[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}/);

    const [customerCard] = await anna.say('customer contoso');
    expect(cardText(customerCard!)).to.include('Last changes');
    expect(cardText(customerCard!)).to.include('Eva Muster (customer\'s admin): offer.accept');

    const [activity] = await eva.say('partner activity');
    const text = cardText(activity!);
    expect(text).to.include('What Fabrikam IT did in your organisation');
    expect(text).to.include('offer.accept');
    expect(text).not.to.include('Northwind');
    expect(text).not.to.include('Anna Berg');
    const [staffSide] = await anna.say('partner activity');
    expect(cardText(staffSide!)).to.include(NOT_YOURS);
  });
});
