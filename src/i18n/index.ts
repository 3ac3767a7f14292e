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

/**
 * Replaces each `{name}` with its value; values are plain data and are not interpreted further, nor
 * can a name someone typed turn into a link in another person's message.
 */
export function fill(text: string, values: Record<string, string | number> = {}): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? defuseLinks(String(values[name])) : whole));
}

export interface Messages {
  language: Language;
  locale: string;
  t: Catalogue;
  /** A count with its noun, e.g. "2 keys". */
  count(forms: { one: string; other: string }, count: number): string;
  date(iso: string | Date, timeZone?: string): string;
  dateTime(iso: string | Date, timeZone?: string): string;
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

/** Calendar days formatted at most this many per language before the memo starts over. */
const MAX_REMEMBERED_DAYS = 4096;

function makeMessages(language: Language): Messages {
  const tag = language === 'de' ? 'de-DE' : 'en-GB';
  const plural = new Intl.PluralRules(tag);
  // Lists show the same few end dates on many rows; a calendar day (YYYY-MM-DD) is formatted once.
  const days = new Map<string, string>();
  const date = (at: string | Date, timeZone: string): string => {
    if (typeof at !== 'string' || at.length !== 10) return format(tag, 'date', timeZone).format(new Date(at));
    const id = `${timeZone}|${at}`;
    let text = days.get(id);
    if (text === undefined) {
      if (days.size >= MAX_REMEMBERED_DAYS) days.clear();
      text = format(tag, 'date', timeZone).format(new Date(at));
      days.set(id, text);
    }
    return text;
  };
  return {
    language,
    locale: tag,
    t: catalogues[language],
    count: (forms, count) => fill(plural.select(count) === 'one' ? forms.one : forms.other, { count }),
    date: (at, timeZone = 'UTC') => date(at, timeZone),
    dateTime: (at, timeZone = 'UTC') => format(tag, 'dateTime', timeZone).format(new Date(at)),
  };
}

const messages: Record<Language, Messages> = { en: makeMessages('en'), de: makeMessages('de') };

export function messagesFor(locale: unknown): Messages {
  return messages[languageOf(locale)];
}
