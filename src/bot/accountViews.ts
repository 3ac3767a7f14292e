/** Cards of step 2 (the customer's account), the partner profile and the customer list. */
import { randomUUID } from 'node:crypto';
import { renderCard, type AdaptiveCard } from '../cards.js';
import { ONMICROSOFT, userPrincipalName, type Account, type AccountError, type AccountField, type AccountInput } from '../domain/account.js';
import { countryChoices, countryName } from '../domain/countries.js';
import type { Customer, Subscription } from '../domain/customer.js';
import { languageChoices } from '../domain/languages.js';
import type { PartnerProfile, ProfileError, ProfileField, ProfileInput } from '../domain/profile.js';
import { timeZoneChoices } from '../domain/timeZones.js';
import { subscriptionActions } from '../domain/lifecycle.js';
import { planSubscriptions } from '../domain/subscriptions.js';
import type { Setup } from '../domain/setup.js';
import { fill, type Messages } from '../i18n/index.js';
import { delegationSummary, relationshipRows } from './delegationViews.js';
import type { Notice, Today } from './notice.js';
import type { Page } from '../domain/paging.js';
import { stateText } from './renewalViews.js';

export const CUSTOMERS_PAGE_SIZE = 10;

function accountValues(account: Account): AccountInput {
  return { ...account, partnerOfRecord: String(account.partnerOfRecord) };
}

function accountErrorText(m: Messages, error: AccountError, domainPrefix: string): string {
  const e = m.t.account.error;
  if (error.code === 'tooLong') return fill(e.tooLong, { max: error.max });
  if (error.code === 'countryNotOffered') return fill(e.countryNotOffered, { country: countryName(error.country, m.language) });
  if (error.code === 'domainTaken') return fill(e.domainTaken, { domain: `${domainPrefix}.${ONMICROSOFT}` });
  return e[error.code];
}

function byField<F extends string>(fields: readonly F[], errors: Array<{ field: F }>, text: (error: any) => string): Record<F, string[]> {
  const out = Object.fromEntries(fields.map((field) => [field, [] as string[]])) as Record<F, string[]>;
  for (const error of errors) out[error.field].push(text(error));
  return out;
}

const FORM_FIELDS: readonly AccountField[] = ['country', 'organisationName', 'firstName', 'lastName', 'email', 'phone', 'domainPrefix', 'signInName', 'language', 'partnerOfRecord'];

export interface AccountForm {
  values?: AccountInput;
  errors?: AccountError[];
  suggestions?: string[];
}

export function accountCard(m: Messages, setup: Setup, profile: PartnerProfile | undefined, form: AccountForm = {}, notice?: Notice): AdaptiveCard {
  const values: AccountInput = form.values ?? (setup.account ? accountValues(setup.account) : { language: m.language, partnerOfRecord: 'true' });
  const prefix = (values.domainPrefix ?? '').trim().toLowerCase() || 'contoso';
  return renderCard('account', {
    t: m.t.account,
    notice,
    setupId: setup.id,
    rev: setup.rev,
    values: Object.fromEntries(FORM_FIELDS.map((field) => [field, values[field] ?? ''])),
    errors: byField(FORM_FIELDS, form.errors ?? [], (error) => accountErrorText(m, error, prefix)),
    countries: countryChoices(m.language),
    languages: languageChoices(m.language),
    domainHint: fill(m.t.account.domainHint, { example: `${prefix}.${ONMICROSOFT}` }),
    signInHint: fill(m.t.account.signInHint, { domain: `${prefix}.${ONMICROSOFT}` }),
    porTitle: profile ? fill(m.t.account.partnerOfRecord, { partnerId: profile.partnerId }) : m.t.account.partnerOfRecordMissing,
    suggestions: (form.suggestions ?? []).map((domain) => ({ domain, title: fill(m.t.account.useDomain, { domain: `${domain}.${ONMICROSOFT}` }) })),
  });
}

/** "Does everything look right?" for the account, with the subscriptions the keys will become. */
/** `today`: the partner's calendar day, which the subscriptions will start on. */
export function accountReviewCard(m: Messages, setup: Setup, profile: PartnerProfile | undefined, today: string, options: { notice?: Notice; actions: boolean }): AdaptiveCard {
  const a = setup.account!;
  const t = m.t.account;
  const facts = ([
    [t.country, countryName(a.country, m.language)],
    [t.organisationName, a.organisationName],
    [t.admin, `${a.firstName} ${a.lastName}`],
    [t.email, a.email],
    [t.phone, a.phone],
    [t.domainPrefix, `${a.domainPrefix}.${ONMICROSOFT}`],
    [t.signIn, userPrincipalName(a.signInName, a.domainPrefix)],
    [t.language, languageChoices(m.language).find((l) => l.code === a.language)?.name ?? a.language],
    ['Partner of Record', a.partnerOfRecord && profile ? fill(t.yes, { partnerId: profile.partnerId }) : t.no],
  ] satisfies Array<[string, string]>).map(([title, value]) => ({ title, value }));
  const subscriptions = planSubscriptions(setup.keys, today).map((plan) =>
    fill(t.subscriptionLine, { product: plan.product, seats: m.count(m.t.common.seatCount, plan.seats), start: m.date(plan.startDate), end: m.date(plan.endDate) }),
  );
  return renderCard('accountReview', { t, notice: options.notice, setupId: setup.id, rev: setup.rev, facts, subscriptions, actions: options.actions });
}

function subscriptionLines(m: Messages, customer: Customer, day: Today): string[] {
  return customer.subscriptions.map((s) => `${subscriptionLine(m, s)} (${stateText(m, s, day)})`);
}

