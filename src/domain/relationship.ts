/**
 * Granular delegated admin relationships (GDAP): what a partner requests, how a request is checked,
 * and the life cycle of a relationship, as pure rules. Fields and statuses are Microsoft Graph's
 * `delegatedAdminRelationship`, so a Graph-backed backend can hand its objects straight in.
 * The status that time changes (expiring, expired, an auto-extension) is derived from the dates and
 * the moment asked for, never waited for.
 */
import { z } from 'zod';
import { entraRole, GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR } from './entraRoles.js';
import { addDays, daysBetween } from './lifecycle.js';

const DAY = 86_400_000;

/** Graph's statuses that this life cycle goes through (Graph also has transitional ones such as `activating`). */
export const RELATIONSHIP_STATUSES = ['created', 'approvalPending', 'active', 'expiring', 'expired', 'terminated'] as const;
export type RelationshipStatus = (typeof RELATIONSHIP_STATUSES)[number];

export const MIN_DURATION_DAYS = 1;
/** Two years, as Partner Center counts them. */
export const MAX_DURATION_DAYS = 730;
export const DEFAULT_DURATION_DAYS = 730;
export const AUTO_EXTEND = 'P180D';
export const NO_AUTO_EXTEND = 'PT0S';
export const AUTO_EXTEND_DAYS = 180;
/** An active relationship shows as expiring this many days before its end. */
export const EXPIRING_DAYS = 30;
/** Days an unanswered request stays open (`OFFER_DAYS`); Microsoft's approval link is valid as long. */
export const DEFAULT_OFFER_DAYS = 90;
export const DISPLAY_NAME_MAX = 50;

export const AutoExtendSchema = z.enum([AUTO_EXTEND, NO_AUTO_EXTEND]);
export type AutoExtendDuration = z.infer<typeof AutoExtendSchema>;

const Instant = z.iso.datetime();

export const RelationshipSchema = z.object({
  id: z.string().min(1).max(200),
  displayName: z.string().min(1).max(DISPLAY_NAME_MAX),
  /** The partner's tenant; Graph leaves it implicit (the caller's own). */
  partnerTenantId: z.string().min(1),
  customer: z.object({ tenantId: z.string().min(1), displayName: z.string() }),
  accessDetails: z.object({ unifiedRoles: z.array(z.object({ roleDefinitionId: z.string() })).min(1) }),
  /** ISO 8601 (`P730D`); absent only on the old all-or-nothing delegated admin, which has no end. */
  duration: z.string().optional(),
  autoExtendDuration: AutoExtendSchema,
  status: z.enum(RELATIONSHIP_STATUSES),
  createdDateTime: Instant,
  lastModifiedDateTime: Instant,
  activatedDateTime: Instant.optional(),
  /** activatedDateTime + duration (moved on by auto-extension); when it was terminated or expired once it has. */
  endDateTime: Instant.optional(),
  /** Not Graph's: which side ended it. Terminated before activation by the customer means declined. */
  terminatedBy: z.enum(['partner', 'customer']).optional(),
  /** Not Graph's: the old "delegated admin" (Global Administrator, no end date), shown as a relationship. */
  legacy: z.literal(true).optional(),
});
export type Relationship = z.infer<typeof RelationshipSchema>;

export function roleIds(relationship: Pick<Relationship, 'accessDetails'>): string[] {
  return relationship.accessDetails.unifiedRoles.map((role) => role.roleDefinitionId);
}

/** Whole days in an ISO 8601 duration of days or weeks (`P730D`, `P2W`, `PT0S`); anything else is not one. */
export function parseDurationDays(text: string): number | undefined {
  const normalised = text.trim().toUpperCase();
  if (normalised === 'PT0S') return 0;
  const match = /^P(?:(\d{1,4})W)?(?:(\d{1,5})D)?$/.exec(normalised);
  if (!match || (match[1] === undefined && match[2] === undefined)) return undefined;
  return Number(match[1] ?? 0) * 7 + Number(match[2] ?? 0);
}

export function formatDuration(days: number): string {
  return days === 0 ? NO_AUTO_EXTEND : `P${days}D`;
}

const plus = (instant: string, days: number): string => new Date(Date.parse(instant) + days * DAY).toISOString();

// ---- Requests ----

