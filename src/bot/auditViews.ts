/** Roles and the audit trail as cards: the role picker, a page of history, and what a refusal says. */
import { renderCard, type AdaptiveCard } from '../cards.js';
import type { AuditEntry } from '../domain/audit.js';
import type { RefusalData, Role } from '../domain/roles.js';
import { fill, type Messages } from '../i18n/index.js';
import type { Notice } from './notice.js';

/** The picker's value for "no role". */
export const NO_ROLE = 'none';

export function roleName(m: Messages, role: Role | undefined): string {
  return role ? m.t.roles.names[role] : m.t.roles.none;
}

export function rolesCard(m: Messages, people: ReadonlyArray<{ userId: string; name: string; role?: Role }>, notice?: Notice): AdaptiveCard {
  const choices = [...(['admin', 'sales', 'helpdesk'] as const).map((role) => ({ title: m.t.roles.names[role], value: role })), { title: m.t.roles.none, value: NO_ROLE }];
  return renderCard('roles', {
    t: m.t.roles,
    notice,
    choices,
    people: people.map((person, index) => ({ userId: person.userId, name: person.name, current: roleName(m, person.role), field: `role${index}`, value: person.role ?? NO_ROLE })),
  });
}

/** "Ask Jonas Keller (Admin agent)", or how to get a role when nobody has one. */
export function refusalText(m: Messages, refusal: RefusalData): string {
  const roles = refusal.needed.map((role) => m.t.roles.names[role]).join(m.t.roles.or);
  if (refusal.claimable) return `${fill(m.t.roles.neededNobody, { roles })}\n\n${m.t.roles.claimable}`;
  if (refusal.holders.length === 0) return fill(m.t.roles.neededNobody, { roles });
  const holders = refusal.holders.map((holder) => fill(m.t.roles.holder, { name: holder.name, role: m.t.roles.names[holder.role] })).join(m.t.roles.or);
  return fill(m.t.roles.needed, { roles, holders });
}

function who(m: Messages, entry: AuditEntry): { name: string; role: string } {
  const { actor } = entry;
  if (actor.role === 'system') return { name: m.t.audit.system, role: m.t.audit.system };
  if (actor.role === 'customerAdmin') return { name: actor.name, role: m.t.audit.customerAdmin };
  return { name: actor.name, role: actor.role === 'none' ? m.t.audit.noRole : m.t.roles.names[actor.role] };
}

export interface HistoryView {
  title: string;
  verb: 'history.show' | 'activity.show';
  /** Customer and person filters (Admin agents); the customer's admin sees their tenant only. */
  filters: boolean;
  customer: string;
  person: string;
  entries: readonly AuditEntry[];
  /** Customer names by tenant id, for the lines. */
  customerNames: ReadonlyMap<string, string>;
  next?: number;
  paged: boolean;
  /**
   * For the customer's admin: the partner organisation is who acted, and the partner's own details
   * (its staff's names, its keys) stay with the partner.
   */
  partnerName?: string;
}

/** Entries as one line each, for a customer's card. */
export function historyLines(m: Messages, entries: readonly AuditEntry[]): string[] {
  return entries.map((entry) => {
    const { name, role } = who(m, entry);
    const line = fill(m.t.audit.line, { time: m.dateTime(entry.at), who: name, role, verb: entry.verb });
    return entry.outcome.result === 'refused' ? `${line} (${fill(m.t.audit.refused, { reason: entry.outcome.reason })})` : line;
  });
}

export function historyCard(m: Messages, view: HistoryView, notice?: Notice): AdaptiveCard {
  const rows = view.entries.map((entry) => {
    const forCustomer = view.partnerName !== undefined;
    const { name, role } = forCustomer && entry.actor.role !== 'customerAdmin' ? { name: view.partnerName!, role: m.t.audit.partner } : who(m, entry);
    const parts = [
      ...(entry.customerTenantId ? [view.customerNames.get(entry.customerTenantId) ?? entry.customerTenantId] : []),
      ...(entry.subscriptionId ? [entry.subscriptionId] : []),
      ...(forCustomer ? [] : [...entry.keys, ...Object.entries(entry.details).map(([field, value]) => `${field}: ${value}`)]),
      ...(entry.outcome.result === 'refused' ? [fill(m.t.audit.refused, { reason: entry.outcome.reason })] : []),
    ];
    return { line: fill(m.t.audit.line, { time: m.dateTime(entry.at), who: name, role, verb: entry.verb }), detail: parts.join(' · ') };
  });
  return renderCard('history', {
    t: m.t.audit,
    notice,
    title: view.title,
    verb: view.verb,
    filters: view.filters,
    customer: view.customer,
    person: view.person,
    rows,
    empty: rows.length === 0,
    hasOlder: view.next !== undefined,
    older: view.next ?? 0,
    paged: view.paged,
  });
}
