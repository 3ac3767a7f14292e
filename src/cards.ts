/**
 * Renders the Adaptive Card templates in cards/*.json with adaptivecards-templating.
 * Everything a user typed reaches a card only as template data, never as template source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ACData from 'adaptivecards-templating';
import type { Notice } from './bot/notice.js';
import type { CountryCode } from './domain/countries.js';
import type { AccountLanguage } from './domain/languages.js';
import type { TimeZoneChoice } from './domain/timeZones.js';
import { defuseLinks, type Messages } from './i18n/index.js';
import { cardsDir } from './paths.js';

export type CardName = keyof CardData;
/** Every template in cards/, one for each data type below (a test checks the folder holds no other). */
export const CARD_NAMES = ['welcome', 'entry', 'review', 'setup', 'notice', 'account', 'accountReview', 'customer', 'customers', 'profile', 'delegationCompose', 'offer', 'accessEnd', 'userAdd', 'reminder', 'keys', 'keysReview', 'billing', 'reminders', 'roles', 'history'] as const satisfies readonly CardName[];
export type AdaptiveCard = Record<string, unknown> & { type: 'AdaptiveCard' };

type T = Messages['t'];
type Fact = { title: string; value: string };
type KeyRow = { id: string; masked: string; product: string; seats: string; term: string };
/** What most cards carry: their catalogue section and an optional notice on top. */
type Card<Section> = { t: Section; notice?: Notice };

