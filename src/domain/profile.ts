/** A partner organisation's profile: who it is, its Partner of Record ID, and where reminders are timed. */
import { z } from 'zod';

export const PartnerProfileSchema = z.object({
  organisationName: z.string().min(1).max(100),
  /** The partner ID (formerly MPN ID) that is added to subscriptions as Partner of Record. */
  partnerId: z.string().regex(/^\d{5,10}$/),
  cloudEssentials: z.boolean(),
  timeZone: z.string().min(1),
  updatedAt: z.iso.datetime(),
  updatedBy: z.string(),
});
export type PartnerProfile = z.infer<typeof PartnerProfileSchema>;

export const PROFILE_FIELDS = ['organisationName', 'partnerId', 'cloudEssentials', 'timeZone'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
export type ProfileInput = Partial<Record<ProfileField, string>>;
/** Where reminders are timed: the profile's zone, UTC until the partner has chosen one. */
export function timeZoneOf(profile: PartnerProfile | undefined): string {
  return profile?.timeZone ?? 'UTC';
}

export type ProfileError = { field: ProfileField; code: 'required' | 'partnerIdSyntax' | 'timeZoneUnknown' | 'invalid' } | { field: ProfileField; code: 'tooLong'; max: number };

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function validateProfile(input: ProfileInput, by: string, now: Date): { profile: PartnerProfile } | { errors: ProfileError[] } {
  const errors: ProfileError[] = [];
  const organisationName = (input.organisationName ?? '').trim().replace(/\s+/g, ' ');
  if (!organisationName) errors.push({ field: 'organisationName', code: 'required' });
  else if (organisationName.length > 100) errors.push({ field: 'organisationName', code: 'tooLong', max: 100 });
  else if (/[\u0000-\u001f\u007f-\u009f]/.test(organisationName)) errors.push({ field: 'organisationName', code: 'invalid' });
  const partnerId = (input.partnerId ?? '').replace(/\s/g, '');
  if (!partnerId) errors.push({ field: 'partnerId', code: 'required' });
  else if (!/^\d{5,10}$/.test(partnerId)) errors.push({ field: 'partnerId', code: 'partnerIdSyntax' });
  const timeZone = (input.timeZone ?? '').trim();
  if (!timeZone) errors.push({ field: 'timeZone', code: 'required' });
  else if (timeZone.length > 64 || !isTimeZone(timeZone)) errors.push({ field: 'timeZone', code: 'timeZoneUnknown' });
  if (errors.length > 0) return { errors };
  // Intl names the zone canonically ("europe/berlin" becomes "Europe/Berlin").
  const canonical = new Intl.DateTimeFormat('en', { timeZone }).resolvedOptions().timeZone;
  return { profile: { organisationName, partnerId, cloudEssentials: input.cloudEssentials === 'true', timeZone: canonical, updatedAt: now.toISOString(), updatedBy: by } };
}
