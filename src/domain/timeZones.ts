/**
 * Time zones as people pick them: Windows-style names such as "(UTC+01:00) Berlin, Wien, Zürich",
 * each standing for one IANA zone. Any other IANA id a partner types is still a valid choice.
 */

/** The zones offered in the list, with the cities that name them in each language, as Windows and Outlook show them. */
const NAMED_ZONES: ReadonlyArray<{ id: string; en: string; de: string }> = [
  { id: 'Pacific/Honolulu', en: 'Hawaii', de: 'Hawaii' },
  { id: 'America/Anchorage', en: 'Alaska', de: 'Alaska' },
  { id: 'America/Los_Angeles', en: 'Pacific Time (US & Canada)', de: 'Pazifikzeit (USA & Kanada)' },
  { id: 'America/Phoenix', en: 'Arizona', de: 'Arizona' },
  { id: 'America/Denver', en: 'Mountain Time (US & Canada)', de: 'Gebirgszeit (USA & Kanada)' },
  { id: 'America/Chicago', en: 'Central Time (US & Canada)', de: 'Zentralzeit (USA & Kanada)' },
  { id: 'America/Mexico_City', en: 'Guadalajara, Mexico City, Monterrey', de: 'Guadalajara, Mexiko-Stadt, Monterrey' },
  { id: 'America/Bogota', en: 'Bogotá, Lima, Quito', de: 'Bogotá, Lima, Quito' },
  { id: 'America/New_York', en: 'Eastern Time (US & Canada)', de: 'Ostküstenzeit (USA & Kanada)' },
  { id: 'America/Halifax', en: 'Atlantic Time (Canada)', de: 'Atlantikzeit (Kanada)' },
  { id: 'America/Santiago', en: 'Santiago', de: 'Santiago' },
  { id: 'America/St_Johns', en: 'Newfoundland', de: 'Neufundland' },
  { id: 'America/Sao_Paulo', en: 'Brasília, São Paulo', de: 'Brasília, São Paulo' },
  { id: 'America/Argentina/Buenos_Aires', en: 'Buenos Aires', de: 'Buenos Aires' },
  { id: 'UTC', en: 'Coordinated Universal Time', de: 'Koordinierte Weltzeit' },
  { id: 'Atlantic/Reykjavik', en: 'Reykjavík', de: 'Reykjavík' },
  { id: 'Europe/London', en: 'Dublin, Edinburgh, Lisbon, London', de: 'Dublin, Edinburgh, Lissabon, London' },
  { id: 'Africa/Lagos', en: 'West Central Africa', de: 'West-Zentralafrika' },
  { id: 'Europe/Berlin', en: 'Berlin, Vienna, Zurich', de: 'Berlin, Wien, Zürich' },
  { id: 'Europe/Amsterdam', en: 'Amsterdam, Luxembourg', de: 'Amsterdam, Luxemburg' },
  { id: 'Europe/Paris', en: 'Brussels, Copenhagen, Madrid, Paris', de: 'Brüssel, Kopenhagen, Madrid, Paris' },
  { id: 'Europe/Rome', en: 'Oslo, Rome, Stockholm', de: 'Oslo, Rom, Stockholm' },
  { id: 'Europe/Warsaw', en: 'Budapest, Prague, Warsaw', de: 'Budapest, Prag, Warschau' },
  { id: 'Europe/Athens', en: 'Athens, Bucharest', de: 'Athen, Bukarest' },
  { id: 'Europe/Helsinki', en: 'Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius', de: 'Helsinki, Kiew, Riga, Sofia, Tallinn, Vilnius' },
  { id: 'Africa/Cairo', en: 'Cairo', de: 'Kairo' },
  { id: 'Africa/Johannesburg', en: 'Harare, Johannesburg, Pretoria', de: 'Harare, Johannesburg, Pretoria' },
  { id: 'Asia/Jerusalem', en: 'Jerusalem', de: 'Jerusalem' },
  { id: 'Europe/Istanbul', en: 'Istanbul', de: 'Istanbul' },
  { id: 'Asia/Riyadh', en: 'Kuwait, Riyadh', de: 'Kuwait, Riad' },
  { id: 'Africa/Nairobi', en: 'Nairobi', de: 'Nairobi' },
  { id: 'Asia/Dubai', en: 'Abu Dhabi, Muscat', de: 'Abu Dhabi, Maskat' },
  { id: 'Asia/Karachi', en: 'Islamabad, Karachi', de: 'Islamabad, Karatschi' },
  { id: 'Asia/Kolkata', en: 'Chennai, Kolkata, Mumbai, New Delhi', de: 'Chennai, Kolkata, Mumbai, Neu-Delhi' },
  { id: 'Asia/Kathmandu', en: 'Kathmandu', de: 'Kathmandu' },
  { id: 'Asia/Dhaka', en: 'Dhaka', de: 'Dhaka' },
  { id: 'Asia/Bangkok', en: 'Bangkok, Hanoi, Jakarta', de: 'Bangkok, Hanoi, Jakarta' },
  { id: 'Asia/Singapore', en: 'Kuala Lumpur, Singapore', de: 'Kuala Lumpur, Singapur' },
  { id: 'Asia/Hong_Kong', en: 'Hong Kong', de: 'Hongkong' },
  { id: 'Asia/Taipei', en: 'Taipei', de: 'Taipeh' },
  { id: 'Australia/Perth', en: 'Perth', de: 'Perth' },
  { id: 'Asia/Manila', en: 'Manila', de: 'Manila' },
  { id: 'Asia/Tokyo', en: 'Osaka, Sapporo, Tokyo', de: 'Osaka, Sapporo, Tokio' },
  { id: 'Asia/Seoul', en: 'Seoul', de: 'Seoul' },
  { id: 'Australia/Brisbane', en: 'Brisbane', de: 'Brisbane' },
  { id: 'Australia/Sydney', en: 'Canberra, Melbourne, Sydney', de: 'Canberra, Melbourne, Sydney' },
  { id: 'Pacific/Auckland', en: 'Auckland, Wellington', de: 'Auckland, Wellington' },
];

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Intl's own spelling of a zone ("europe/berlin" becomes "Europe/Berlin"). */
export function canonicalTimeZone(zone: string): string {
  return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
}

