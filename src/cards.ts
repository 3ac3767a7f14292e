/**
 * Renders the Adaptive Card templates in cards/*.json with adaptivecards-templating.
 * Everything a user typed reaches a card only as template data, never as template source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ACData from 'adaptivecards-templating';
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

export function renderCard(name: CardName, data: object): AdaptiveCard {
  return template(name).expand({ $root: data }) as AdaptiveCard;
}
