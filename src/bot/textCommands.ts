/** Typed commands, in English and German; anything else gets the welcome card. */

export type TextCommand =
  | { command: 'help' | 'redeem' | 'cancel' | 'profile' | 'removeAccess' | 'reminders' | 'remindersHere' }
  | { command: 'customers'; filter: string }
  | { command: 'customer' | 'delegate' | 'addUser' | 'addKeys'; name: string };

const words: Record<string, 'help' | 'redeem' | 'cancel' | 'profile' | 'customers' | 'customer' | 'delegate' | 'reminders'> = {
  help: 'help',
  hilfe: 'help',
  hello: 'help',
  hi: 'help',
  hallo: 'help',
  start: 'help',
  redeem: 'redeem',
  'einlösen': 'redeem',
  einloesen: 'redeem',
  cancel: 'cancel',
  abbrechen: 'cancel',
  profile: 'profile',
  profil: 'profile',
  customers: 'customers',
  kunden: 'customers',
  customer: 'customer',
  kunde: 'customer',
  delegate: 'delegate',
  delegieren: 'delegate',
  reminders: 'reminders',
  erinnerungen: 'reminders',
};

/** Phrases of several words, matched first. */
const phrases: Array<[RegExp, (match: RegExpMatchArray) => TextCommand]> = [
  [/^(remove partner access|partnerzugriff entfernen)$/i, () => ({ command: 'removeAccess' })],
  [/^(send reminders here|erinnerungen hierher senden)$/i, () => ({ command: 'remindersHere' })],
  [/^(?:add user(?: to)?|benutzer hinzufügen(?: zu)?)\s+(.+)$/i, (match) => ({ command: 'addUser', name: match[1]! })],
  [/^(?:add (?:product )?keys(?: to| for)?|product keys hinzufügen(?: zu| für)?)\s+(.+)$/i, (match) => ({ command: 'addKeys', name: match[1]! })],
];

/** Reads a command from message text; mentions of the bot (in team channels) are ignored. */
export function parseTextCommand(text: string | undefined): TextCommand | undefined {
  const clean = (typeof text === 'string' ? text : '')
    .slice(0, 500)
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/[.!?]+$/, '');
  for (const [pattern, command] of phrases) {
    const match = clean.match(pattern);
    if (match) return command(match);
  }
  const [first = '', ...rest] = clean.split(' ');
  const command = Object.hasOwn(words, first.toLowerCase()) ? words[first.toLowerCase()] : undefined;
  const argument = rest.join(' ');
  if (command === 'customers') return { command, filter: argument };
  if (command === 'customer' || command === 'delegate') return argument ? { command, name: argument } : { command: 'customers', filter: '' };
  if (command && !argument) return { command };
  return undefined;
}
