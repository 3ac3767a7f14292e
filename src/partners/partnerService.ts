/** A partner organisation's own data: its profile and its customers. Only its own tenant reaches it. */
import { filterCustomers, type Customer } from '../domain/customer.js';
import { validateProfile, type PartnerProfile, type ProfileError, type ProfileInput } from '../domain/profile.js';
import type { ConversationRef } from '../domain/conversation.js';
import type { Member } from '../store/documents.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../domain/actor.js';

const collator = new Intl.Collator('en', { sensitivity: 'base' });

export class PartnerService {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date,
  ) {}

  profile(tenantId: string): PartnerProfile | undefined {
    return this.store.head(tenantId).profile;
  }

  /** The partner's name as customers read it: its profile's organisation name. */
  organisationName(tenantId: string): string {
    return this.profile(tenantId)?.organisationName ?? 'Your partner';
  }

  /** The display name of the staff member who last changed the profile, as far as the bot knows it. */
  memberName(tenantId: string, userId: string): string {
    return this.store.head(tenantId).members[userId]?.name ?? userId;
  }

  /** Where a staff member can be reached, as the bot last saw them. */
  member(tenantId: string, userId: string): Member | undefined {
    return this.store.head(tenantId).members[userId];
  }

  /** Saves a staff member's personal chat when it is new or changed. */
  async rememberMember(actor: Actor, { locale, conversation }: { locale: string | undefined; conversation: ConversationRef }): Promise<void> {
    const known = this.member(actor.tenantId, actor.userId);
    const sameChat = known?.conversation.serviceUrl === conversation.serviceUrl && known.conversation.conversation.id === conversation.conversation.id;
    if (known?.reachable && known.name === actor.name && known.locale === locale && sameChat) return;
    await this.store.partner(actor.tenantId).update((doc) => {
      doc.members[actor.userId] = { name: actor.name, locale, conversation, updatedAt: this.now().toISOString(), reachable: true };
    });
  }

  async saveProfile(actor: Actor, input: ProfileInput): Promise<{ profile: PartnerProfile } | { errors: ProfileError[] }> {
    const result = validateProfile(input, actor.userId, this.now());
    if ('errors' in result) return result;
    await this.store.partner(actor.tenantId).update((doc) => void (doc.profile = result.profile));
    return result;
  }

  customers(tenantId: string, filter = ''): Customer[] {
    return filterCustomers(this.store.partner(tenantId).data.customers, filter).sort((a, b) => collator.compare(a.name, b.name));
  }

  hasCustomers(tenantId: string): boolean {
    return this.store.head(tenantId).hasCustomers;
  }

  customer(tenantId: string, customerTenantId: string): Customer | undefined {
    return this.store.partner(tenantId).data.customers.find((c) => c.tenantId === customerTenantId);
  }
}
