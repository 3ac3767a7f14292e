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

export function renderCard(name: CardName, data: object): AdaptiveCard {
  const card = template(name).expand({ $root: data }) as AdaptiveCard;
  defuseMarkdownLinks(card);
  return card;
}
