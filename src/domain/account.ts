/**
 * Step 2 of a setup: the customer's account as the partner enters it, and its rules.
 * Pure functions; the commerce backend decides whether a domain is still free.
 */
import { z } from 'zod';
import { lookUpCountry, OFFERED_COUNTRIES } from './countries.js';
import { ACCOUNT_LANGUAGES } from './languages.js';

export const ONMICROSOFT = 'onmicrosoft.com';
export const DOMAIN_PREFIX_MAX = 27;
export const NAME_MAX = 64;
export const ORGANISATION_MAX = 64;

export const AccountSchema = z.object({
  country: z.enum(OFFERED_COUNTRIES),
  organisationName: z.string().min(1).max(ORGANISATION_MAX),
  firstName: z.string().min(1).max(NAME_MAX),
  lastName: z.string().min(1).max(NAME_MAX),
  email: z.string().max(254),
  phone: z.string().max(30),
  domainPrefix: z.string().max(DOMAIN_PREFIX_MAX),
  signInName: z.string().max(64),
  language: z.enum(ACCOUNT_LANGUAGES),
  partnerOfRecord: z.boolean(),
});
export type Account = z.infer<typeof AccountSchema>;

export const ACCOUNT_FIELDS = ['country', 'organisationName', 'firstName', 'lastName', 'email', 'phone', 'domainPrefix', 'signInName', 'language', 'partnerOfRecord'] as const;
export type AccountField = (typeof ACCOUNT_FIELDS)[number];
/** What the partner typed, field by field, before any check. */
export type AccountInput = Partial<Record<AccountField, string>>;

export type AccountError =
  | { field: AccountField; code: 'required' | 'invalid' | 'countryUnknown' | 'emailSyntax' | 'phoneSyntax' | 'domainCharacters' | 'domainHyphen' | 'domainTaken' | 'signInSyntax' }
  | { field: AccountField; code: 'tooLong'; max: number }
  | { field: 'country'; code: 'countryNotOffered'; country: string };

// Plain letters, digits and hyphens; no hyphen at either end (DNS label rules).
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const SIGN_IN = /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/;
const PHONE = /^\+?[0-9 ()./-]+$/;
// Control characters never belong in a name; they would corrupt what Teams and the admin center show.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e]/;

function cleanText(value: string | undefined): string {
  return (value ?? '').trim().replace(/\s+/g, ' ');
}

export function userPrincipalName(signInName: string, domainPrefix: string): string {
  return `${signInName}@${domainPrefix}.${ONMICROSOFT}`;
}

/** Checks every field and returns the account, or every problem found (several per card at once). */
export function validateAccount(input: AccountInput): { account: Account } | { errors: AccountError[] } {
  const errors: AccountError[] = [];
  const text = (field: AccountField, max: number) => {
    const value = cleanText(input[field]);
    if (!value) errors.push({ field, code: 'required' });
    else if (value.length > max) errors.push({ field, code: 'tooLong', max });
    else if (CONTROL.test(value)) errors.push({ field, code: 'invalid' });
    return value;
  };

  const countryText = cleanText(input.country);
  let country: Account['country'] | undefined;
  if (!countryText) errors.push({ field: 'country', code: 'required' });
  else {
    const found = lookUpCountry(countryText);
    if ('offered' in found) country = found.offered;
    else if ('notOffered' in found) errors.push({ field: 'country', code: 'countryNotOffered', country: found.notOffered });
    else errors.push({ field: 'country', code: 'countryUnknown' });
  }

  const organisationName = text('organisationName', ORGANISATION_MAX);
  const firstName = text('firstName', NAME_MAX);
  const lastName = text('lastName', NAME_MAX);

  const email = cleanText(input.email).toLowerCase();
  if (!email) errors.push({ field: 'email', code: 'required' });
  else if (email.length > 254 || !z.email().safeParse(email).success) errors.push({ field: 'email', code: 'emailSyntax' });

  const phone = cleanText(input.phone);
  const digits = phone.replace(/\D/g, '').length;
  if (!phone) errors.push({ field: 'phone', code: 'required' });
  else if (!PHONE.test(phone) || digits < 6 || digits > 15) errors.push({ field: 'phone', code: 'phoneSyntax' });

  const domainPrefix = cleanText(input.domainPrefix).toLowerCase().replace(new RegExp(`\\.${ONMICROSOFT.replace('.', '\\.')}$`), '');
  if (!domainPrefix) errors.push({ field: 'domainPrefix', code: 'required' });
  else if (domainPrefix.length > DOMAIN_PREFIX_MAX) errors.push({ field: 'domainPrefix', code: 'tooLong', max: DOMAIN_PREFIX_MAX });
  else if (!/^[a-z0-9-]+$/.test(domainPrefix)) errors.push({ field: 'domainPrefix', code: 'domainCharacters' });
  else if (!DOMAIN_LABEL.test(domainPrefix)) errors.push({ field: 'domainPrefix', code: 'domainHyphen' });

  const signInName = cleanText(input.signInName).toLowerCase().replace(/@.*$/, '');
  if (!signInName) errors.push({ field: 'signInName', code: 'required' });
  else if (signInName.length > 64) errors.push({ field: 'signInName', code: 'tooLong', max: 64 });
  else if (!SIGN_IN.test(signInName) || signInName.includes('..')) errors.push({ field: 'signInName', code: 'signInSyntax' });

  const language = cleanText(input.language);
  if (!language) errors.push({ field: 'language', code: 'required' });
  else if (!(ACCOUNT_LANGUAGES as readonly string[]).includes(language)) errors.push({ field: 'language', code: 'invalid' });

  if (errors.length > 0) return { errors };
  return {
    account: {
      country: country!,
      organisationName,
      firstName,
      lastName,
      email,
      phone,
      domainPrefix,
      signInName,
      language: language as Account['language'],
      partnerOfRecord: input.partnerOfRecord !== 'false',
    },
  };
}

