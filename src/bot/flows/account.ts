/** Step 2, the customer's account; the partner profile; the customer list and a customer's card. */
import { z } from 'zod';
import { beforeRoles, staff } from '../../domain/roles.js';
import type { AdaptiveCard } from '../../cards.js';
import { ACCOUNT_FIELDS, type AccountInput } from '../../domain/account.js';
import { PROFILE_FIELDS, type ProfileInput } from '../../domain/profile.js';
import { accountCard, CUSTOMERS_PAGE_SIZE, customerCard, customersCard, profileCard } from '../accountViews.js';
import { fill } from '../../i18n/index.js';
import { currentCard } from '../views.js';
import { onSetup } from './redeem.js';
import { customerShown } from './roles.js';
import { customerId, isRefusal, notFound, permissionsOf, refused, setupContext, typed, verbsOf, type TurnWith } from './verb.js';

type Needs = 'setups' | 'accounts' | 'partners' | 'audit' | 'delegation';
const verb = verbsOf<Needs>();

const accountInputs = z.object(Object.fromEntries(ACCOUNT_FIELDS.map((field) => [field, typed])) as Record<(typeof ACCOUNT_FIELDS)[number], typeof typed>);
const profileInputs = z.object(Object.fromEntries(PROFILE_FIELDS.map((field) => [field, typed])) as Record<(typeof PROFILE_FIELDS)[number], typeof typed>);

/** The account form, or first the profile when the organisation has none yet; the service says whether the setup allows it. */
async function accountStep(turn: TurnWith<Needs>, setupId: string, rev: number | undefined): Promise<AdaptiveCard> {
  const { actor, m, setups, partners } = turn;
  const refusal = await setups.refusalFor(actor, setupId, rev, 'account');
  if (refusal) return refused(turn, refusal);
  const setup = (await setups.find(actor.tenantId, setupId))!;
  const profile = await partners.profile(actor.tenantId);
  if (!profile) return profileCard(m, undefined, turn.day.today, { then: setup.id, notice: { text: m.t.profile.firstTime, style: 'accent' } });
  return accountCard(m, setup, profile);
}

export async function profileShown({ actor, m, partners, day }: TurnWith<'partners'>, then?: string): Promise<AdaptiveCard> {
  const profile = await partners.profile(actor.tenantId);
  return profileCard(m, profile, day.today, { then, updatedByName: profile && (await partners.memberName(actor.tenantId, profile.updatedBy)) });
}

