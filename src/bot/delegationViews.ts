/** Cards of delegated administration: the partner's request and relationships, the customer's answer, and acting for the customer. */
import { randomUUID } from 'node:crypto';
import { renderCard, type AdaptiveCard } from '../cards.js';
import { ONMICROSOFT } from '../domain/account.js';
import type { Customer } from '../domain/customer.js';
import { offeredRelationships, type Offer } from '../domain/delegation.js';
import { ENTRA_ROLES, entraRole, GLOBAL_ADMINISTRATOR, ROLE_TEMPLATES, roleTemplate } from '../domain/entraRoles.js';
import { AUTO_EXTEND, DEFAULT_DURATION_DAYS, DISPLAY_NAME_MAX, NO_AUTO_EXTEND, parseDurationDays, roleIds, type Relationship, type RequestError } from '../domain/relationship.js';
import { fill, type Messages } from '../i18n/index.js';
import type { Notice, Today } from './notice.js';

/** Cards judge a relationship's state on the partner's calendar day, as they do a subscription's. */
function moment(day: Today): Date {
  return new Date(`${day.today}T12:00:00.000Z`);
}

export function roleNames(m: Messages, ids: readonly string[]): string {
  return ids.map((id) => entraRole(id)?.name[m.language] ?? id).join(', ');
}

/** The status of a relationship as Graph names it, with declined and withdrawn told apart from ended. */
function statusText(m: Messages, r: Relationship): string {
  const s = m.t.relationships.status;
  if (r.status === 'terminated' && !r.activatedDateTime) return r.terminatedBy === 'customer' ? s.declined : s.withdrawn;
  return s[r.status];
}

/** When it ends or ended, as one phrase. */
function endText(m: Messages, r: Relationship): string {
  const d = m.t.delegation;
  if (!r.endDateTime) return d.noEnd;
  if (r.status === 'active' || r.status === 'expiring') return fill(r.autoExtendDuration === AUTO_EXTEND ? d.extends : d.until, { date: m.date(r.endDateTime) });
  return fill(d.endedOn, { date: m.date(r.endDateTime) });
}

const inForce = (r: Relationship) => r.status === 'active' || r.status === 'expiring';

/** The customer card's list of relationships, with what the partner can do about each. */
export function relationshipRows(m: Messages, customer: Customer, day: Today): { rows: Array<{ id: string; name: string; line: string; canEnd: boolean }>; canAddUser: boolean } {
  const d = m.t.delegation;
  const shown = offeredRelationships(customer, moment(day));
  const rows = shown.map(({ offer, relationship: r }) => {
    const waiting = r.status === 'approvalPending';
    const reach = waiting && offer.delivery !== 'delivered' ? `, ${offer.delivery === 'waiting' ? d.notSeen : d.unreachable}` : '';
    const state = waiting ? fill(d.waitingSince, { date: m.date(offer.sentAt), expires: m.date(offer.expiresAt) }) + reach : `${statusText(m, r)}, ${endText(m, r)}`;
    return { id: r.id, name: r.legacy ? m.t.relationships.legacyName : r.displayName, line: `${state} · ${roleNames(m, roleIds(r))}`, canEnd: waiting || inForce(r) };
  });
  return { rows: rows.reverse(), canAddUser: shown.some(({ relationship }) => inForce(relationship)) };
}

/** One line about delegation for the customer list. */
export function delegationSummary(m: Messages, customer: Customer, day: Today): string {
  const shown = offeredRelationships(customer, moment(day)).map((r) => r.relationship);
  const active = shown.filter(inForce).length;
  const pending = shown.filter((r) => r.status === 'approvalPending').length;
  return active + pending === 0 ? m.t.delegation.summaryNone : fill(m.t.delegation.summary, { active, pending });
}

/** What the partner typed or chose on the request form, kept as typed. */
export interface RequestForm {
  displayName?: string;
  templateId?: string;
  roleIds?: string;
  duration?: string;
  autoExtendDuration?: string;
  message?: string;
}