function subscriptionLine(m: Messages, s: Subscription): string {
  return fill(m.t.customer.subscriptionLine, { product: s.product, assigned: s.assignedSeats, seats: m.count(m.t.common.seatCount, s.seats), end: m.date(s.endDate) });
}

/** Where the admin's temporary password went: it was shown once, at creation or at the last reset. */
function passwordShown(m: Messages, customer: Customer): string {
  const reset = customer.admin.passwordReset;
  return reset ? fill(m.t.customer.passwordShownOnceReset, { name: reset.by.name, date: m.date(reset.at) }) : m.t.customer.passwordShownOnce;
}

/**
 * A customer's card; right after creation it also says who became admin. `temporaryPassword` is
 * shown only in the one card that answers the creation or a reset: it is not kept with the card's
 * data or buttons, so a later look at the customer or a press of any button on this card shows
 * where it went instead.
 */
export function customerCard(
  m: Messages,
  customer: Customer,
  day: Today,
  options: { created?: boolean; notice?: Notice; actions?: boolean; temporaryPassword?: string; history?: string[] } = {},
): AdaptiveCard {
  const c = m.t.customer;
  const por = customer.subscriptions.find((s) => s.partnerOfRecord)?.partnerOfRecord;
  const { temporaryPassword } = options;
  const facts = ([
    [c.domain, customer.domain],
    [c.tenantId, customer.tenantId],
    [c.signIn, customer.admin.userPrincipalName],
    ...(temporaryPassword ? [] : [[c.password, passwordShown(m, customer)] as [string, string]]),
    [c.country, countryName(customer.country, m.language)],
    [c.createdBy, `${customer.createdBy.name}, ${m.date(customer.createdAt)}`],
    ...(por ? [['Partner of Record', por] as [string, string]] : []),
  ] satisfies Array<[string, string]>).map(([title, value]) => ({ title, value }));
  const license = customer.subscriptions.find((s) => s.assignedSeats > 0)?.product ?? '';
  const { rows, canAddUser } = relationshipRows(m, customer, day);
  return renderCard(
    'customer',
    {
      t: m.t,
      notice: options.notice,
      heading: options.created ? c.createdTitle : undefined,
      intro: options.created ? fill(c.createdIntro, { admin: customer.admin.name, name: customer.name, license }) : undefined,
      password: temporaryPassword
        ? { title: fill(c.passwordTitle, { upn: customer.admin.userPrincipalName }), value: temporaryPassword, note: fill(c.passwordNote, { admin: customer.admin.name }) }
        : undefined,
      name: customer.name,
      tenantId: customer.tenantId,
      facts,
      subscriptionRows: customer.subscriptions.map((s) => ({ id: s.id, text: subscriptionLine(m, s), state: stateText(m, s, day), ...subscriptionActions(s, day.today, day.lifecycle) })),
      actions: options.actions ?? true,
      relationships: rows,
      canAddUser,
      resetRequestId: randomUUID(),
      ...(options.history?.length ? { history: options.history } : {}),
    },
    // Never kept: a password is shown once, and each card's reset request id is its own.
    true,
  );
}

/** A page of the customer list (`listed`: the page the store gave, or `pageOf` a list in hand). */
export function customersCard(m: Messages, listed: Page<Customer>, filter: string, day: Today, notice?: Notice): AdaptiveCard {
  const t = m.t.customers;
  const { page, start, shown, hasNext, total } = listed;
  const empty = total === 0 ? { text: filter ? fill(t.noMatch, { filter }) : t.empty, style: 'accent' as const } : undefined;
  return renderCard('customers', {
    t,
    notice: notice ?? empty,
    filter,
    page,
    hasNext,
    showing: total > 0 ? fill(t.showing, { from: start + 1, to: start + shown.length, total }) : undefined,
    rows: shown.map((customer) => ({
      tenantId: customer.tenantId,
      name: customer.name,
      line: fill(t.line, { domain: customer.domain, country: countryName(customer.country, m.language) }),
      subscriptions: subscriptionLines(m, customer, day),
      delegation: `${m.t.customer.delegation}: ${delegationSummary(m, customer, day)}`,
    })),
  });
}

const PROFILE_FORM_FIELDS: readonly ProfileField[] = ['organisationName', 'partnerId', 'cloudEssentials', 'timeZone'];

export function profileCard(
  m: Messages,
  profile: PartnerProfile | undefined,
  today: string,
  options: { values?: ProfileInput; errors?: ProfileError[]; then?: string; notice?: Notice; updatedByName?: string } = {},
): AdaptiveCard {
  // A new profile starts from the zone the reader's Teams client reports, else the language's usual one.
  const defaultZone = m.timeZone !== 'UTC' ? m.timeZone : m.language === 'de' ? 'Europe/Berlin' : 'UTC';
  const values = options.values ?? (profile ? { ...profile, cloudEssentials: String(profile.cloudEssentials) } : { cloudEssentials: 'false', timeZone: defaultZone });
  const e = m.t.profile.error;
  return renderCard('profile', {
    t: m.t.profile,
    notice: options.notice,
    then: options.then ?? '',
    updated: profile ? fill(m.t.profile.updated, { name: options.updatedByName ?? profile.updatedBy, date: m.date(profile.updatedAt) }) : undefined,
    values: Object.fromEntries(PROFILE_FORM_FIELDS.map((field) => [field, (values as ProfileInput)[field] ?? ''])),
    errors: byField(PROFILE_FORM_FIELDS, options.errors ?? [], (error: ProfileError) => (error.code === 'tooLong' ? fill(e.tooLong, { max: error.max }) : e[error.code])),
    timeZones: timeZoneChoices(m.language, new Date(today), values.timeZone ?? profile?.timeZone),
  });
}
