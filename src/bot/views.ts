/** Turns persisted state into card data: every card is a view of a setup, never the state itself. */
import { renderCard, type AdaptiveCard } from '../cards.js';
import { maskKey } from '../domain/productKey.js';
import { allows, totalsByProduct, type Setup, type SetupKey } from '../domain/setup.js';
import { fill, type Messages } from '../i18n/index.js';
import type { Customer } from '../domain/customer.js';
import { additionPlan, renewalPlan, seatsShort } from '../domain/keyChanges.js';
import { subscriptionActions, subscriptionState } from '../domain/lifecycle.js';
import type { SetupTarget } from '../domain/setup.js';
import type { PartnerProfile } from '../domain/profile.js';
import type { FieldError, Refusal } from '../domain/outcomes.js';
import { accountReviewCard, customerCard } from './accountViews.js';
import type { Notice, Today } from './notice.js';
import { stateText } from './renewalViews.js';

export const MAX_FIELDS = 10;

/** What a card about a setup may need besides the setup: the partner's profile, customers and calendar day. */
export interface SetupContext {
  profile?: PartnerProfile;
  customers: readonly Customer[];
  day: Today;
}

function keyRows(m: Messages, keys: readonly SetupKey[]) {
  return keys.map((key) => ({
    id: key.id,
    masked: maskKey(key.lastGroup),
    product: key.product,
    seats: m.count(m.t.common.seatCount, key.seats),
    term: m.count(m.t.common.monthCount, key.termMonths),
  }));
}

function totals(m: Messages, keys: readonly SetupKey[]): string[] {
  return totalsByProduct(keys).map((total) =>
    fill(m.t.review.total, { product: total.product, seats: m.count(m.t.common.seatCount, total.seats), keys: m.count(m.t.common.keyCount, total.keys) }),
  );
}

export function noticeCard(m: Messages, notice: Notice, showHelp = false): AdaptiveCard {
  return renderCard('notice', { notice, showHelp, helpTitle: m.t.welcome.title });
}

export function welcomeCard(m: Messages, viewerId: string, openSetups: readonly Setup[], partner: { hasProfile: boolean; hasCustomers: boolean }, notice?: Notice): AdaptiveCard {
  // The newest few; older ones stay reachable through their own cards and expire on their own.
  const unfinished = openSetups.slice(0, 10).map((setup) => {
    const keys = m.count(m.t.common.keyCount, setup.keys.length);
    const status =
      setup.status === 'reserved'
        ? fill(m.t.welcome.statusReserved, { date: m.date(setup.reservedUntil!) })
        : setup.status === 'creating'
          ? m.t.welcome.statusCreating
          : setup.status === 'reviewing'
            ? m.t.welcome.statusReviewing
            : m.t.welcome.statusEntering;
    const mine = setup.ownerId === viewerId;
    return {
      mine,
      text: mine ? fill(m.t.welcome.unfinishedMine, { keys, status }) : fill(m.t.welcome.unfinishedColleague, { name: setup.ownerName, keys, status }),
      continueTitle: fill(m.t.welcome.continue, { keys }),
      setupId: setup.id,
      rev: setup.rev,
    };
  });
  const profileNotice = partner.hasProfile ? undefined : { text: m.t.welcome.profileMissing, style: 'accent' as const };
  return renderCard('welcome', { t: m.t.welcome, notice: notice ?? profileNotice, unfinished, profileMissing: !partner.hasProfile, hasCustomers: partner.hasCustomers });
}

export interface EntryFields {
  values: string[];
  errors?: FieldError[][];
}

