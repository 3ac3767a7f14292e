/**
 * Delegated administration between a partner and the customer it set up: requests for granular
 * relationships (roles, duration, auto-extension), the customer admin's answers, the end of a
 * relationship from either side, and what the partner may then do for the customer. The backend
 * holds the relationships; the offers in the partner's file hold the chat's side of each (who asked,
 * where to tell the partner, the customer's card) and the relationship as the backend last returned it.
 */
import type { Logger } from 'pino';
import { CommerceError, type Commerce } from '../commerce/commerce.js';
import type { ConversationRef, Delivery } from '../domain/conversation.js';
import { validateNewUser, type NewUserField } from '../domain/account.js';
import type { AddUserResult, AnswerRefusal, CustomerLink, DeliveryOutcome, EndRefusal, RequestRefusal } from '../domain/outcomes.js';
import type { Customer } from '../domain/customer.js';
import * as rules from '../domain/delegation.js';
import type { Offer } from '../domain/delegation.js';
import { dueRelationshipReminder, getsReminders, isInForce, mayAct, RELATIONSHIP_REMINDER_KINDS, ROLES_FOR_ACTION, validateRequest, type Relationship, type RelationshipReminderKind, type RequestInput } from '../domain/relationship.js';
import { localDay } from '../domain/lifecycle.js';
import { timeZoneOf } from '../domain/profile.js';
import { KeyedLock } from '../store/keyedLock.js';
import type { Actor } from '../domain/actor.js';
import type { AuditOf, OfferChange, Repositories } from '../store/repositories.js';
import type { AuditDraft } from '../domain/audit.js';
import { SYSTEM, type AuditTrail } from '../partners/auditTrail.js';

/** Sends a card or text to a conversation; the bot layer renders, this service decides. */
export interface OfferChannel {
  /** Shows the request card to the customer's admin; undefined when the bot cannot reach them. */
  sendOffer(link: CustomerLink, offer: Offer, conversation: ConversationRef): Promise<Delivery>;
  /** Replaces the customer's request card with its current state. */
  refreshOffer(link: CustomerLink, offer: Offer): Promise<void>;
  /** Tells the partner (in the chat the request was sent from) what became of it. */
  notifyPartner(link: CustomerLink, offer: Offer): Promise<boolean>;
  /** Reminds the partner, where it sent the request from, that the relationship ends without auto-extension. */
  remindPartner(link: CustomerLink, offer: Offer, kind: RelationshipReminderKind, today: string): Promise<boolean>;
}

export class DelegationService {
  /** One change at a time per customer in this instance, so the backend is not asked twice for one press; across instances each change is decided again on the offer as stored. */
  private readonly lock = new KeyedLock();

  constructor(
    private readonly repositories: Pick<Repositories, 'customers' | 'partners'>,
    private readonly commerce: Commerce,
    private readonly channel: OfferChannel,
    private readonly now: () => Date,
    private readonly offerDays: number,
    private readonly log: Logger,
    private readonly audit: Pick<AuditTrail, 'draft' | 'actorOf'>,
  ) {}

  private get customers() {
    return this.repositories.customers;
  }

  /** The entry of a change of delegated administration, keyed by the verb and the offer (or request). Made before the change: a repository may run its change again. */
  private async entry(partnerTenantId: string, actor: Actor, verb: string, key: string, customerTenantId: string, details: Record<string, string> = {}): Promise<AuditDraft> {
    return this.audit.draft(partnerTenantId, await this.audit.actorOf(partnerTenantId, actor), { id: `${verb}:${key}`, verb, customerTenantId, details, outcome: { result: 'done' } });
  }

  /** The customer record behind a customer tenant, if some partner set it up. */
  link(customerTenantId: string): Promise<CustomerLink | undefined> {
    return this.customers.link(customerTenantId);
  }

  /** The same customer as it stands now, after changes made since `link` was read. */
  private async fresh(link: CustomerLink): Promise<CustomerLink> {
    const customer = await this.customers.get(link.partnerTenantId, link.customer.tenantId);
    return { partnerTenantId: link.partnerTenantId, customer: customer ?? link.customer };
  }

