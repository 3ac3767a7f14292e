/** The partner's side of delegated administration: requesting relationships, ending them, and adding users for the customer. */
import { z } from 'zod';
import type { AdaptiveCard } from '../../cards.js';
import { beforeRoles, staff } from '../../domain/roles.js';
import type { NewUserError } from '../../domain/account.js';
import type { Customer } from '../../domain/customer.js';
import { entraRole, GLOBAL_ADMINISTRATOR, roleTemplate } from '../../domain/entraRoles.js';
import { NO_AUTO_EXTEND } from '../../domain/relationship.js';
import { fill, type Messages } from '../../i18n/index.js';
import { customerCard } from '../accountViews.js';
import { composeCard, userAddCard, type RequestForm, type UserForm } from '../delegationViews.js';
import { noticeCard } from '../views.js';
import { customerId, notFound, permissionsOf, typed, verbsOf, type TurnWith } from './verb.js';

const verb = verbsOf<'partners' | 'delegation'>();

/** The add-user form's messages, under the fields they concern. */
function userErrors(m: Messages, errors: readonly NewUserError[]): NonNullable<UserForm['errors']> {
  const e = m.t.account.error;
  const text = (x: NewUserError) => (x.code === 'tooLong' ? fill(e.tooLong, { max: x.max }) : e[x.code as 'required' | 'invalid' | 'signInSyntax']);
  return {
    name: errors.filter((x) => x.field === 'firstName' || x.field === 'lastName').map(text),
    signInName: errors.filter((x) => x.field === 'signInName').map(text),
    product: errors.some((x) => x.field === 'product') ? [m.t.addUser.licenseMissing] : [],
  };
}

/** The request form's fields as the card sends them back; the role picker sends its choices joined by commas. */
const requestFields = { requestId: z.uuid(), templateId: typed, displayName: typed, roleIds: typed, duration: typed, autoExtendDuration: typed, message: typed };

function formOf(data: { templateId?: string; displayName?: string; roleIds?: string; duration?: string; autoExtendDuration?: string; message?: string }): RequestForm {
  return { templateId: data.templateId ?? '', displayName: data.displayName ?? '', roleIds: data.roleIds ?? '', duration: data.duration ?? '', autoExtendDuration: data.autoExtendDuration ?? '', message: data.message ?? '' };
}

/** A refusal for want of a role: the request form with that role chosen, saying what is missing. */
async function missingRole(turn: TurnWith<'partners' | 'delegation'>, customer: Customer, roleId: string): Promise<AdaptiveCard> {
  const { m, actor, partners } = turn;
  const text = fill(m.t.relationships.missingRole, { role: entraRole(roleId)?.name[m.language] ?? roleId, customer: customer.name });
  if (!(await turn.delegation.eligible(actor.tenantId))) return customerCard(m, customer, turn.day, { notice: { text, style: 'warning' } });
  return composeCard(m, customer, await partners.organisationName(actor.tenantId), { roleId, takenNames: await turn.delegation.relationshipNames(actor.tenantId), notice: { text, style: 'warning' } });
}

