/**
 * The admin's temporary password: what Microsoft 365 accepts as a password, and how the embedded
 * commerce default makes one. Pure: the randomness is handed in (crypto's randomInt in the backend).
 */

/** Microsoft Entra ID: 8 to 256 characters, with at least three of upper case, lower case, digits and symbols. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
// Symbols Entra ID allows that are also easy to read out and type; look-alikes (0 O, 1 l I) are left out above.
const SYMBOLS = '!#$%+=?@';
const CLASSES = [UPPER, LOWER, DIGITS, SYMBOLS];

export const TEMPORARY_PASSWORD_LENGTH = 16;

/** Whether Microsoft 365 would take this password. */
export function meetsComplexity(password: string): boolean {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX || /\s/.test(password)) return false;
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((kind) => kind.test(password)).length;
  return kinds >= 3;
}

/** A temporary password with a character of every class, the rest drawn from all of them, in random order. */
export function temporaryPassword(randomIndex: (max: number) => number): string {
  const all = CLASSES.join('');
  const chars = CLASSES.map((set) => set[randomIndex(set.length)]!);
  while (chars.length < TEMPORARY_PASSWORD_LENGTH) chars.push(all[randomIndex(all.length)]!);
  // Fisher–Yates, so the guaranteed characters are not always first.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomIndex(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
