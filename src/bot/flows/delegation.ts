/** The partner's side of delegated administration: offering it, withdrawing it, and adding users for the customer. */
import { z } from 'zod';
import { beforeRoles, staff } from '../../domain/roles.js';
import type { NewUserError } from '../../domain/account.js';
import { fill, type Messages } from '../../i18n/index.js';
import { customerCard } from '../accountViews.js';
import { composeCard, userAddCard, type UserForm } from '../delegationViews.js';
import { noticeCard } from '../views.js';
import { customerId, notFound, permissionsOf, typed, verbsOf } from './verb.js';

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

export const delegationVerbs = {
  'delegation.compose': verb(z.object({ customerId }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    const refusal = delegation.offerRefusal(actor.tenantId, data.customerId);
    if (refusal?.refused === 'notEligible') return noticeCard(m, { text: m.t.delegation.notEligible, style: 'warning' });
    if (refusal) return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation[refusal.refused as 'alreadyPending' | 'alreadyActive'], { customer: customer.name }), style: 'warning' } });
    return composeCard(m, customer, partners.organisationName(actor.tenantId));
  }),

  'delegation.send': verb(z.object({ customerId, offerId: z.uuid(), message: z.string().max(2000).optional().catch(undefined) }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    const message = (data.message ?? '').trim() || fill(m.t.delegation.defaultMessage, { admin: customer.admin.name, partner: partners.organisationName(actor.tenantId) });
    const result = await delegation.send(actor, data.customerId, data.offerId, message, turn.reference);
    const current = partners.customer(actor.tenantId, data.customerId)!;
    if ('refused' in result) {
      if (result.refused === 'notEligible') return noticeCard(m, { text: m.t.delegation.notEligible, style: 'warning' });
      if (result.refused === 'customerNotFound') return notFound(m);
      return customerCard(m, current, turn.day, { notice: { text: fill(m.t.delegation[result.refused], { customer: customer.name }), style: 'warning' } });
    }
    const values = { admin: customer.admin.name, customer: customer.name };
    const text = result.delivery === 'delivered' ? m.t.delegation.sentDelivered : result.delivery === 'waiting' ? m.t.delegation.sentWaiting : m.t.delegation.undeliverable;
    return customerCard(m, current, turn.day, { notice: { text: fill(text, values), style: result.delivery === 'unreachable' ? 'attention' : 'good' } });
  }),

  'delegation.withdraw': verb(z.object({ customerId, offerId: z.uuid() }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const result = await delegation.withdraw(actor, data.customerId, data.offerId);
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer || ('refused' in result && result.refused === 'offerNotFound')) return notFound(m);
    if ('refused' in result) return customerCard(m, customer, turn.day, { notice: { text: m.t.notice.stale, style: 'warning' } });
    return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation.withdrawn, { customer: customer.name }), style: 'good' } });
  }),

  'user.compose': verb(z.object({ customerId }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    if (!delegation.isDelegated(customer)) return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation.notDelegated, { customer: customer.name }), style: 'warning' } });
    return userAddCard(m, customer);
  }),

  'user.add': verb(z.object({ customerId, requestId: z.uuid(), firstName: typed, lastName: typed, signInName: typed, product: typed }), async (turn, data) => {
    const { actor, m, partners, delegation } = turn;
    const customer = partners.customer(actor.tenantId, data.customerId);
    if (!customer) return notFound(m);
    const values = { firstName: data.firstName ?? '', lastName: data.lastName ?? '', signInName: data.signInName ?? '', product: data.product ?? '' };
    const result = await delegation.addUser(actor, data.customerId, data.requestId, values);
    if (!result.ok) {
      if (result.reason === 'invalid') return userAddCard(m, customer, { values, errors: userErrors(m, result.errors), requestId: data.requestId }, { text: m.t.account.fix, style: 'attention' });
      if (!('user' in result)) {
        if (result.reason === 'customerNotFound') return notFound(m);
        return customerCard(m, customer, turn.day, { notice: { text: fill(m.t.delegation.notDelegated, { customer: customer.name }), style: 'warning' } });
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
  'delegation.compose': [staff([], beforeRoles), 'Write an offer of delegated administration'],
  'delegation.send': [staff([], beforeRoles), 'Send an offer of delegated administration'],
  'delegation.withdraw': [staff([], beforeRoles), 'Withdraw an offer of delegated administration'],
  'user.compose': [staff(['helpdesk'], beforeRoles), "Open the form to add a user to a customer's tenant"],
  'user.add': [staff(['helpdesk'], beforeRoles), "Add a user to a customer's tenant (where delegated administration allows)"],
});
