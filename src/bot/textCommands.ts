/** Typed commands, in English and German; anything else gets the welcome card. */

export type TextCommand =
  | { command: 'help' | 'redeem' | 'cancel' | 'profile' }
  | { command: 'customers'; filter: string }
  | { command: 'customer'; name: string };

const words: Record<string, TextCommand['command']> = {
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
};

/** Reads a command from message text; mentions of the bot (in team channels) are ignored. */
export function parseTextCommand(text: string | undefined): TextCommand | undefined {
  const clean = (typeof text === 'string' ? text : '')
    .slice(0, 500)
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .trim()
    .replace(/[.!?]+$/, '');
  const [first = '', ...rest] = clean.split(/\s+/);
  const command = Object.hasOwn(words, first.toLowerCase()) ? words[first.toLowerCase()] : undefined;
  const argument = rest.join(' ');
  if (command === 'customers') return { command, filter: argument };
  if (command === 'customer') return argument ? { command, name: argument } : { command: 'customers', filter: '' };
  if (command && !argument) return { command };
  return undefined;
}