/** The data each template in cards/ expands; its `${…}` expressions read these fields. */
export interface CardData {
  notice: { notice: Notice; showHelp: boolean; helpTitle: string };
  welcome: Card<T['welcome']> & {
    unfinished: Array<{ mine: boolean; text: string; continueTitle: string; setupId: string; rev: number }>;
    profileMissing: boolean;
    hasCustomers: boolean;
  };
  entry: Card<T['entry']> & {
    setupId: string;
    rev: number;
    added: KeyRow[];
    fields: Array<{ id: string; label: string; value: string; errors: string[] }>;
    canAddField: boolean;
  };
  review: Card<T['review']> & { setupId: string; rev: number; editable: boolean; keys: KeyRow[]; totals: string[] };
  setup: Card<T> & { title: string; text: string; keys: KeyRow[]; totals: string[]; showNext: boolean; canContinue: boolean; canDiscard: boolean; setupId: string; rev: number };
  account: Card<T['account']> & {
    setupId: string;
    rev: number;
    values: Record<string, string>;
    errors: Record<string, string[]>;
    countries: ReadonlyArray<Readonly<{ code: CountryCode; name: string }>>;
    languages: ReadonlyArray<Readonly<{ code: AccountLanguage; name: string }>>;
    domainHint: string;
    signInHint: string;
    porTitle: string;
    suggestions: Array<{ domain: string; title: string }>;
  };
  accountReview: Card<T['account']> & { setupId: string; rev: number; facts: Fact[]; subscriptions: string[]; actions: boolean };
  customer: Card<T> & {
    heading?: string;
    intro?: string;
    /** The admin's temporary password, in the one card that shows it. */
    password?: { title: string; value: string; note: string };
    name: string;
    tenantId: string;
    facts: Fact[];
    subscriptionRows: Array<{ id: string; text: string; state: string; canRenew: boolean; canSwitch: boolean }>;
    actions: boolean;
    relationships: Array<{ id: string; name: string; line: string; canEnd: boolean }>;
    canAddUser: boolean;
    /** A fresh id for a press of "Reset admin password" on this card, so a second press of it makes no second password. */
    resetRequestId: string;
    /** The customer's last audit entries, for Admin agents. */
    history?: string[];
  };
  customers: Card<T['customers']> & {
    filter: string;
    page: number;
    hasNext: boolean;
    showing?: string;
    rows: Array<{ tenantId: string; name: string; line: string; subscriptions: string[]; delegation: string }>;
  };
  profile: Card<T['profile']> & { then: string; updated?: string; values: Record<string, string>; errors: Record<string, string[]>; timeZones: TimeZoneChoice[] };
  delegationCompose: Card<T['delegation']> & {
    title: string;
    warning?: string;
    values: { displayName: string; templateId: string; roleIds: string; duration: string; autoExtendDuration: string; message: string };
    errors: { displayName: string[]; roles: string[]; duration: string[]; autoExtendDuration: string[] };
    templates: Array<{ id: string; title: string }>;
    roles: Array<{ id: string; title: string }>;
    offerAutoExtend: boolean;
    customerId: string;
    requestId: string;
  };
  offer: Card<T['offer']> & {
    title: string;
    name: string;
    intro: string;
    message: string;
    roles: string[];
    term: string;
    warning?: string;
    expires: string;
    pending: boolean;
    outcome?: string;
    outcomeColor: string;
    offerId: string;
  };
  accessEnd: Card<T['offer']> & { title: string; text: string; relationships: Array<{ id: string; line: string }>; canEndAll: boolean };
  userAdd: Card<T['addUser']> & {
    title: string;
    signInHint: string;
    values: { firstName: string; lastName: string; signInName: string; product: string };
    errors: { name: string[]; signInName: string[]; product: string[] };
    licenses: Array<{ product: string; title: string }>;
    customerId: string;
    requestId: string;
  };
  reminder: Card<T['reminder']> & {
    title: string;
    facts: Fact[];
    after: string;
    customerId: string;
    subscriptionId: string;
    key: string;
    canSnooze: boolean;
    canSwitch: boolean;
    canRenew: boolean;
    renewInChat?: string;
  };
  /** Keys for an existing customer: to renew one subscription (`kind` renew) or to add seats and subscriptions. */
  keys: Card<T['keys']> & {
    title: string;
    intro: string;
    added: KeyRow[];
    key: string;
    errors: string[];
    setupId: string;
    rev: number;
    kind: 'renew' | 'add';
    customerId: string;
    subscriptionId: string;
  };
  keysReview: Card<Pick<T, 'review' | 'keys'>> & {
    title: string;
    intro: string;
    keys: KeyRow[];
    editable: boolean;
    facts: Fact[];
    lines: string[];
    warning?: string;
    canApply: boolean;
    submit: string;
    setupId: string;
    rev: number;
  };
  billing: Card<T['billing']> & {
    title: string;
    explain: string;
    scheduleTitle: string;
    canSchedule: boolean;
    canUnschedule: boolean;
    canSwitch: boolean;
    customerId: string;
    subscriptionId: string;
  };
  reminders: Card<T['reminders']> & {
    range: string;
    ranges: Array<{ value: string; title: string }>;
    heading: string;
    empty?: string;
    showing?: string;
    page: number;
    hasNext: boolean;
    lines: string[];
  };
  /** People met in the tenant, each with a picker of `choices` named `field`. */
  roles: Card<T['roles']> & { people: Array<{ userId: string; name: string; current: string; field: string; value: string }>; choices: Array<{ title: string; value: string }> };
  /** A page of the audit trail, newest first; `verb` pages on (history.show, activity.show). */
  history: Card<T['audit']> & {
    title: string;
    verb: string;
    filters: boolean;
    customer: string;
    person: string;
    rows: Array<{ line: string; detail: string }>;
    empty: boolean;
    hasOlder: boolean;
    older: number;
    paged: boolean;
  };
}

/*
 * Cards built in code instead of expanding their template: the customer list is the hottest large
 * card, and expanding its template evaluates every expression of every row on every turn (about
 * two thirds of a list turn's CPU in the profile); the review card answers every key step (a
 * tenth of a `redeem.next` turn's CPU). Each view builds exactly what its template in
 * cards/ expands to for the same data (test/cardViews.test.ts compares the JSON of both for varied
 * and hostile data); the template stays the reference. Typed text is only ever placed as a value
 * here, never read as an expression.
 */
const SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

/** A notice on top of a card, as the templates' first element. */
function noticeBlock(notice: Notice): Record<string, unknown> {
  return { type: 'Container', style: notice.style, items: [{ type: 'TextBlock', text: notice.text, wrap: true }] };
}

function listAction(title: string, page: number): Record<string, unknown> {
  return { type: 'Action.Execute', title, verb: 'customers.list', data: { page } };
}

/** cards/customers.json */
export function customersView(data: CardData['customers']): AdaptiveCard {
  const { t } = data;
  const body: unknown[] = [];
  if (data.notice !== undefined) body.push(noticeBlock(data.notice));
  body.push(
    { type: 'TextBlock', text: t.title, size: 'Large', weight: 'Bolder', wrap: true },
    {
      type: 'ColumnSet',
      columns: [
        { type: 'Column', width: 'stretch', items: [{ type: 'Input.Text', id: 'filter', placeholder: t.filter, value: data.filter, maxLength: 100 }] },
        { type: 'Column', width: 'auto', items: [{ type: 'ActionSet', actions: [listAction(t.apply, 1)] }] },
      ],
    },
  );
  if (data.showing !== undefined) body.push({ type: 'TextBlock', text: data.showing, isSubtle: true, wrap: true });
  for (const row of data.rows) {
    body.push({
      type: 'Container',
      separator: true,
      items: [
        { type: 'TextBlock', text: row.name, weight: 'Bolder', wrap: true },
        { type: 'TextBlock', text: row.line, isSubtle: true, wrap: true, spacing: 'None' },
        ...row.subscriptions.map((text) => ({ type: 'TextBlock', text, wrap: true, spacing: 'None', size: 'Small' })),
        { type: 'TextBlock', text: row.delegation, wrap: true, spacing: 'None', size: 'Small' },
        { type: 'ActionSet', actions: [{ type: 'Action.Execute', title: t.open, verb: 'customer.open', associatedInputs: 'none', data: { tenantId: row.tenantId } }] },
      ],
    });
  }
  const actions: unknown[] = [];
  if (data.page > 1) actions.push(listAction(t.previous, data.page - 1));
  if (data.hasNext) actions.push(listAction(t.next, data.page + 1));
  return { type: 'AdaptiveCard', $schema: SCHEMA, version: '1.5', body, actions };
}

/** cards/review.json: the answer to every key step, a new setup's each time (so the render memo never holds it). */
export function reviewView(data: CardData['review']): AdaptiveCard {
  const { t, setupId, rev, editable } = data;
  const body: unknown[] = [];
  if (data.notice !== undefined) body.push(noticeBlock(data.notice));
  body.push({ type: 'TextBlock', text: t.title, size: 'Large', weight: 'Bolder', wrap: true }, { type: 'TextBlock', text: t.intro, wrap: true });
  for (const key of data.keys) {
    body.push({
      type: 'Container',
      separator: true,
      items: [
        { type: 'TextBlock', text: key.masked, fontType: 'Monospace', weight: 'Bolder', wrap: true },
        {
          type: 'FactSet',
          spacing: 'Small',
          facts: [
            { title: t.product, value: key.product },
            { title: t.seats, value: key.seats },
            { title: t.term, value: key.term },
          ],
        },
        ...(editable ? [{ type: 'ActionSet', actions: [{ type: 'Action.Execute', title: t.remove, verb: 'redeem.removeKey', associatedInputs: 'none', data: { setupId, rev, keyId: key.id } }] }] : []),
      ],
    });
  }
  body.push({
    type: 'Container',
    separator: true,
    items: [{ type: 'TextBlock', text: t.totalsTitle, weight: 'Bolder', wrap: true }, ...data.totals.map((text) => ({ type: 'TextBlock', text, wrap: true, spacing: 'Small' }))],
  });
  const step = (title: string, verb: string, style?: string) => ({ type: 'Action.Execute', title, verb, ...(style && { style }), associatedInputs: 'none', data: { setupId, rev } });
  const actions = editable ? [step(t.confirm, 'redeem.confirm', 'positive'), step(t.back, 'redeem.back'), step(t.cancel, 'setup.discard')] : [];
  return { type: 'AdaptiveCard', $schema: SCHEMA, version: '1.5', body, actions };
}

