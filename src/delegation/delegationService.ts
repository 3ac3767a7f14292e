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
import { indexCustomer } from '../store/customerIndex.js';
import type { Store } from '../store/store.js';
import type { AuditDraft } from '../domain/audit.js';
import { SYSTEM, type AuditTrail } from '../partners/auditTrail.js';

/** Makes the audit entry of a customer's change from the customer as changed. */
type Entry = (customer: Customer) => AuditDraft | undefined;

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
  /** One change at a time per customer, so an answer and a withdrawal cannot both apply. */
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: Store,
    private readonly commerce: Commerce,
    private readonly channel: OfferChannel,
    private readonly now: () => Date,
    private readonly offerDays: number,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
  ) {}

  /** The entry of a change of delegated administration, keyed by the verb and the offer (or request). */
  private entry(partnerTenantId: string, actor: Actor, verb: string, key: string, customerTenantId: string, details: Record<string, string> = {}): AuditDraft {
    return this.audit.draft(partnerTenantId, actor, { id: `${verb}:${key}`, verb, customerTenantId, details, outcome: { result: 'done' } });
  }

  /** The customer record behind a customer tenant, if some partner set it up. */
  link(customerTenantId: string): CustomerLink | undefined {
    const entry = this.store.customerIndex(customerTenantId).data.customers[customerTenantId];
    if (!entry) return undefined;
    const customer = this.store.partner(entry.partnerTenantId).data.customers.find((c) => c.tenantId === customerTenantId);
    return customer ? { partnerTenantId: entry.partnerTenantId, customer } : undefined;
  }

  /** The same customer as it stands in the partner's file now, after changes made since `link` was read. */
  private fresh(link: CustomerLink): CustomerLink {
    const customer = this.store.partner(link.partnerTenantId).data.customers.find((c) => c.tenantId === link.customer.tenantId);
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
    await this.changeCustomer(link, (customer) => void (customer.admin.objectId = actor.userId));
    return true;
  }

  /** Keeps the admin's personal chat, so requests can be pushed to it. */
  async rememberAdmin(link: CustomerLink, conversation: ConversationRef): Promise<void> {
    const known = link.customer.adminContact;
    if (known?.reachable && known.conversation.conversation.id === conversation.conversation.id && known.conversation.serviceUrl === conversation.serviceUrl) return;
    await this.changeCustomer(link, (customer) => void (customer.adminContact = { conversation, reachable: true, updatedAt: this.now().toISOString() }));
  }

  /** The article's rule, kept for relationships: only a partner enrolled in Cloud Essentials may request delegated administration. */
  eligible(partnerTenantId: string): boolean {
    return this.store.head(partnerTenantId).profile?.cloudEssentials === true;
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
      const mine = this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
      if (!mine) return { refused: 'customerNotFound' };
      const existing = mine.offers.find((offer) => offer.id === requestId);
      if (existing) return { offer: existing, delivery: existing.delivery };
      if (!this.eligible(actor.tenantId)) return { refused: 'notEligible' };
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
      const link = { partnerTenantId: actor.tenantId, customer: mine };
      await this.changeCustomer(link, (customer) => void customer.offers.push(offer), () => this.entry(actor.tenantId, actor, 'delegation.request', requestId, customerTenantId, { relationship: relationship.displayName }));
      // The index entry may have failed to write when the customer was created; the request must reach the admin.
      await indexCustomer(this.store, actor.tenantId, customerTenantId);
      const delivery = await this.deliver(this.fresh(link), requestId);
      return { offer: this.offer(actor.tenantId, customerTenantId, requestId)!, delivery };
    });
  }

  /** Pushes a pending request to the admin's known chat; remembers an unreachable chat and tells the partner. */
  private async deliver(link: CustomerLink, offerId: string): Promise<DeliveryOutcome> {
    const contact = link.customer.adminContact;
    const offer = link.customer.offers.find((o) => o.id === offerId)!;
    if (!contact?.reachable) return 'waiting';
    const sent = await this.channel.sendOffer(link, offer, contact.conversation);
    if (sent.ok) {
      await this.changeOffer(link, offerId, (o) => ({ ...o, delivery: 'delivered', customerCard: sent.activityId ? { conversation: contact.conversation, activityId: sent.activityId } : undefined }));
      return 'delivered';
    }
    if (!sent.unreachable) return 'waiting';
    await this.changeCustomer(link, (customer) => {
      if (customer.adminContact) customer.adminContact.reachable = false;
    });
    await this.changeOffer(link, offerId, (o) => ({ ...o, delivery: 'unreachable' }));
    return 'unreachable';
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

  offer(partnerTenantId: string, customerTenantId: string, offerId: string): Offer | undefined {
    return this.store.partner(partnerTenantId).data.customers.find((c) => c.tenantId === customerTenantId)?.offers.find((o) => o.id === offerId);
  }

  /**
   * The customer's admin accepts or declines; the partner is told in the chat it sent the request
   * from. The backend answers first (a retry of an answer it took returns the same relationship),
   * then the offer is saved: should that fail, pressing again or the next sweep finishes it.
   */
  answer(actor: Actor, offerId: string, accepted: boolean, isAdmin: (link: CustomerLink) => Promise<boolean>): Promise<{ link: CustomerLink; offer: Offer } | AnswerRefusal> {
    return this.lock.run(actor.tenantId, async () => {
      const link = this.link(actor.tenantId);
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
      const answered = await this.changeOffer(current.link, offerId, (o) => ({ ...rules.answer(o, accepted, by, this.now()), relationship }), () => this.entry(link.partnerTenantId, actor, accepted ? 'offer.accept' : 'offer.decline', offerId, tenantId));
      this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: tenantId, offerId, relationshipId: relationship.id, accepted }, 'request for delegated administration answered');
      await this.tellPartner(answered.link, answered.offer);
      return answered;
    });
  }

  /**
   * Brings a pending offer in line with the backend's relationship: approved (an answer whose save
   * failed), declined, ended or run out there. The customer's card and the partner are told.
   */
  private async sync(link: CustomerLink, offerId: string, relationship: Relationship): Promise<{ link: CustomerLink; offer: Offer }> {
    const now = this.now();
    const admin = { id: link.customer.admin.objectId, name: link.customer.admin.name };
    const before = link.customer.offers.find((o) => o.id === offerId);
    const changed = await this.changeOffer(link, offerId, (o) => {
      if (o.status !== 'pending') return { ...o, relationship };
      if (relationship.status === 'approvalPending') return o;
      if (relationship.activatedDateTime) return { ...rules.answer(o, true, admin, new Date(relationship.activatedDateTime)), relationship };
      if (relationship.status === 'terminated' && relationship.terminatedBy === 'customer') return { ...rules.answer(o, false, admin, now), relationship };
      if (relationship.status === 'terminated') return { ...rules.withdraw(o, o.sentBy, now), relationship };
      return { ...rules.expire(o, now), relationship };
    }, (c) => {
      const after = c.offers.find((o) => o.id === offerId)!;
      if (before?.status !== 'pending' || after.status === 'pending') return undefined;
      const verb = ({ accepted: 'offer.accept', declined: 'offer.decline', withdrawn: 'delegation.end', expired: 'offer.expire' } as Record<string, string>)[after.status] ?? `offer.${after.status}`;
      return this.entry(link.partnerTenantId, SYSTEM, verb, verb === 'delegation.end' ? relationship.id : offerId, link.customer.tenantId);
    });
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
      const customer = this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
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
      const offer = this.offerOf(customer, relationship);
      const entry = () => this.entry(actor.tenantId, actor, 'delegation.end', relationship.id, customerTenantId, { relationship: relationship.displayName });
      if (offer && (offer.status === 'pending' || offer.status === 'accepted')) {
        const ended = await this.changeOffer(link, offer.id, (o) => ({ ...(o.status === 'pending' ? rules.withdraw(o, by, this.now()) : { ...o, status: 'ended' as const, endedAt: this.now().toISOString(), endedBy: by }), relationship: o.relationship && relationship }), entry);
        await this.channel.refreshOffer(ended.link, ended.offer);
      } else {
        // Nothing of ours changes (no offer behind it), but the ending is the partner's act all the same.
        await this.changeCustomer(link, () => undefined, entry);
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
      const link = this.link(actor.tenantId);
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
        const changed = await this.changeOffer(current, offer.id, (o) => ({ ...rules.end(o, by, this.now()), relationship: o.relationship && relationship }), () => this.entry(link.partnerTenantId, actor, 'access.end', relationship.id, link.customer.tenantId, { relationship: relationship.displayName }));
        current = changed.link;
        await this.tellPartner(current, changed.offer);
      }
      this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, ended: ended.length }, 'relationships ended by the customer');
      return { link: current, ended };
    });
  }

  /**
   * Expires pending requests past their date, finishes answers whose save failed, and sends notices
   * a restart or an outage held back.
   */
  async sweep(): Promise<number> {
    let expired = 0;
    for (const partner of this.store.partnersWith('offers')) {
      for (const customer of partner.data.customers) {
        if (customer.offers.length === 0) continue;
        const link = { partnerTenantId: partner.data.tenantId, customer };
        // One customer whose backend cannot be read now holds up no other.
        expired += await this.lock.run(customer.tenantId, () => this.settleAll(link)).catch((error) => {
          this.log.error({ err: error, partnerTenantId: link.partnerTenantId, customerTenantId: customer.tenantId }, 'requests not settled; tried again at the next sweep');
          return 0;
        });
        const current = this.fresh(link);
        for (const offer of current.customer.offers.filter((o) => o.partnerNotice === 'pending')) await this.tellPartner(current, offer);
        await this.lock.run(customer.tenantId, () => this.remindOfEnds(this.fresh(link))).catch((error) => {
          this.log.error({ err: error, partnerTenantId: link.partnerTenantId, customerTenantId: customer.tenantId }, 'relationship reminders not sent; tried again at the next sweep');
        });
      }
    }
    return expired;
  }

  /**
   * Reminds the partner 30, 7 and 1 day before a relationship without auto-extension ends, on the
   * partner's calendar day, each once: the reminder is recorded before it is sent, a failed send is
   * sent again at the next sweep, and one overtaken while the bot was down is skipped.
   */
  private async remindOfEnds(link: CustomerLink): Promise<void> {
    const now = this.now();
    const zone = timeZoneOf(this.store.head(link.partnerTenantId).profile);
    const today = localDay(now, zone);
    for (const offer of link.customer.offers) {
      if (offer.status !== 'accepted' || !offer.relationship || (offer.reminders?.length ?? 0) >= RELATIONSHIP_REMINDER_KINDS.length) continue;
      let current = offer;
      if (!current.reminderDue) {
        const handled = new Set(current.reminders ?? []);
        const r = offer.relationship;
        // One that ended or extends itself gets none: all are handled, so the partner's file is not read for it again.
        const due = getsReminders(r, now) ? dueRelationshipReminder(localDay(new Date(r.endDateTime!), zone), today, handled) : { skip: RELATIONSHIP_REMINDER_KINDS.filter((k) => !handled.has(k)) };
        if (!due) continue;
        const send = 'send' in due ? due.send : undefined;
        const changed = await this.changeOffer(link, offer.id, (o) => ({ ...o, reminders: [...handled, ...due.skip, ...(send ? [send] : [])], ...(send ? { reminderDue: send } : {}) }));
        current = changed.offer;
        link = changed.link;
      }
      if (!current.reminderDue) continue;
      if (await this.channel.remindPartner(link, current, current.reminderDue, today)) {
        link = (await this.changeOffer(link, current.id, ({ reminderDue: _sent, ...o }) => o)).link;
        this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, relationshipId: current.relationship!.id, kind: current.reminderDue }, 'relationship end reminder sent');
      }
    }
  }

  /** Settles the pending offers as stored once the lock is held: an answer or a withdrawal may have come since the sweep's copy. */
  private async settleAll(link: CustomerLink): Promise<number> {
    const pending = this.fresh(link).customer.offers.filter((o) => o.status === 'pending');
    if (pending.length === 0) return 0;
    const held = await this.commerce.listRelationships(link.customer.tenantId, link.partnerTenantId);
    let expired = 0;
    for (const offer of pending) {
      if (rules.isDue(offer, this.now())) {
        await this.expireOffer(this.fresh(link), offer.id);
        expired++;
        continue;
      }
      const relationship = held.find((r) => r.id === offer.relationship?.id);
      if (relationship && relationship.status !== 'approvalPending') await this.sync(this.fresh(link), offer.id, relationship);
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
      const customer = this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
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
      const link = { partnerTenantId: actor.tenantId, customer };
      const updated = await this.changeCustomer(link, (c) => {
        c.addedUsers.push({ requestId: user.requestId, userPrincipalName: created.userPrincipalName, product: user.product, addedAt: this.now().toISOString() });
        const subscription = c.subscriptions.find((s) => s.product === user.product && s.assignedSeats < s.seats);
        if (subscription) subscription.assignedSeats += 1;
        return c;
      }, () => this.entry(actor.tenantId, actor, 'user.add', user.requestId, customerTenantId, { user: created.userPrincipalName, product: user.product }));
      return { ok: true, userPrincipalName: created.userPrincipalName, customer: updated, user };
    });
  }

  /** Whether a relationship in force lets the partner add users, as the backend holds them; if not, the role to request. */
  async mayAddUsers(partnerTenantId: string, customerTenantId: string): Promise<ReturnType<typeof mayAct>> {
    return mayAct('addUser', await this.commerce.listRelationships(customerTenantId, partnerTenantId), this.now());
  }

  /** Decided again in the transaction, on the offer as stored: only one still pending past its date expires. */
  private async expireOffer(link: CustomerLink, offerId: string): Promise<{ link: CustomerLink; offer: Offer }> {
    const now = this.now();
    const wasPending = link.customer.offers.find((o) => o.id === offerId)?.status === 'pending';
    const expired = await this.changeOffer(link, offerId, (o) => {
      if (!rules.isDue(o, now)) return o;
      return { ...rules.expire(o, now), relationship: o.relationship && { ...o.relationship, status: 'expired', endDateTime: o.expiresAt, lastModifiedDateTime: now.toISOString() } };
    }, (c) => (wasPending && c.offers.find((o) => o.id === offerId)!.status === 'expired' ? this.entry(link.partnerTenantId, SYSTEM, 'offer.expire', offerId, link.customer.tenantId) : undefined));
    if (expired.offer.status !== 'expired') return expired;
    await this.channel.refreshOffer(expired.link, expired.offer);
    this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, offerId }, 'request for delegated administration expired');
    return expired;
  }

  private async tellPartner(link: CustomerLink, offer: Offer): Promise<void> {
    if (offer.partnerNotice !== 'pending') return;
    if (await this.channel.notifyPartner(link, offer)) await this.changeOffer(link, offer.id, (o) => ({ ...o, partnerNotice: 'sent' }));
  }

  /** Changes one customer; `entry`, when the change is one the trail records, is written with it. */
  private changeCustomer<R>(link: CustomerLink, change: (customer: Customer) => R, entry?: (result: R) => AuditDraft | undefined): Promise<R> {
    return this.audit.inPartner(link.partnerTenantId, (doc) => {
      const customer = doc.customers.find((c) => c.tenantId === link.customer.tenantId);
      if (!customer) throw new Error(`customer ${link.customer.tenantId} vanished`);
      const result = change(customer);
      return { result, entry: entry?.(result) };
    });
  }

  /** Changes one offer; returns it with its customer as stored after the change, so nothing needs reading again. */
  private async changeOffer(link: CustomerLink, offerId: string, change: (offer: Offer) => Offer, entry?: Entry): Promise<{ link: CustomerLink; offer: Offer }> {
    const customer = await this.changeCustomer(
      link,
      (c) => {
        const index = c.offers.findIndex((o) => o.id === offerId);
        c.offers[index] = change(c.offers[index]!);
        return c;
      },
      entry,
    );
    return { link: { partnerTenantId: link.partnerTenantId, customer }, offer: customer.offers.find((o) => o.id === offerId)! };
  }
}