/** The one wording of a problem with a typed key, for the redeem card and the keys for existing customers alike. */
export function keyErrorText(m: Messages, error: FieldError): string {
  const e = m.t.entry.error;
  switch (error.code) {
    case 'empty':
      return e.empty;
    case 'tooLong':
    case 'tooMany':
      return fill(e[error.code], { max: error.max });
    case 'length':
      return fill(e.length, { n: error.position, length: error.length });
    case 'characters':
      return fill(e.characters, { n: error.position, characters: error.characters });
    case 'duplicate':
      return fill(e.duplicate, { n: error.position, first: error.first });
    case 'reservedByColleague':
      return fill(e.reservedByColleague, { n: error.position, name: error.name });
    case 'otherProduct':
      return fill(e.otherProduct, { n: error.position, keyProduct: error.keyProduct, product: error.product });
    case 'otherTerm':
      return fill(e.otherTerm, { n: error.position, months: m.count(m.t.common.monthCount, error.months), firstMonths: m.count(m.t.common.monthCount, error.firstMonths) });
    default:
      return fill(e[error.code], { n: error.position });
  }
}

/** At most this many messages under one field, so a card with a pasted list stays within Teams' size limit. */
const ERRORS_PER_FIELD = 5;

function fieldErrorTexts(m: Messages, errors: readonly FieldError[]): string[] {
  const shown = errors.slice(0, ERRORS_PER_FIELD).map((error) => keyErrorText(m, error));
  if (errors.length > ERRORS_PER_FIELD) shown.push(m.count(m.t.entry.error.more, errors.length - ERRORS_PER_FIELD));
  return shown;
}

export function entryCard(m: Messages, setupId: string, setup: Setup | undefined, fields: EntryFields, notice?: Notice): AdaptiveCard {
  const values = fields.values.length > 0 ? fields.values.slice(0, MAX_FIELDS) : [''];
  return renderCard('entry', {
    t: m.t.entry,
    notice,
    setupId,
    rev: setup?.rev ?? 0,
    added: keyRows(m, setup?.keys ?? []),
    fields: values.map((value, index) => ({
      id: `key${index}`,
      label: fill(m.t.entry.fieldLabel, { n: index + 1 }),
      value,
      errors: fieldErrorTexts(m, fields.errors?.[index] ?? []),
    })),
    canAddField: values.length < MAX_FIELDS,
  });
}

export function reviewCard(m: Messages, setup: Setup, notice?: Notice, editable = allows(setup, 'editKeys')): AdaptiveCard {
  return renderCard('review', {
    t: m.t.review,
    notice,
    setupId: setup.id,
    rev: setup.rev,
    editable,
    keys: keyRows(m, setup.keys),
    totals: totals(m, setup.keys),
  });
}

/** The card for a setup past the review: the receipt, or its discarded or released end. */
export function setupCard(m: Messages, setup: Setup, options: { notice?: Notice; actions: boolean; continueStep?: boolean }): AdaptiveCard {
  const r = m.t.reserved;
  const closedAt = setup.closedAt ?? setup.updatedAt;
  const [title, text] =
    setup.status === 'discarded'
      ? [r.discardedTitle, fill(r.discardedText, { date: m.date(closedAt) })]
      : setup.status === 'released'
        ? [r.releasedTitle, fill(r.releasedText, { date: m.date(closedAt) })]
        : [r.title, fill(r.intro, { date: m.date(setup.reservedUntil ?? setup.updatedAt) })];
  const reserved = allows(setup, 'account');
  return renderCard('setup', {
    t: m.t,
    notice: options.notice,
    title,
    text,
    keys: keyRows(m, setup.keys),
    totals: totals(m, setup.keys),
    showNext: reserved,
    canContinue: reserved && (options.continueStep ?? options.actions),
    canDiscard: reserved && options.actions,
    setupId: setup.id,
    rev: setup.rev,
  });
}

