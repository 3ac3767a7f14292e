/**
 * The customer aggregate on the files: customers live in their partner's file, and the sharded
 * customer index says which partner set up a customer tenant. A change of one customer is a
 * transaction on the partner's file, so changes of one partner's customers apply one after the other.
 */
import { byName, filterCustomers, type Customer } from '../../domain/customer.js';
import { collidingOffer, hasOfferWork, type Offer } from '../../domain/delegation.js';
import { localDay } from '../../domain/lifecycle.js';
import { pageOf, type Page } from '../../domain/paging.js';
import { timeZoneOf } from '../../domain/profile.js';
import { CustomerChanges } from '../customerChanges.js';
import { indexCustomer } from '../customerIndex.js';
import type { AuditRecorder, Recorded } from '../auditOutbox.js';
import type { PartnerDoc } from '../documents.js';
import type { PartnerHead, PartnerWork } from '../partnerSummary.js';
import type { AddOfferResult, AuditOf, CustomerLink, CustomerRepository, OfferChange, SubscriptionRef } from '../repositories.js';
import type { Store } from '../store.js';
import { copyOf } from '../copy.js';

/**
 * Pages kept: about 25 KB each (ten customers), so a list of each of a thousand partners in turn
 * reads no file, where keeping their whole files would take five times the memory.
 */
const KEPT_PAGES = 1024;

interface KeptPage {
  /** The partner's head when the page was made: a new one replaces it with every change of the file. */
  head: PartnerHead;
  filter: string;
  size: number;
  page: Page<Readonly<Customer>>;
}

export class FileCustomers extends CustomerChanges implements CustomerRepository {
  /** The page last shown of each partner looked at lately (most recent last), as stored: copied for each caller. */
  private readonly keptPages = new Map<string, KeptPage>();

  constructor(
    private readonly store: Store,
    private readonly recorder: AuditRecorder,
  ) {
    super();
  }

  async list(partnerTenantId: string, filter = ''): Promise<Customer[]> {
    return copyOf(this.matching(partnerTenantId, filter));
  }

  async page(partnerTenantId: string, filter: string, page: number, size: number): Promise<Page<Customer>> {
    // The same page of an unchanged file again (a list of each of many partners in turn, paging back
    // and forth) reads and sorts nothing: the partner's file may no longer be in memory.
    const fits = (kept: KeptPage | undefined, head: PartnerHead): kept is KeptPage =>
      kept !== undefined && kept.head === head && kept.filter === filter && kept.size === size && kept.page.page === Math.max(1, page);
    if (!fits(this.keptPages.get(partnerTenantId), this.store.head(partnerTenantId))) await this.loaded(partnerTenantId);
    const head = this.store.head(partnerTenantId);
    const last = this.keptPages.get(partnerTenantId);
    this.keptPages.delete(partnerTenantId);
    const same = fits(last, head);
    // Sorted as stored, and only the page shown copied: copying all of them cost a list turn more than the rest of it.
    const shown = same ? last.page : pageOf(this.matching(partnerTenantId, filter), page, size);
    this.keptPages.set(partnerTenantId, { head, filter, size, page: shown });
    if (this.keptPages.size > KEPT_PAGES) this.keptPages.delete(this.keptPages.keys().next().value!);
    return { ...shown, shown: copyOf(shown.shown) };
  }

  /** Whether the partner has customers; its file, then, in memory (read without holding the event loop). */
  private async loaded(partnerTenantId: string): Promise<boolean> {
    if (!this.store.head(partnerTenantId).hasCustomers) return false;
    await this.store.loadPartner(partnerTenantId);
    return true;
  }

  /** The stored customers `list` gives, in its order: read-only, shared with the partner's document. */
  private matching(partnerTenantId: string, filter: string): Array<Readonly<Customer>> {
    if (!this.store.head(partnerTenantId).hasCustomers) return [];
    return filterCustomers(this.store.partner(partnerTenantId).data.customers, filter).sort(byName);
  }

  async hasCustomers(partnerTenantId: string): Promise<boolean> {
    return this.store.head(partnerTenantId).hasCustomers;
  }

  async get(partnerTenantId: string, customerTenantId: string): Promise<Customer | undefined> {
    if (!(await this.loaded(partnerTenantId))) return undefined;
    const customer = this.store.partner(partnerTenantId).data.customers.find((c) => c.tenantId === customerTenantId);
    return customer && copyOf(customer);
  }

  async link(customerTenantId: string): Promise<CustomerLink | undefined> {
    const partnerTenantId = this.partnerOf(customerTenantId);
    const customer = partnerTenantId === undefined ? undefined : await this.get(partnerTenantId, customerTenantId);
    return customer && { partnerTenantId: partnerTenantId!, customer };
  }

  async add(partnerTenantId: string, customer: Customer, audit?: AuditOf<Customer>): Promise<Customer> {
    const owner = this.partnerOf(customer.tenantId);
    if (owner !== undefined && owner !== partnerTenantId) throw new Error(`customer tenant ${customer.tenantId} belongs to another partner`);
    // The index first: an entry whose customer never reached the partner's file points at nothing
    // and is harmless, while a customer missing from the index would not know its partner.
    await indexCustomer(this.store, partnerTenantId, customer.tenantId);
    return this.recorded(partnerTenantId, (draft, current) => {
      // The same creation again: the same tenant, or the same setup (one customer per setup).
      const existing = current.customers.find((c) => c.tenantId === customer.tenantId) ?? current.customers.find((c) => c.setupId === customer.setupId);
      if (existing) return { result: copyOf(existing) };
      draft.customers.push(customer);
      return { result: customer, entries: audit && [...audit(customer)] };
    });
  }