export type RequestError =
  | { field: 'displayName'; code: 'required' | 'invalid' | 'taken' }
  | { field: 'displayName'; code: 'tooLong'; max: number }
  | { field: 'roles'; code: 'required' }
  | { field: 'roles'; code: 'unknown'; roleIds: string[] }
  | { field: 'duration'; code: 'syntax' }
  | { field: 'duration'; code: 'outOfRange'; min: number; max: number }
  | { field: 'autoExtendDuration'; code: 'invalid' | 'withGlobalAdministrator' };

/** What the partner typed or chose; every field untrusted. */
export interface RequestInput {
  displayName?: string;
  roleIds?: readonly string[];
  /** Days ("730") or ISO 8601 ("P730D"); empty means the default of 730 days. */
  duration?: string;
  /** `P180D` or `PT0S` (`P0D` too, as Graph accepts it); empty means none. */
  autoExtendDuration?: string;
}

export interface RelationshipRequest {
  displayName: string;
  roleIds: string[];
  duration: string;
  autoExtendDuration: AutoExtendDuration;
}

const sameName = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;

/**
 * Checks a request against the rules Graph enforces, with every problem at once so a form can show
 * them all. `takenNames` are the display names of all of the partner's relationships (Graph wants
 * them unique across the partner, whatever their status); case does not make a name new.
 */
export function validateRequest(input: RequestInput, takenNames: Iterable<string>): { request: RelationshipRequest } | { errors: RequestError[] } {
  const errors: RequestError[] = [];
  const displayName = (input.displayName ?? '').trim().replace(/\s+/g, ' ');
  if (!displayName) errors.push({ field: 'displayName', code: 'required' });
  else if (displayName.length > DISPLAY_NAME_MAX) errors.push({ field: 'displayName', code: 'tooLong', max: DISPLAY_NAME_MAX });
  else if (/[\u0000-\u001f\u007f-\u009f]/.test(displayName)) errors.push({ field: 'displayName', code: 'invalid' });
  else if ([...takenNames].some((name) => sameName(name, displayName))) errors.push({ field: 'displayName', code: 'taken' });

  const ids = [...new Set((input.roleIds ?? []).map((id) => id.trim().toLowerCase()).filter(Boolean))];
  const unknown = ids.filter((id) => !entraRole(id));
  if (ids.length === 0) errors.push({ field: 'roles', code: 'required' });
  // Only the first few: the ids are untrusted and shown back.
  else if (unknown.length > 0) errors.push({ field: 'roles', code: 'unknown', roleIds: unknown.slice(0, 3).map((id) => id.slice(0, 36)) });

  const durationText = (input.duration ?? '').trim();
  const days = durationText === '' ? DEFAULT_DURATION_DAYS : /^\d{1,6}$/.test(durationText) ? Number(durationText) : parseDurationDays(durationText);
  if (days === undefined) errors.push({ field: 'duration', code: 'syntax' });
  else if (days < MIN_DURATION_DAYS || days > MAX_DURATION_DAYS) errors.push({ field: 'duration', code: 'outOfRange', min: MIN_DURATION_DAYS, max: MAX_DURATION_DAYS });

  const extendText = (input.autoExtendDuration ?? '').trim().toUpperCase();
  const autoExtendDuration = extendText === '' || extendText === 'P0D' ? NO_AUTO_EXTEND : AutoExtendSchema.safeParse(extendText).data;
  if (!autoExtendDuration) errors.push({ field: 'autoExtendDuration', code: 'invalid' });
  else if (autoExtendDuration === AUTO_EXTEND && ids.includes(GLOBAL_ADMINISTRATOR)) errors.push({ field: 'autoExtendDuration', code: 'withGlobalAdministrator' });

  if (errors.length > 0) return { errors };
  return { request: { displayName, roleIds: ids, duration: formatDuration(days!), autoExtendDuration: autoExtendDuration! } };
}

// ---- Life cycle ----

export type RelationshipError =
  /** An unanswered request ran out before this. */
  | 'expired'
  /** Approved or declined already. */
  | 'answered'
  /** Terminated, withdrawn, or expired after it was active. */
  | 'ended'
  /** Not yet sent to the customer, so there is nothing to answer. */
  | 'notSent'
  /** Waiting for the customer's answer, so not yet in force. */
  | 'notActive'
  /** Graph changes no roles of an active relationship, except removing Global Administrator. */
  | 'rolesFixed'
  | 'autoExtendWithGlobalAdministrator'
  | 'noGlobalAdministrator'
  /** Global Administrator is its only role: nothing would be left. */
  | 'onlyRole'
  /** No roles, or one not in the catalogue. */
  | 'unknownRole'
  /** The old delegated admin changes in no way: it can only be ended, and a relationship requested instead. */
  | 'legacy';