/** Key entry for an existing customer: for a renewal of one subscription, or for added seats and subscriptions. */
export function keysEntryCard(m: Messages, setupId: string, setup: Setup | undefined, target: SetupTarget, customer: Customer, day: Today, form: { key?: string; errors?: readonly FieldError[] } = {}, notice?: Notice): AdaptiveCard {
  const subscription = target.kind === 'renew' ? customer.subscriptions.find((s) => s.id === target.subscriptionId) : undefined;
  const [title, intro] = subscription
    ? [
        fill(m.t.renew.title, { product: subscription.product, customer: customer.name }),
        subscriptionState(subscription.endDate, day.today, day.lifecycle) === 'active'
          ? fill(m.t.renew.introActive, { end: m.date(subscription.endDate), seats: m.count(m.t.common.seatCount, subscription.seats) })
          : fill(m.t.renew.introLapsed, { state: stateText(m, subscription, day) }),
      ]
    : [fill(m.t.addKeys.title, { customer: customer.name }), fill(m.t.addKeys.intro, { customer: customer.name })];
  return renderCard('keys', {
    t: m.t.keys,
    notice,
    title,
    intro,
    added: keyRows(m, setup?.keys ?? []),
    key: form.key ?? '',
    errors: fieldErrorTexts(m, form.errors ?? []),
    setupId,
    rev: setup?.rev ?? 0,
    kind: target.kind,
    customerId: customer.tenantId,
    subscriptionId: subscription?.id ?? '',
  });
}

/** What the keys will do to the customer's subscriptions, with the button that does it. */
export function keysReviewCard(m: Messages, setup: Setup, customer: Customer, day: Today, notice?: Notice, actions = true): AdaptiveCard {
  const target = setup.target!;
  const { refused, ...change } = target.kind === 'renew' ? renewalChange(m, target.subscriptionId, setup, customer, day) : additionChange(m, setup, customer, day);
  return renderCard('keysReview', {
    t: { review: m.t.review, keys: m.t.keys },
    notice,
    title: m.t.review.title,
    keys: keyRows(m, setup.keys),
    editable: actions && setup.status === 'reviewing',
    ...change,
    canApply: actions && !refused && allows(setup, 'apply'),
    setupId: setup.id,
    rev: setup.rev,
  });
}

type Change = { intro: string; submit: string; facts: Array<{ title: string; value: string }>; lines: string[]; warning?: string; refused?: true };

/** Seats added to the customer's subscriptions and the subscriptions the keys start. */
function additionChange(m: Messages, setup: Setup, customer: Customer, day: Today): Change {
  const a = m.t.addKeys;
  const count = (seats: number) => m.count(m.t.common.seatCount, seats);
  const lines = additionPlan(customer.subscriptions, setup.keys, day.today, day.lifecycle).map((step) =>
    step.kind === 'addSeats'
      ? fill(a.addSeats, { product: step.product, added: count(step.seatsAfter - step.seatsBefore), before: count(step.seatsBefore), after: count(step.seatsAfter), end: m.date(step.endDate) })
      : fill(a.newSubscription, { product: step.product, seats: count(step.seats), term: m.count(m.t.common.monthCount, step.termMonths), start: m.date(step.startDate), end: m.date(step.endDate) }),
  );
  return { intro: fill(a.reviewIntro, { customer: customer.name }), submit: a.submit, facts: [], lines };
}

/** A renewal's seats and end date before and after, a warning when fewer seats than assigned remain, or why it cannot be done. */
function renewalChange(m: Messages, subscriptionId: string, setup: Setup, customer: Customer, day: Today): Change {
  const r = m.t.renew;
  const subscription = customer.subscriptions.find((s) => s.id === subscriptionId);
  const intro = fill(r.reviewIntro, { product: subscription?.product ?? '', customer: customer.name });
  const plan = subscription && subscriptionActions(subscription, day.today, day.lifecycle).canRenew ? renewalPlan(subscription, setup.keys, day.today, day.lifecycle) : undefined;
  if (!plan || 'refused' in plan) {
    const warning = plan ? m.t.keys.refused[plan.refused === 'noKeys' ? 'keyUnavailable' : plan.refused] : r.notAllowed;
    return { intro, submit: r.submit, facts: [], lines: [], warning, refused: true };
  }
  const count = (seats: number) => m.count(m.t.common.seatCount, seats);
  const before = (from: string, to: string) => fill(r.change, { before: from, after: to });
  const short = seatsShort(plan);
  return {
    intro,
    submit: r.submit,
    facts: [
      { title: r.seats, value: before(count(plan.seatsBefore), count(plan.seatsAfter)) },
      { title: r.endDate, value: before(m.date(plan.endBefore), m.date(plan.endAfter)) },
    ],
    lines: [],
    ...(short > 0 && { warning: fill(r.short, { seats: count(plan.seatsAfter), assigned: count(plan.assignedSeats), short: count(short) }) }),
  };
}

