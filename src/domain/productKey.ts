/**
 * Product keys: 25 letters/digits shown as five groups of five.
 * Pure functions only; nothing here logs or stores a key.
 */

export const KEY_LENGTH = 25;
const GROUP = 5;
/** Microsoft's product-key alphabet (no vowels or look-alikes), used when minting. */
export const PRODUCT_KEY_ALPHABET = 'BCDFGHJKMPQRTVWXY2346789';

export type KeyProblem =
  | { code: 'length'; length: number }
  | { code: 'characters'; characters: string }
  | { code: 'duplicate'; firstPosition: number };

export interface KeyEntry {
  /** 1-based position among all keys typed on the card, as the partner counts them. */
  position: number;
  /** Index of the card field the text came from. */
  field: number;
  /** The normalised key, present only when the format is right. */
  key?: string;
  problem?: KeyProblem;
}

/** Formats 25 characters as XXXXX-XXXXX-XXXXX-XXXXX-XXXXX. */
export function formatKey(compact: string): string {
  return compact.match(/.{1,5}/g)?.join('-') ?? compact;
}

export function lastGroup(key: string): string {
  return key.replace(/-/g, '').slice(-GROUP);
}

/** The only form in which a key is ever shown again after entry. */
export function maskKey(lastFive: string): string {
  return `${Array.from({ length: 4 }, () => '•••••').join('-')}-${lastFive}`;
}

// Any letters and digits (keys of other products use letters outside this bot's alphabet): five
// groups of five with one kind of separator, even with text run on after it; or 25 in a row with a
// digit among them (a run without one is a word, not a key).
const KEY_IN_TEXT = /(?<![A-Z0-9])[A-Z0-9]{5}([-\s])[A-Z0-9]{5}(?:\1[A-Z0-9]{5}){3}|[A-Z0-9]{25}/gi;

/**
 * Text typed where no key belongs (a name, a message) is kept, but a product key pasted into it is
 * masked like any key after entry, so it is never stored or shown again in full.
 */
export function maskKeysInText(text: string): string {
  return text.replace(KEY_IN_TEXT, (key, separator?: string) => (separator || /\d/.test(key) ? maskKey(lastGroup(key.replace(/\s/g, '')).toUpperCase()) : key));
}

/** Checks one typed key; spaces and hyphens are tolerated, case is ignored. */
export function normaliseKey(typed: string): { key: string } | { problem: KeyProblem } {
  const compact = typed.replace(/[\s-]/g, '').toUpperCase();
  const foreign = [...new Set(compact.replace(/[A-Z0-9]/g, ''))];
  if (foreign.length > 0) return { problem: { code: 'characters', characters: foreign.slice(0, 5).join(' ') } };
  if (compact.length !== KEY_LENGTH) return { problem: { code: 'length', length: compact.length } };
  return { key: formatKey(compact) };
}

/**
 * Splits one field's text into typed keys. Lines, commas and semicolons always separate;
 * whitespace separates only between complete keys, because a key may itself be typed
 * with spaces between its groups ("ABCDE FGHIJ …").
 */
export function splitKeys(text: string): string[] {
  const typed: string[] = [];
  for (const chunk of text.split(/[\r\n,;]+/)) {
    let pending: string[] = [];
    let pendingLength = 0;
    for (const token of chunk.split(/\s+/).filter(Boolean)) {
      const length = token.replace(/-/g, '').length;
      if (pendingLength > 0 && pendingLength + length > KEY_LENGTH) {
        typed.push(pending.join(' '));
        pending = [];
        pendingLength = 0;
      }
      pending.push(token);
      pendingLength += length;
      if (pendingLength >= KEY_LENGTH) {
        typed.push(pending.join(' '));
        pending = [];
        pendingLength = 0;
      }
    }
    if (pending.length > 0) typed.push(pending.join(' '));
  }
  return typed;
}

/** Parses every field of a key-entry card into numbered entries, flagging format errors and repeats. */
export function parseKeyFields(fields: readonly string[]): KeyEntry[] {
  const entries: KeyEntry[] = [];
  const firstSeen = new Map<string, number>();
  fields.forEach((text, field) => {
    for (const typed of splitKeys(text)) {
      const position = entries.length + 1;
      const result = normaliseKey(typed);
      if ('problem' in result) {
        entries.push({ position, field, problem: result.problem });
        continue;
      }
      const first = firstSeen.get(result.key);
      if (first !== undefined) {
        entries.push({ position, field, problem: { code: 'duplicate', firstPosition: first } });
        continue;
      }
      firstSeen.set(result.key, position);
      entries.push({ position, field, key: result.key });
    }
  });
  return entries;
}

/** A random key from the product-key alphabet, for the embedded commerce default. */
export function randomKey(randomIndex: (max: number) => number): string {
  let compact = '';
  for (let i = 0; i < KEY_LENGTH; i++) compact += PRODUCT_KEY_ALPHABET[randomIndex(PRODUCT_KEY_ALPHABET.length)];
  return formatKey(compact);
}