  async update(partnerTenantId: string, customerTenantId: string, change: (customer: Customer) => Customer | undefined, audit?: AuditOf<Customer>): Promise<Customer | undefined> {
    // Nothing to change: the partner's file is not written (nor made, for an unknown partner).
    if (!(await this.get(partnerTenantId, customerTenantId))) return undefined;
    return this.recorded(partnerTenantId, (draft, current) => {
      const index = current.customers.findIndex((c) => c.tenantId === customerTenantId);
      if (index < 0) return { result: undefined };
      const next = change(copyOf(current.customers[index]!));
      if (!next) return { result: undefined };
      if (next.tenantId !== customerTenantId) throw new Error('a change may not move a customer to another tenant id');
      draft.customers[index] = next;
      return { result: next, entries: audit && [...audit(next)] };
    });
  }

  /** A change of the partner's file, with the audit entries that record it in the same write (auditOutbox.ts). */
  private async recorded<R>(partnerTenantId: string, change: (draft: PartnerDoc, current: Readonly<PartnerDoc>) => Recorded<R>): Promise<R> {
    return (await this.recorder.change(this.store.partner(partnerTenantId), change)).result;
  }

  async addOffer(partnerTenantId: string, customerTenantId: string, offer: Offer, audit?: AuditOf<Offer>): Promise<AddOfferResult> {
    const known = await this.get(partnerTenantId, customerTenantId);
    // The partner's file holds all its customers, so one write checks the offer against all their relationships.
    const result = known && (await this.recorded(partnerTenantId, (draft, current): Recorded<AddOfferResult | undefined> => {
      const index = current.customers.findIndex((c) => c.tenantId === customerTenantId);
      if (index < 0) return { result: undefined };
      const existing = collidingOffer(current.customers, customerTenantId, offer);
      if (existing) return { result: { added: false, existing: copyOf(existing) } };
      draft.customers[index]!.offers.push(offer);
      return { result: { added: true, offer: copyOf(offer) }, entries: audit && [...audit(offer)] };
    }));
    if (!result) throw new Error(`customer ${customerTenantId} not found`);
    // The index entry may have failed to write when the customer was created; the request must reach the admin.
    if (result.added) await indexCustomer(this.store, partnerTenantId, customerTenantId);
    return result;
  }

  async updateOffer(partnerTenantId: string, customerTenantId: string, offerId: string, change: (offer: Offer) => Offer | undefined, audit?: AuditOf<OfferChange>): Promise<OfferChange | undefined> {
    const stored = await this.get(partnerTenantId, customerTenantId);
    const known = stored?.offers.find((o) => o.id === offerId);
    if (!stored || !known) return undefined;
    // The file in memory is the stored one: a change that would leave the offer as it is writes nothing.
    if (!change(copyOf(known))) return { customer: stored, before: known, offer: known };
    const changed = await this.recorded(partnerTenantId, (draft, current): Recorded<{ customer: Customer; before: Offer; index: number; changed: boolean } | undefined> => {
      const at = current.customers.findIndex((c) => c.tenantId === customerTenantId);
      const index = at < 0 ? -1 : current.customers[at]!.offers.findIndex((o) => o.id === offerId);
      if (index < 0) return { result: undefined };
      const before = copyOf(current.customers[at]!.offers[index]!);
      const next = change(copyOf(before));
      if (!next) return { result: { customer: copyOf(current.customers[at]!), before, index, changed: false } };
      if (next.id !== offerId) throw new Error('a change may not give an offer another id');
      const customer = draft.customers[at]!;
      customer.offers[index] = next;
      return { result: { customer, before, index, changed: true }, entries: audit && [...audit({ customer, before, offer: next })] };
    });
    if (!changed) return undefined;
    // Left as it was: the very offer read before, so a caller sees that nothing changed.
    return { customer: changed.customer, before: changed.before, offer: changed.changed ? changed.customer.offers[changed.index]! : changed.before };
  }

  async pendingRenewals(): Promise<SubscriptionRef[]> {
    return this.subscriptionRefs('pendingRenewal', () => (s) => s.pendingRenewal !== undefined);
  }

  async switchesDue(now: Date): Promise<SubscriptionRef[]> {
    return this.subscriptionRefs('scheduledSwitch', (doc) => {
      const today = localDay(now, timeZoneOf(doc.profile));
      return (s) => s.billing === 'partner' && s.scheduledSwitch !== undefined && s.scheduledSwitch.on <= today;
    });
  }

  async withOfferWork(): Promise<CustomerLink[]> {
    return this.store.partnersWith('offers').flatMap((partner) =>
      partner.data.customers.filter((c) => c.offers.some(hasOfferWork)).map((customer) => ({ partnerTenantId: partner.data.tenantId, customer: copyOf(customer) })),
    );
  }

  /** The subscriptions `matches` picks in the files the summaries flag for `work`. */
  private subscriptionRefs(work: PartnerWork, matches: (doc: Readonly<PartnerDoc>) => (s: Customer['subscriptions'][number]) => boolean): SubscriptionRef[] {
    return this.store.partnersWith(work).flatMap((partner) => {
      const doc = partner.data;
      const picks = matches(doc);
      return doc.customers.flatMap((customer) =>
        customer.subscriptions.filter(picks).map((subscription) => ({ partnerTenantId: doc.tenantId, customerTenantId: customer.tenantId, subscription: copyOf(subscription) })),
      );
    });
  }

  private partnerOf(customerTenantId: string): string | undefined {
    return this.store.customerIndex(customerTenantId).data.customers[customerTenantId]?.partnerTenantId;
  }
}