/** Minutes east of UTC in `zone` at a moment. */
function offsetMinutes(zone: string, at: Date): number {
  const name = new Intl.DateTimeFormat('en', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  return match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
}

/** The zone's standard offset in the year of `at`: the lesser of January's and July's, as summer time only ever adds. */
function standardOffset(zone: string, at: Date): number {
  const year = at.getUTCFullYear();
  return Math.min(offsetMinutes(zone, new Date(Date.UTC(year, 0, 1))), offsetMinutes(zone, new Date(Date.UTC(year, 6, 1))));
}

function offsetText(minutes: number): string {
  if (minutes === 0) return '(UTC)';
  const abs = Math.abs(minutes);
  return `(UTC${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')})`;
}

export interface TimeZoneChoice {
  id: string;
  name: string;
}

/**
 * The list to pick from, west to east: the named zones, and `current` (a zone typed earlier that
 * the list lacks) named by its id.
 */
export function timeZoneChoices(language: 'en' | 'de', at: Date, current?: string): TimeZoneChoice[] {
  const zones = NAMED_ZONES.map((zone) => ({ id: zone.id, cities: zone[language] }));
  if (current && isTimeZone(current) && !zones.some((zone) => zone.id === canonicalTimeZone(current))) zones.push({ id: canonicalTimeZone(current), cities: canonicalTimeZone(current) });
  return zones
    .map((zone) => ({ ...zone, offset: standardOffset(zone.id, at) }))
    .sort((a, b) => a.offset - b.offset || a.cities.localeCompare(b.cities))
    .map((zone) => ({ id: zone.id, name: `${offsetText(zone.offset)} ${zone.cities}` }));
}

/** The IANA zone of what was picked or typed: an id in any case, or a name from the list in either language. */
export function lookUpTimeZone(text: string, at: Date): string | undefined {
  const typed = text.trim();
  if (!typed || typed.length > 100) return undefined;
  if (isTimeZone(typed)) return canonicalTimeZone(typed);
  const folded = typed.toLocaleLowerCase('de');
  for (const language of ['en', 'de'] as const) {
    const named = timeZoneChoices(language, at).find((choice) => choice.name.toLocaleLowerCase('de') === folded);
    if (named) return named.id;
  }
  return undefined;
}