export const accountVerbs = {
  'account.start': verb(onSetup, async (turn, data) => accountStep(turn, data.setupId, undefined)),

  'account.edit': verb(onSetup, async (turn, data) => accountStep(turn, data.setupId, data.rev)),

  'account.check': verb(onSetup.extend({ useDomain: z.string().max(60).optional() }).extend(accountInputs.shape), async (turn, data) => {
    const { actor, m, accounts, setups, partners } = turn;
    const input: AccountInput = { ...data, domainPrefix: data.useDomain ?? data.domainPrefix };
    const result = await accounts.check(actor, data.setupId, data.rev, input);
    if (isRefusal(result)) return refused(turn, result);
    if (result.ok) return currentCard(m, result.setup, await setupContext(turn));
    const setup = (await setups.find(actor.tenantId, data.setupId))!;
    return accountCard(m, setup, await partners.profile(actor.tenantId), { values: input, errors: result.errors, suggestions: result.suggestions }, { text: m.t.account.fix, style: 'attention' });
  }),

  'account.create': verb(onSetup, async (turn, data) => {
    const { actor, m, accounts } = turn;
    const result = await accounts.create(actor, data.setupId, data.rev);
    if (isRefusal(result)) {
      const created = result.refused !== 'notFound' && result.refused !== 'notOwner' && result.setup.status === 'completed';
      const customer = created ? await turn.partners.customer(actor.tenantId, result.setup.customerId!) : undefined;
      if (customer) return customerCard(m, customer, turn.day, { created: true, notice: { text: m.t.customer.alreadyCreated, style: 'good' } });
      return refused(turn, result);
    }
    if (result.ok) return customerCard(m, result.customer, turn.day, { created: true, temporaryPassword: result.temporaryPassword });
    return currentCard(m, result.setup, await setupContext(turn), { text: m.t.account.failed[result.reason], style: 'attention' });
  }),

  // A personal-chat verb (see actions.ts): the new password is shown only in the chat of the person who asked.
  // `requestId`: the press, made with the card; cards from before it carry none (each press is then a reset of its own).
  'password.reset': verb(z.object({ customerId, requestId: z.uuid().optional() }), async ({ actor, m, accounts, day }, data) => {
    const result = await accounts.resetAdminPassword(actor, data.customerId, data.requestId);
    if (!result.ok && result.reason === 'customerNotFound') return notFound(m);
    if (result.ok) return customerCard(m, result.customer, day, { temporaryPassword: result.temporaryPassword, notice: { text: m.t.customer.resetDone, style: 'good' } });
    const { customer } = result;
    if (result.reason === 'alreadyReset') return customerCard(m, customer, day, { notice: { text: m.t.customer.resetAlready, style: 'accent' } });
    const text = result.reason === 'notAllowed' ? fill(m.t.customer.resetNotAllowed, { name: customer.createdBy.name, customer: customer.name }) : m.t.customer.resetFailed;
    return customerCard(m, customer, day, { notice: { text, style: 'attention' } });
  }),

  'profile.show': verb(z.object({ then: z.string().max(60).optional() }), async (turn, data) => profileShown(turn, data.then)),

  'profile.save': verb(z.object({ then: z.union([z.uuid(), z.literal('')]).optional() }).extend(profileInputs.shape), async (turn, data) => {
    const { actor, m, partners, setups, day } = turn;
    const input: ProfileInput = data;
    const result = await partners.saveProfile(actor, input);
    if ('errors' in result) return profileCard(m, await partners.profile(actor.tenantId), day.today, { values: input, errors: result.errors, then: data.then, notice: { text: m.t.account.fix, style: 'attention' } });
    // Back to the setup that asked for the profile, if the service would let the actor go on with it.
    const next = data.then && !(await setups.refusalFor(actor, data.then, undefined, 'account')) ? await setups.find(actor.tenantId, data.then) : undefined;
    if (next) return accountCard(m, next, result.profile, {}, { text: m.t.profile.saved, style: 'good' });
    return profileCard(m, result.profile, day.today, { notice: { text: m.t.profile.saved, style: 'good' }, updatedByName: actor.name });
  }),

  'customers.list': verb(z.object({ page: z.number().int().min(1).max(10_000).catch(1), filter: z.string().max(100).optional().catch(undefined) }), async ({ actor, m, partners, day }, data) => {
    const filter = (data.filter ?? '').trim();
    return customersCard(m, await partners.customerPage(actor.tenantId, filter, data.page, CUSTOMERS_PAGE_SIZE), filter, day);
  }),

  'customer.open': verb(z.object({ tenantId: customerId }), async (turn, data) => {
    const customer = await turn.partners.customer(turn.actor.tenantId, data.tenantId);
    // Another partner's customer is answered exactly like one that does not exist.
    return customer ? customerShown(turn, customer) : notFound(turn.m);
  }),
};

/** Creating accounts goes on from redeeming: a Sales agent's work. */
const creating = staff(['sales'], beforeRoles);

export const accountPermissions = permissionsOf<typeof accountVerbs>({
  'account.start': [creating, "Open the customer's account form"],
  'account.edit': [creating, "Edit the customer's account"],
  'account.check': [creating, "Check the customer's account"],
  'account.create': [creating, "Create the customer's tenant"],
  'password.reset': [staff(['helpdesk'], beforeRoles), "Reset the customer's admin password (its creator, or where delegated administration allows)"],
  'profile.show': [staff(['sales', 'helpdesk'], beforeRoles), 'See the partner profile'],
  'profile.save': [staff([], beforeRoles), 'Save the partner profile (the first to save it becomes Admin agent)'],
  'customers.list': [staff(['sales', 'helpdesk'], beforeRoles), 'See the customer list'],
  'customer.open': [staff(['sales', 'helpdesk'], beforeRoles), "See a customer's card"],
});
