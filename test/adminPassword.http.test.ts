/**
 * The admin's first sign-in over HTTP: the temporary password of a new account reaches the person
 * who created it once, in the answer to "Create account", and nowhere else: not in any other
 * activity, card, data file or log line, not after a second press, a later look, or a restart.
 * "Reset admin password" makes a new one the same way, for the creator or under delegated administration.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { expect } from 'chai';
import { meetsComplexity } from '../src/domain/password.js';
import { startBot, type RunningBot } from './support/botHarness.js';
import { buttons, cardText, type Card } from './support/cardQuery.js';
import { FakeConnector } from './support/connector.js';
import { ACCOUNT, grantRole, offerDelegation, openAccountForm, reserveKeys } from './support/journeys.js';
import { PRIVILEGED_AUTHENTICATION_ADMINISTRATOR } from '../src/domain/entraRoles.js';
import { filesUnder } from './support/secretScan.js';
import { partnerState, storedTexts } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'a0a0a0a0-0000-4000-8000-000000000001';

/** A Teams user that also keeps the bot's answer to every activity it posts (invoke responses are outgoing activities too). */
class RecordingUser extends TeamsUser {
  readonly answers: unknown[] = [];
  override async post(activity: Record<string, unknown>): Promise<{ status: number; body: any }> {
    const answer = await super.post(activity);
    this.answers.push(answer.body);
    return answer;
  }
}

/** The password as the card shows it: the monospace text in the password box. */
function shownPassword(card: Card): string | undefined {
  let found: string | undefined;
  JSON.stringify(card, (_key, value) => {
    if (value && typeof value === 'object' && value.type === 'TextBlock' && value.fontType === 'Monospace') found = value.text;
    return value;
  });
  return found;
}

