/** Roles in the partner's organisation and the audit trail: the role picker, the history, the customer's view of what the partner did. */
import { z } from 'zod';
import type { AdaptiveCard } from '../../cards.js';
import { customerAdmin, ROLES, staff, type Role } from '../../domain/roles.js';
import { fill } from '../../i18n/index.js';
import { customerCard } from '../accountViews.js';
import { historyCard, historyLines, NO_ROLE, roleName, rolesCard } from '../auditViews.js';
import type { Customer } from '../../domain/customer.js';
import type { Notice } from '../notice.js';
import { noticeCard } from '../views.js';
import { permissionsOf, verbsOf, type TurnWith } from './verb.js';

type Needs = 'partners' | 'audit' | 'delegation';
const verb = verbsOf<Needs>();

/** Entries on one page of the history. */
export const HISTORY_PAGE = 10;
/** Entries on a customer's card. */
export const CUSTOMER_CARD_ENTRIES = 5;

/** A customer's card, with its last entries when an Admin agent opens it. */
export async function customerShown(turn: TurnWith<Needs>, customer: Customer): Promise<AdaptiveCard> {
  const { actor, m, audit, requester, day } = turn;
  if (requester.side !== 'partner' || requester.role !== 'admin') return customerCard(m, customer, day);
  const page = await audit.page(actor.tenantId, { customerTenantId: customer.tenantId, limit: CUSTOMER_CARD_ENTRIES });
  return customerCard(m, customer, day, { history: historyLines(m, page.entries) });
}

export async function rolesShown({ actor, m, partners }: TurnWith<Needs>, notice?: Notice): Promise<AdaptiveCard> {
  return rolesCard(m, await partners.people(actor.tenantId), notice);
}

const filterText = z.string().max(100).optional().catch(undefined);
const historyQuery = z.object({ customer: filterText, person: filterText, before: z.coerce.number().int().positive().optional().catch(undefined) });

/**
 * The partner's latest entries, filtered by customer (name or tenant id) and person (name or object
 * id); a filter that names nobody shows nothing rather than everything.
 */
export async function historyShown(turn: TurnWith<Needs>, query: z.infer<typeof historyQuery>): Promise<AdaptiveCard> {
  const { actor, m, partners, audit } = turn;
  const customerFilter = (query.customer ?? '').trim();
  const personFilter = (query.person ?? '').trim();
  const customers = await partners.customers(actor.tenantId);
  const customerNames = new Map(customers.map((customer) => [customer.tenantId, customer.name]));
  // A filter that names no customer, or several, matches no entry.
  const NOBODY = '\u0000';
  let customerTenantId: string | undefined;
  if (customerFilter) {
    const matches = customerNames.has(customerFilter) ? [customerFilter] : (await partners.customers(actor.tenantId, customerFilter)).map((customer) => customer.tenantId);
    customerTenantId = matches.length === 1 ? matches[0] : NOBODY;
  }
  let objectId: string | undefined;
  if (personFilter) {
    const lower = personFilter.toLowerCase();
    const people = await partners.people(actor.tenantId);
    const matches = people.some((person) => person.userId === personFilter) ? [personFilter] : people.filter((person) => person.name.toLowerCase().includes(lower)).map((person) => person.userId);
    objectId = matches.length === 1 ? matches[0] : personFilter;
  }
  const page = await audit.page(actor.tenantId, { customerTenantId, objectId, before: query.before, limit: HISTORY_PAGE });
  return historyCard(m, {
    title: m.t.audit.title,
    verb: 'history.show',
    filters: true,
    customer: customerFilter,
    person: personFilter,
    entries: page.entries,
    customerNames,
    next: page.next,
    paged: query.before !== undefined,
  });
}

export const roleVerbs = {
  'roles.show': verb(z.object({}), async (turn) => rolesShown(turn)),

  'role.assign': verb(z.object({ userId: z.string().min(1).max(100), field: z.string().regex(/^role\d{1,4}$/) }).catchall(z.unknown()), async (turn, data) => {
    const { actor, m, partners } = turn;
    const picked = data[data.field];
    const role = picked === NO_ROLE ? undefined : (ROLES as readonly unknown[]).includes(picked) ? (picked as Role) : null;
    if (role === null) return rolesShown(turn, { text: fill(m.t.notice.badPayload, { problem: data.field }), style: 'attention' });
    const result = await partners.assignRole(actor, data.userId, role);
    if ('refused' in result) {
      // Someone outside the tenant, or an id the bot never met: a plain answer, nothing changed.
      const text = result.refused === 'lastAdmin' ? m.t.roles.lastAdmin : m.t.roles.unknownPerson;
      return rolesShown(turn, { text, style: 'attention' });
    }
    const name = (await partners.people(actor.tenantId)).find((person) => person.userId === data.userId)?.name ?? data.userId;
    const text = !result.changed ? fill(m.t.roles.unchanged, { name }) : role ? fill(m.t.roles.saved, { name, role: roleName(m, role) }) : fill(m.t.roles.removed, { name });
    return rolesShown(turn, { text, style: result.changed ? 'good' : 'accent' });
  }),

  'history.show': verb(historyQuery, async (turn, data) => historyShown(turn, data)),

  /** For the customer's admin: what the partner did in their tenant, and nothing else. */
  'activity.show': verb(historyQuery.pick({ before: true }), async (turn, data) => {
    const { m, partners, audit, customer } = turn;
    if (!customer) return noticeCard(m, { text: m.t.offer.notYours, style: 'attention' });
    if (!(await turn.delegation.isAdmin(turn.actor, customer, turn.signInName))) return noticeCard(m, { text: fill(m.t.offer.notAdmin, { upn: customer.customer.admin.userPrincipalName }), style: 'attention' });
    const page = await audit.pageForCustomer(customer.partnerTenantId, customer.customer.tenantId, { before: data.before, limit: HISTORY_PAGE });
    return historyCard(m, {
      title: fill(m.t.audit.activityTitle, { partner: await partners.organisationName(customer.partnerTenantId) }),
      verb: 'activity.show',
      filters: false,
      customer: '',
      person: '',
      entries: page.entries,
      customerNames: new Map([[customer.customer.tenantId, customer.customer.name]]),
      next: page.next,
      paged: data.before !== undefined,
      partnerName: await partners.organisationName(customer.partnerTenantId),
    });
  }),
};

export const rolePermissions = permissionsOf<typeof roleVerbs>({
  'roles.show': [staff(), 'See who holds which role'],
  'role.assign': [staff(), 'Assign or take a role'],
  'history.show': [staff(), 'See the history (audit trail), by customer and person'],
  'activity.show': [customerAdmin, 'See what the partner did in their tenant'],
});
