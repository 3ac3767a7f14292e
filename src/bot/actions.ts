/**
 * Card actions: each verb is declared once, with the zod schema of its data and its handler.
 * A handler applies the action to persisted state and returns the card that shows the result.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import { ACCOUNT_FIELDS, validateNewUser, type AccountInput } from '../domain/account.js';
import { PROFILE_FIELDS, type ProfileInput } from '../domain/profile.js';
import { maskKeysInText } from '../domain/productKey.js';
import { fill, type Messages } from '../i18n/index.js';
import type { ConversationRef } from '../domain/conversation.js';
import type { CustomerLink, DelegationService } from '../delegation/delegationService.js';
import type { PartnerService } from '../partners/partnerService.js';
import type { ReminderService } from '../reminders/reminderService.js';
import type { RenewalService, RenewRefusal } from '../renewals/renewalService.js';
import type { AccountService } from '../setups/accountService.js';
import type { Actor } from '../domain/actor.js';
import type { Refusal, SetupService } from '../setups/setupService.js';
import { accountCard, customerCard, customersCard, profileCard } from './accountViews.js';
import { accessEndCard, composeCard, offerCard, userAddCard } from './delegationViews.js';
import { billingCard, reminderCard, renewCard, subscriptionActions, type Today } from './renewalViews.js';
import { currentCard, entryCard, MAX_FIELDS, noticeCard, refusalCard, reviewCard, setupCard, welcomeCard, type SetupContext } from './views.js';

export interface ActionTurn {
  actor: Actor;
  m: Messages;
  setups: SetupService;
  accounts: AccountService;
  partners: PartnerService;
  delegation: DelegationService;
  reminders: ReminderService;
  renewals: RenewalService;
  now: () => Date;
  /** The customer record behind the actor's tenant, when the actor writes from a customer's tenant. */
  customer?: CustomerLink;
  /** This chat, when it is a personal one: where answers to an offer sent from here are reported. */
  reference?: ConversationRef;
  /** This chat, when it is a team channel: where "send reminders here" points. */
  channel?: ConversationRef;
  /** The actor's sign-in name from Teams member info, asked only when needed. */
  signInName: () => Promise<string | undefined>;
  /** The partner's calendar day and the life-cycle day counts, for subscription states. */
  day: Today;
  /** A one-to-one chat; keys and customer details are only ever shown there. */
  personal: boolean;
  /** Longest text kept from one key field when the card comes back. */
  maxFieldLength: number;
}

interface ActionDef<S extends z.ZodType> {
  schema: S;
  run(turn: ActionTurn, data: z.infer<S>): Promise<AdaptiveCard>;
}

function action<S extends z.ZodType>(schema: S, run: ActionDef<S>['run']): ActionDef<S> {
  return { schema, run };
}

const setupId = z.uuid();
const rev = z.number().int().nonnegative();
const onSetup = z.object({ setupId, rev });
/** Key fields arrive as inputs named key0, key1, … merged into the action's data. */
const keyFields = onSetup.extend({ fieldCount: z.number().int().min(1).max(MAX_FIELDS) }).catchall(z.unknown());
/** A typed form field: text of bounded length; anything else is treated as not typed. */
const typed = z.string().max(2000).optional().catch(undefined);
const accountInputs = z.object(Object.fromEntries(ACCOUNT_FIELDS.map((field) => [field, typed])) as Record<(typeof ACCOUNT_FIELDS)[number], typeof typed>);
const profileInputs = z.object(Object.fromEntries(PROFILE_FIELDS.map((field) => [field, typed])) as Record<(typeof PROFILE_FIELDS)[number], typeof typed>);

function typedFields(data: z.infer<typeof keyFields>, maxLength: number): string[] {
  return Array.from({ length: data.fieldCount }, (_, index) => {
    const value = data[`key${index}`];
    return typeof value === 'string' ? value.slice(0, maxLength * 2) : '';
  });
}

function isRefusal(result: object): result is Refusal {
  return 'refused' in result;
}