const templates = new Map<CardName, ACData.Template>();

function template(name: CardName): ACData.Template {
  let loaded = templates.get(name);
  if (!loaded) {
    loaded = new ACData.Template(JSON.parse(readFileSync(join(cardsDir, `${name}.json`), 'utf8')));
    templates.set(name, loaded);
  }
  return loaded;
}

/**
 * Teams renders markdown in TextBlocks and in facts, so a name someone typed, such as
 * "[click](https://…)", would show as a link in another person's card. Every such text of a
 * rendered card is defused here, whichever template or view it came from; input values keep what
 * was typed, so a form sent back stores it unchanged.
 */
function defuseMarkdownLinks(node: unknown): void {
  if (Array.isArray(node)) node.forEach(defuseMarkdownLinks);
  else if (node && typeof node === 'object') {
    const element = node as Record<string, unknown>;
    if (element.type === 'TextBlock' && typeof element.text === 'string') element.text = defuseLinks(element.text);
    if (element.type === 'FactSet' && Array.isArray(element.facts)) {
      for (const fact of element.facts as Array<Record<string, unknown>>) {
        for (const field of ['title', 'value']) if (typeof fact[field] === 'string') fact[field] = defuseLinks(fact[field]);
      }
    }
    Object.values(element).forEach(defuseMarkdownLinks);
  }
}

/**
 * Cards already rendered, as JSON text, by card name and data (most recently used last): expanding a
 * template evaluates every expression in it, and many turns render a card from the same few data
 * (the welcome card of a partner in one state, a notice). Expansion depends on nothing but the
 * template and the data, so equal data gives an equal card; each caller gets a card of its own.
 */
const rendered = new Map<string, string>();
const MAX_RENDERED = 256;
/** Data larger than this (a page of customers, the whole catalogue) rarely repeats: not kept. */
const MAX_KEPT_DATA = 4096;

/** Cards built in code (above), each equal to its template's expansion. */
const views: { [N in CardName]?: (data: CardData[N]) => AdaptiveCard } = { customers: customersView, review: reviewView };

/** The template's own expansion, whether or not the card has a view in code: the reference a view is tested against. */
export function expandTemplate<N extends CardName>(name: N, data: CardData[N]): AdaptiveCard {
  const card = template(name).expand({ $root: data }) as AdaptiveCard;
  defuseMarkdownLinks(card);
  return card;
}

function expand<N extends CardName>(name: N, data: CardData[N]): AdaptiveCard {
  const view = views[name];
  if (!view) return expandTemplate(name, data);
  const card = view(data);
  defuseMarkdownLinks(card);
  return card;
}

/** `secret`: the data holds something shown once (a temporary password), which no memo may keep. */
export function renderCard<N extends CardName>(name: N, data: CardData[N], secret = false): AdaptiveCard {
  // A view in code costs less than the memo's JSON round trip.
  if (secret || views[name]) return expand(name, data);
  const json = JSON.stringify(data);
  if (json.length > MAX_KEPT_DATA) return expand(name, data);
  const key = `${name} ${json}`;
  const kept = rendered.get(key);
  if (kept !== undefined) {
    rendered.delete(key);
    rendered.set(key, kept);
    return JSON.parse(kept) as AdaptiveCard;
  }
  const card = expand(name, data);
  rendered.set(key, JSON.stringify(card));
  if (rendered.size > MAX_RENDERED) rendered.delete(rendered.keys().next().value!);
  return card;
}