export type Transition = { ok: true; relationship: Relationship } | { ok: false; error: RelationshipError };

export interface NewRelationship extends RelationshipRequest {
  id: string;
  partnerTenantId: string;
  customer: { tenantId: string; displayName: string };
}

/** A request as the partner creates it: `created`, not yet sent to the customer. */
export function newRelationship(request: NewRelationship, now: Date): Relationship {
  const at = now.toISOString();
  return {
    id: request.id,
    displayName: request.displayName,
    partnerTenantId: request.partnerTenantId,
    customer: request.customer,
    accessDetails: { unifiedRoles: request.roleIds.map((roleDefinitionId) => ({ roleDefinitionId })) },
    duration: request.duration,
    autoExtendDuration: request.autoExtendDuration,
    status: 'created',
    createdDateTime: at,
    lastModifiedDateTime: at,
  };
}

/**
 * The relationship as it stands at `now`: an unanswered request runs out `offerDays` after it was
 * created; an active one is expiring in its last 30 days and expired at its end, unless it extends
 * itself, in which case the end moves on by 180 days (as often as it has been reached) instead.
 */
export function relationshipAt(relationship: Relationship, now: Date, offerDays = DEFAULT_OFFER_DAYS): Relationship {
  const t = now.getTime();
  const { status } = relationship;
  if (status === 'created' || status === 'approvalPending') {
    const runsOut = plus(relationship.createdDateTime, offerDays);
    return Date.parse(runsOut) <= t ? { ...relationship, status: 'expired', endDateTime: runsOut } : relationship;
  }
  if ((status !== 'active' && status !== 'expiring') || !relationship.endDateTime) return relationship;
  let end = relationship.endDateTime;
  if (relationship.autoExtendDuration === AUTO_EXTEND && Date.parse(end) <= t) {
    const periods = Math.floor((t - Date.parse(end)) / (AUTO_EXTEND_DAYS * DAY)) + 1;
    end = plus(end, periods * AUTO_EXTEND_DAYS);
  }
  if (Date.parse(end) <= t) return { ...relationship, status: 'expired', endDateTime: end };
  // One that extends itself never runs out, so it never shows as expiring.
  const expiring = relationship.autoExtendDuration !== AUTO_EXTEND && Date.parse(end) - EXPIRING_DAYS * DAY <= t;
  return { ...relationship, status: expiring ? 'expiring' : 'active', endDateTime: end };
}

const inForce = (status: RelationshipStatus) => status === 'active' || status === 'expiring';

/** Whether the partner holds the relationship's roles now. */
export function isInForce(relationship: Relationship, now: Date): boolean {
  return inForce(relationshipAt(relationship, now).status);
}

/** Why a relationship in this state cannot be answered (`pending`) or acted on as an active one. */
function stateError(current: Relationship, wanted: 'pending' | 'active'): RelationshipError {
  if (current.status === 'expired' && !current.activatedDateTime) return 'expired';
  if (current.status === 'expired' || (current.status === 'terminated' && (wanted === 'active' || current.activatedDateTime || current.terminatedBy === 'partner'))) return 'ended';
  if (current.status === 'terminated' || inForce(current.status)) return 'answered';
  return current.status === 'created' && wanted === 'pending' ? 'notSent' : 'notActive';
}

/** The changed relationship, as it stands at `now` (a 30-day one is expiring from the moment it is approved). */
function touched(relationship: Relationship, now: Date, offerDays: number, change: Partial<Relationship>): Transition {
  return { ok: true, relationship: relationshipAt({ ...relationship, ...change, lastModifiedDateTime: now.toISOString() }, now, offerDays) };
}

/** The partner sends the request to the customer (Graph: a `lockForApproval` request). */
export function lockForApproval(relationship: Relationship, now: Date, offerDays = DEFAULT_OFFER_DAYS): Transition {
  const current = relationshipAt(relationship, now, offerDays);
  if (current.status !== 'created') return { ok: false, error: current.status === 'approvalPending' ? 'answered' : stateError(current, 'pending') };
  return touched(current, now, offerDays, { status: 'approvalPending' });
}

