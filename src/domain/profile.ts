/** A partner organisation's profile: who it is, its Partner of Record ID, and where reminders are timed. */
import { z } from 'zod';
import { lookUpTimeZone } from './timeZones.js';

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

export function validateProfile(input: ProfileInput, by: string, now: Date): { profile: PartnerProfile } | { errors: ProfileError[] } {
  const errors: ProfileError[] = [];
  const organisationName = (input.organisationName ?? '').trim().replace(/\s+/g, ' ');
  if (!organisationName) errors.push({ field: 'organisationName', code: 'required' });
  else if (organisationName.length > 100) errors.push({ field: 'organisationName', code: 'tooLong', max: 100 });
  else if (/[\u0000-\u001f\u007f-\u009f]/.test(organisationName)) errors.push({ field: 'organisationName', code: 'invalid' });
  const partnerId = (input.partnerId ?? '').replace(/\s/g, '');
  if (!partnerId) errors.push({ field: 'partnerId', code: 'required' });
  else if (!/^\d{5,10}$/.test(partnerId)) errors.push({ field: 'partnerId', code: 'partnerIdSyntax' });
  // Picked from the list (its IANA id), or typed: an IANA id in any case, or a name from the list.
  const typedZone = (input.timeZone ?? '').trim();
  const timeZone = lookUpTimeZone(typedZone, now);
  if (!typedZone) errors.push({ field: 'timeZone', code: 'required' });
  else if (!timeZone) errors.push({ field: 'timeZone', code: 'timeZoneUnknown' });
  if (errors.length > 0 || !timeZone) return { errors };
  return { profile: { organisationName, partnerId, cloudEssentials: input.cloudEssentials === 'true', timeZone, updatedAt: now.toISOString(), updatedBy: by } };
}