function requestErrorText(m: Messages, error: RequestError): string {
  const e = m.t.relationships.error;
  switch (error.field) {
    case 'displayName':
      return error.code === 'tooLong' ? fill(e.displayName.tooLong, { max: error.max }) : e.displayName[error.code];
    case 'roles':
      return error.code === 'unknown' ? fill(e.roles.unknown, { roleIds: error.roleIds.join(', ') }) : e.roles.required;
    case 'duration':
      return error.code === 'outOfRange' ? fill(e.duration.outOfRange, { min: error.min, max: error.max }) : e.duration.syntax;
    case 'autoExtendDuration':
      return e.autoExtendDuration[error.code];
  }
}

/**
 * "Customer – template" (the template alone when that leaves no room for a number within the 50
 * characters Graph allows: a name is not cut), with the first number that makes it a name the
 * partner has not used (names are unique across its relationships).
 */
function freeName(customerName: string, templateName: string, taken: readonly string[]): string {
  const full = `${customerName.trim()} – ${templateName}`;
  const base = full.length <= DISPLAY_NAME_MAX - 5 ? full : templateName;
  const used = new Set(taken.map((name) => name.toLocaleLowerCase()));
  let name = base;
  for (let n = 2; used.has(name.toLocaleLowerCase()); n++) name = `${base} (${n})`;
  return name;
}

/**
 * The request form. Without typed values it starts from a template (least-privilege "Users and
 * licenses" unless `roleId`, a role the partner found missing, is asked for).
 */
export function composeCard(
  m: Messages,
  customer: Customer,
  partnerName: string,
  options: { form?: RequestForm; errors?: readonly RequestError[]; requestId?: string; roleId?: string; takenNames?: readonly string[]; notice?: Notice } = {},
): AdaptiveCard {
  const d = m.t.delegation;
  const template = roleTemplate(options.form?.templateId ?? '') ?? roleTemplate('usersAndLicenses')!;
  const startRoles = options.roleId ? [options.roleId] : template.roleIds;
  const form: Required<RequestForm> = {
    displayName: freeName(customer.name, template.name[m.language], options.takenNames ?? []),
    templateId: template.id,
    roleIds: startRoles.join(','),
    duration: String(DEFAULT_DURATION_DAYS),
    // The toggle's own off value: a toggle whose value is neither sends what the renderer likes.
    autoExtendDuration: NO_AUTO_EXTEND,
    message: fill(d.defaultMessage, { admin: customer.admin.name, partner: partnerName }),
    ...options.form,
  };
  const chosen = form.roleIds.split(',').map((id) => id.trim().toLowerCase());
  const withAdmin = chosen.includes(GLOBAL_ADMINISTRATOR);
  const errors = options.errors ?? [];
  const at = (field: RequestError['field']) => errors.filter((e) => e.field === field).map((e) => requestErrorText(m, e));
  return renderCard('delegationCompose', {
    t: d,
    notice: options.notice ?? (errors.length > 0 ? { text: d.fix, style: 'attention' } : undefined),
    title: fill(d.composeTitle, { customer: customer.name }),
    warning: withAdmin ? m.t.relationships.leastPrivilege : undefined,
    values: form,
    errors: { displayName: at('displayName'), roles: at('roles'), duration: at('duration'), autoExtendDuration: at('autoExtendDuration') },
    templates: ROLE_TEMPLATES.map((t) => ({ id: t.id, title: t.name[m.language] })),
    roles: ENTRA_ROLES.map((role) => ({ id: role.id, title: role.name[m.language] })),
    // Auto-extension is not offered with Global Administrator, which Microsoft does not allow.
    offerAutoExtend: !withAdmin,
    customerId: customer.tenantId,
    // A fresh id per form: a second press of the same card finds the request it already sent.
    requestId: options.requestId ?? randomUUID(),
  });
}