/** The customer's admin approves: active from now until now + duration. */
export function approve(relationship: Relationship, now: Date, offerDays = DEFAULT_OFFER_DAYS): Transition {
  const current = relationshipAt(relationship, now, offerDays);
  if (current.status !== 'approvalPending') return { ok: false, error: stateError(current, 'pending') };
  const at = now.toISOString();
  const days = parseDurationDays(current.duration ?? '') ?? DEFAULT_DURATION_DAYS;
  return touched(current, now, offerDays, { status: 'active', activatedDateTime: at, endDateTime: plus(at, days) });
}

/** The customer's admin declines: Graph has no such status, so the request ends as terminated by the customer, never active. */
export function decline(relationship: Relationship, now: Date, offerDays = DEFAULT_OFFER_DAYS): Transition {
  const current = relationshipAt(relationship, now, offerDays);
  if (current.status !== 'approvalPending') return { ok: false, error: stateError(current, 'pending') };
  return touched(current, now, offerDays, { status: 'terminated', terminatedBy: 'customer', endDateTime: now.toISOString() });
}

/** Either side ends it: the partner withdraws a request or ends an active one; the customer ends an active one. */
export function terminate(relationship: Relationship, by: 'partner' | 'customer', now: Date, offerDays = DEFAULT_OFFER_DAYS): Transition {
  const current = relationshipAt(relationship, now, offerDays);
  const open = inForce(current.status) || (by === 'partner' && (current.status === 'created' || current.status === 'approvalPending'));
  if (!open) return { ok: false, error: stateError(current, 'active') };
  return touched(current, now, offerDays, { status: 'terminated', terminatedBy: by, endDateTime: now.toISOString() });
}

/** Graph lets the partner change auto-extension before the request is sent and while it is active. */
export function setAutoExtend(relationship: Relationship, value: AutoExtendDuration, now: Date, offerDays = DEFAULT_OFFER_DAYS): Transition {
  const current = relationshipAt(relationship, now, offerDays);
  if (current.legacy) return { ok: false, error: 'legacy' };
  if (current.status !== 'created' && !inForce(current.status)) return { ok: false, error: stateError(current, 'active') };
  if (value === AUTO_EXTEND && roleIds(current).includes(GLOBAL_ADMINISTRATOR)) return { ok: false, error: 'autoExtendWithGlobalAdministrator' };
  // Turning it on while expiring lifts the warning at once.
  return touched(current, now, offerDays, { autoExtendDuration: value });
}

/**
 * Graph's one change to the roles of an active relationship (the partner requests a new
 * relationship for any other). Auto-extension becomes possible afterwards.
 */
export function removeGlobalAdministrator(relationship: Relationship, now: Date, offerDays = DEFAULT_OFFER_DAYS): Transition {
  const current = relationshipAt(relationship, now, offerDays);
  if (current.legacy) return { ok: false, error: 'legacy' };
  if (!inForce(current.status)) return { ok: false, error: stateError(current, 'active') };
  const held = roleIds(current);
  if (!held.includes(GLOBAL_ADMINISTRATOR)) return { ok: false, error: 'noGlobalAdministrator' };
  const unifiedRoles = held.filter((id) => id !== GLOBAL_ADMINISTRATOR).map((roleDefinitionId) => ({ roleDefinitionId }));
  if (unifiedRoles.length === 0) return { ok: false, error: 'onlyRole' };
  return touched(current, now, offerDays, { accessDetails: { unifiedRoles } });
}

/** Changes the roles of a request not yet sent; of any other, Graph allows only removing Global Administrator. */
export function changeRoles(relationship: Relationship, newRoleIds: readonly string[], now: Date, offerDays = DEFAULT_OFFER_DAYS): Transition {
  const current = relationshipAt(relationship, now, offerDays);
  const ids = [...new Set(newRoleIds)];
  if (current.status !== 'created') {
    const withoutAdmin = roleIds(current).filter((id) => id !== GLOBAL_ADMINISTRATOR);
    const isRemovingAdmin = ids.length === withoutAdmin.length && ids.every((id) => withoutAdmin.includes(id)) && withoutAdmin.length < roleIds(current).length;
    return isRemovingAdmin ? removeGlobalAdministrator(current, now, offerDays) : { ok: false, error: inForce(current.status) ? 'rolesFixed' : stateError(current, 'active') };
  }
  if (ids.length === 0 || !ids.every((id) => entraRole(id))) return { ok: false, error: 'unknownRole' };
  if (current.autoExtendDuration === AUTO_EXTEND && ids.includes(GLOBAL_ADMINISTRATOR)) return { ok: false, error: 'autoExtendWithGlobalAdministrator' };
  return touched(current, now, offerDays, { accessDetails: { unifiedRoles: ids.map((roleDefinitionId) => ({ roleDefinitionId })) } });
}

