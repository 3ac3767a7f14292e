/** Typed commands, in English and German; anything else gets the welcome card. */

export type TextCommand = 'help' | 'redeem' | 'cancel';

const words: Record<string, TextCommand> = {
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
};

/** Reads a command from message text; mentions of the bot (in team channels) are ignored. */
export function parseTextCommand(text: string | undefined): TextCommand | undefined {
  const word = (text ?? '')
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .trim()
    .toLowerCase()
    .replace(/[.!?]+$/, '');
  return Object.hasOwn(words, word) ? words[word] : undefined;
}