export const delegationVerbs = {
  'delegation.compose': verb(z.object({ customerId }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = await partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    // The article's rule stays: Cloud Essentials enrolment before any request.
    if (!(await delegation.eligible(actor.tenantId))) return noticeCard(m, { text: m.t.delegation.notEligible, style: 'warning' });
    return composeCard(m, customer, await partners.organisationName(actor.tenantId), { takenNames: await delegation.relationshipNames(actor.tenantId) });
  }),

  /** Puts the chosen template's roles on the form, keeping everything else typed. */
  'delegation.template': verb(z.object({ customerId, ...requestFields }), async (turn, data) => {
    const { actor, m, partners } = turn;
    const customer = await partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    const template = roleTemplate(data.templateId ?? '');
    const form = formOf(data);
    // Microsoft allows no auto-extension with Global Administrator.
    const roles = template ? { roleIds: template.roleIds.join(','), ...(template.roleIds.includes(GLOBAL_ADMINISTRATOR) ? { autoExtendDuration: NO_AUTO_EXTEND } : {}) } : {};
    return composeCard(m, customer, await partners.organisationName(actor.tenantId), { form: { ...form, ...roles }, requestId: data.requestId });
  }),

  'delegation.request': verb(z.object({ customerId, ...requestFields }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = await partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    const form = formOf(data);
    const message = form.message!.trim() || fill(m.t.delegation.defaultMessage, { admin: customer.admin.name, partner: await partners.organisationName(actor.tenantId) });
    const input = { displayName: form.displayName, roleIds: form.roleIds!.split(','), duration: form.duration, autoExtendDuration: form.autoExtendDuration };
    const result = await delegation.request(actor, data.customerId, data.requestId, input, message, turn.reference);
    if ('refused' in result) {
      if (result.refused === 'notEligible') return noticeCard(m, { text: m.t.delegation.notEligible, style: 'warning' });
      if (result.refused === 'customerNotFound') return notFound(m);
      return composeCard(m, customer, await partners.organisationName(actor.tenantId), { form, errors: result.errors, requestId: data.requestId });
    }
    const current = (await partners.customer(actor.tenantId, data.customerId))!;
    const values = { admin: customer.admin.name, customer: customer.name, name: result.offer.relationship?.displayName ?? '' };
    const text = result.delivery === 'delivered' ? m.t.delegation.sentDelivered : result.delivery === 'waiting' ? m.t.delegation.sentWaiting : m.t.delegation.undeliverable;
    return customerCard(m, current, turn.day, { notice: { text: fill(text, values), style: result.delivery === 'unreachable' ? 'attention' : 'good' } });
  }),

  /** Withdraws a request or ends a relationship in force, the old delegated admin too. */
  'delegation.end': verb(z.object({ customerId, relationshipId: z.string().min(1).max(200) }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const result = await delegation.endByPartner(actor, data.customerId, data.relationshipId);
    const customer = await partners.customer(actor.tenantId, data.customerId);
    if (!customer || ('refused' in result && result.refused === 'notFound')) return notFound(m);
    if ('refused' in result) return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation.notEndable, { name: result.relationship.displayName }), style: 'warning' } });
    const { relationship } = result;
    const name = relationship.legacy ? m.t.relationships.legacyName : relationship.displayName;
    const text = relationship.activatedDateTime ? m.t.delegation.ended : m.t.delegation.withdrawn;
    return customerCard(m, customer, turn.day, { notice: { text: fill(text, { name, customer: customer.name }), style: 'good' } });
  }),

  'user.compose': verb(z.object({ customerId }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = await partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    const gate = await delegation.mayAddUsers(actor.tenantId, data.customerId);
    if (!gate.allowed) return missingRole(turn, customer, gate.missingRoleId);
    return userAddCard(m, customer);
  }),

  'user.add': verb(z.object({ customerId, requestId: z.uuid(), firstName: typed, lastName: typed, signInName: typed, product: typed }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = await partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    const values = { firstName: data.firstName ?? '', lastName: data.lastName ?? '', signInName: data.signInName ?? '', product: data.product ?? '' };
    const result = await delegation.addUser(actor, data.customerId, data.requestId, values);
    if (!result.ok) {
      if (result.reason === 'invalid') return userAddCard(m, customer, { values, errors: userErrors(m, result.errors), requestId: data.requestId }, { text: m.t.account.fix, style: 'attention' });
      if (!('user' in result)) {
        if (result.reason === 'customerNotFound') return notFound(m);
        return missingRole(turn, customer, result.roleId);
      }
      const upn = `${result.user.signInName}@${customer.domain}`;
      const text = result.reason === 'userExists' ? fill(m.t.addUser.userExists, { upn }) : fill(m.t.addUser.noFreeSeats, { customer: customer.name });
      return userAddCard(m, customer, { values, requestId: data.requestId }, { text, style: 'attention' });
    }
    const { user } = result;
    return customerCard(m, result.customer, turn.day, { notice: { text: fill(m.t.addUser.added, { name: `${user.firstName} ${user.lastName}`, upn: result.userPrincipalName, product: user.product }), style: 'good' } });
  }),
};

export const delegationPermissions = permissionsOf<typeof delegationVerbs>({
  'delegation.compose': [staff([], beforeRoles), 'Write a request for delegated administration'],
  'delegation.template': [staff([], beforeRoles), "Put a role template's roles on the request form"],
  'delegation.request': [staff([], beforeRoles), 'Send a request for delegated administration'],
  'delegation.end': [staff([], beforeRoles), 'Withdraw a request or end a delegated admin relationship'],
  'user.compose': [staff(['helpdesk'], beforeRoles), "Open the form to add a user to a customer's tenant"],
  'user.add': [staff(['helpdesk'], beforeRoles), "Add a user to a customer's tenant (where delegated administration allows)"],
});