/** The old all-or-nothing delegated admin of an existing customer: one active relationship, Global Administrator, no end date. */
export function legacyRelationship(partnerTenantId: string, customer: { tenantId: string; displayName: string }, since: string): Relationship {
  return {
    // Unique per grant: the partner may be granted it again after it ended.
    id: `dap-${Date.parse(since)}-${partnerTenantId}`.slice(0, 200),
    displayName: 'Delegated admin (DAP)',
    partnerTenantId,
    customer,
    accessDetails: { unifiedRoles: [{ roleDefinitionId: GLOBAL_ADMINISTRATOR }] },
    autoExtendDuration: NO_AUTO_EXTEND,
    status: 'active',
    createdDateTime: since,
    lastModifiedDateTime: since,
    activatedDateTime: since,
    legacy: true,
  };
}

// ---- What the roles allow ----

export const PARTNER_ACTIONS = ['addUser'] as const;
export type PartnerAction = (typeof PARTNER_ACTIONS)[number];

/** The roles that allow each action, least privileged first: a refusal names the first. */
export const ROLES_FOR_ACTION: Record<PartnerAction, readonly string[]> = {
  addUser: [USER_ADMINISTRATOR, GLOBAL_ADMINISTRATOR],
};

/**
 * Whether the partner may act for the customer through any relationship in force now; if not, the
 * role to request. `relationships` are the partner's with this one customer.
 */
export function mayAct(action: PartnerAction, relationships: readonly Relationship[], now: Date): { allowed: true; relationship: Relationship } | { allowed: false; missingRoleId: string } {
  const allowing = ROLES_FOR_ACTION[action];
  const relationship = relationships.find((r) => isInForce(r, now) && roleIds(r).some((id) => allowing.includes(id)));
  return relationship ? { allowed: true, relationship } : { allowed: false, missingRoleId: allowing[0]! };
}

// ---- Reminders ----

export const RELATIONSHIP_REMINDER_KINDS = ['before30', 'before7', 'before1'] as const;
export type RelationshipReminderKind = (typeof RELATIONSHIP_REMINDER_KINDS)[number];
const REMINDER_OFFSETS: ReadonlyArray<{ kind: RelationshipReminderKind; offset: number }> = [
  { kind: 'before30', offset: -30 },
  { kind: 'before7', offset: -7 },
  { kind: 'before1', offset: -1 },
];

/** Whether a relationship gets end reminders: one in force that does not extend itself and has an end. */
export function getsReminders(relationship: Relationship, now: Date): boolean {
  return isInForce(relationship, now) && relationship.autoExtendDuration !== AUTO_EXTEND && !relationship.legacy && relationship.endDateTime !== undefined;
}

/**
 * What to send today, in the style of the subscription reminders: only the most urgent reminder due
 * and not yet handled, skipping the ones it overtook (missed while the bot was down); none once a
 * later one was handled, and none from the end day on. `endDay` is the end date as a calendar day
 * (YYYY-MM-DD) in the partner's time zone, `today` the partner's calendar day.
 */
export function dueRelationshipReminder(endDay: string, today: string, handled: ReadonlySet<RelationshipReminderKind>): { send: RelationshipReminderKind; skip: RelationshipReminderKind[] } | undefined {
  if (daysBetween(today, endDay) <= 0) return undefined;
  const schedule = REMINDER_OFFSETS.map(({ kind, offset }) => ({ kind, due: addDays(endDay, offset) }));
  const lastHandled = schedule.findLastIndex((r) => handled.has(r.kind));
  const due = schedule.filter((r, i) => i > lastHandled && r.due <= today);
  const latest = due.at(-1);
  if (!latest) return undefined;
  return { send: latest.kind, skip: due.slice(0, -1).map((r) => r.kind) };
}