/** Folds a name into domain-prefix characters: "Müller & Söhne GmbH" → "muellersoehnegmbh". */
function fold(text: string): string {
  return text
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .normalize('NFKD')
    .replace(/[^a-z0-9]/g, '');
}

/**
 * Alternatives to a taken prefix, best first: the whole organisation name, then the prefix with a
 * number. The backend is asked which of these are free.
 */
export function domainCandidates(organisationName: string, takenPrefix: string): string[] {
  const whole = fold(organisationName);
  const base = fold(takenPrefix) || whole.slice(0, DOMAIN_PREFIX_MAX - 1);
  const candidates = [whole, ...Array.from({ length: 9 }, (_, i) => `${base.slice(0, DOMAIN_PREFIX_MAX - 1)}${i + 1}`)];
  return [...new Set(candidates)].filter((c) => c && c !== takenPrefix && c.length <= DOMAIN_PREFIX_MAX && DOMAIN_LABEL.test(c));
}

export type NewUserField = 'firstName' | 'lastName' | 'signInName' | 'product';
export type NewUserError = { field: NewUserField; code: 'required' | 'invalid' | 'signInSyntax' } | { field: NewUserField; code: 'tooLong'; max: number };

/** Checks a user the partner adds for a customer: the same name and sign-in rules as the admin's. */
export function validateNewUser(input: Partial<Record<NewUserField, string>>): { user: Record<NewUserField, string> } | { errors: NewUserError[] } {
  const errors: NewUserError[] = [];
  const name = (field: 'firstName' | 'lastName') => {
    const value = cleanText(input[field]);
    if (!value) errors.push({ field, code: 'required' });
    else if (value.length > NAME_MAX) errors.push({ field, code: 'tooLong', max: NAME_MAX });
    else if (CONTROL.test(value)) errors.push({ field, code: 'invalid' });
    return value;
  };
  const firstName = name('firstName');
  const lastName = name('lastName');
  const signInName = cleanText(input.signInName).toLowerCase().replace(/@.*$/, '');
  if (!signInName) errors.push({ field: 'signInName', code: 'required' });
  else if (signInName.length > 64) errors.push({ field: 'signInName', code: 'tooLong', max: 64 });
  else if (!SIGN_IN.test(signInName) || signInName.includes('..')) errors.push({ field: 'signInName', code: 'signInSyntax' });
  const product = cleanText(input.product);
  if (!product) errors.push({ field: 'product', code: 'required' });
  return errors.length > 0 ? { errors } : { user: { firstName, lastName, signInName, product } };
}
