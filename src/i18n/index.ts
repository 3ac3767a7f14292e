/** Picks the catalogue for an activity's locale and fills in placeholders. */
import { de } from './de.js';
import { en, type Catalogue } from './en.js';

export type { Catalogue } from './en.js';
export type Language = 'en' | 'de';
export const catalogues: Record<Language, Catalogue> = { en, de };

/** German for any German locale, English otherwise; anything that is not a locale string counts as none. */
export function languageOf(locale: unknown): Language {
  return typeof locale === 'string' && locale.toLowerCase().startsWith('de') ? 'de' : 'en';
}

/**
 * Keeps typed text from forming a markdown link: Teams renders "[text](url)" (and "![text](url)") in
 * messages and card text as a link or an image. A zero-width space between "]" and "(" leaves
 * what was typed visible as it was.
 */
export function defuseLinks(text: string): string {
  return text.replaceAll('](', ']\u200b(');
}

/** Catalogue texts split at their placeholders, each once: a list fills the same few texts on every row. */
const splitTexts = new Map<string, readonly string[]>();
const MAX_SPLIT_TEXTS = 4096;

/** `text` as [literal, name, literal, name, …, literal]. */
function splitAtPlaceholders(text: string): readonly string[] {
  let parts = splitTexts.get(text);
  if (!parts) {
    parts = text.split(/\{(\w+)\}/);
    if (splitTexts.size >= MAX_SPLIT_TEXTS) splitTexts.clear();
    splitTexts.set(text, parts);
  }
  return parts;
}

/**
 * Replaces each `{name}` with its value; values are plain data and are not interpreted further, nor
 * can a name someone typed turn into a link in another person's message.
 */
export function fill(text: string, values: Record<string, string | number> = {}): string {
  const parts = splitAtPlaceholders(text);
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    out += (name in values ? defuseLinks(String(values[name])) : `{${name}}`) + parts[i + 1]!;
  }
  return out;
}

export interface Messages {
  language: Language;
  locale: string;
  /** The reader's time zone (IANA id): moments are shown in it. */
  timeZone: string;
  t: Catalogue;
  /** A count with its noun, e.g. "2 keys". */
  count(forms: { one: string; other: string }, count: number): string;
  /**
   * A calendar day (YYYY-MM-DD) as it is, or the reader's calendar day of a moment (an ISO date
   * and time): "reserved until", "created on", an offer's expiry.
   */
  date(at: string | Date): string;
  /** A moment in the reader's time zone, with the zone named. */
  dateTime(at: string | Date): string;
}

/** Intl objects are costly to make and safe to share, so each is made once per language and zone. */
const formats = new Map<string, Intl.DateTimeFormat>();

function format(tag: string, kind: 'date' | 'dateTime', timeZone: string): Intl.DateTimeFormat {
  const id = `${tag}|${kind}|${timeZone}`;
  let made = formats.get(id);
  if (!made) {
    made =
      kind === 'date'
        ? new Intl.DateTimeFormat(tag, { dateStyle: 'long', timeZone })
        : // dateStyle cannot be combined with timeZoneName, so the fields are spelled out.
          new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone, timeZoneName: 'short' });
    formats.set(id, made);
  }
  return made;
}

/**
 * German writes the day as an ordinal ("2. März 2027"). A text that starts with it is a numbered list
 * in Markdown, as Teams renders card texts ("2." turns into a list marker, or "1." on some clients);
 * a no-break space after the dot, which German typography puts there anyway, is no list marker's space.
 */
function keepDayWithMonth(text: string): string {
  return text.replace(/^(\d{1,2})\. /, '$1.\u00a0');
}

/** Calendar days formatted at most this many per language before the memo starts over. */
const MAX_REMEMBERED_DAYS = 4096;

/** Texts of calendar days per language: the same for every reader, whatever their zone. */
function dayTexts(tag: string): (day: string) => string {
  // Lists show the same few end dates on many rows; a calendar day is formatted once.
  const days = new Map<string, string>();
  return (day) => {
    let text = days.get(day);
    if (text === undefined) {
      if (days.size >= MAX_REMEMBERED_DAYS) days.clear();
      // A calendar day read as UTC midnight and shown in UTC stays the same day.
      text = keepDayWithMonth(format(tag, 'date', 'UTC').format(new Date(day)));
      days.set(day, text);
    }
    return text;
  };
}

const TAGS: Record<Language, string> = { en: 'en-GB', de: 'de-DE' };
const dayText: Record<Language, (day: string) => string> = { en: dayTexts(TAGS.en), de: dayTexts(TAGS.de) };
/** A count's plural form per language, each count looked up once (lists count seats and days on every row). */
function pluralForms(rules: Intl.PluralRules): (count: number) => Intl.LDMLPluralRule {
  const forms = new Map<number, Intl.LDMLPluralRule>();
  return (count) => {
    let form = forms.get(count);
    if (form === undefined) {
      form = rules.select(count);
      if (forms.size < MAX_REMEMBERED_DAYS) forms.set(count, form);
    }
    return form;
  };
}
const plurals: Record<Language, (count: number) => Intl.LDMLPluralRule> = { en: pluralForms(new Intl.PluralRules(TAGS.en)), de: pluralForms(new Intl.PluralRules(TAGS.de)) };

function makeMessages(language: Language, timeZone: string): Messages {
  const tag = TAGS[language];
  const plural = plurals[language];
  return {
    language,
    locale: tag,
    timeZone,
    t: catalogues[language],
    count: (forms, count) => fill(plural(count) === 'one' ? forms.one : forms.other, { count }),
    date: (at) => (typeof at === 'string' && at.length === 10 ? dayText[language](at) : keepDayWithMonth(format(tag, 'date', timeZone).format(new Date(at)))),
    dateTime: (at) => keepDayWithMonth(format(tag, 'dateTime', timeZone).format(new Date(at))),
  };
}

/** Made once per language and zone; the zones in use are few (the profiles' and the clients'). */
const messages = new Map<string, Messages>();

/**
 * The catalogue for a locale, with dates for a reader in `timeZone` (an IANA id the caller has
 * checked: a profile's, or one a Teams client reported); UTC when none is known.
 */
export function messagesFor(locale: unknown, timeZone = 'UTC'): Messages {
  const language = languageOf(locale);
  const id = `${language}|${timeZone}`;
  let made = messages.get(id);
  if (!made) {
    made = makeMessages(language, timeZone);
    messages.set(id, made);
  }
  return made;
}
