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
// groups of five split by hyphens or white space, or 25 in a row with a digit among them (a run
// without one is a word). Text glued before a key does not hide it: whoever reads the file sees
// the 25 characters all the same.
const KEY = String.raw`[A-Z0-9]{5}(?:[-\s]+[A-Z0-9]{5}){4}|(?=[A-Z]{0,24}\d)[A-Z0-9]{25}`;
const KEY_ANYWHERE = new RegExp(KEY, 'gi');
const KEY_HERE = new RegExp(KEY, 'iy');

/** Prose can hold five words of five letters; a key has a digit or hyphens among its groups. */
const looksLikeKey = (candidate: string) => /[\d-]/.test(candidate);

/**
 * When `found` begins inside a word, a key that begins at one of its later groups: in "Contoso
 * BCDFG-…" the first match is "ntoso BCDFG-…", and masking the key that follows instead keeps the
 * name whole and shows only the key's last group.
 */
function keyAtLaterGroup(text: string, found: RegExpExecArray): RegExpExecArray | undefined {
  if (!/[A-Z0-9]/i.test(text[found.index - 1] ?? '')) return undefined;
  const end = found.index + found[0].length;
  for (let at = found.index + 1; at < end; at++) {
    if (!/[-\s]/.test(text[at - 1]!) || /[-\s]/.test(text[at]!)) continue;
    KEY_HERE.lastIndex = at;
    const key = KEY_HERE.exec(text);
    if (key && looksLikeKey(key[0])) return key;
  }
  return undefined;
}

function maskOnce(text: string): string {
  const candidates = new RegExp(KEY_ANYWHERE);
  let masked = '';
  let from = 0;
  for (let found = candidates.exec(text); found; found = candidates.exec(text)) {
    if (!looksLikeKey(found[0])) {
      // Words, not a key; but a key may begin inside them.
      candidates.lastIndex = found.index + 1;
      continue;
    }
    const key = keyAtLaterGroup(text, found) ?? found;
    masked += text.slice(from, key.index) + maskKey(lastGroup(key[0].replace(/\s/g, '')).toUpperCase());
    from = candidates.lastIndex = key.index + key[0].length;
  }
  return masked + text.slice(from);
}

/**
 * Text typed where no key belongs (a name, a message) is kept, but a product key pasted into it is
 * masked like any key after entry, so it is never stored or shown again in full. Masking repeats
 * until nothing changes, because the last group a mask shows can complete a key with the text after
 * it (four groups of other text, then a key: the key's first group is what stays visible).
 */
export function maskKeysInText(text: string): string {
  let masked = maskOnce(text);
  while (masked !== text) {
    text = masked;
    masked = maskOnce(text);
  }
  return masked;
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