  /**
   * Whether the actor is the customer's admin: by Entra object id, or else by sign-in name from
   * Teams member info, after which the object id is remembered.
   */
  async isAdmin(actor: Actor, link: CustomerLink, signInName: () => Promise<string | undefined>): Promise<boolean> {
    if (actor.tenantId !== link.customer.tenantId) return false;
    if (actor.userId === link.customer.admin.objectId) return true;
    const upn = (await signInName().catch(() => undefined))?.toLowerCase();
    if (!upn || upn !== link.customer.admin.userPrincipalName.toLowerCase()) return false;
    await this.customers.update(link.partnerTenantId, link.customer.tenantId, (customer) => ({ ...customer, admin: { ...customer.admin, objectId: actor.userId } }));
    return true;
  }

  /**
   * Keeps the admin's personal chat, so requests can be pushed to it. The first time, the admin is
   * recognised: recorded in the partner's trail, in the same write as the chat.
   */
  async rememberAdmin(actor: Actor, link: CustomerLink, conversation: ConversationRef): Promise<void> {
    const sameChat = (known: Customer['adminContact']) => known?.reachable === true && known.conversation.conversation.id === conversation.conversation.id && known.conversation.serviceUrl === conversation.serviceUrl;
    if (sameChat(link.customer.adminContact)) return;
    const { partnerTenantId, customer } = link;
    const updatedAt = this.now().toISOString();
    const recognised = await this.entry(partnerTenantId, actor, 'admin.recognise', customer.tenantId, customer.tenantId, { admin: customer.admin.userPrincipalName });
    let first = false;
    await this.customers.update(
      partnerTenantId,
      customer.tenantId,
      (current) => {
        first = current.adminContact === undefined;
        return sameChat(current.adminContact) ? undefined : { ...current, adminContact: { conversation, reachable: true, updatedAt } };
      },
      () => (first ? [recognised] : []),
    );
  }

  /** The article's rule, kept for relationships: only a partner enrolled in Cloud Essentials may request delegated administration. */
  async eligible(partnerTenantId: string): Promise<boolean> {
    return (await this.repositories.partners.profile(partnerTenantId))?.cloudEssentials === true;
  }

  /** The names the partner has given its relationships with any customer: a new one needs another. */
  relationshipNames(partnerTenantId: string): Promise<string[]> {
    return this.commerce.relationshipNames(partnerTenantId);
  }

  /** The customer's relationships with its partner that are in force now, as the backend holds them. */
  async activeRelationships(link: CustomerLink): Promise<Relationship[]> {
    const now = this.now();
    return (await this.commerce.listRelationships(link.customer.tenantId, link.partnerTenantId)).filter((r) => isInForce(r, now));
  }

  /**
   * Checks the request, has the backend create the relationship and send it for approval, saves the
   * offer, then delivers it to the admin's chat if one is known. The card's request id is the
   * backend's idempotency key and the offer's id: a second press finds the first request.
   */
  request(actor: Actor, customerTenantId: string, requestId: string, input: RequestInput, message: string, from: ConversationRef | undefined): Promise<{ offer: Offer; delivery: DeliveryOutcome } | RequestRefusal> {
    return this.lock.run(customerTenantId, async () => {
      const mine = await this.customers.get(actor.tenantId, customerTenantId);
      if (!mine) return { refused: 'customerNotFound' };
      const existing = mine.offers.find((offer) => offer.id === requestId);
      if (existing) return { offer: existing, delivery: existing.delivery };
      if (!(await this.eligible(actor.tenantId))) return { refused: 'notEligible' };
      // Whether the name is taken the backend decides, which also knows a retry of this request by its key.
      const checked = validateRequest(input, []);
      if ('errors' in checked) return { refused: 'invalid', errors: checked.errors };
      let relationship: Relationship;
      try {
        relationship = await this.commerce.createRelationship({ idempotencyKey: requestId, partnerTenantId: actor.tenantId, customerTenantId, ...checked.request });
      } catch (error) {
        if (error instanceof CommerceError && error.code === 'displayNameTaken') return { refused: 'invalid', errors: [{ field: 'displayName', code: 'taken' }] };
        throw error;
      }
      const offer = rules.newOffer(requestId, message, { id: actor.userId, name: actor.name }, new Date(relationship.createdDateTime), this.offerDays, from, relationship);
      const entry = await this.entry(actor.tenantId, actor, 'delegation.request', requestId, customerTenantId, { relationship: relationship.displayName });
      const added = await this.customers.addOffer(actor.tenantId, customerTenantId, offer, () => [entry]);
      if (!added.added) {
        // Another instance saved this very request first; anything else the backend would have refused.
        if (added.existing.id !== requestId) throw new Error(`request ${requestId} collides with offer ${added.existing.id}`);
        return { offer: added.existing, delivery: added.existing.delivery };
      }
      const delivered = await this.deliver(await this.fresh({ partnerTenantId: actor.tenantId, customer: mine }), requestId);
      return { offer: delivered.offer, delivery: delivered.delivery };
    });
  }