function context({ actor, partners, day }: ActionTurn): SetupContext {
  return { profile: partners.profile(actor.tenantId), customers: partners.customers(actor.tenantId), day };
}

function refused(turn: ActionTurn, refusal: Refusal): AdaptiveCard {
  return refusalCard(turn.m, refusal, context(turn));
}

export function welcomeFor({ actor, m, setups, partners }: Pick<ActionTurn, 'actor' | 'm' | 'setups' | 'partners'>): AdaptiveCard {
  const hasProfile = partners.profile(actor.tenantId) !== undefined;
  return welcomeCard(m, actor.userId, setups.openSetups(actor.tenantId), { hasProfile, hasCustomers: partners.hasCustomers(actor.tenantId) });
}

/** The account form, or first the profile when the organisation has none yet. */
function accountStep(turn: ActionTurn, setupIdValue: string): AdaptiveCard {
  const { actor, m, setups, partners } = turn;
  const setup = setups.find(actor.tenantId, setupIdValue)!;
  const profile = partners.profile(actor.tenantId);
  if (!profile) return profileCard(m, undefined, { then: setup.id, notice: { text: m.t.profile.firstTime, style: 'accent' } });
  return accountCard(m, setup, profile);
}

export const actions = {
  'welcome.show': action(z.object({}), async (turn) => welcomeFor(turn)),

  'redeem.start': action(z.object({}), async ({ m }) => entryCard(m, randomUUID(), undefined, { values: [''] })),

  'redeem.addField': action(keyFields, async ({ actor, m, setups, maxFieldLength }, data) => {
    const values = typedFields(data, maxFieldLength).map((value) => value.slice(0, maxFieldLength));
    const full = values.length >= MAX_FIELDS;
    const notice = full ? { text: fill(m.t.entry.fieldsFull, { max: MAX_FIELDS }), style: 'warning' as const } : undefined;
    return entryCard(m, data.setupId, setups.find(actor.tenantId, data.setupId), { values: full ? values : [...values, ''] }, notice);
  }),

  'redeem.next': action(keyFields, async (turn, data) => {
    const { actor, m, setups, maxFieldLength } = turn;
    const values = typedFields(data, maxFieldLength);
    const result = await setups.checkAndAdd(actor, data.setupId, data.rev, values);
    if (isRefusal(result)) return refused(turn, result);
    if (result.ok) return reviewCard(m, result.setup);
    const kept = { values: values.map((value) => value.slice(0, maxFieldLength)) };
    if ('locked' in result) {
      return entryCard(m, data.setupId, setups.find(actor.tenantId, data.setupId), kept, { text: fill(m.t.entry.locked, { time: m.dateTime(result.locked) }), style: 'attention' });
    }
    return entryCard(m, data.setupId, result.setup, { ...kept, errors: result.fieldErrors }, { text: m.t.entry.fix, style: 'attention' });
  }),

  'redeem.removeKey': action(onSetup.extend({ keyId: z.uuid() }), async (turn, data) => {
    const result = await turn.setups.removeKey(turn.actor, data.setupId, data.rev, data.keyId);
    return isRefusal(result) ? refused(turn, result) : currentCard(turn.m, result.setup, context(turn));
  }),

  'redeem.back': action(onSetup, async (turn, data) => {
    const result = await turn.setups.backToEntry(turn.actor, data.setupId, data.rev);
    return isRefusal(result) ? refused(turn, result) : currentCard(turn.m, result.setup, context(turn));
  }),

  'redeem.confirm': action(onSetup, async (turn, data) => {
    const result = await turn.setups.confirm(turn.actor, data.setupId, data.rev);
    if (isRefusal(result)) return refused(turn, result);
    if (result.ok) return setupCard(turn.m, result.setup, { actions: false, continueStep: true });
    return currentCard(turn.m, result.setup, context(turn), { text: fill(turn.m.t.review.taken, { keys: result.taken.join(', ') }), style: 'attention' });
  }),

  'setup.open': action(z.object({ setupId }), async (turn, data) => {
    const refusal = turn.setups.refusalFor(turn.actor, data.setupId, undefined, () => true);
    if (refusal) return refused(turn, refusal);
    return currentCard(turn.m, turn.setups.find(turn.actor.tenantId, data.setupId)!, context(turn));
  }),

  'setup.discard': action(onSetup, async (turn, data) => {
    const result = await turn.setups.discard(turn.actor, data.setupId, data.rev);
    if (isRefusal(result)) return refused(turn, result);
    if (!result.setup) return noticeCard(turn.m, { text: turn.m.t.entry.cancelled, style: 'good' }, true);
    return setupCard(turn.m, result.setup, { actions: false });
  }),

  'account.start': action(onSetup, async (turn, data) => {
    const refusal = turn.setups.refusalFor(turn.actor, data.setupId, undefined, (setup) => setup.status === 'reserved');
    if (refusal) return refused(turn, refusal);
    return accountStep(turn, data.setupId);
  }),

  'account.edit': action(onSetup, async (turn, data) => {
    const refusal = turn.setups.refusalFor(turn.actor, data.setupId, data.rev, (setup) => setup.status === 'reserved');
    if (refusal) return refused(turn, refusal);
    return accountStep(turn, data.setupId);
  }),

  'account.check': action(onSetup.extend({ useDomain: z.string().max(60).optional() }).extend(accountInputs.shape), async (turn, data) => {
    const { actor, m, accounts, setups, partners } = turn;
    const input: AccountInput = { ...data, domainPrefix: data.useDomain ?? data.domainPrefix };
    const result = await accounts.check(actor, data.setupId, data.rev, input);
    if (isRefusal(result)) return refused(turn, result);
    const profile = partners.profile(actor.tenantId);
    if (result.ok) return currentCard(m, result.setup, context(turn));
    const setup = setups.find(actor.tenantId, data.setupId)!;
    return accountCard(m, setup, profile, { values: input, errors: result.errors, suggestions: result.suggestions }, { text: m.t.account.fix, style: 'attention' });
  }),

  'account.create': action(onSetup, async (turn, data) => {
    const { actor, m, accounts } = turn;
    const result = await accounts.create(actor, data.setupId, data.rev);
    if (isRefusal(result)) {
      const created = result.refused !== 'notFound' && result.refused !== 'notOwner' && result.setup.status === 'completed';
      const customer = created ? turn.partners.customer(actor.tenantId, result.setup.customerId!) : undefined;
      if (customer) return customerCard(m, customer, turn.day, { created: true, notice: { text: m.t.customer.alreadyCreated, style: 'good' } });
      return refused(turn, result);
    }
    if (result.ok) return customerCard(m, result.customer, turn.day, { created: true });
    return currentCard(m, result.setup, context(turn), { text: m.t.account.failed[result.reason], style: 'attention' });
  }),

  'profile.show': action(z.object({ then: z.string().max(60).optional() }), async ({ actor, m, partners }, data) => {
    const profile = partners.profile(actor.tenantId);
    return profileCard(m, profile, { then: data.then, updatedByName: profile && partners.memberName(actor.tenantId, profile.updatedBy) });
  }),

  'profile.save': action(z.object({ then: z.union([z.uuid(), z.literal('')]).optional() }).extend(profileInputs.shape), async (turn, data) => {
    const { actor, m, partners, setups } = turn;
    const input: ProfileInput = data;
    const result = await partners.saveProfile(actor, input);
    if ('errors' in result) return profileCard(m, partners.profile(actor.tenantId), { values: input, errors: result.errors, then: data.then, notice: { text: m.t.account.fix, style: 'attention' } });
    const next = data.then ? setups.find(actor.tenantId, data.then) : undefined;
    if (next && next.ownerId === actor.userId && next.status === 'reserved') return accountCard(m, next, result.profile, {}, { text: m.t.profile.saved, style: 'good' });
    return profileCard(m, result.profile, { notice: { text: m.t.profile.saved, style: 'good' }, updatedByName: actor.name });
  }),

  'customers.list': action(z.object({ page: z.number().int().min(1).max(10_000).catch(1), filter: z.string().max(100).optional().catch(undefined) }), async ({ actor, m, partners, day }, data) => {
    const filter = (data.filter ?? '').trim();
    return customersCard(m, partners.customers(actor.tenantId, filter), filter, data.page, day);
  }),

  'customer.open': action(z.object({ tenantId: z.string().min(1).max(100) }), async ({ actor, m, partners, day }, data) => {
    const customer = partners.customer(actor.tenantId, data.tenantId);
    // Another partner's customer is answered exactly like one that does not exist.
    if (!customer) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    return customerCard(m, customer, day);
  }),
} satisfies Record<string, ActionDef<z.ZodType>>;

