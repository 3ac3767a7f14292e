/**
 * Each template in cards/ rendered with data of its type (CardData): the compiler checks every
 * sample against its type, and the rendered card must bind every expression and pass validation,
 * so a template and its data cannot drift apart.
 */
import { expect } from 'chai';
import { CARD_NAMES, renderCard, type CardData, type CardName } from '../src/cards.js';
import { messagesFor } from '../src/i18n/index.js';
import { validateAdaptiveCard } from './support/card-validation.js';

const { t } = messagesFor('en-US');
const notice = { text: 'A notice', style: 'good' as const };
const keyRow = { id: '00000000-0000-4000-8000-000000000001', masked: 'XXXXX-XXXXX-XXXXX-XXXXX-ABCD1', product: 'Microsoft 365 Business Standard', seats: '10 seats', term: '12 months' };
const facts = [{ title: 'Domain', value: 'contoso.onmicrosoft.com' }];
const setupId = '11111111-1111-4111-8111-111111111111';
const ids = { customerId: '33333333-3333-4333-8333-333333333333', subscriptionId: 's1' };

const samples: { [N in CardName]: CardData[N] } = {
  notice: { notice, showHelp: true, helpTitle: t.welcome.title },
  welcome: { t: t.welcome, notice, unfinished: [{ mine: true, text: 'Your setup', continueTitle: 'Continue', setupId, rev: 2 }], profileMissing: true, hasCustomers: true },
  entry: { t: t.entry, notice, setupId, rev: 1, added: [keyRow], fields: [{ id: 'key0', label: 'Key 1', value: 'ABCDE', errors: ['Key 1 has 5 characters.'] }], canAddField: true },
  review: { t: t.review, notice, setupId, rev: 1, editable: true, keys: [keyRow], totals: ['Microsoft 365 Business Standard: 10 seats'] },
  setup: { t, notice, title: 'Reserved', text: 'Reserved until 16 March 2026.', keys: [keyRow], totals: ['10 seats'], showNext: true, canContinue: true, canDiscard: true, setupId, rev: 3 },
  account: {
    t: t.account,
    notice,
    setupId,
    rev: 3,
    values: { country: 'DE', organisationName: 'Contoso', firstName: 'Eva', lastName: 'Muster', email: 'eva@contoso.example', phone: '+49 89 1', domainPrefix: 'contoso', signInName: 'eva', language: 'de', partnerOfRecord: 'true' },
    errors: { country: [], organisationName: ['Required'], firstName: [], lastName: [], email: [], phone: [], domainPrefix: [], signInName: [], language: [], partnerOfRecord: [] },
    countries: [{ code: 'DE', name: 'Germany' }],
    languages: [{ code: 'de', name: 'German' }],
    domainHint: 'contoso.onmicrosoft.com',
    signInHint: 'eva@contoso.onmicrosoft.com',
    porTitle: 'Partner of Record',
    suggestions: [{ domain: 'contoso2', title: 'Use contoso2' }],
  },
  accountReview: { t: t.account, notice, setupId, rev: 4, facts, subscriptions: ['Microsoft 365 Business Standard, 10 seats'], actions: true },
  customer: {
    t,
    notice,
    heading: 'Created',
    intro: 'Eva Muster is the admin.',
    password: { title: 'Temporary password for eva@contoso.onmicrosoft.com', value: 'Xy7#kP2m$qR9wT4v', note: 'Change it at first sign-in.' },
    name: 'Contoso',
    tenantId: ids.customerId,
    facts,
    subscriptionRows: [{ id: 's1', text: 'Microsoft 365 Business Standard', state: 'active', canRenew: true, canSwitch: true }],
    actions: true,
    relationships: [{ id: '22222222-2222-4222-8222-222222222222', name: 'Contoso – Helpdesk', line: 'Active, until 2 March 2028 · Helpdesk Administrator', canEnd: true }],
    canAddUser: true,
    resetRequestId: '33333333-3333-4333-8333-333333333333',
    history: ['2 March 2026, 10:00 CET: Anna Berg (Admin agent): account.create'],
  },
  customers: { t: t.customers, notice, filter: 'con', page: 1, hasNext: true, showing: '1 to 1 of 11', rows: [{ tenantId: ids.customerId, name: 'Contoso', line: 'contoso.onmicrosoft.com', subscriptions: ['M365'], delegation: 'none' }] },
  profile: {
    t: t.profile,
    notice,
    then: setupId,
    updated: 'Updated by Anna',
    values: { organisationName: 'Fabrikam', partnerId: '1234567', cloudEssentials: 'true', timeZone: 'Europe/Berlin' },
    errors: { organisationName: [], partnerId: ['Seven digits'], cloudEssentials: [], timeZone: [] },
    timeZones: [{ id: 'Europe/Berlin', name: '(UTC+01:00) Berlin, Wien, Zürich' }],
  },
  delegationCompose: {
    t: t.delegation,
    notice,
    title: 'Request delegation',
    warning: 'Least privilege',
    values: { displayName: 'Contoso – Helpdesk', templateId: 'helpdesk', roleIds: 'a,b', duration: '730', autoExtendDuration: 'P180D', message: 'Hello' },
    errors: { displayName: ['Taken'], roles: [], duration: [], autoExtendDuration: [] },
    templates: [{ id: 'helpdesk', title: 'Helpdesk' }],
    roles: [{ id: 'a', title: 'Role A' }],
    offerAutoExtend: true,
    ...ids,
    requestId: '22222222-2222-4222-8222-222222222222',
  },
  offer: {
    t: t.offer,
    notice,
    title: 'Fabrikam asks',
    name: 'Contoso – Helpdesk',
    intro: 'Intro',
    message: 'Hello',
    roles: ['**Role A**: does a'],
    term: 'For 730 days',
    warning: 'Global Administrator',
    expires: 'Expires',
    pending: false,
    outcome: 'Accepted',
    outcomeColor: 'Good',
    offerId: '22222222-2222-4222-8222-222222222222',
  },
  accessEnd: { t: t.offer, notice, title: 'Remove access', text: 'Fabrikam has access.', relationships: [{ id: '22222222-2222-4222-8222-222222222222', line: 'Helpdesk' }], canEndAll: true },
  userAdd: {
    t: t.addUser,
    notice,
    title: 'Add a user',
    signInHint: '@contoso.onmicrosoft.com',
    values: { firstName: 'Ben', lastName: 'Kurz', signInName: 'ben', product: 'M365' },
    errors: { name: ['Required'], signInName: [], product: [] },
    licenses: [{ product: 'M365', title: 'M365 (9 free)' }],
    customerId: ids.customerId,
    requestId: '44444444-4444-4444-8444-444444444444',
  },
  reminder: { t: t.reminder, notice, title: 'Ends in 30 days', facts, after: 'After the end', ...ids, key: 's1|2027-03-02|before30', canSnooze: true, canSwitch: true, canRenew: true, renewInChat: 'Renew in a personal chat' },
  keys: { t: t.keys, notice, title: 'Renew', intro: 'Ends on 2 March 2027.', added: [keyRow], key: 'ABCDE', errors: ['Key 1 has 5 characters.'], setupId, rev: 2, kind: 'renew', ...ids },
  keysReview: {
    t: { review: t.review, keys: t.keys },
    notice,
    title: 'Does everything look right?',
    intro: 'Check the renewal.',
    keys: [keyRow],
    editable: true,
    facts,
    lines: ['M365: 10 more'],
    warning: 'Fewer seats than assigned',
    canApply: true,
    submit: 'Renew',
    setupId,
    rev: 2,
  },
  billing: { t: t.billing, notice, title: 'Direct billing', explain: 'Starts at once.', scheduleTitle: 'Schedule', canSchedule: true, canUnschedule: true, canSwitch: true, ...ids },
  reminders: {
    t: t.reminders,
    notice,
    range: '60',
    ranges: [{ value: '60', title: 'Next 60 days' }],
    heading: 'Due in the next 60 days',
    empty: 'None.',
    showing: '1–20 of 21',
    page: 2,
    hasNext: true,
    lines: ['23 February 2027: Contoso'],
  },
  roles: { t: t.roles, notice, people: [{ userId: 'u1', name: 'Jonas Keller', current: 'Admin agent', field: 'role0', value: 'admin' }], choices: [{ title: 'Admin agent', value: 'admin' }] },
  history: {
    t: t.audit,
    notice,
    title: 'History',
    verb: 'history.show',
    filters: true,
    customer: 'Contoso',
    person: 'Jonas',
    rows: [{ line: '2 March 2026, 10:00 CET: Jonas Keller (Admin agent): billing.switch', detail: 'Contoso · s1' }],
    empty: false,
    hasOlder: true,
    older: 11,
    paged: true,
  },
};

describe('typed cards: every template rendered with data of its type', () => {
  for (const name of CARD_NAMES) {
    it(`${name}: binds every expression and passes the parser and the 1.5 schema`, () => {
      const card = renderCard(name, samples[name] as never);
      expect(JSON.stringify(card), 'an expression the data did not bind').not.to.match(/\$\{|"\$when"|"\$data"/);
      expect(validateAdaptiveCard(card)).to.deep.equal([]);
    });
  }
});
