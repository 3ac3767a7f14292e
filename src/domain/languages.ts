/** Languages a new customer account can be set up in (BCP 47 codes); names come from Intl. */
export const ACCOUNT_LANGUAGES = ['de', 'en', 'fr', 'it', 'es', 'nl', 'pt', 'pl', 'cs', 'da', 'sv', 'nb', 'fi', 'tr', 'ja', 'zh'] as const;
export type AccountLanguage = (typeof ACCOUNT_LANGUAGES)[number];

const choices = new Map<string, ReadonlyArray<Readonly<{ code: AccountLanguage; name: string }>>>();

/** The languages with their names in `uiLanguage`, made once per language (Intl.DisplayNames is costly to make). */
export function languageChoices(uiLanguage: string): ReadonlyArray<Readonly<{ code: AccountLanguage; name: string }>> {
  let list = choices.get(uiLanguage);
  if (!list) {
    const names = new Intl.DisplayNames([uiLanguage], { type: 'language' });
    list = Object.freeze(ACCOUNT_LANGUAGES.map((code) => Object.freeze({ code, name: names.of(code) ?? code })));
    choices.set(uiLanguage, list);
  }
  return list;
}
