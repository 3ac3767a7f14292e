/** Every card, rendered from sample state in both languages, must pass the Adaptive Cards parser and schema. */
import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import { CARD_NAMES, renderCard } from '../src/cards.js';
import { accountCard, accountReviewCard, CUSTOMERS_PAGE_SIZE, customerCard, customersCard, profileCard } from '../src/bot/accountViews.js';
import { accessEndCard, composeCard, offerCard, userAddCard } from '../src/bot/delegationViews.js';
import { billingCard, reminderCard, remindersCard } from '../src/bot/renewalViews.js';
import { ENTRA_ROLES } from '../src/domain/entraRoles.js';
import type { Relationship } from '../src/domain/relationship.js';
import type { Offer } from '../src/domain/delegation.js';
import { pageOf } from '../src/domain/paging.js';
import { currentCard, entryCard, keysEntryCard, keysReviewCard, noticeCard, refusalCard, reviewCard, setupCard, welcomeCard, type SetupContext } from '../src/bot/views.js';
import type { Account } from '../src/domain/account.js';
import type { Customer } from '../src/domain/customer.js';
import type { PartnerProfile } from '../src/domain/profile.js';
import type { Setup } from '../src/domain/setup.js';
import { messagesFor } from '../src/i18n/index.js';
import { cardsDir } from '../src/paths.js';
import { cardText, inputs, markdownTexts } from './support/cardQuery.js';
import { validateAdaptiveCard } from './support/card-validation.js';

/** What someone may type into any name: Teams renders "[text](url)" in card text as a link. */
const LINK = '[click](https://evil.example)';
const PARTNER_NAME = `Fabrikam IT ${LINK}`;

const key = (n: number) => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  ref: String(n).repeat(64),
  handle: String(n).repeat(64),
  lastGroup: `ABCD${n}`,
  product: n === 3 ? 'Office 365 E3' : 'Microsoft 365 Business Standard',
  seats: 10,
  termMonths: 12,
});

const account: Account = {
  country: 'DE',
  organisationName: 'Contoso ${t.title} [GmbH](https://evil.example)',
  firstName: 'Eva',
  lastName: 'Muster',
  email: 'eva@contoso.example',
  phone: '+49 89 1234567',
  domainPrefix: 'contoso',
  signInName: 'eva',
  language: 'de',
  partnerOfRecord: true,
};
const profile: PartnerProfile = { organisationName: PARTNER_NAME, partnerId: '1234567', cloudEssentials: true, timeZone: 'Europe/Berlin', updatedAt: '2026-03-01T09:00:00.000Z', updatedBy: 'user-anna' };
const customer: Customer = {
  tenantId: '33333333-3333-4333-8333-333333333333',
  name: account.organisationName,
  domain: 'contoso.onmicrosoft.com',
  country: 'DE',
  language: 'de',
  admin: { name: `Eva Muster ${LINK}`, email: account.email, phone: account.phone, userPrincipalName: 'eva@contoso.onmicrosoft.com', objectId: '44444444-4444-4444-8444-444444444444' },
  createdAt: '2026-03-02T09:00:00.000Z',
  createdBy: { id: 'user-anna', name: `Anna Berg ${LINK}` },
  setupId: '11111111-1111-4111-8111-111111111111',
  subscriptions: [{ id: 's1', product: 'Microsoft 365 Business Standard', seats: 20, assignedSeats: 1, startDate: '2026-03-02', endDate: '2027-03-02', partnerOfRecord: '1234567', billing: 'partner', renewalIds: [] }],
  offers: [],
  addedUsers: [],
};
const offer = (status: Offer['status']): Offer => ({
  id: '55555555-5555-4555-8555-555555555555',
  status,
  message: 'Dear Eva, [click](https://evil.example) ${t.title}\nline two',
  sentAt: '2026-03-02T09:00:00.000Z',
  sentBy: { id: 'user-anna', name: `Anna Berg ${LINK}` },
  expiresAt: '2026-05-31T09:00:00.000Z',
  delivery: 'delivered',
  answeredAt: status === 'accepted' || status === 'declined' ? '2026-03-03T09:00:00.000Z' : undefined,
  answeredBy: status === 'accepted' || status === 'declined' ? { id: 'aad-eva', name: `Eva Muster ${LINK}` } : undefined,
  endedAt: status === 'withdrawn' || status === 'ended' ? '2026-03-04T09:00:00.000Z' : undefined,
  endedBy: status === 'withdrawn' || status === 'ended' ? { id: 'x', name: `Someone ${LINK}` } : undefined,
  relationship: relationship(status === 'pending' ? 'approvalPending' : status === 'accepted' ? 'active' : 'terminated'),
});
/** A request with every role (Global Administrator too), so the card shows each description and the warning. */
const relationship = (status: Relationship['status']): Relationship => ({
  id: '66666666-6666-4666-8666-666666666666',
  displayName: `Contoso ${LINK}`,
  partnerTenantId: 'partner',
  customer: { tenantId: customer.tenantId, displayName: customer.name },
  accessDetails: { unifiedRoles: ENTRA_ROLES.map((role) => ({ roleDefinitionId: role.id })) },
  duration: 'P730D',
  autoExtendDuration: 'PT0S',
  status,
  createdDateTime: '2026-03-02T09:00:00.000Z',
  lastModifiedDateTime: '2026-03-03T09:00:00.000Z',
  ...(status === 'approvalPending' ? {} : { activatedDateTime: '2026-03-03T09:00:00.000Z', endDateTime: '2028-03-02T09:00:00.000Z' }),
});
const day = { today: '2026-03-02', lifecycle: { graceDays: 30, deprovisionDays: 120 } };
const context: SetupContext = { profile, customers: [customer], day };
const renewal = { kind: 'renew' as const, customerId: customer.tenantId, subscriptionId: 's1' };