describe('the admin’s temporary password over HTTP', () => {
  let bot: RunningBot;
  let connector: FakeConnector;
  let anna: RecordingUser;
  let ben: RecordingUser;

  /** Every activity the bot sent out, to a connector or as the answer to a post. */
  const outgoing = () => [...connector.sent.map((s) => JSON.stringify(s.activity)), ...[anna, ben].flatMap((user) => user.answers.map((answer) => JSON.stringify(answer ?? null)))];

  /** The files of the bot's data folder and its log that contain `secret`, and its database (PostgreSQL) when that does. */
  async function filesWith(secret: string): Promise<string[]> {
    const files = await filesUnder(dirname(bot.dataDir));
    expect(files.some((file) => file.endsWith('bot.log')), 'the log is among the files').to.equal(true);
    const hits: string[] = [];
    for (const file of files) if ((await readFile(file, 'latin1')).includes(secret)) hits.push(file);
    if (bot.store === 'postgres' && (await storedTexts(bot)).includes(secret)) hits.push('the database');
    return hits;
  }

  async function restart(): Promise<void> {
    await bot.restart();
    for (const user of [anna, ben]) user.options.botUrl = bot.url;
  }

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    bot = await startBot();
    anna = new RecordingUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
    ben = new RecordingUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-ben', name: 'Ben Colleague' });
  });

  afterEach(async () => {
    await bot.stop();
    await connector.stop();
  });

  async function reviewCard(): Promise<Card> {
    const form = await openAccountForm(anna, await reserveKeys(anna, await bot.mintKeys(1)));
    // The customer's language is English, so the offer its admin gets reads in English.
    return (await anna.press(form, 'Next', { ...ACCOUNT, language: 'en' })).card;
  }

  it('shows the password once to the creator, and keeps it in no other activity, card, file or log, nor after a restart', async () => {
    const review = await reviewCard();
    const created = (await anna.press(review, 'Create account')).card;
    const password = shownPassword(created)!;
    // Anna saved the profile first and is Admin agent; Ben looks at customers as a Helpdesk agent.
    await grantRole(anna, ben, 'helpdesk');
    expect(password, 'the creation shows a password').to.be.a('string');
    expect(meetsComplexity(password), password.replace(/./g, '*')).to.equal(true);
    expect(cardText(created)).to.include('Temporary password for eva@contoso.onmicrosoft.com');
    expect(cardText(created)).to.include('The admin must change it at first sign-in.');
    // Nothing on the card carries it back: no refresh, no button's data.
    expect(created).not.to.have.property('refresh');
    expect(JSON.stringify(buttons(created))).not.to.include(password);

    // A second press, a look at the customer, a colleague's look: each says where the password went.
    const again = (await anna.press(review, 'Create account')).card;
    const looked = (await anna.say('customer contoso'))[0]!;
    const colleague = (await ben.say('customer contoso'))[0]!;
    for (const card of [again, looked, colleague]) expect(cardText(card)).to.include('Temporary password: shown once at creation');

    expect(outgoing().filter((activity) => activity.includes(password)), 'activities with the password').to.have.length(1);
    expect(await filesWith(password), 'files with the password').to.deep.equal([]);

    await restart();
    const afterRestart = (await anna.say('customer contoso'))[0]!;
    expect(cardText(afterRestart)).to.include('Temporary password: shown once at creation');
    expect(outgoing().filter((activity) => activity.includes(password))).to.have.length(1);
    expect(await filesWith(password)).to.deep.equal([]);
  });

  it('resets the password for the creator only until delegation is granted, shown the same way', async () => {
    await anna.press(await reviewCard(), 'Create account');
    const first = shownPassword(anna.answers.map((answer: any) => answer?.value).findLast((card) => card && shownPassword(card))!)!;
    // Ben is an Admin agent: he may request delegated administration, and reset the password where it allows.
    await grantRole(anna, ben, 'admin');

    const customer = (await ben.say('customer contoso'))[0]!;
    const refused = (await ben.press(customer, 'Reset admin password')).card;
    expect(shownPassword(refused)).to.equal(undefined);
    expect(cardText(refused)).to.include("Only the person who created this account (Anna Berg) can reset the admin's password");
    expect(cardText(refused)).to.include('Nothing was changed.');

    const reset = (await anna.press(customer, 'Reset admin password')).card;
    const second = shownPassword(reset)!;
    expect(meetsComplexity(second)).to.equal(true);
    expect(second).not.to.equal(first);
    expect(cardText(reset)).to.include('A new temporary password was made. The previous one no longer works.');
    expect(cardText(reset)).to.include('The admin must change it at first sign-in.');
    const stored = (await partnerState(bot, PARTNER)).customers[0]!.admin.passwordReset;
    expect(stored).to.deep.include({ by: { id: 'user-anna', name: 'Anna Berg' } });

    const later = (await anna.say('customer contoso'))[0]!;
    expect(cardText(later)).to.include('Temporary password: shown once when Anna Berg reset it on 2 March 2026');
    for (const password of [first, second]) {
      expect(outgoing().filter((activity) => activity.includes(password))).to.have.length(1);
      expect(await filesWith(password)).to.deep.equal([]);
    }

    // Once the customer's admin has granted a relationship with a role that may reset it, a colleague may reset it too.
    const { tenantId, admin } = (await partnerState(bot, PARTNER)).customers[0]!;
    const eva = new TeamsUser({ botUrl: bot.url, connector, tenantId, userId: admin.objectId, name: 'Eva Muster' });
    await eva.say('hello');
    await offerDelegation(ben, 'contoso', { roleIds: PRIVILEGED_AUTHENTICATION_ADMINISTRATOR });
    expect(cardText((await eva.press(eva.latestCardWith('offer.accept'), 'Accept')).card)).to.include('Accepted by Eva Muster');
    const byColleague = (await ben.press((await ben.say('customer contoso'))[0]!, 'Reset admin password')).card;
    const third = shownPassword(byColleague)!;
    expect(meetsComplexity(third)).to.equal(true);
    expect(cardText((await anna.say('customer contoso'))[0]!)).to.include('Temporary password: shown once when Ben Colleague reset it on 2 March 2026');
    expect(outgoing().filter((activity) => activity.includes(third))).to.have.length(1);
    expect(await filesWith(third)).to.deep.equal([]);
  });

  it('makes one password for a double press of "Reset admin password", at once or one after the other, and a new one from the next card', async () => {
    await anna.press(await reviewCard(), 'Create account');
    const customer = (await anna.say('customer contoso'))[0]!;
    const presses = await Promise.all([anna.press(customer, 'Reset admin password'), anna.press(customer, 'Reset admin password')]);
    const late = (await anna.press(customer, 'Reset admin password')).card;
    const answers = [...presses.map((press) => press.card), late];
    const shown = answers.map(shownPassword).filter((password): password is string => password !== undefined);
    expect(shown, 'passwords shown').to.have.length(1);
    const [password] = shown;
    for (const card of answers.filter((card) => shownPassword(card) === undefined)) {
      expect(cardText(card)).to.include('This button was already pressed');
      expect(cardText(card)).to.include('No second password was made.');
    }
    expect(outgoing().filter((activity) => activity.includes(password!))).to.have.length(1);
    expect(await filesWith(password!)).to.deep.equal([]);
    // The reset is recorded once; the card that answered carries a press of its own.
    const stored = (await partnerState(bot, PARTNER)).customers[0]!.admin;
    expect(stored.passwordReset).to.deep.include({ by: { id: 'user-anna', name: 'Anna Berg' } });
    expect(stored).not.to.have.property('pendingPasswordReset');
    const again = shownPassword((await anna.press(presses.find((press) => shownPassword(press.card))!.card, 'Reset admin password')).card);
    expect(again).to.be.a('string').and.not.equal(password);
  });

  it('tells the owner the password of a creation a restart finished, in that one message', async () => {
    const review = await reviewCard();
    const setupId = buttons(review).find((b) => b.verb === 'account.create')!.data.setupId;
    await bot.app.setups.updateSetup(PARTNER, setupId, (s) => ({ ...s, status: 'creating' }));
    const from = connector.sent.length;
    await restart();
    const [notice] = connector.since(from, anna.conversationId).map((s) => String(s.activity.text));
    const password = notice!.match(/is `([^`]+)`/)?.[1];
    expect(password, notice).to.be.a('string');
    expect(meetsComplexity(password!)).to.equal(true);
    expect(notice).to.include('the admin must change it at first sign-in');
    expect(cardText((await anna.press(review, 'Create account')).card)).to.include('Temporary password: shown once at creation');
    expect(outgoing().filter((activity) => activity.includes(password!))).to.have.length(1);
    expect(await filesWith(password!)).to.deep.equal([]);
  });
});
