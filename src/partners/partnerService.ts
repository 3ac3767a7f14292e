/** A partner organisation's own data: its profile, its customers and who holds which role. Only its own tenant reaches it. */
import { randomUUID } from 'node:crypto';
import type { Customer } from '../domain/customer.js';
import type { Page } from '../domain/paging.js';
import { validateProfile, type PartnerProfile, type ProfileError, type ProfileInput } from '../domain/profile.js';
import type { ConversationRef } from '../domain/conversation.js';
import type { Actor } from '../domain/actor.js';
import type { AuditActor, AuditDraft } from '../domain/audit.js';
import { assignRole, rolesAfterProfileSaved, rolesAfterUpgrade, ROLE_NAMES, type AssignRefusal, type Person, type Role, type RoleBook, type RoleChange } from '../domain/roles.js';
import type { Member, Repositories } from '../store/repositories.js';
import { SYSTEM, type AuditTrail } from './auditTrail.js';

const collator = new Intl.Collator('en', { sensitivity: 'base' });

/** Teams sends an install's conversationUpdate and installationUpdate within moments of each other; a later install welcomes anew. */
const WELCOME_WINDOW_MS = 10 * 60_000;

export class PartnerService {
  constructor(
    private readonly repositories: Pick<Repositories, 'partners' | 'customers'>,
    private readonly now: () => Date,
    private readonly audit: AuditTrail,
  ) {}

  private get partners() {
    return this.repositories.partners;
  }

  /** The partner's role book; undefined only before the upgrade of a partner that predates roles. */
  roles(tenantId: string): Promise<RoleBook | undefined> {
    return this.partners.roles(tenantId);
  }

  /**
   * A partner whose data predates roles: everyone who could act before (the staff the bot has met,
   * who saved the profile, who set up a customer) becomes Admin agent, recorded, once.
   */
  async ensureRoles(tenantId: string): Promise<RoleBook> {
    const known = await this.roles(tenantId);
    if (known) return known;
    const at = this.now();
    const who = await this.audit.actorOf(tenantId, SYSTEM);
    return this.partners.upgradeRoles(
      tenantId,
      (people) => rolesAfterUpgrade(undefined, people, at),
      ({ changes }) => changes.map((change) => this.roleEntry(tenantId, who, change, at)),
    );
  }

  /** People the bot has met in the tenant and people holding a role, by name. */
  async people(tenantId: string): Promise<Array<Person & { role?: Role }>> {
    const [members, roles = {}] = await Promise.all([this.partners.staff(tenantId), this.roles(tenantId)]);
    const ids = new Set([...Object.keys(members), ...Object.keys(roles)]);
    return [...ids]
      .map((userId) => ({ userId, name: members[userId]?.name ?? roles[userId]!.name, role: roles[userId]?.role }))
      .sort((a, b) => collator.compare(a.name, b.name) || a.userId.localeCompare(b.userId));
  }

  /** An Admin agent gives a person met in the tenant a role, or takes it (`role` undefined). */
  async assignRole(actor: Actor, target: string, role: Role | undefined): Promise<{ changed: boolean } | { refused: AssignRefusal }> {
    const at = this.now();
    const who = await this.audit.actorOf(actor.tenantId, actor);
    const outcome = await this.partners.updateRoles<{ change?: RoleChange } | { refused: AssignRefusal }>(
      actor.tenantId,
      (book, staff) => {
        const result = assignRole(book, actor, target, role, staff, at);
        return 'refused' in result ? { result } : { book: result.book, result: { change: result.change } };
      },
      (result) => ('change' in result && result.change ? [this.roleEntry(actor.tenantId, who, result.change, at)] : []),
    );
    return 'refused' in outcome ? outcome : { changed: outcome.change !== undefined };
  }

  private roleEntry(tenantId: string, who: AuditActor, change: RoleChange, at: Date): AuditDraft {
    return this.audit.draft(
      tenantId,
      who,
      {
        // An upgrade happens once per person; an assignment has no key of its own (a role may go back and forth).
        id: change.reason === 'upgrade' ? `role.upgrade:${change.userId}` : `role.${change.reason}:${randomUUID()}`,
        verb: change.reason === 'upgrade' ? 'role.upgrade' : change.reason === 'firstProfile' ? 'role.firstProfile' : 'role.assign',
        details: { person: change.name, personId: change.userId, from: change.from ? ROLE_NAMES[change.from] : 'none', to: change.to ? ROLE_NAMES[change.to] : 'none' },
        outcome: { result: 'done' },
      },
      at,
    );
  }