  /** Pushes a pending request to the admin's known chat; remembers an unreachable chat and tells the partner. */
  private async deliver(link: CustomerLink, offerId: string): Promise<{ offer: Offer; delivery: DeliveryOutcome }> {
    const contact = link.customer.adminContact;
    const offer = link.customer.offers.find((o) => o.id === offerId)!;
    if (!contact?.reachable) return { offer, delivery: 'waiting' };
    const sent = await this.channel.sendOffer(link, offer, contact.conversation);
    if (sent.ok) {
      const shown = await this.changeOffer(link, offerId, (o) => ({ ...o, delivery: 'delivered', customerCard: sent.activityId ? { conversation: contact.conversation, activityId: sent.activityId } : undefined }));
      return { offer: shown.offer, delivery: 'delivered' };
    }
    if (!sent.unreachable) return { offer, delivery: 'waiting' };
    await this.customers.update(link.partnerTenantId, link.customer.tenantId, (customer) => (customer.adminContact ? { ...customer, adminContact: { ...customer.adminContact, reachable: false } } : undefined));
    const marked = await this.changeOffer(link, offerId, (o) => ({ ...o, delivery: 'unreachable' }));
    return { offer: marked.offer, delivery: 'unreachable' };
  }

  /** Requests the admin has not been shown yet: they are shown in the reply to whatever the admin says. */
  unseenOffers(link: CustomerLink): Offer[] {
    return this.pendingOffers(link).filter((offer) => offer.delivery !== 'delivered');
  }

  /** Every request still waiting for the admin's answer; an offer of the old kind still open is not shown again, it runs out. */
  pendingOffers(link: CustomerLink): Offer[] {
    return link.customer.offers.filter((offer) => offer.status === 'pending' && offer.relationship);
  }

  async markShown(link: CustomerLink, offerId: string, conversation: ConversationRef, activityId: string | undefined): Promise<void> {
    await this.changeOffer(link, offerId, (o) => ({ ...o, delivery: 'delivered', customerCard: activityId ? { conversation, activityId } : o.customerCard }));
  }