/** Whether the actor is the admin of the customer tenant they write from. */
function adminCheck(turn: ActionTurn) {
  return (link: Parameters<DelegationService['isAdmin']>[1]) => turn.delegation.isAdmin(turn.actor, link, turn.signInName);
}

function offerAnswer(accepted: boolean) {
  return action(z.object({ offerId: z.uuid() }), async (turn, data) => {
    const { m, delegation, partners } = turn;
    const result = await delegation.answer(turn.actor, data.offerId, accepted, adminCheck(turn));
    if ('refused' in result) {
      if (result.refused === 'offerNotFound') return noticeCard(m, { text: m.t.offer.notYours, style: 'attention' });
      const name = partners.organisationName(result.link.partnerTenantId);
      if (result.refused === 'notAdmin') {
        return noticeCard(m, { text: fill(m.t.offer.notAdmin, { upn: result.link.customer.admin.userPrincipalName }), style: 'attention' });
      }
      return offerCard(m, name, result.link.customer, result.offer, { text: m.t.offer.alreadyAnswered, style: 'warning' });
    }
    return offerCard(m, partners.organisationName(result.link.partnerTenantId), result.link.customer, result.offer);
  });
}

/** Partner-side delegation and acting for the customer, and the customer's own answers. */
const delegationActions = {
  'delegation.compose': action(z.object({ customerId: z.string().min(1).max(100) }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    const refusal = delegation.offerRefusal(actor.tenantId, data.customerId);
    if (refusal?.refused === 'notEligible') return noticeCard(m, { text: m.t.delegation.notEligible, style: 'warning' });
    if (refusal) return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation[refusal.refused as 'alreadyPending' | 'alreadyActive'], { customer: customer.name }), style: 'warning' } });
    return composeCard(m, customer, partners.organisationName(actor.tenantId));
  }),

  'delegation.send': action(z.object({ customerId: z.string().min(1).max(100), offerId: z.uuid(), message: z.string().max(2000).optional().catch(undefined) }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    const message = (data.message ?? '').trim() || fill(m.t.delegation.defaultMessage, { admin: customer.admin.name, partner: partners.organisationName(actor.tenantId) });
    const result = await delegation.send(actor, data.customerId, data.offerId, message, turn.reference);
    const current = partners.customer(actor.tenantId, data.customerId)!;
    if ('refused' in result) {
      if (result.refused === 'notEligible') return noticeCard(m, { text: m.t.delegation.notEligible, style: 'warning' });
      if (result.refused === 'customerNotFound') return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
      return customerCard(m, current, turn.day, { notice: { text: fill(m.t.delegation[result.refused], { customer: customer.name }), style: 'warning' } });
    }
    const values = { admin: customer.admin.name, customer: customer.name };
    const text = result.delivery === 'delivered' ? m.t.delegation.sentDelivered : result.delivery === 'waiting' ? m.t.delegation.sentWaiting : m.t.delegation.undeliverable;
    return customerCard(m, current, turn.day, { notice: { text: fill(text, values), style: result.delivery === 'unreachable' ? 'attention' : 'good' } });
  }),

  'delegation.withdraw': action(z.object({ customerId: z.string().min(1).max(100), offerId: z.uuid() }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const result = await delegation.withdraw(actor, data.customerId, data.offerId);
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer || ('refused' in result && result.refused === 'offerNotFound')) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    if ('refused' in result) return customerCard(m, customer, turn.day, { notice: { text: m.t.notice.stale, style: 'warning' } });
    return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation.withdrawn, { customer: customer.name }), style: 'good' } });
  }),

  'user.compose': action(z.object({ customerId: z.string().min(1).max(100) }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    if (!delegation.isDelegated(customer)) return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation.notDelegated, { customer: customer.name }), style: 'warning' } });
    return userAddCard(m, customer);
  }),

  'user.add': action(
    z.object({ customerId: z.string().min(1).max(100), requestId: z.uuid(), firstName: typed, lastName: typed, signInName: typed, product: typed }),
    async (turn, data) => {
      const { actor, m, partners, delegation } = turn;
      const customer = partners.customer(actor.tenantId, data.customerId);
      if (!customer) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
      const values = { firstName: data.firstName ?? '', lastName: data.lastName ?? '', signInName: data.signInName ?? '', product: data.product ?? '' };
      const checked = validateNewUser(values);
      if ('errors' in checked) {
        const e = m.t.account.error;
        const errors = {
          name: checked.errors.filter((x) => x.field === 'firstName' || x.field === 'lastName').map((x) => (x.code === 'tooLong' ? fill(e.tooLong, { max: x.max }) : e[x.code as 'required' | 'invalid'])),
          signInName: checked.errors.filter((x) => x.field === 'signInName').map((x) => (x.code === 'tooLong' ? fill(e.tooLong, { max: x.max }) : e[x.code as 'required' | 'signInSyntax'])),
          product: checked.errors.some((x) => x.field === 'product') ? [m.t.addUser.licenseMissing] : [],
        };
        return userAddCard(m, customer, { values, errors, requestId: data.requestId }, { text: m.t.account.fix, style: 'attention' });
      }
      const result = await delegation.addUser(actor, data.customerId, { requestId: data.requestId, ...checked.user });
      if (!result.ok) {
        if (result.reason === 'customerNotFound') return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
        if (result.reason === 'notDelegated') return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation.notDelegated, { customer: customer.name }), style: 'warning' } });
        const upn = `${checked.user.signInName}@${customer.domain}`;
        const text = result.reason === 'userExists' ? fill(m.t.addUser.userExists, { upn }) : fill(m.t.addUser.noFreeSeats, { customer: customer.name });
        return userAddCard(m, customer, { values, requestId: data.requestId }, { text, style: 'attention' });
      }
      const name = `${checked.user.firstName} ${checked.user.lastName}`;
      return customerCard(m, result.customer, turn.day, { notice: { text: fill(m.t.addUser.added, { name, upn: result.userPrincipalName, product: checked.user.product }), style: 'good' } });
    },
  ),

  'offer.accept': offerAnswer(true),
  'offer.decline': offerAnswer(false),

  'access.end': action(z.object({}), async (turn) => {
    const { m, delegation, partners } = turn;
    const result = await delegation.endDelegation(turn.actor, adminCheck(turn));
    if ('refused' in result) {
      if (result.refused === 'notCustomer') return noticeCard(m, { text: m.t.offer.notYours, style: 'attention' });
      if (result.refused === 'notAdmin') return noticeCard(m, { text: fill(m.t.offer.notAdmin, { upn: result.link.customer.admin.userPrincipalName }), style: 'attention' });
      return accessEndCard(m, partners.organisationName(result.link.partnerTenantId), false);
    }
    const name = partners.organisationName(result.link.partnerTenantId);
    return accessEndCard(m, name, false, { text: fill(m.t.offer.removed, { partner: name }), style: 'good' });
  }),
};

