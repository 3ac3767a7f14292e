/** A partner organisation's own data: its profile, its customers and who holds which role. Only its own tenant reaches it. */
import { randomUUID } from 'node:crypto';
import { filterCustomers, type Customer } from '../domain/customer.js';
import { validateProfile, type PartnerProfile, type ProfileError, type ProfileInput } from '../domain/profile.js';
import type { ConversationRef } from '../domain/conversation.js';
import type { Member } from '../store/documents.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../domain/actor.js';
import { assignRole, rolesAfterProfileSaved, rolesAfterUpgrade, ROLE_NAMES, type AssignRefusal, type Person, type Role, type RoleBook, type RoleChange } from '../domain/roles.js';
import type { AuditDraft } from '../domain/audit.js';
import { SYSTEM, type AuditTrail } from './auditTrail.js';

const collator = new Intl.Collator('en', { sensitivity: 'base' });

/** Teams sends an install's conversationUpdate and installationUpdate within moments of each other; a later install welcomes anew. */
const WELCOME_WINDOW_MS = 10 * 60_000;

export class PartnerService {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date,
    private readonly audit: AuditTrail,
  ) {}

  /** The partner's role book; undefined only before the upgrade of a partner that predates roles. */
  roles(tenantId: string): RoleBook | undefined {
    return this.store.head(tenantId).roles;
  }

  /**
   * A partner whose file predates roles: everyone who could act before (the staff the bot has met,
   * who saved the profile, who set up a customer) becomes Admin agent, recorded, once.
   */
  async ensureRoles(tenantId: string): Promise<RoleBook> {
    const known = this.roles(tenantId);
    if (known) return known;
    return this.audit.inPartner(tenantId, (doc) => {
      if (doc.roles) return { result: doc.roles };
      const names = new Map(Object.entries(doc.members).map(([userId, member]) => [userId, member.name]));
      const staff: Person[] = [...names].map(([userId, name]) => ({ userId, name }));
      if (doc.profile) staff.push({ userId: doc.profile.updatedBy, name: names.get(doc.profile.updatedBy) ?? doc.profile.updatedBy });
      for (const customer of doc.customers) staff.push({ userId: customer.createdBy.id, name: customer.createdBy.name });
      const { book, changes } = rolesAfterUpgrade(undefined, staff, this.now());
      doc.roles = book;
      return { result: book, entries: changes.map((change) => this.roleEntry(tenantId, SYSTEM, change)) };
    });
  }

  /** People the bot has met in the tenant and people holding a role, by name. */
  people(tenantId: string): Array<Person & { role?: Role }> {
    const { members, roles = {} } = this.store.head(tenantId);
    const ids = new Set([...Object.keys(members), ...Object.keys(roles)]);
    return [...ids]
      .map((userId) => ({ userId, name: members[userId]?.name ?? roles[userId]!.name, role: roles[userId]?.role }))
      .sort((a, b) => collator.compare(a.name, b.name) || a.userId.localeCompare(b.userId));
  }

  /** An Admin agent gives a person met in the tenant a role, or takes it (`role` undefined). */
  async assignRole(actor: Actor, target: string, role: Role | undefined): Promise<{ changed: boolean } | { refused: AssignRefusal }> {
    return this.audit.inPartner<{ changed: boolean } | { refused: AssignRefusal }>(actor.tenantId, (doc) => {
      const known = new Map(Object.entries(doc.members).map(([userId, member]) => [userId, member.name]));
      const result = assignRole(doc.roles ?? {}, actor, target, role, known, this.now());
      if ('refused' in result) return { result };
      doc.roles = result.book;
      if (!result.change) return { result: { changed: false } };
      return { result: { changed: true }, entry: this.roleEntry(actor.tenantId, actor, result.change) };
    });
  }

  private roleEntry(tenantId: string, actor: Actor, change: RoleChange): AuditDraft {
    return this.audit.draft(tenantId, actor, {
      // An upgrade happens once per person; an assignment has no key of its own (a role may go back and forth).
      id: change.reason === 'upgrade' ? `role.upgrade:${change.userId}` : `role.${change.reason}:${randomUUID()}`,
      verb: change.reason === 'upgrade' ? 'role.upgrade' : change.reason === 'firstProfile' ? 'role.firstProfile' : 'role.assign',
      details: { person: change.name, personId: change.userId, from: change.from ? ROLE_NAMES[change.from] : 'none', to: change.to ? ROLE_NAMES[change.to] : 'none' },
      outcome: { result: 'done' },
    });
  }

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
    await this.audit.inPartner(actor.tenantId, (doc) => {
      doc.profile = result.profile;
      const saved = this.audit.draft(actor.tenantId, actor, {
        id: `profile.save:${randomUUID()}`,
        verb: 'profile.save',
        details: { organisationName: result.profile.organisationName, partnerId: result.profile.partnerId ?? '', timeZone: result.profile.timeZone },
        outcome: { result: 'done' },
      });
      // The first person to save the profile (while the tenant has no Admin agent) becomes one.
      const { book, change } = rolesAfterProfileSaved(doc.roles ?? {}, actor, this.now());
      doc.roles = book;
      return { result: undefined, entries: [saved, ...(change ? [this.roleEntry(actor.tenantId, actor, change)] : [])] };
    });
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