  /**
   * The customer's admin accepts or declines; the partner is told in the chat it sent the request
   * from. The backend answers first (a retry of an answer it took returns the same relationship),
   * then the offer is saved if it is still pending: should that fail, pressing again or the next
   * sweep finishes it; should another instance have settled it meanwhile, that answer stands.
   */
  answer(actor: Actor, offerId: string, accepted: boolean, isAdmin: (link: CustomerLink) => Promise<boolean>): Promise<{ link: CustomerLink; offer: Offer } | AnswerRefusal> {
    return this.lock.run(actor.tenantId, async () => {
      const link = await this.link(actor.tenantId);
      const offer = link?.customer.offers.find((o) => o.id === offerId);
      // A request of another tenant is answered exactly like one that does not exist.
      if (!link || !offer) return { refused: 'offerNotFound' };
      if (!(await isAdmin(link))) return { refused: 'notAdmin', link };
      const current = rules.isDue(offer, this.now()) ? await this.expireOffer(link, offerId) : { link, offer };
      if (current.offer.status !== 'pending' || !current.offer.relationship) return { refused: 'alreadyAnswered', link: current.link, offer: current.offer };
      const { tenantId } = link.customer;
      let relationship: Relationship;
      try {
        relationship = accepted ? await this.commerce.approveRelationship(tenantId, current.offer.relationship.id) : await this.commerce.declineRelationship(tenantId, current.offer.relationship.id);
      } catch (error) {
        // The partner withdrew it or it ran out at the backend first: the card shows what became of it.
        if (!(error instanceof CommerceError && error.code === 'relationshipState' && error.relationship)) throw error;
        const synced = await this.sync(current.link, offerId, error.relationship);
        return { refused: 'alreadyAnswered', link: synced.link, offer: synced.offer };
      }
      const by = { id: actor.userId, name: actor.name };
      const at = this.now();
      const entry = await this.entry(link.partnerTenantId, actor, accepted ? 'offer.accept' : 'offer.decline', offerId, tenantId);
      const answered = await this.changeOffer(current.link, offerId, (o) => (o.status === 'pending' ? { ...rules.answer(o, accepted, by, at), relationship } : undefined), () => [entry]);
      if (!answered.changed) return { refused: 'alreadyAnswered', link: answered.link, offer: answered.offer };
      this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: tenantId, offerId, relationshipId: relationship.id, accepted }, 'request for delegated administration answered');
      await this.tellPartner(answered.link, answered.offer);
      return { link: answered.link, offer: answered.offer };
    });
  }

  /**
   * Brings a pending offer in line with the backend's relationship: approved (an answer whose save
   * failed), declined, ended or run out there. The customer's card and the partner are told.
   */
  private async sync(link: CustomerLink, offerId: string, relationship: Relationship): Promise<{ link: CustomerLink; offer: Offer }> {
    const now = this.now();
    const admin = { id: link.customer.admin.objectId, name: link.customer.admin.name };
    // What a pending offer becomes follows from the relationship alone, so its entry is made before the change.
    const settle = (o: Offer): Offer => {
      if (relationship.activatedDateTime) return { ...rules.answer(o, true, admin, new Date(relationship.activatedDateTime)), relationship };
      if (relationship.status === 'terminated' && relationship.terminatedBy === 'customer') return { ...rules.answer(o, false, admin, now), relationship };
      if (relationship.status === 'terminated') return { ...rules.withdraw(o, o.sentBy, now), relationship };
      return { ...rules.expire(o, now), relationship };
    };
    const offer = link.customer.offers.find((o) => o.id === offerId)!;
    const verb = ({ accepted: 'offer.accept', declined: 'offer.decline', withdrawn: 'delegation.end', expired: 'offer.expire' } as Record<string, string>)[settle(offer).status]!;
    const entry = await this.entry(link.partnerTenantId, SYSTEM, verb, verb === 'delegation.end' ? relationship.id : offerId, link.customer.tenantId);
    const changed = await this.changeOffer(
      link,
      offerId,
      (o) => {
        if (o.status !== 'pending') return { ...o, relationship };
        return relationship.status === 'approvalPending' ? undefined : settle(o);
      },
      (c) => (c.before.status === 'pending' && c.offer.status !== 'pending' ? [entry] : []),
    );
    await this.channel.refreshOffer(changed.link, changed.offer);
    await this.tellPartner(changed.link, changed.offer);
    return changed;
  }

  /**
   * The partner ends a relationship: withdraws a pending request or ends an active relationship
   * (the old delegated admin too). The customer's card shows it.
   */
  endByPartner(actor: Actor, customerTenantId: string, relationshipId: string): Promise<{ relationship: Relationship } | EndRefusal> {
    return this.lock.run(customerTenantId, async () => {
      const customer = await this.customers.get(actor.tenantId, customerTenantId);
      if (!customer) return { refused: 'notFound' };
      const link = { partnerTenantId: actor.tenantId, customer };
      // The old delegated admin shows under its offer's id; the backend holds it under its own.
      const legacy = customer.offers.some((o) => o.id === relationshipId && !o.relationship && o.status === 'accepted');
      const target = legacy ? ((await this.commerce.listRelationships(customerTenantId, actor.tenantId)).find((r) => r.legacy)?.id ?? relationshipId) : relationshipId;
      let relationship: Relationship;
      try {
        relationship = await this.commerce.terminateRelationship(customerTenantId, target, { side: 'partner', partnerTenantId: actor.tenantId });
      } catch (error) {
        if (error instanceof CommerceError && error.code === 'unknownRelationship') return { refused: 'notFound' };
        if (error instanceof CommerceError && error.code === 'relationshipState' && error.relationship) return { refused: 'state', reason: error.message, relationship: error.relationship };
        throw error;
      }
      const by = { id: actor.userId, name: actor.name };
      const at = this.now();
      const entry = await this.entry(actor.tenantId, actor, 'delegation.end', relationship.id, customerTenantId, { relationship: relationship.displayName });
      const offer = this.offerOf(customer, relationship);
      if (offer && (offer.status === 'pending' || offer.status === 'accepted')) {
        const ended = await this.changeOffer(
          link,
          offer.id,
          (o) => {
            if (o.status !== 'pending' && o.status !== 'accepted') return undefined;
            return { ...(o.status === 'pending' ? rules.withdraw(o, by, at) : { ...o, status: 'ended' as const, endedAt: at.toISOString(), endedBy: by }), relationship: o.relationship && relationship };
          },
          () => [entry],
        );
        await this.channel.refreshOffer(ended.link, ended.offer);
      } else {
        // Nothing of ours changes (no offer behind it), but the ending is the partner's act all the same.
        await this.customers.update(actor.tenantId, customerTenantId, (current) => current, () => [entry]);
      }
      this.log.info({ partnerTenantId: actor.tenantId, customerTenantId, relationshipId }, 'relationship ended by the partner');
      return { relationship };
    });
  }

  /** The offer behind a relationship: its own, or for the old delegated admin the accepted offer of the old kind. */
  private offerOf(customer: Customer, relationship: Relationship): Offer | undefined {
    return customer.offers.find((o) => (relationship.legacy ? !o.relationship && o.status === 'accepted' : o.relationship?.id === relationship.id));
  }

  /**
   * The customer's admin ends one relationship in force, or all of them; the partner loses those
   * roles and is told.
   */
  endByCustomer(actor: Actor, relationshipId: string | undefined, isAdmin: (link: CustomerLink) => Promise<boolean>): Promise<{ link: CustomerLink; ended: Relationship[] } | { refused: 'notCustomer' } | { refused: 'notAdmin' | 'notActive'; link: CustomerLink }> {
    return this.lock.run(actor.tenantId, async () => {
      const link = await this.link(actor.tenantId);
      if (!link) return { refused: 'notCustomer' };
      if (!(await isAdmin(link))) return { refused: 'notAdmin', link };
      const chosen = (await this.activeRelationships(link)).filter((r) => relationshipId === undefined || r.id === relationshipId);
      if (chosen.length === 0) return { refused: 'notActive', link };
      const by = { id: actor.userId, name: actor.name };
      const ended: Relationship[] = [];
      let current = link;
      for (const r of chosen) {
        const relationship = await this.commerce.terminateRelationship(link.customer.tenantId, r.id, { side: 'customer' });
        ended.push(relationship);
        const offer = this.offerOf(current.customer, relationship);
        if (!offer) continue;
        const at = this.now();
        const entry = await this.entry(link.partnerTenantId, actor, 'access.end', relationship.id, link.customer.tenantId, { relationship: relationship.displayName });
        // Ended already (by another instance, at the same press): left as it is, recorded once.
        const changed = await this.changeOffer(current, offer.id, (o) => (o.status === 'ended' ? undefined : { ...rules.end(o, by, at), relationship: o.relationship && relationship }), () => [entry]);
        current = changed.link;
        await this.tellPartner(current, changed.offer);
      }
      this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, ended: ended.length }, 'relationships ended by the customer');
      return { link: current, ended };
    });
  }

  /**
   * Expires pending requests past their date, finishes answers whose save failed, sends notices
   * a restart or an outage held back, and reminds of relationships' ends.
   */
  async sweep(): Promise<number> {
    let expired = 0;
    const zones = new Map<string, string>();
    for (const link of await this.customers.withOfferWork()) {
      const { partnerTenantId } = link;
      const customerTenantId = link.customer.tenantId;
      // One customer whose backend cannot be read now holds up no other.
      expired += await this.lock.run(customerTenantId, () => this.settleAll(link)).catch((error) => {
        this.log.error({ err: error, partnerTenantId, customerTenantId }, 'requests not settled; tried again at the next sweep');
        return 0;
      });
      const current = await this.fresh(link);
      for (const offer of current.customer.offers.filter((o) => o.partnerNotice === 'pending')) await this.tellPartner(current, offer);
      if (!zones.has(partnerTenantId)) zones.set(partnerTenantId, timeZoneOf(await this.repositories.partners.profile(partnerTenantId)));
      await this.lock.run(customerTenantId, async () => this.remindOfEnds(await this.fresh(link), zones.get(partnerTenantId)!)).catch((error) => {
        this.log.error({ err: error, partnerTenantId, customerTenantId }, 'relationship reminders not sent; tried again at the next sweep');
      });
    }
    return expired;
  }

  /**
   * Reminds the partner 30, 7 and 1 day before a relationship without auto-extension ends, on the
   * partner's calendar day, each once: the reminder is recorded before it is sent (decided on the
   * offer as stored, so two sweeps record it once), a failed send is sent again at the next sweep,
   * and one overtaken while the bot was down is skipped.
   */
  private async remindOfEnds(link: CustomerLink, zone: string): Promise<void> {
    const now = this.now();
    const today = localDay(now, zone);
    // Every accepted relationship with reminders unhandled: one that extends itself gets them all marked handled.
    const open = (o: Offer) => o.status === 'accepted' && o.relationship !== undefined && (o.reminderDue !== undefined || (o.reminders?.length ?? 0) < RELATIONSHIP_REMINDER_KINDS.length);
    const record = (o: Offer): Offer | undefined => {
      if (!open(o) || o.reminderDue) return undefined;
      const handled = new Set(o.reminders ?? []);
      const r = o.relationship!;
      // One that ended or extends itself gets none: all are handled, so it is not looked at again.
      const due = getsReminders(r, now) ? dueRelationshipReminder(localDay(new Date(r.endDateTime!), zone), today, handled) : { skip: RELATIONSHIP_REMINDER_KINDS.filter((k) => !handled.has(k)) };
      if (!due) return undefined;
      const send = 'send' in due ? due.send : undefined;
      return { ...o, reminders: [...handled, ...due.skip, ...(send ? [send] : [])], ...(send ? { reminderDue: send } : {}) };
    };
    for (const offer of link.customer.offers) {
      if (!open(offer)) continue;
      let current = offer;
      if (!current.reminderDue) {
        // Most sweeps have nothing to record: the copy says so without a write.
        if (!record(offer)) continue;
        const recorded = await this.changeOffer(link, offer.id, record);
        if (!recorded.changed) continue;
        current = recorded.offer;
        link = recorded.link;
      }
      const kind = current.reminderDue;
      if (!kind) continue;
      if (await this.channel.remindPartner(link, current, kind, today)) {
        link = (await this.changeOffer(link, current.id, ({ reminderDue, ...o }) => (reminderDue === kind ? o : undefined))).link;
        this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, relationshipId: current.relationship!.id, kind }, 'relationship end reminder sent');
      }
    }
  }

  /** Settles the pending offers as stored once the lock is held: an answer or a withdrawal may have come since the sweep's copy. */
  private async settleAll(link: CustomerLink): Promise<number> {
    const pending = (await this.fresh(link)).customer.offers.filter((o) => o.status === 'pending');
    if (pending.length === 0) return 0;
    const held = await this.commerce.listRelationships(link.customer.tenantId, link.partnerTenantId);
    let expired = 0;
    for (const offer of pending) {
      if (rules.isDue(offer, this.now())) {
        if ((await this.expireOffer(await this.fresh(link), offer.id)).offer.status === 'expired') expired++;
        continue;
      }
      const relationship = held.find((r) => r.id === offer.relationship?.id);
      if (relationship && relationship.status !== 'approvalPending') await this.sync(await this.fresh(link), offer.id, relationship);
    }
    return expired;
  }

  /**
   * The partner acts for the customer: adds a licensed user as typed, only with a role that allows
   * it in a relationship in force; a refusal names the role to request.
   */
  async addUser(actor: Actor, customerTenantId: string, requestId: string, input: Partial<Record<NewUserField, string>>): Promise<AddUserResult> {
    const checked = validateNewUser(input);
    if ('errors' in checked) return { ok: false, reason: 'invalid', errors: checked.errors };
    const user = { requestId, ...checked.user };
    return this.lock.run(customerTenantId, async () => {
      const customer = await this.customers.get(actor.tenantId, customerTenantId);
      if (!customer) return { ok: false, reason: 'customerNotFound' };
      const done = customer.addedUsers.find((u) => u.requestId === user.requestId);
      if (done) return { ok: true, userPrincipalName: done.userPrincipalName, customer, user };
      const gate = await this.mayAddUsers(actor.tenantId, customerTenantId);
      if (!gate.allowed) return { ok: false, reason: 'missingRole', roleId: gate.missingRoleId };
      let created: { userPrincipalName: string };
      try {
        created = await this.commerce.addUser({ idempotencyKey: user.requestId, customerTenantId, partnerTenantId: actor.tenantId, firstName: user.firstName, lastName: user.lastName, signInName: user.signInName, product: user.product });
      } catch (error) {
        // The relationship ended between the check and the call.
        if (error instanceof CommerceError && error.code === 'notDelegated') return { ok: false, reason: 'missingRole', roleId: ROLES_FOR_ACTION.addUser[0]! };
        if (error instanceof CommerceError && (error.code === 'noFreeSeats' || error.code === 'userExists')) return { ok: false, reason: error.code, user };
        throw error;
      }
      const addedAt = this.now().toISOString();
      const entry = await this.entry(actor.tenantId, actor, 'user.add', user.requestId, customerTenantId, { user: created.userPrincipalName, product: user.product });
      const updated = await this.customers.update(
        actor.tenantId,
        customerTenantId,
        (c) => {
          // Another instance recorded this very request first (the backend made the user once).
          if (c.addedUsers.some((u) => u.requestId === user.requestId)) return undefined;
          c.addedUsers.push({ requestId: user.requestId, userPrincipalName: created.userPrincipalName, product: user.product, addedAt });
          const subscription = c.subscriptions.find((s) => s.product === user.product && s.assignedSeats < s.seats);
          if (subscription) subscription.assignedSeats += 1;
          return c;
        },
        () => [entry],
      );
      return { ok: true, userPrincipalName: created.userPrincipalName, customer: updated ?? (await this.fresh({ partnerTenantId: actor.tenantId, customer })).customer, user };
    });
  }

  /** Whether a relationship in force lets the partner add users, as the backend holds them; if not, the role to request. */
  async mayAddUsers(partnerTenantId: string, customerTenantId: string): Promise<ReturnType<typeof mayAct>> {
    return mayAct('addUser', await this.commerce.listRelationships(customerTenantId, partnerTenantId), this.now());
  }

  /** Decided again in the transaction, on the offer as stored: only one still pending past its date expires. */
  private async expireOffer(link: CustomerLink, offerId: string): Promise<{ link: CustomerLink; offer: Offer }> {
    const now = this.now();
    const entry = await this.entry(link.partnerTenantId, SYSTEM, 'offer.expire', offerId, link.customer.tenantId);
    const expired = await this.changeOffer(
      link,
      offerId,
      (o) => (rules.isDue(o, now) ? { ...rules.expire(o, now), relationship: o.relationship && { ...o.relationship, status: 'expired', endDateTime: o.expiresAt, lastModifiedDateTime: now.toISOString() } } : undefined),
      () => [entry],
    );
    if (!expired.changed) return expired;
    await this.channel.refreshOffer(expired.link, expired.offer);
    this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, offerId }, 'request for delegated administration expired');
    return expired;
  }

  private async tellPartner(link: CustomerLink, offer: Offer): Promise<void> {
    if (offer.partnerNotice !== 'pending') return;
    if (await this.channel.notifyPartner(link, offer)) await this.changeOffer(link, offer.id, (o) => (o.partnerNotice === 'pending' ? { ...o, partnerNotice: 'sent' } : undefined));
  }

  /**
   * Changes one offer as stored (`change` returns undefined to leave it as it is); returns it with its
   * customer as stored after the change, so nothing needs reading again. `audit` records the change
   * in the same write.
   */
  private async changeOffer(link: CustomerLink, offerId: string, change: (offer: Offer) => Offer | undefined, audit?: AuditOf<OfferChange>): Promise<{ link: CustomerLink; offer: Offer; changed: boolean }> {
    const outcome = await this.customers.updateOffer(link.partnerTenantId, link.customer.tenantId, offerId, change, audit);
    if (!outcome) throw new Error(`offer ${offerId} of customer ${link.customer.tenantId} vanished`);
    return { link: { partnerTenantId: link.partnerTenantId, customer: outcome.customer }, offer: outcome.offer, changed: outcome.offer !== outcome.before };
  }
}