function sampleSetup(status: Setup['status']): Setup {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    ownerId: 'user-anna',
    ownerName: 'Anna [Berg](https://evil.example) ${t.title}',
    createdAt: '2026-03-01T09:00:00.000Z',
    updatedAt: '2026-03-02T09:00:00.000Z',
    rev: 3,
    status,
    keys: status === 'entering' ? [] : [key(1), key(2), key(3)],
    reservedUntil: status === 'reserved' ? '2026-03-16T09:00:00.000Z' : undefined,
    closedAt: status === 'discarded' || status === 'released' ? '2026-03-05T09:00:00.000Z' : undefined,
    account: status === 'creating' || status === 'completed' ? account : undefined,
    customerId: status === 'completed' ? customer.tenantId : undefined,
  };
}

describe('card templates', () => {
  it('has a renderer entry for every template file and a file for every entry', () => {
    const files = readdirSync(cardsDir).filter((f) => f.endsWith('.json')).map((f) => f.replace('.json', '')).sort();
    expect(files).to.deep.equal([...CARD_NAMES].sort());
  });

  for (const locale of ['en-US', 'de-DE']) {
    describe(`rendered in ${locale}`, () => {
      const m = messagesFor(locale);
      const statuses: Setup['status'][] = ['entering', 'reviewing', 'reserving', 'reserved', 'creating', 'completed', 'discarded', 'released'];
      const withAccount = { ...sampleSetup('reserved'), account };
      const cards: Array<[string, object]> = [
        ['welcome, empty', welcomeCard(m, 'user-anna', [], { hasProfile: false, hasCustomers: false })],
        ['welcome, with setups', welcomeCard(m, 'user-anna', [sampleSetup('reserved'), { ...sampleSetup('reviewing'), ownerId: 'user-ben' }], { hasProfile: true, hasCustomers: true }, { text: 'x', style: 'warning' })],
        ['entry, fresh', entryCard(m, sampleSetup('entering').id, undefined, { values: [''] })],
        [
          'entry, with errors and added keys',
          entryCard(m, sampleSetup('reviewing').id, sampleSetup('reviewing'), {
            values: ['abc', 'x'.repeat(10)],
            errors: [[{ code: 'length', position: 1, length: 3 }, { code: 'duplicate', position: 2, first: 1 }], [{ code: 'reservedByColleague', position: 3, name: `Ben ${LINK}` }]],
          }, { text: m.t.entry.fix, style: 'attention' }),
        ],
        ['review', reviewCard(m, sampleSetup('reviewing'))],
        ['notice', noticeCard(m, { text: m.t.notice.failed, style: 'attention' }, true)],
        ['receipt', setupCard(m, sampleSetup('reserved'), { actions: false })],
        ...statuses.map((status): [string, object] => [`current card, ${status}`, currentCard(m, sampleSetup(status), context)]),
        ['account form, empty', accountCard(m, sampleSetup('reserved'), undefined)],
        [
          'account form, with errors and suggestions',
          accountCard(m, withAccount, profile, {
            values: { ...account, country: 'Kuba', partnerOfRecord: 'true' },
            errors: [{ field: 'country', code: 'countryNotOffered', country: 'CU' }, { field: 'domainPrefix', code: 'domainTaken' }, { field: 'firstName', code: 'tooLong', max: 64 }],
            suggestions: ['contosogmbh', 'contoso1'],
          }, { text: m.t.account.fix, style: 'attention' }),
        ],
        ['account review', accountReviewCard(m, withAccount, profile, day.today, { actions: true })],
        ['customer, created', customerCard(m, customer, day, { created: true })],
        ['customer, created, with the temporary password', customerCard(m, customer, day, { created: true, temporaryPassword: 'Xy7#kP2m$qR9wT4v' })],
        ...(['2026-03-02', '2027-03-20', '2027-05-01', '2027-08-01'] as const).map((today): [string, object] => [`customer on ${today}`, customerCard(m, customer, { ...day, today })]),
        ['customer, direct billing and a scheduled switch', customerCard(m, { ...customer, subscriptions: [{ ...customer.subscriptions[0]!, billing: 'direct' }, { ...customer.subscriptions[0]!, id: 's2', scheduledSwitch: { on: '2027-03-01', by: { id: 'a', name: `A ${LINK}` } } }] }, day)],
        ['customers, a page', customersCard(m, pageOf(Array.from({ length: 23 }, (_, i) => ({ ...customer, tenantId: `t${i}`, name: `Customer ${i}` })), 2, CUSTOMERS_PAGE_SIZE), '', day)],
        ['customers, none', customersCard(m, pageOf([], 1, CUSTOMERS_PAGE_SIZE), `zzz ${LINK}`, day)],
        ...(['before60', 'before1', 'expired', 'disabled', 'deletionSoon'] as const).map((kind): [string, object] => [`reminder ${kind}`, reminderCard(m, { key: 'k', kind, customer, subscription: customer.subscriptions[0]!, ...day, today: kind === 'before60' ? '2027-01-01' : kind === 'before1' ? '2027-03-01' : kind === 'expired' ? '2027-03-03' : kind === 'disabled' ? '2027-04-02' : '2027-06-24' })]),
        ['reminder, in a team channel', reminderCard(m, { key: 'k', kind: 'before30', customer, subscription: customer.subscriptions[0]!, ...day, inChannel: true })],
        ['reminder, snoozed', reminderCard(m, { key: 'k', kind: 'before30', customer, subscription: customer.subscriptions[0]!, ...day }, { text: 'x', style: 'good' })],
        ['renewal keys', keysEntryCard(m, sampleSetup('entering').id, undefined, renewal, customer, day)],
        ['renewal keys, lapsed with errors', keysEntryCard(m, sampleSetup('reviewing').id, { ...sampleSetup('reviewing'), target: renewal }, renewal, customer, { ...day, today: '2027-04-01' }, { key: 'x', errors: [{ code: 'length', position: 1, length: 1 }, { code: 'otherProduct', position: 2, keyProduct: `E3 ${LINK}`, product: 'M365' }, { code: 'otherTerm', position: 3, months: 24, firstMonths: 12 }] })],
        ['added keys', keysEntryCard(m, sampleSetup('entering').id, undefined, { kind: 'add', customerId: customer.tenantId }, customer, day)],
        ...statuses.map((status): [string, object] => [`current card, renewal ${status}`, currentCard(m, { ...sampleSetup(status), target: renewal }, context)]),
        ...statuses.map((status): [string, object] => [`current card, added keys ${status}`, currentCard(m, { ...sampleSetup(status), target: { kind: 'add', customerId: customer.tenantId } }, context)]),
        ['renewal review, fewer seats than assigned', keysReviewCard(m, { ...sampleSetup('reviewing'), target: renewal }, { ...customer, subscriptions: [{ ...customer.subscriptions[0]!, assignedSeats: 40 }] }, day)],
        ['renewal review, billed directly', keysReviewCard(m, { ...sampleSetup('reviewing'), target: renewal }, { ...customer, subscriptions: [{ ...customer.subscriptions[0]!, billing: 'direct' }] }, day)],
        ['billing', billingCard(m, { customer, subscription: customer.subscriptions[0]! }, '2027-03-01', day)],
        ['billing, scheduled', billingCard(m, { customer, subscription: { ...customer.subscriptions[0]!, scheduledSwitch: { on: '2027-03-01', by: { id: 'a', name: `A ${LINK}` } } } }, '2027-03-01', day)],
        ['billing, already direct', billingCard(m, { customer, subscription: { ...customer.subscriptions[0]!, billing: 'direct' } }, '2027-03-01', day)],
        ['billing, data deleted', billingCard(m, { customer, subscription: customer.subscriptions[0]! }, '2027-03-01', { ...day, today: '2027-07-01' })],
        ['reminders, none', remindersCard(m, [], { range: 'all', page: 1 })],
        ['reminders, some', remindersCard(m, [{ customer, subscription: customer.subscriptions[0]!, kind: 'before30', due: '2027-01-31' }], { range: '30', page: 1 })],
        ['reminders, a middle page', remindersCard(m, Array.from({ length: 45 }, () => ({ customer, subscription: customer.subscriptions[0]!, kind: 'before30' as const, due: '2027-01-31' })), { range: '90', page: 2 })],
        ['delegation compose', composeCard(m, customer, PARTNER_NAME)],
        [
          'delegation compose, Global Administrator with errors',
          composeCard(m, customer, PARTNER_NAME, {
            form: { templateId: 'fullAdministration', roleIds: ENTRA_ROLES.at(-1)!.id, displayName: LINK, duration: '999', autoExtendDuration: 'P180D', message: LINK },
            errors: [{ field: 'displayName', code: 'taken' }, { field: 'roles', code: 'unknown', roleIds: ['x'] }, { field: 'duration', code: 'outOfRange', min: 1, max: 730 }, { field: 'autoExtendDuration', code: 'withGlobalAdministrator' }],
          }),
        ],
        ...(['pending', 'accepted', 'declined', 'withdrawn', 'expired', 'ended'] as const).map((status): [string, object] => [`offer, ${status}`, offerCard(m, PARTNER_NAME, customer, offer(status))]),
        ...(['pending', 'accepted'] as const).map((status): [string, object] => [`customer with offer ${status}`, customerCard(m, { ...customer, offers: [offer(status)] }, day)]),
        ['customer with the old delegated admin', customerCard(m, { ...customer, offers: [{ ...offer('accepted'), relationship: undefined }] }, day)],
        ['end access, confirm', accessEndCard(m, PARTNER_NAME, [relationship('active'), { ...relationship('active'), id: 'dap', legacy: true, endDateTime: undefined }])],
        ['end access, nothing to end', accessEndCard(m, PARTNER_NAME, [], { text: 'x', style: 'good' })],
        ['add user', userAddCard(m, customer, { values: { firstName: 'Max' }, errors: { name: ['x'] } })],
        ['add user, no free seats', userAddCard(m, { ...customer, subscriptions: [{ ...customer.subscriptions[0]!, assignedSeats: 20 }] })],
        ['profile, new', profileCard(m, undefined, day.today, { then: sampleSetup('reserved').id, notice: { text: m.t.profile.firstTime, style: 'accent' } })],
        ['profile, with errors', profileCard(m, profile, day.today, { values: { partnerId: 'x' }, errors: [{ field: 'partnerId', code: 'partnerIdSyntax' }] })],
        ...(['notFound', 'notOwner', 'stale', 'discarded', 'released', 'alreadyReserved'] as const).map((refused): [string, object] => [
          `refusal ${refused}`,
          refusalCard(m, refused === 'notFound' ? { refused } : { refused, setup: sampleSetup(refused === 'discarded' ? 'discarded' : refused === 'released' ? 'released' : 'reviewing') }, context),
        ]),
      ];
      for (const [name, card] of cards) {
        it(`${name}: passes the renderer's parser and the 1.5 schema`, () => {
          expect(validateAdaptiveCard(card)).to.deep.equal([]);
          expect(JSON.stringify(card)).not.to.match(/\$\{(?!t\.title)/);
        });
      }

      it('shows the names people typed, but never as a markdown link', () => {
        const links = cards.flatMap(([name, card]) => markdownTexts(card).filter((text) => text.includes('](')).map((text) => `${name}: ${text}`));
        expect(links).to.deep.equal([]);
        const shown = cards.map(([, card]) => markdownTexts(card).join('\n').replaceAll('\u200b', '')).join('\n');
        for (const typed of [account.organisationName, PARTNER_NAME, customer.admin.name, customer.createdBy.name, `Ben ${LINK}`, `zzz ${LINK}`]) expect(shown, typed).to.include(typed);
        expect(inputs(accountCard(m, withAccount, profile, { values: { organisationName: account.organisationName } })).organisationName, 'a form keeps what was typed').to.equal(account.organisationName);
      });
    });
  }

  it('renders typed text as data, never as template source', () => {
    const card = renderCard('notice', { notice: { text: '${t.title} ${1+1} @{x}', style: 'good' }, showHelp: false, helpTitle: '' });
    expect(cardText(card)).to.equal('${t.title} ${1+1} @{x}');
  });

  it('renders equal data to an equal card of its own each time, typed text still as data', () => {
    // Unique text: the first render expands the template, the second is answered from what it kept.
    const data = () => ({ notice: { text: `\${t.title} ${LINK} ${Math.random()}`, style: 'good' as const }, showHelp: false, helpTitle: '' });
    const once = data();
    const first = renderCard('notice', once);
    const second = renderCard('notice', structuredClone(once));
    expect(second).to.deep.equal(first);
    expect(second).to.not.equal(first);
    expect(cardText(second)).to.equal(`\${t.title} [click]\u200b(https://evil.example) ${once.notice.text.split(' ').at(-1)}`);
    // A caller changing its card changes no other caller's.
    (second.body as Array<Record<string, unknown>>).length = 0;
    expect(renderCard('notice', once)).to.deep.equal(first);
    expect(cardText(renderCard('notice', { ...once, notice: { ...once.notice, text: 'other' } }))).to.equal('other');
    const m = messagesFor('en-US');
    const partner = { hasProfile: true, hasCustomers: false };
    expect(welcomeCard(m, 'user-anna', [], partner)).to.deep.equal(welcomeCard(m, 'user-anna', [], partner));
    expect(cardText(welcomeCard(m, 'user-anna', [], { hasProfile: false, hasCustomers: false }))).to.include(m.t.welcome.profileMissing);
  });

  it('shows a calendar day as it is to every reader, and a moment on the reader\'s own day around midnight', () => {
    // A calendar day (an end date) is the same day wherever it is read, however often it is formatted.
    const days = ['UTC', 'America/Los_Angeles', 'Pacific/Auckland', 'America/Los_Angeles'].map((zone) => messagesFor('en-GB', zone).date('2026-12-04'));
    expect(days).to.deep.equal(Array(4).fill('4 December 2026'));
    expect(messagesFor('de-DE').date('2026-12-04')).to.equal('4.\u00a0Dezember 2026');
    // 23:30 UTC on 4 December is already 5 December in Berlin, still 4 December in New York.
    const moment = '2026-12-04T23:30:00.000Z';
    expect(messagesFor('de-DE', 'Europe/Berlin').date(moment)).to.equal('5.\u00a0Dezember 2026');
    expect(messagesFor('de-DE', 'Europe/Berlin').dateTime(moment)).to.equal('5.\u00a0Dezember 2026 um 00:30 MEZ');
    expect(messagesFor('en-US', 'America/New_York').date(moment)).to.equal('4 December 2026');
    expect(messagesFor('en-US', 'America/New_York').dateTime(moment)).to.equal('4 December 2026 at 18:30 GMT-5');
    expect(messagesFor('en-US').dateTime(moment)).to.equal('4 December 2026 at 23:30 UTC');
  });

  it('shows a German card in German', () => {
    expect(cardText(reviewCard(messagesFor('de-AT'), sampleSetup('reviewing')))).to.include('Sieht alles richtig aus?');
    expect(cardText(reviewCard(messagesFor('fr-FR'), sampleSetup('reviewing')))).to.include('Does everything look right?');
  });

  it('words a count of one, and the last day, as such', () => {
    const [en, de] = [messagesFor('en-US'), messagesFor('de-DE')];
    const unknown = (count: number) => [Array.from({ length: count }, (_, i) => ({ code: 'unknown' as const, position: i + 1 }))];
    expect(cardText(entryCard(en, 'id', undefined, { values: ['x'], errors: unknown(6) }))).to.include('… and 1 more problem in this field.');
    expect(cardText(entryCard(en, 'id', undefined, { values: ['x'], errors: unknown(7) }))).to.include('… and 2 more problems in this field.');
    expect(cardText(entryCard(de, 'id', undefined, { values: ['x'], errors: unknown(6) }))).to.include('… und 1 weiteres Problem in diesem Feld.');
    const subscription = customer.subscriptions[0]!;
    const lastDay = { ...day, today: subscription.endDate };
    expect(cardText(customerCard(en, customer, lastDay))).to.include('active, last day').and.not.match(/\b0 days/);
    const reminder = cardText(reminderCard(en, { key: 'k', kind: 'before1', customer, subscription, ...lastDay }));
    expect(reminder).to.include(`${subscription.product} for `).and.include(' ends today').and.not.match(/\b0 days/);
    expect(cardText(reminderCard(de, { key: 'k', kind: 'before1', customer, subscription, ...lastDay }))).to.include('endet heute').and.include('aktiv, letzter Tag');
    expect(cardText(reminderCard(en, { key: 'k', kind: 'before1', customer, subscription, ...day, today: '2027-03-01' }))).to.include('ends in 1 day').and.include('active, 1 day left');
  });

  it('words German dates, days since and states as Microsoft does', () => {
    const de = messagesFor('de-DE');
    const subscription = customer.subscriptions[0]!;
    // "seit" takes the dative: "seit 9 Tagen", not "seit 9 Tage".
    expect(cardText(customerCard(de, customer, { ...day, today: '2027-03-11' }))).to.include('seit 9 Tagen abgelaufen, noch nutzbar bis zum 1.\u00a0April 2027');
    expect(cardText(customerCard(de, customer, { ...day, today: '2027-03-03' }))).to.include('seit 1 Tag abgelaufen');
    const oneDayGrace = cardText(reminderCard(de, { key: 'k', kind: 'expired', customer, subscription, today: '2027-03-03', lifecycle: { graceDays: 1, deprovisionDays: 120 } }));
    expect(oneDayGrace).to.include('noch 1 Tag lang nutzen').and.include('(120 Tage nach dem Ablauf)');
    expect(cardText(customerCard(de, { ...customer, offers: [offer('accepted')] }, day))).to.include('Aktiv, bis 2.\u00a0März 2028 · Verzeichnisleseberechtigte');
    const scheduled = { ...subscription, scheduledSwitch: { on: '2027-03-01', by: { id: 'a', name: 'A' } } };
    expect(cardText(customerCard(de, { ...customer, subscriptions: [scheduled] }, day))).to.include('Umstellung auf die Direktabrechnung für den 1.\u00a0März 2027 geplant');
    expect(JSON.stringify(billingCard(de, { customer, subscription }, '2027-03-01', day))).to.include('Für den 1.\u00a0März 2027 planen');
  });
});
