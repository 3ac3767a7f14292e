/**
 * Delegated administration between a partner and the customer it set up: offers, answers, the end
 * of delegation, and what the partner may then do for the customer. Offers live with the customer
 * record in the partner's file; the customer index tells which partner a customer tenant belongs to.
 */
import type { Logger } from 'pino';
import { CommerceError, type Commerce } from '../commerce/commerce.js';
import type { ConversationRef, Delivery } from '../domain/conversation.js';
import { validateNewUser, type NewUserField } from '../domain/account.js';
import type { AddUserResult, AnswerRefusal, CustomerLink, DeliveryOutcome, OfferRefusal } from '../domain/outcomes.js';
import type { Customer } from '../domain/customer.js';
import * as rules from '../domain/delegation.js';
import type { Offer } from '../domain/delegation.js';
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
  /** Shows the offer card to the customer's admin; undefined when the bot cannot reach them. */
  sendOffer(link: CustomerLink, offer: Offer, conversation: ConversationRef): Promise<Delivery>;
  /** Replaces the customer's offer card with its current state. */
  refreshOffer(link: CustomerLink, offer: Offer): Promise<void>;
  /** Tells the partner (in the chat the offer was sent from) what became of it. */
  notifyPartner(link: CustomerLink, offer: Offer): Promise<boolean>;
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

  /** Keeps the admin's personal chat, so offers can be pushed to it. */
  async rememberAdmin(link: CustomerLink, conversation: ConversationRef): Promise<void> {
    const known = link.customer.adminContact;
    if (known?.reachable && known.conversation.conversation.id === conversation.conversation.id && known.conversation.serviceUrl === conversation.serviceUrl) return;
    await this.changeCustomer(link, (customer) => void (customer.adminContact = { conversation, reachable: true, updatedAt: this.now().toISOString() }));
  }

  isDelegated(customer: Customer): boolean {
    return rules.delegationState(customer.offers).state === 'active';
  }

  eligible(partnerTenantId: string): boolean {
    return this.store.head(partnerTenantId).profile?.cloudEssentials === true;
  }

  /** What stops the partner from offering delegation to this customer now, if anything. */
  offerRefusal(partnerTenantId: string, customerTenantId: string): OfferRefusal | undefined {
    const customer = this.store.partner(partnerTenantId).data.customers.find((c) => c.tenantId === customerTenantId);
    if (!customer) return { refused: 'customerNotFound' };
    if (!this.eligible(partnerTenantId)) return { refused: 'notEligible' };
    const state = rules.delegationState(customer.offers);
    if (state.state === 'pending') return { refused: 'alreadyPending', offer: state.offer };
    if (state.state === 'active') return { refused: 'alreadyActive', offer: state.offer };
    return undefined;
  }

  /**
   * Saves the offer, then delivers it to the admin's chat if one is known. The card's offer id makes
   * a second press of "Send offer" find the first offer instead of sending another.
   */
  send(actor: Actor, customerTenantId: string, offerId: string, message: string, from: ConversationRef | undefined): Promise<{ offer: Offer; delivery: DeliveryOutcome } | OfferRefusal> {
    return this.lock.run(customerTenantId, async () => {
      const mine = this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
      const existing = mine?.offers.find((offer) => offer.id === offerId);
      if (existing) return { refused: existing.status === 'accepted' ? 'alreadyActive' : 'alreadyPending', offer: existing };
      const refusal = this.offerRefusal(actor.tenantId, customerTenantId);
      if (refusal) return refusal;
      const offer = rules.newOffer(offerId, message, { id: actor.userId, name: actor.name }, this.now(), this.offerDays, from);
      const link = { partnerTenantId: actor.tenantId, customer: mine! };
      await this.changeCustomer(link, (customer) => void customer.offers.push(offer), () => this.entry(actor.tenantId, actor, 'delegation.send', offerId, customerTenantId));
      // The index entry may have failed to write when the customer was created; the offer must reach the admin.
      await indexCustomer(this.store, actor.tenantId, customerTenantId);
      const delivery = await this.deliver(this.fresh(link), offerId);
      return { offer: this.offer(actor.tenantId, customerTenantId, offerId)!, delivery };
    });
  }

  /** Pushes a pending offer to the admin's known chat; remembers an unreachable chat and tells the partner. */
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

  /** Offers the admin has not been shown yet: they are shown in the reply to whatever the admin says. */
  unseenOffers(link: CustomerLink): Offer[] {
    return link.customer.offers.filter((offer) => offer.status === 'pending' && offer.delivery !== 'delivered');
  }

  async markShown(link: CustomerLink, offerId: string, conversation: ConversationRef, activityId: string | undefined): Promise<void> {
    await this.changeOffer(link, offerId, (o) => ({ ...o, delivery: 'delivered', customerCard: activityId ? { conversation, activityId } : o.customerCard }));
  }

  offer(partnerTenantId: string, customerTenantId: string, offerId: string): Offer | undefined {
    return this.store.partner(partnerTenantId).data.customers.find((c) => c.tenantId === customerTenantId)?.offers.find((o) => o.id === offerId);
  }

  /** The customer's admin accepts or declines; the partner is told in the chat it sent the offer from. */
  answer(actor: Actor, offerId: string, accepted: boolean, isAdmin: (link: CustomerLink) => Promise<boolean>): Promise<{ link: CustomerLink; offer: Offer } | AnswerRefusal> {
    return this.lock.run(actor.tenantId, async () => {
      const link = this.link(actor.tenantId);
      const offer = link?.customer.offers.find((o) => o.id === offerId);
      // An offer of another tenant is answered exactly like one that does not exist.
      if (!link || !offer) return { refused: 'offerNotFound' };
      if (!(await isAdmin(link))) return { refused: 'notAdmin', link };
      // The customer is read once, here under the lock; each change below hands back the record as it then stands.
      const current = (await this.settle(link, offer)).link;
      const now = current.customer.offers.find((o) => o.id === offerId)!;
      if (now.status !== 'pending') return { refused: 'alreadyAnswered', link: current, offer: now };
      const by = { id: actor.userId, name: actor.name };
      const answered = accepted
        ? await this.accept(current, offerId, by, actor)
        : await this.changeOffer(current, offerId, (o) => rules.answer(o, false, by, this.now()), () => this.entry(link.partnerTenantId, actor, 'offer.decline', offerId, link.customer.tenantId));
      this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, offerId, accepted }, 'offer of delegated administration answered');
      await this.tellPartner(answered.link, answered.offer);
      return answered;
    });
  }

  /**
   * The acceptance is saved as begun before the backend grants the rights: should the answer then
   * fail to save, or the process stop, the offer still tells that the partner may hold rights.
   */
  private async accept(link: CustomerLink, offerId: string, by: { id: string; name: string }, actor: Actor): Promise<{ link: CustomerLink; offer: Offer }> {
    const begun = await this.changeOffer(link, offerId, (o) => ({ ...o, granting: this.now().toISOString() }));
    try {
      await this.commerce.setDelegatedAdmin(link.customer.tenantId, link.partnerTenantId, true);
      return await this.changeOffer(begun.link, offerId, (o) => rules.answer(o, true, by, this.now()), () => this.entry(link.partnerTenantId, actor, 'offer.accept', offerId, link.customer.tenantId));
    } catch (error) {
      // The admin is told nothing changed: the rights go now, or else when the offer is next settled.
      await this.undoAccept(begun.link, begun.offer).catch((undo) => this.log.warn({ err: undo, customerTenantId: link.customer.tenantId, offerId }, 'an unsaved acceptance is undone later'));
      throw error;
    }
  }

  /**
   * Takes back the rights an acceptance may have granted without saving its answer. Undone rather
   * than finished: the admin was told that nothing changed, so the offer stays open to be answered.
   */
  private async undoAccept(link: CustomerLink, offer: Offer): Promise<CustomerLink> {
    if (!offer.granting) return link;
    await this.commerce.setDelegatedAdmin(link.customer.tenantId, link.partnerTenantId, false);
    const undone = await this.changeOffer(link, offer.id, ({ granting: _undone, ...o }) => o);
    this.log.warn({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, offerId: offer.id }, 'took back the rights of an acceptance that was not saved');
    return undone.link;
  }

  /**
   * Brings an offer read under the customer's lock up to date before anything else is decided:
   * undoes an unsaved acceptance, then expires the offer if it is due. Returns the customer as it
   * then stands, and whether the offer expired.
   */
  private async settle(link: CustomerLink, offer: Offer): Promise<{ link: CustomerLink; expired: boolean }> {
    const undone = await this.undoAccept(link, offer);
    const expired = rules.isDue(offer, this.now()) ? await this.expireOffer(undone, offer.id) : undefined;
    return { link: expired ?? undone, expired: expired !== undefined };
  }

  /** The partner withdraws its pending offer; the customer's card shows it. */
  withdraw(actor: Actor, customerTenantId: string, offerId: string): Promise<{ offer: Offer } | { refused: 'offerNotFound' } | { refused: 'notPending'; offer: Offer }> {
    return this.lock.run(customerTenantId, async () => {
      const customer = this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
      const offer = customer?.offers.find((o) => o.id === offerId);
      if (!customer || !offer) return { refused: 'offerNotFound' };
      if (offer.status !== 'pending') return { refused: 'notPending', offer };
      const link = { partnerTenantId: actor.tenantId, customer };
      const undone = await this.undoAccept(link, offer);
      const withdrawn = await this.changeOffer(undone, offerId, (o) => rules.withdraw(o, { id: actor.userId, name: actor.name }, this.now()), () => this.entry(actor.tenantId, actor, 'delegation.withdraw', offerId, customerTenantId));
      await this.channel.refreshOffer(withdrawn.link, withdrawn.offer);
      return { offer: withdrawn.offer };
    });
  }

  /** The customer's admin ends an active delegation; the partner loses its rights and is told. */
  endDelegation(actor: Actor, isAdmin: (link: CustomerLink) => Promise<boolean>): Promise<{ link: CustomerLink; offer: Offer } | { refused: 'notCustomer' } | { refused: 'notAdmin' | 'notActive'; link: CustomerLink }> {
    return this.lock.run(actor.tenantId, async () => {
      const link = this.link(actor.tenantId);
      if (!link) return { refused: 'notCustomer' };
      if (!(await isAdmin(link))) return { refused: 'notAdmin', link };
      const state = rules.delegationState(link.customer.offers);
      if (state.state !== 'active') return { refused: 'notActive', link };
      await this.commerce.setDelegatedAdmin(link.customer.tenantId, link.partnerTenantId, false);
      const ended = await this.changeOffer(link, state.offer.id, (o) => rules.end(o, { id: actor.userId, name: actor.name }, this.now()), () => this.entry(link.partnerTenantId, actor, 'access.end', state.offer.id, link.customer.tenantId));
      await this.tellPartner(ended.link, ended.offer);
      return ended;
    });
  }

  /**
   * Undoes acceptances a failure or a crash left unsaved, expires pending offers past their date, and
   * sends notices a restart or an outage held back.
   */
  async sweep(): Promise<number> {
    let expired = 0;
    for (const partner of this.store.partnersWith('offers')) {
      for (const customer of partner.data.customers) {
        if (customer.offers.length === 0) continue;
        const link = { partnerTenantId: partner.data.tenantId, customer };
        // One customer whose rights cannot be taken back now (a backend refusing) holds up no other.
        expired += await this.lock.run(customer.tenantId, () => this.settleAll(link)).catch((error) => {
          this.log.error({ err: error, partnerTenantId: link.partnerTenantId, customerTenantId: customer.tenantId }, 'offers not settled; tried again at the next sweep');
          return 0;
        });
        const current = this.fresh(link);
        for (const offer of current.customer.offers.filter((o) => o.partnerNotice === 'pending')) await this.tellPartner(current, offer);
      }
    }
    return expired;
  }

  /** Settles the pending offers as stored once the lock is held: an answer or a withdrawal may have come since the sweep's copy. */
  private async settleAll(link: CustomerLink): Promise<number> {
    let expired = 0;
    for (const offer of this.fresh(link).customer.offers.filter((o) => o.status === 'pending')) if ((await this.settle(link, offer)).expired) expired++;
    return expired;
  }

  /** The partner acts for the customer: adds a licensed user as typed, only while delegation is active. */
  async addUser(actor: Actor, customerTenantId: string, requestId: string, input: Partial<Record<NewUserField, string>>): Promise<AddUserResult> {
    const checked = validateNewUser(input);
    if ('errors' in checked) return { ok: false, reason: 'invalid', errors: checked.errors };
    const user = { requestId, ...checked.user };
    return this.lock.run(customerTenantId, async () => {
      const customer = this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
      if (!customer) return { ok: false, reason: 'customerNotFound' };
      const done = customer.addedUsers.find((u) => u.requestId === user.requestId);
      if (done) return { ok: true, userPrincipalName: done.userPrincipalName, customer, user };
      if (rules.delegationState(customer.offers).state !== 'active') return { ok: false, reason: 'notDelegated' };
      let created: { userPrincipalName: string };
      try {
        created = await this.commerce.addUser({ idempotencyKey: user.requestId, customerTenantId, partnerTenantId: actor.tenantId, firstName: user.firstName, lastName: user.lastName, signInName: user.signInName, product: user.product });
      } catch (error) {
        if (error instanceof CommerceError && error.code === 'notDelegated') return { ok: false, reason: error.code };
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

  /** Decided again in the transaction, on the offer as stored: only one still pending past its date expires. */
  /** Returns the customer after the offer expired, or undefined when it did not. */
  private async expireOffer(link: CustomerLink, offerId: string): Promise<CustomerLink | undefined> {
    const now = this.now();
    const customer = await this.changeCustomer(link, (c) => {
      const index = c.offers.findIndex((o) => o.id === offerId);
      if (!rules.isDue(c.offers[index]!, now)) return undefined;
      c.offers[index] = rules.expire(c.offers[index]!, now);
      return c;
    }, (c) => c && this.entry(link.partnerTenantId, SYSTEM, 'offer.expire', offerId, link.customer.tenantId));
    if (!customer) return undefined;
    const after = { partnerTenantId: link.partnerTenantId, customer };
    await this.channel.refreshOffer(after, customer.offers.find((o) => o.id === offerId)!);
    this.log.info({ partnerTenantId: link.partnerTenantId, customerTenantId: link.customer.tenantId, offerId }, 'offer of delegated administration expired');
    return after;
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
