/**
 * Countries and regions where the service is offered, by ISO 3166-1 alpha-2 code: the one place
 * this list lives. Names come from Intl in the partner's language, so the list holds codes only.
 *
 * The list is Microsoft's markets for partner-sold Microsoft 365 (Partner Center, "Cloud Solution
 * Provider program regional markets and currencies", learn.microsoft.com/partner-center/regional-authorization-overview,
 * 2021 revision), with two changes: mainland China (CN) is not in it, because Microsoft 365 there is a
 * separate service operated by 21Vianet with its own Partner Center, not set up with these keys; and
 * Russia (RU) and Belarus (BY) stay out although that revision lists them, as Microsoft suspended new
 * sales in Russia in March 2022 under the sanctions that also cover Belarus. Hong Kong, Macao and
 * Taiwan are separate markets of the global service and stay in.
 */

export const OFFERED_COUNTRIES = [
  'AD', 'AE', 'AF', 'AG', 'AI', 'AL', 'AM', 'AO', 'AQ', 'AR', 'AS', 'AT', 'AU', 'AW', 'AX', 'AZ', 'BA', 'BB', 'BD', 'BE',
  'BF', 'BG', 'BH', 'BI', 'BJ', 'BL', 'BM', 'BN', 'BO', 'BQ', 'BR', 'BS', 'BT', 'BV', 'BW', 'BZ', 'CA', 'CC', 'CD', 'CF',
  'CG', 'CH', 'CI', 'CK', 'CL', 'CM', 'CO', 'CR', 'CV', 'CW', 'CX', 'CY', 'CZ', 'DE', 'DJ', 'DK', 'DM', 'DO', 'DZ', 'EC',
  'EE', 'EG', 'ER', 'ES', 'ET', 'FI', 'FJ', 'FK', 'FM', 'FO', 'FR', 'GA', 'GB', 'GD', 'GE', 'GF', 'GG', 'GH', 'GI', 'GL',
  'GM', 'GN', 'GP', 'GQ', 'GR', 'GS', 'GT', 'GU', 'GW', 'GY', 'HK', 'HM', 'HN', 'HR', 'HT', 'HU', 'ID', 'IE', 'IL', 'IM',
  'IN', 'IO', 'IQ', 'IS', 'IT', 'JE', 'JM', 'JO', 'JP', 'KE', 'KG', 'KH', 'KI', 'KM', 'KN', 'KR', 'KW', 'KY', 'KZ', 'LA',
  'LB', 'LC', 'LI', 'LK', 'LR', 'LS', 'LT', 'LU', 'LV', 'LY', 'MA', 'MC', 'MD', 'ME', 'MF', 'MG', 'MH', 'MK', 'ML', 'MM',
  'MN', 'MO', 'MP', 'MQ', 'MR', 'MS', 'MT', 'MU', 'MV', 'MW', 'MX', 'MY', 'MZ', 'NA', 'NC', 'NE', 'NF', 'NG', 'NI', 'NL',
  'NO', 'NP', 'NR', 'NU', 'NZ', 'OM', 'PA', 'PE', 'PF', 'PG', 'PH', 'PK', 'PL', 'PM', 'PN', 'PR', 'PS', 'PT', 'PW', 'PY',
  'QA', 'RE', 'RO', 'RS', 'RW', 'SA', 'SB', 'SC', 'SE', 'SG', 'SH', 'SI', 'SJ', 'SK', 'SL', 'SM', 'SN', 'SO', 'SR', 'SS',
  'ST', 'SV', 'SX', 'SZ', 'TC', 'TD', 'TF', 'TG', 'TH', 'TJ', 'TK', 'TL', 'TM', 'TN', 'TO', 'TR', 'TT', 'TV', 'TW', 'TZ',
  'UA', 'UG', 'UM', 'US', 'UY', 'UZ', 'VA', 'VC', 'VE', 'VG', 'VI', 'VN', 'VU', 'WF', 'WS', 'XK', 'YE', 'YT', 'ZA', 'ZM',
  'ZW',
] as const;

export type CountryCode = (typeof OFFERED_COUNTRIES)[number];

const offered = new Set<string>(OFFERED_COUNTRIES);

export function isOffered(code: string): code is CountryCode {
  return offered.has(code);
}

/**
 * Names already looked up, per language: an Intl.DisplayNames costs far more to make than to use,
 * and a customer list names a country on every row. Both keys come from the bot (its languages and
 * stored or offered region codes), so the maps stay small.
 */
const regionNames = new Map<string, { display: Intl.DisplayNames; names: Map<string, string> }>();

export function countryName(code: string, language: string): string {
  let known = regionNames.get(language);
  if (!known) {
    known = { display: new Intl.DisplayNames([language], { type: 'region', fallback: 'code' }), names: new Map() };
    regionNames.set(language, known);
  }
  let name = known.names.get(code);
  if (name === undefined) {
    name = known.display.of(code) ?? code;
    known.names.set(code, name);
  }
  return name;
}

const choices = new Map<string, ReadonlyArray<Readonly<{ code: CountryCode; name: string }>>>();

/** The offered countries with their names in `language`, sorted by name as the partner reads them (made once per language). */
export function countryChoices(language: string): ReadonlyArray<Readonly<{ code: CountryCode; name: string }>> {
  let list = choices.get(language);
  if (!list) {
    const collator = new Intl.Collator(language);
    list = Object.freeze(OFFERED_COUNTRIES.map((code) => Object.freeze({ code, name: countryName(code, language) })).sort((a, b) => collator.compare(a.name, b.name)));
    choices.set(language, list);
  }
  return list;
}

/** Every two-letter region code Intl can name, offered or not: to tell "not offered" from "unknown". */
function knownRegionCodes(): string[] {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const codes: string[] = [];
  for (const a of letters) for (const b of letters) if (names.of(a + b)) codes.push(a + b);
  return codes;
}

let regionCodes: string[] | undefined;

export type CountryLookup = { offered: CountryCode } | { notOffered: string } | { unknown: true };

/**
 * Resolves what the partner chose or typed: a code or a name in English or German.
 * A real country where the service is not offered is told apart from text that is no country.
 */
export function lookUpCountry(input: string): CountryLookup {
  const text = input.trim();
  if (!text) return { unknown: true };
  regionCodes ??= knownRegionCodes();
  const upper = text.toUpperCase();
  const folded = text.toLocaleLowerCase('de');
  const named = (code: string) => ['en', 'de'].some((language) => countryName(code, language).toLocaleLowerCase('de') === folded);
  // Offered countries first: some names also belong to historical codes ("Deutschland" is DE, not DD).
  const match =
    regionCodes.find((code) => code === upper) ?? OFFERED_COUNTRIES.find(named) ?? regionCodes.find(named);
  if (!match) return { unknown: true };
  return isOffered(match) ? { offered: match } : { notOffered: match };
}
