/** Languages a new customer account can be set up in (BCP 47 codes); names come from Intl. */
export const ACCOUNT_LANGUAGES = ['de', 'en', 'fr', 'it', 'es', 'nl', 'pt', 'pl', 'cs', 'da', 'sv', 'nb', 'fi', 'tr', 'ja', 'zh'] as const;
export type AccountLanguage = (typeof ACCOUNT_LANGUAGES)[number];

export function languageChoices(uiLanguage: string): Array<{ code: AccountLanguage; name: string }> {
  const names = new Intl.DisplayNames([uiLanguage], { type: 'language' });
  return ACCOUNT_LANGUAGES.map((code) => ({ code, name: names.of(code) ?? code }));
}
