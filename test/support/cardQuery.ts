/** Reads rendered Adaptive Cards the way a person looks at them: texts, inputs and buttons. */

export type Card = Record<string, any>;

function walk(node: unknown, visit: (item: Record<string, any>) => void): void {
  if (Array.isArray(node)) node.forEach((child) => walk(child, visit));
  else if (node && typeof node === 'object') {
    visit(node as Record<string, any>);
    Object.values(node).forEach((child) => walk(child, visit));
  }
}

/** The texts a client renders as markdown: TextBlocks, and the titles and values of facts. */
export function markdownTexts(card: Card): string[] {
  const texts: string[] = [];
  walk(card, (item) => {
    if (item.type === 'TextBlock') texts.push(String(item.text));
    if (item.type === 'FactSet') for (const fact of item.facts ?? []) texts.push(String(fact.title), String(fact.value));
  });
  return texts;
}

/** All visible text of a card, joined, for assertions like "mentions key 2". */
export function cardText(card: Card): string {
  const parts: string[] = [];
  walk(card, (item) => {
    if (item.type === 'TextBlock') parts.push(String(item.text));
    if (typeof item.title === 'string' && typeof item.value === 'string') parts.push(`${item.title}: ${item.value}`);
  });
  return parts.join('\n');
}

export function buttons(card: Card): Array<Record<string, any>> {
  const found: Array<Record<string, any>> = [];
  walk(card, (item) => {
    if (typeof item.type === 'string' && item.type.startsWith('Action.')) found.push(item);
  });
  return found;
}

export function button(card: Card, title: string, nth = 0): Record<string, any> {
  const matches = buttons(card).filter((action) => action.title === title);
  if (!matches[nth]) throw new Error(`No button "${title}" (#${nth}) on the card. Buttons: ${buttons(card).map((a) => a.title).join(', ')}`);
  return matches[nth]!;
}

export function inputs(card: Card): Record<string, string> {
  const values: Record<string, string> = {};
  walk(card, (item) => {
    if (typeof item.type === 'string' && item.type.startsWith('Input.')) values[item.id] = item.value ?? '';
  });
  return values;
}