/** The card of a setup whose keys are for an existing customer, while it is not yet done. */
function targetedCard(m: Messages, setup: Setup, context: SetupContext, notice: Notice | undefined, actions: boolean): AdaptiveCard | undefined {
  const customer = context.customers.find((c) => c.tenantId === setup.target!.customerId);
  if (!customer) return undefined;
  switch (setup.status) {
    case 'entering':
      return keysEntryCard(m, setup.id, setup, setup.target!, customer, context.day, {}, notice);
    case 'reviewing':
    case 'reserving':
    case 'reserved':
      return keysReviewCard(m, setup, customer, context.day, notice, actions && setup.status !== 'reserving');
    case 'creating':
      return keysReviewCard(m, setup, customer, context.day, notice ?? { text: m.t.keys.applying, style: 'accent' }, false);
    default:
      return undefined;
  }
}

/** The card that shows a setup's current state, whatever step it is in. */
export function currentCard(m: Messages, setup: Setup, context: SetupContext, notice?: Notice, actions = true): AdaptiveCard {
  const targeted = setup.target && targetedCard(m, setup, context, notice, actions);
  if (targeted) return targeted;
  switch (setup.status) {
    case 'entering':
      return actions ? entryCard(m, setup.id, setup, { values: [''] }, notice) : reviewCard(m, setup, notice, false);
    case 'reviewing':
    case 'reserving':
      return reviewCard(m, setup, notice, actions && setup.status === 'reviewing');
    case 'reserved':
      return setup.account
        ? accountReviewCard(m, setup, context.profile, context.day.today, { notice, actions })
        : setupCard(m, setup, { notice, actions });
    case 'creating':
      return accountReviewCard(m, setup, context.profile, context.day.today, { notice: notice ?? { text: m.t.account.creating, style: 'accent' }, actions: false });
    case 'completed': {
      const customer = context.customers.find((c) => c.tenantId === setup.customerId);
      if (customer) return customerCard(m, customer, context.day, { notice });
      return setupCard(m, setup, { notice, actions: false });
    }
    default:
      return setupCard(m, setup, { notice, actions: false });
  }
}

/** Shows why an action was not applied, on top of the state it met. */
export function refusalCard(m: Messages, refusal: Refusal, context: SetupContext): AdaptiveCard {
  const n = m.t.notice;
  switch (refusal.refused) {
    case 'notFound':
      return noticeCard(m, { text: n.notFound, style: 'attention' }, true);
    case 'notOwner':
      // A colleague sees the setup but gets no buttons for it.
      return currentCard(m, refusal.setup, context, { text: fill(n.notOwner, { name: refusal.setup.ownerName }), style: 'warning' }, false);
    case 'stale':
      return currentCard(m, refusal.setup, context, { text: n.stale, style: 'warning' });
    case 'discarded':
      return setupCard(m, refusal.setup, { notice: { text: n.discarded, style: 'warning' }, actions: false });
    case 'released':
      return setupCard(m, refusal.setup, { notice: { text: n.released, style: 'warning' }, actions: false });
    case 'alreadyReserved': {
      const notice = { text: n.alreadyReserved, style: 'good' as const };
      const receipt = refusal.setup.status === 'reserved' && !refusal.setup.account;
      return receipt ? setupCard(m, refusal.setup, { notice, actions: false, continueStep: true }) : currentCard(m, refusal.setup, context, notice);
    }
  }
}