  profile(tenantId: string): Promise<PartnerProfile | undefined> {
    return this.partners.profile(tenantId);
  }

  /** The partner's name as customers read it: its profile's organisation name. */
  async organisationName(tenantId: string): Promise<string> {
    return (await this.profile(tenantId))?.organisationName ?? 'Your partner';
  }

  /** The display name of the staff member who last changed the profile, as far as the bot knows it. */
  async memberName(tenantId: string, userId: string): Promise<string> {
    return (await this.member(tenantId, userId))?.name ?? userId;
  }

  /** Where a staff member can be reached, as the bot last saw them. */
  member(tenantId: string, userId: string): Promise<Member | undefined> {
    return this.partners.member(tenantId, userId);
  }

  /**
   * Saves a staff member's personal chat, language and time zone when new or changed. An activity
   * without them (Teams' conversationUpdate carries no locale) keeps what an earlier one said.
   */
  async rememberMember(actor: Actor, contact: { locale: string | undefined; timeZone: string | undefined; conversation: ConversationRef }): Promise<void> {
    const known = await this.member(actor.tenantId, actor.userId);
    const { conversation } = contact;
    const locale = contact.locale ?? known?.locale;
    const timeZone = contact.timeZone ?? known?.timeZone;
    const sameChat = known?.conversation.serviceUrl === conversation.serviceUrl && known.conversation.conversation.id === conversation.conversation.id;
    if (known?.reachable && known.name === actor.name && known.locale === locale && known.timeZone === timeZone && sameChat) return;
    await this.partners.rememberMember(actor.tenantId, actor.userId, { name: actor.name, locale, timeZone, conversation, updatedAt: this.now().toISOString(), reachable: true });
  }

  /** The welcome sent to this chat of the staff member in the last few minutes, if any: one install brings two events. */
  async recentWelcome(actor: Actor, conversationId: string): Promise<{ activityId?: string; language: string } | undefined> {
    const welcome = (await this.member(actor.tenantId, actor.userId))?.welcome;
    if (welcome?.conversationId !== conversationId || this.now().getTime() - Date.parse(welcome.at) > WELCOME_WINDOW_MS) return undefined;
    return welcome;
  }

  async rememberWelcome(actor: Actor, welcome: { conversationId: string; activityId?: string; language: string }): Promise<void> {
    await this.partners.rememberWelcome(actor.tenantId, actor.userId, { ...welcome, at: this.now().toISOString() });
  }

  async saveProfile(actor: Actor, input: ProfileInput): Promise<{ profile: PartnerProfile } | { errors: ProfileError[] }> {
    const at = this.now();
    const result = validateProfile(input, actor.userId, at);
    if ('errors' in result) return result;
    const who = await this.audit.actorOf(actor.tenantId, actor);
    const saved = this.audit.draft(
      actor.tenantId,
      who,
      {
        id: `profile.save:${randomUUID()}`,
        verb: 'profile.save',
        details: { organisationName: result.profile.organisationName, partnerId: result.profile.partnerId ?? '', timeZone: result.profile.timeZone },
        outcome: { result: 'done' },
      },
      at,
    );
    await this.partners.saveProfile(
      actor.tenantId,
      result.profile,
      // The first person to save the profile (while the tenant has no Admin agent) becomes one.
      (book) => {
        const { book: next, change } = rolesAfterProfileSaved(book, actor, at);
        return { book: next, changes: change ? [change] : [] };
      },
      ({ changes }) => [saved, ...changes.map((change) => this.roleEntry(actor.tenantId, who, change, at))],
    );
    return result;
  }

  customers(tenantId: string, filter = ''): Promise<Customer[]> {
    return this.repositories.customers.list(tenantId, filter);
  }

  customerPage(tenantId: string, filter: string, page: number, size: number): Promise<Page<Customer>> {
    return this.repositories.customers.page(tenantId, filter, page, size);
  }

  hasCustomers(tenantId: string): Promise<boolean> {
    return this.repositories.customers.hasCustomers(tenantId);
  }

  customer(tenantId: string, customerTenantId: string): Promise<Customer | undefined> {
    return this.repositories.customers.get(tenantId, customerTenantId);
  }
}