const onSubscription = z.object({ customerId: z.string().min(1).max(100), subscriptionId: z.string().min(1).max(100) });

/** Error text for a refused renewal; key problems read like the redeem card's, for "key 1". */
function renewRefusalText(m: Messages, refusal: RenewRefusal, product: string): string {
  const e = m.t.entry.error;
  switch (refusal.code) {
    case 'format':
      if (refusal.problem.code === 'length' && refusal.problem.length === 0) return m.t.renew.noKey;
      return refusal.problem.code === 'length' ? fill(e.length, { n: 1, length: refusal.problem.length }) : fill(e.characters, { n: 1, characters: refusal.problem.code === 'characters' ? refusal.problem.characters : '' });
    case 'unknown':
    case 'redeemed':
    case 'blocked':
    case 'reservedElsewhere':
      return fill(e[refusal.code], { n: 1 });
    case 'locked':
      return fill(m.t.entry.locked, { time: m.dateTime(refusal.until) });
    case 'productMismatch':
      return fill(m.t.renew.productMismatch, { keyProduct: refusal.keyProduct, product });
    case 'notFound':
      return m.t.notice.notFound;
    default:
      return m.t.renew[refusal.code];
  }
}

/** Renewal and billing of a customer's subscription, and reminders. */
const renewalActions = {
  'renew.compose': action(onSubscription, async (turn, data) => {
    const found = turn.renewals.find(turn.actor.tenantId, data.customerId, data.subscriptionId);
    if (!found) return noticeCard(turn.m, { text: turn.m.t.notice.notFound, style: 'attention' }, true);
    return renewCard(turn.m, found.customer, found.subscription, turn.day);
  }),

  'renew.submit': action(onSubscription.extend({ requestId: z.uuid(), key: typed }), async (turn, data) => {
    const { m, renewals, actor } = turn;
    const found = renewals.find(actor.tenantId, data.customerId, data.subscriptionId);
    if (!found) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    const typedKey = (data.key ?? '').slice(0, 60);
    const result = await renewals.renewWithKey(actor, data.customerId, data.subscriptionId, data.requestId, typedKey);
    if (!result.ok) {
      const text = renewRefusalText(m, result, found.subscription.product);
      return renewCard(m, found.customer, found.subscription, turn.day, { key: typedKey, errors: [text], requestId: data.requestId }, { text: m.t.account.fix, style: 'attention' });
    }
    const { customer, subscription, canceledSwitch } = result;
    const renewed = fill(m.t.renew.renewed, { product: subscription.product, customer: customer.name, end: m.date(subscription.endDate), seats: m.count(m.t.common.seatCount, subscription.seats) });
    const text = canceledSwitch ? `${renewed} ${fill(m.t.renew.switchCanceled, { date: m.date(canceledSwitch) })}` : renewed;
    return customerCard(m, customer, turn.day, { notice: { text, style: 'good' } });
  }),

  'billing.compose': action(onSubscription, async (turn, data) => {
    const found = turn.renewals.find(turn.actor.tenantId, data.customerId, data.subscriptionId);
    if (!found) return noticeCard(turn.m, { text: turn.m.t.notice.notFound, style: 'attention' }, true);
    return billingCard(turn.m, found, turn.renewals.switchDay(turn.actor.tenantId, found.subscription), turn.day);
  }),

  'billing.switch': action(onSubscription, async (turn, data) => {
    const { m, renewals, actor } = turn;
    const found = renewals.find(actor.tenantId, data.customerId, data.subscriptionId);
    if (!found) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    // Already direct, or its data deleted: the card says which, and nothing changes.
    if (!subscriptionActions(found.subscription, turn.day).canSwitch) return billingCard(m, found, renewals.switchDay(actor.tenantId, found.subscription), turn.day);
    const switched = (await renewals.switchNow(actor, data.customerId, data.subscriptionId))!;
    return customerCard(m, switched.customer, turn.day, { notice: { text: fill(m.t.billing.switched, { product: switched.subscription.product, customer: switched.customer.name }), style: 'good' } });
  }),

  'billing.schedule': action(onSubscription, async (turn, data) => {
    const { m, renewals, actor } = turn;
    const found = renewals.find(actor.tenantId, data.customerId, data.subscriptionId);
    if (!found) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    if (!subscriptionActions(found.subscription, turn.day).canSwitch) return billingCard(m, found, renewals.switchDay(actor.tenantId, found.subscription), turn.day);
    const scheduled = (await renewals.schedule(actor, data.customerId, data.subscriptionId))!;
    const text = fill(m.t.billing.scheduled, { date: m.date(scheduled.subscription.scheduledSwitch!.on) });
    return billingCard(m, scheduled, renewals.switchDay(actor.tenantId, scheduled.subscription), turn.day, { text, style: 'good' });
  }),

  'billing.unschedule': action(onSubscription, async (turn, data) => {
    const { m, renewals, actor } = turn;
    const result = await renewals.unschedule(actor, data.customerId, data.subscriptionId);
    if (!result) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
    return billingCard(m, result, renewals.switchDay(actor.tenantId, result.subscription), turn.day, { text: m.t.billing.unscheduled, style: 'good' });
  }),

  'reminder.snooze': action(z.object({ key: z.string().max(200).regex(/^[\w-]+\|\d{4}-\d{2}-\d{2}\|\w+$/) }), async (turn, data) => {
    const { m, reminders, renewals, actor } = turn;
    const snoozed = reminders.snooze(actor, data.key);
    const found = snoozed && renewals.find(actor.tenantId, snoozed.record.customerTenantId, snoozed.record.subscriptionId);
    if (!snoozed || !found) return noticeCard(m, { text: m.t.reminder.gone, style: 'attention' });
    const text = snoozed.next ? fill(m.t.reminder.snoozed, { date: m.date(snoozed.next.due) }) : m.t.reminder.snoozedLast;
    return reminderCard(m, { key: data.key, kind: snoozed.record.kind, customer: found.customer, subscription: found.subscription, ...turn.day }, { text, style: 'good' });
  }),
};

