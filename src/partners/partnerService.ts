/** A partner organisation's own data: its profile and its customers. Only its own tenant reaches it. */
import { filterCustomers, type Customer } from '../domain/customer.js';
import { validateProfile, type PartnerProfile, type ProfileError, type ProfileInput } from '../domain/profile.js';
import type { ConversationRef } from '../domain/conversation.js';
import type { Member } from '../store/documents.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../domain/actor.js';

const collator = new Intl.Collator('en', { sensitivity: 'base' });

/** Teams sends an install's conversationUpdate and installationUpdate within moments of each other; a later install welcomes anew. */
const WELCOME_WINDOW_MS = 10 * 60_000;

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

  /**
   * Saves a staff member's personal chat, language and time zone when new or changed. An activity
   * without them (Teams' conversationUpdate carries no locale) keeps what an earlier one said.
   */
  async rememberMember(actor: Actor, contact: { locale: string | undefined; timeZone: string | undefined; conversation: ConversationRef }): Promise<void> {
    const known = this.member(actor.tenantId, actor.userId);
    const { conversation } = contact;
    const locale = contact.locale ?? known?.locale;
    const timeZone = contact.timeZone ?? known?.timeZone;
    const sameChat = known?.conversation.serviceUrl === conversation.serviceUrl && known.conversation.conversation.id === conversation.conversation.id;
    if (known?.reachable && known.name === actor.name && known.locale === locale && known.timeZone === timeZone && sameChat) return;
    await this.store.partner(actor.tenantId).update((doc) => {
      const { welcome } = doc.members[actor.userId] ?? {};
      doc.members[actor.userId] = { name: actor.name, locale, timeZone, conversation, updatedAt: this.now().toISOString(), reachable: true, ...(welcome && { welcome }) };
    });
  }

  /** The welcome sent to this chat of the staff member in the last few minutes, if any: one install brings two events. */
  recentWelcome(actor: Actor, conversationId: string): { activityId?: string; language: string } | undefined {
    const welcome = this.member(actor.tenantId, actor.userId)?.welcome;
    if (welcome?.conversationId !== conversationId || this.now().getTime() - Date.parse(welcome.at) > WELCOME_WINDOW_MS) return undefined;
    return welcome;
  }

  async rememberWelcome(actor: Actor, welcome: { conversationId: string; activityId?: string; language: string }): Promise<void> {
    await this.store.partner(actor.tenantId).update((doc) => {
      const member = doc.members[actor.userId];
      if (member) member.welcome = { ...welcome, at: this.now().toISOString() };
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
