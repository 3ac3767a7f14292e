/** Typed commands, in English and German; anything else gets the welcome card. */
import { anyone, beforeRoles, customerAdmin, staff, type Permission } from '../domain/roles.js';

export type TextCommand =
  | { command: 'help' | 'redeem' | 'cancel' | 'profile' | 'removeAccess' | 'reminders' | 'remindersHere' | 'roles' | 'partnerActivity' }
  | { command: 'history'; customer: string }
  | { command: 'customers'; filter: string }
  | { command: 'customer' | 'delegate' | 'addUser' | 'addKeys'; name: string };

const words: Record<string, 'help' | 'redeem' | 'cancel' | 'profile' | 'customers' | 'customer' | 'delegate' | 'reminders' | 'roles' | 'history'> = {
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
  roles: 'roles',
  rollen: 'roles',
  history: 'history',
  verlauf: 'history',
};

/** Phrases of several words, matched first. */
const phrases: Array<[RegExp, (match: RegExpMatchArray) => TextCommand]> = [
  [/^(remove partner access|partnerzugriff entfernen)$/i, () => ({ command: 'removeAccess' })],
  [/^(send reminders here|erinnerungen hierher senden)$/i, () => ({ command: 'remindersHere' })],
  [/^(partner activity|partneraktivität|partneraktivitaet)$/i, () => ({ command: 'partnerActivity' })],
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
  if (command === 'history') return { command, customer: argument };
  if (command === 'customer' || command === 'delegate') return argument ? { command, name: argument } : { command: 'customers', filter: '' };
  if (command && !argument) return { command };
  return undefined;
}

/**
 * Typed commands that run no card verb, with who may use them; the others (customers, customer,
 * delegate, add user, redeem, profile, roles, history, partner activity) are checked as the verb
 * whose card they show.
 */
export const textPermissions: Permission[] = [
  { verb: 'help', access: anyone, does: 'Typed: help, the welcome card' },
  { verb: 'cancel', access: staff(['sales'], beforeRoles), does: 'Typed: cancel your latest unfinished setup' },
  { verb: 'reminders', access: staff(['sales'], beforeRoles), does: 'Typed: the reminders of the next 60 days' },
  { verb: 'send reminders here', access: staff(['sales'], beforeRoles), does: 'Typed in a team channel: send reminders there too' },
  { verb: 'remove partner access', access: customerAdmin, does: "Typed in the customer's tenant: end delegated administration" },
];

/** The verb a typed command is checked as. */
export function verbOfCommand(command: TextCommand | undefined): string {
  if (!command) return 'help';
  switch (command.command) {
    case 'redeem':
      return 'redeem.start';
    case 'profile':
      return 'profile.show';
    case 'customers':
      return 'customers.list';
    case 'customer':
      return 'customer.open';
    case 'delegate':
      return 'delegation.compose';
    case 'addUser':
      return 'user.compose';
    case 'addKeys':
      return 'keys.compose';
    case 'roles':
      return 'roles.show';
    case 'history':
      return 'history.show';
    case 'partnerActivity':
      return 'activity.show';
    case 'remindersHere':
      return 'send reminders here';
    case 'removeAccess':
      return 'remove partner access';
    default:
      return command.command;
  }
}