const allActions = { ...actions, ...delegationActions, ...renewalActions } satisfies Record<string, ActionDef<z.ZodType>>;

export type Verb = keyof typeof allActions;

/** Every verb a card may send; the authorisation test checks that each has a row. */
export const VERBS = Object.keys(allActions) as Verb[];

/** Verbs that show or take product keys and customer details: a card refreshed in a channel shows to everyone. */
const PERSONAL_ONLY = /^(redeem|setup|account|delegation|user|renew)\./;

/** What someone in a customer's tenant may do: answer offers and end delegation. */
const CUSTOMER_VERBS: ReadonlySet<string> = new Set<Verb>(['offer.accept', 'offer.decline', 'access.end']);

/** Card data's text fields other than the key fields, with any pasted product key masked. */
function maskKeysOutsideKeyFields(data: unknown): unknown {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).map(([field, value]) => [field, typeof value === 'string' && !/^key\d*$/.test(field) ? maskKeysInText(value) : value]));
}

/** Runs a card action from untrusted invoke data; bad data gets a plain answer and changes nothing. */

export async function runAction(turn: ActionTurn, verb: string, data: unknown): Promise<AdaptiveCard> {
  const { m } = turn;
  if (!Object.hasOwn(allActions, verb)) return noticeCard(m, { text: m.t.notice.unknownVerb, style: 'attention' }, true);
  // A customer's tenant gets only the customer side, as its messages do, so a partner's card never acts there.
  if (turn.customer && !CUSTOMER_VERBS.has(verb)) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' });
  if (!turn.personal && PERSONAL_ONLY.test(verb)) return noticeCard(m, { text: m.t.notice.personalOnly, style: 'warning' });
  const def = allActions[verb as Verb] as ActionDef<z.ZodType>;
  const parsed = def.schema.safeParse(maskKeysOutsideKeyFields(data ?? {}));
  if (!parsed.success) {
    // Only the field's name: zod's own wording is English and would leak into the German text.
    const problem = (parsed.error.issues[0]?.path.join('.') || 'data').slice(0, 100);
    return noticeCard(m, { text: fill(m.t.notice.badPayload, { problem }), style: 'attention' }, true);
  }
  return def.run(turn, parsed.data);
}
