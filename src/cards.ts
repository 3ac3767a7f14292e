/**
 * Renders the Adaptive Card templates in cards/*.json with adaptivecards-templating.
 * Everything a user typed reaches a card only as template data, never as template source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ACData from 'adaptivecards-templating';
import { defuseLinks } from './i18n/index.js';
import { cardsDir } from './paths.js';

export const CARD_NAMES = ['welcome', 'entry', 'review', 'setup', 'notice', 'account', 'accountReview', 'customer', 'customers', 'profile', 'delegationCompose', 'offer', 'accessEnd', 'userAdd', 'reminder', 'renew', 'billing', 'reminders'] as const;
export type CardName = (typeof CARD_NAMES)[number];
export type AdaptiveCard = Record<string, unknown> & { type: 'AdaptiveCard' };

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

function expand(name: CardName, data: object): AdaptiveCard {
  const card = template(name).expand({ $root: data }) as AdaptiveCard;
  defuseMarkdownLinks(card);
  return card;
}

export function renderCard(name: CardName, data: object): AdaptiveCard {
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