/** The request as the customer's admin sees it; once answered, the outcome replaces the buttons. */
export function offerCard(m: Messages, partnerName: string, customer: Customer, offer: Offer, notice?: Notice): AdaptiveCard {
  const o = m.t.offer;
  const r = offer.relationship!;
  const ids = roleIds(r);
  const end = r.endDateTime ? m.date(r.endDateTime) : m.t.delegation.noEnd;
  const outcomes: Record<Exclude<Offer['status'], 'pending'>, [string, string]> = {
    accepted: [fill(o.accepted, { name: offer.answeredBy?.name ?? '', date: m.date(offer.answeredAt ?? offer.sentAt), partner: partnerName, end }), 'Good'],
    declined: [fill(o.declined, { name: offer.answeredBy?.name ?? '', date: m.date(offer.answeredAt ?? offer.sentAt) }), 'Default'],
    withdrawn: [fill(o.withdrawn, { partner: partnerName, date: m.date(offer.endedAt ?? offer.sentAt) }), 'Warning'],
    expired: [fill(o.expired, { date: m.date(offer.expiresAt) }), 'Warning'],
    ended: [fill(o.ended, { name: offer.endedBy?.name ?? '', date: m.date(offer.endedAt ?? offer.sentAt) }), 'Warning'],
  };
  const [outcome, outcomeColor] = offer.status === 'pending' ? [undefined, 'Default'] : outcomes[offer.status];
  const days = parseDurationDays(r.duration ?? '') ?? DEFAULT_DURATION_DAYS;
  return renderCard('offer', {
    t: o,
    notice,
    title: fill(o.title, { partner: partnerName }),
    intro: fill(o.intro, { partner: partnerName, domain: customer.domain }),
    message: offer.message,
    name: r.displayName,
    roles: ids.map((id) => entraRole(id)).filter((role) => role !== undefined).map((role) => fill(o.roleLine, { name: role.name[m.language], description: role.description[m.language] })),
    term: `${fill(o.term, { days })} ${r.autoExtendDuration === AUTO_EXTEND ? o.extendsItself : o.endsThen}`,
    warning: ids.includes(GLOBAL_ADMINISTRATOR) ? o.leastPrivilege : undefined,
    expires: fill(o.expires, { date: m.date(offer.expiresAt) }),
    pending: offer.status === 'pending',
    outcome,
    outcomeColor,
    offerId: offer.id,
  });
}

/** "Remove partner access": the relationships in force, each to end, or all at once. */
export function accessEndCard(m: Messages, partnerName: string, relationships: readonly Relationship[], notice?: Notice): AdaptiveCard {
  const o = m.t.offer;
  return renderCard('accessEnd', {
    t: o,
    notice,
    title: fill(o.removeTitle, { partner: partnerName }),
    text: relationships.length > 0 ? fill(o.removeText, { partner: partnerName }) : fill(o.removeNone, { partner: partnerName }),
    relationships: relationships.map((r) => ({
      id: r.id,
      line: fill(o.removeLine, { name: r.legacy ? m.t.relationships.legacyName : r.displayName, roles: roleNames(m, roleIds(r)), end: endText(m, r) }),
    })),
    canEndAll: relationships.length > 1,
  });
}

export interface UserForm {
  values?: { firstName?: string; lastName?: string; signInName?: string; product?: string };
  errors?: { name?: string[]; signInName?: string[]; product?: string[] };
  requestId?: string;
}

export function userAddCard(m: Messages, customer: Customer, form: UserForm = {}, notice?: Notice): AdaptiveCard {
  const u = m.t.addUser;
  const prefix = customer.domain.slice(0, -`.${ONMICROSOFT}`.length);
  const licenses = customer.subscriptions
    .filter((s) => s.assignedSeats < s.seats)
    .map((s) => ({ product: s.product, title: fill(u.licenseChoice, { product: s.product, free: s.seats - s.assignedSeats }) }));
  return renderCard('userAdd', {
    t: u,
    notice: notice ?? (licenses.length === 0 ? { text: fill(u.noFreeSeats, { customer: customer.name }), style: 'warning' } : undefined),
    title: fill(u.title, { customer: customer.name }),
    signInHint: fill(u.signInHint, { domain: `${prefix}.${ONMICROSOFT}` }),
    values: { firstName: '', lastName: '', signInName: '', product: licenses[0]?.product ?? '', ...form.values },
    errors: { name: [], signInName: [], product: [], ...form.errors },
    licenses,
    customerId: customer.tenantId,
    requestId: form.requestId ?? randomUUID(),
  });
}
