/**
 * The partner aggregate on the files: the profile, staff, role book and reminder channel in the
 * partner's file. Changes that are recorded go through the AuditRecorder: their entries are written
 * in the same write of the file (its outbox), then appended to the trail.
 */
import type { PartnerProfile } from '../../domain/profile.js';
import type { Person, RoleBook } from '../../domain/roles.js';
import type { AuditRecorder } from '../auditOutbox.js';
import type { AuditOf, Member, PartnerRepository, ReminderChannel, RoleUpdate, Welcome } from '../repositories.js';
import type { Store } from '../store.js';
import { copyOf } from '../copy.js';

export class FilePartners implements PartnerRepository {
  constructor(
    private readonly store: Store,
    private readonly recorder: AuditRecorder,
  ) {}

  async profile(tenantId: string): Promise<PartnerProfile | undefined> {
    return this.store.head(tenantId).profile;
  }

  async saveProfile(tenantId: string, profile: PartnerProfile, roles?: (book: Readonly<RoleBook>) => RoleUpdate, audit?: AuditOf<RoleUpdate>): Promise<void> {
    await this.recorder.change(this.store.partner(tenantId), (draft, current) => {
      draft.profile = profile;
      const update = roles?.(current.roles ?? {}) ?? { book: current.roles ?? {}, changes: [] };
      if (roles) draft.roles = update.book;
      return { result: undefined, entries: [...(audit?.(update) ?? [])] };
    });
  }

  async staff(tenantId: string): Promise<Record<string, Member>> {
    return copyOf(this.store.head(tenantId).members);
  }

  async member(tenantId: string, userId: string): Promise<Member | undefined> {
    const member = this.store.head(tenantId).members[userId];
    return member && { ...member };
  }

  async rememberMember(tenantId: string, userId: string, member: Member): Promise<void> {
    await this.store.partner(tenantId).update((draft) => {
      const welcome = member.welcome ?? draft.members[userId]?.welcome;
      draft.members[userId] = { ...member, reachable: true, ...(welcome && { welcome }) };
    });
  }

  async rememberWelcome(tenantId: string, userId: string, welcome: Welcome): Promise<void> {
    if (!this.store.head(tenantId).members[userId]) return;
    await this.store.partner(tenantId).update((draft) => {
      const member = draft.members[userId];
      if (member) member.welcome = welcome;
    });
  }

  async markMemberUnreachable(tenantId: string, userId: string): Promise<void> {
    if (!this.store.head(tenantId).members[userId]) return;
    await this.store.partner(tenantId).update((draft) => {
      const member = draft.members[userId];
      if (member) member.reachable = false;
    });
  }

  async roles(tenantId: string): Promise<RoleBook | undefined> {
    const book = this.store.head(tenantId).roles;
    return book && { ...book };
  }

  async upgradeRoles(tenantId: string, upgrade: (people: Person[]) => RoleUpdate, audit?: AuditOf<RoleUpdate>): Promise<RoleBook> {
    const known = this.store.head(tenantId).roles;
    if (known) return { ...known };
    return (
      await this.recorder.change(this.store.partner(tenantId), (draft, current) => {
        if (current.roles) return { result: { ...current.roles } };
        const names = new Map(Object.entries(current.members).map(([userId, member]) => [userId, member.name]));
        const people: Person[] = [...names].map(([userId, name]) => ({ userId, name }));
        if (current.profile) people.push({ userId: current.profile.updatedBy, name: names.get(current.profile.updatedBy) ?? current.profile.updatedBy });
        for (const customer of current.customers) people.push({ userId: customer.createdBy.id, name: customer.createdBy.name });
        const update = upgrade(people);
        draft.roles = update.book;
        return { result: { ...update.book }, entries: [...(audit?.(update) ?? [])] };
      })
    ).result;
  }

  async updateRoles<R>(tenantId: string, change: (book: Readonly<RoleBook>, staff: ReadonlyMap<string, string>) => { book?: RoleBook; result: R }, audit?: AuditOf<R>): Promise<R> {
    return (
      await this.recorder.change(this.store.partner(tenantId), (draft, current) => {
        const names = new Map(Object.entries(current.members).map(([userId, member]) => [userId, member.name]));
        const { book, result } = change(current.roles ?? {}, names);
        if (!book) return { result };
        draft.roles = book;
        return { result, entries: [...(audit?.(result) ?? [])] };
      })
    ).result;
  }

  async reminderChannel(tenantId: string): Promise<ReminderChannel | undefined> {
    const channel = this.store.partner(tenantId).data.reminderChannel;
    return channel && copyOf(channel);
  }

  async setReminderChannel(tenantId: string, channel: ReminderChannel, audit?: AuditOf<ReminderChannel>): Promise<void> {
    await this.recorder.change(this.store.partner(tenantId), (draft) => {
      draft.reminderChannel = channel;
      return { result: undefined, entries: [...(audit?.(channel) ?? [])] };
    });
  }

  async markReminderChannelUnreachable(tenantId: string): Promise<void> {
    if (!this.store.partner(tenantId).data.reminderChannel) return;
    await this.store.partner(tenantId).update((draft) => {
      if (draft.reminderChannel) draft.reminderChannel.reachable = false;
    });
  }

  async timeZones(): Promise<Set<string>> {
    return new Set([...this.store.summaries()].map(([, summary]) => summary.timeZone));
  }
}
