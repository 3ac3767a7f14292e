/** Steps many tests take on the way to what they test, and how they read the database files. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buttons, cardText, type Card } from './cardQuery.js';
import { pressData, type TeamsUser } from './teams.js';

export const PROFILE = { organisationName: 'Fabrikam IT', partnerId: '1234567', cloudEssentials: 'true', timeZone: 'Europe/Berlin' };
export const ACCOUNT = {
  country: 'DE',
  organisationName: 'Contoso GmbH',
  firstName: 'Eva',
  lastName: 'Muster',
  email: 'eva.muster@contoso.example',
  phone: '+49 89 1234567',
  domainPrefix: 'contoso',
  signInName: 'eva',
  language: 'de',
  partnerOfRecord: 'true',
};

/** Redeems keys through the cards to the receipt. */
export async function reserveKeys(who: TeamsUser, keys: readonly string[]): Promise<Card> {
  const [entry] = await who.say('redeem');
  const review = (await who.press(entry!, 'Next', { key0: keys.join('\n') })).card;
  return (await who.press(review, 'Product keys were added')).card;
}

/** From a receipt to the account form, saving the profile on the way when asked for it. */
export async function openAccountForm(who: TeamsUser, receipt: Card, profile: Record<string, string> = PROFILE): Promise<Card> {
  let card = (await who.press(receipt, "Step 2: Create the customer's account")).card;
  if (cardText(card).includes('Your partner profile')) card = (await who.press(card, 'Save profile', profile)).card;
  return card;
}

/** The whole setup of a customer: keys, profile, account, "Create account"; returns the result card. */
export async function createCustomer(who: TeamsUser, keys: readonly string[], account: Record<string, string> = ACCOUNT): Promise<Card> {
  const form = await openAccountForm(who, await reserveKeys(who, keys));
  return (await who.press((await who.press(form, 'Next', account)).card, 'Create account')).card;
}

/** What the bot keeps of a partner tenant: its file of customers and staff, with its setup book's setups and guard. */
export async function partnerFile(dataDir: string, tenantId: string): Promise<any> {
  const read = (folder: string) => readFile(join(dataDir, folder, `${tenantId}.json`), 'utf8').then(JSON.parse, (error) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
  const [partner, book] = await Promise.all([read('partners'), read('setups')]);
  if (!partner && !book) throw new Error(`nothing is stored for tenant ${tenantId}`);
  return { ...partner, setups: book?.setups ?? [], guard: book?.guard };
}

/** How many keys the reservation index holds, over all its files. */
export async function reservationCount(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'reservations');
  let count = 0;
  // Only the index files (`*.json`), not the backups beside them.
  for (const file of (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.json'))) count += Object.keys(JSON.parse(await readFile(join(dir, file), 'utf8')).reservations).length;
  return count;
}

/** From the customer card to a sent request for delegated administration (the form as it comes, or as typed); returns the partner's answer. */
export async function offerDelegation(who: TeamsUser, customer = 'contoso', typed: Record<string, string> = {}): Promise<Card> {
  const [card] = await who.say(`customer ${customer}`);
  const compose = (await who.press(card!, 'Request delegated administration')).card;
  return (await who.press(compose, 'Send request', typed)).card;
}

/** From a key entry for an existing customer (renewal or added keys): the keys in its one field, "Next", then the summary's button. */
export async function enterKeys(who: TeamsUser, entry: Card, keys: readonly string[], confirm = 'Renew'): Promise<{ review: Card; result: Card }> {
  const review = (await who.press(entry, 'Next', { key: keys.join('\n') })).card;
  return { review, result: (await who.press(review, confirm)).card };
}

/**
 * An Admin agent gives a colleague a role on the "roles" card, as in chat; the colleague writes to
 * the bot first, so the bot has met them. Returns the card the Admin agent gets back.
 */
export async function grantRole(admin: TeamsUser, colleague: TeamsUser, role: 'admin' | 'sales' | 'helpdesk' | 'none'): Promise<Card> {
  await colleague.say('hello');
  const card = await admin.reply('roles');
  const save = buttons(card).find((action) => action.verb === 'role.assign' && action.data?.userId === colleague.options.userId);
  if (!save) throw new Error(`${colleague.options.name} is not on the roles card: ${cardText(card)}`);
  return (await admin.invoke('role.assign', pressData(card, save, { [save.data.field]: role }))).card;
}
